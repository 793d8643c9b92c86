"""Metrics over a chosen time window, computed in SQL by the operations API: runs by
status over time, run and step durations, per-tool calls, failures, retries and result
cache use, check results per tool and kind, review outcomes, agent calls and failures,
time waiting for approval, breaker states."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import streamlit as st

from ui.dashboard import charts
from ui.dashboard.session import operations
from ui.dashboard.tables import (agents_frame, breakers_frame, checks_frame, retention_frame, runs_over_time_frame,
                                 tools_frame, transitions_frame)

WINDOWS = {"Last hour": timedelta(hours=1), "Last 24 hours": timedelta(days=1),
           "Last 7 days": timedelta(days=7), "Last 30 days": timedelta(days=30), "Everything": None}


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s" if value < 120 else f"{value / 60:.1f} min"


st.title("Metrics")
window = st.segmented_control("Window", list(WINDOWS), default="Last 24 hours", key="metrics_window") or "Everything"
span = WINDOWS[window]
metrics = operations().metrics(since=datetime.now(timezone.utc) - span if span else None)

runs = metrics.runs
cells = st.columns(6)
cells[0].metric("Runs", runs.total)
cells[1].metric("Success rate", "–" if runs.success_rate is None else f"{runs.success_rate:.0%}")
cells[2].metric("Run p50", seconds(runs.duration_s.p50))
cells[3].metric("Run p95", seconds(runs.duration_s.p95))
cells[4].metric("Awaiting approval now", metrics.awaiting_approval)
cells[5].metric("Approval wait p50", seconds(metrics.approval_wait_s.p50))

st.subheader(f"Runs by status, per {metrics.bucket} created")
if metrics.runs_over_time:
    st.altair_chart(charts.runs_over_time(runs_over_time_frame(metrics), metrics.bucket), width="stretch")
else:
    st.info("No runs were created in this window.")

left, right = st.columns(2)
with left:
    st.subheader("Tools")
    tools = tools_frame(metrics)
    st.dataframe(tools, hide_index=True, column_config={
        "failure_rate": st.column_config.NumberColumn("failure rate", format="percent"),
        "cache_hit_rate": st.column_config.NumberColumn("cache hit rate", format="percent"),
        "p50_s": st.column_config.NumberColumn("step p50", format="%.3f s"),
        "p95_s": st.column_config.NumberColumn("step p95", format="%.3f s")})
    if len(tools):
        st.bar_chart(tools.set_index("tool")[["calls", "failures", "retries"]], stack=False)
    st.subheader("Checks")
    checks = checks_frame(metrics)
    if len(checks):
        st.dataframe(checks, hide_index=True, column_config={
            "pass_rate": st.column_config.NumberColumn("pass rate", format="percent")})
    else:
        st.caption("No step output was checked in this window.")
    reviews = ", ".join(f"{outcome} {count}" for outcome, count in sorted(metrics.reviews.items()))
    st.caption(f"Reviews: {reviews}" if reviews else "No review decisions in this window.")
with right:
    st.subheader("Agents")
    st.dataframe(agents_frame(metrics), hide_index=True)
    per_run = metrics.tokens_per_run
    st.caption(f"Tokens per run that called a chat model: p50 {per_run.p50:,.0f}, p95 {per_run.p95:,.0f} "
               f"({per_run.count} runs)" if per_run.count else "No chat model reported tokens in this window "
               "(the offline model reports none).")
    st.subheader("Breakers")
    breakers = operations().breakers()
    if breakers:
        st.dataframe(breakers_frame(breakers), hide_index=True)
    else:
        st.caption("No breaker has tripped.")
    if metrics.transitions:
        st.subheader("Status transitions")
        st.dataframe(transitions_frame(metrics), hide_index=True)

st.subheader("Storage and retention")
storage = operations().storage()
cells = st.columns(4)
cells[0].metric("Database", "–" if storage.bytes is None else f"{storage.bytes / 1e6:,.1f} MB")
cells[1].metric("Threads", f"{storage.threads:,}")
cells[2].metric("Compacted", f"{storage.compacted:,}")
cells[3].metric("Due now", f"{sum(r.due_compact + r.due_delete for r in storage.rules):,}")
st.dataframe(retention_frame(storage), hide_index=True)
st.caption(("A dashboard or worker applies the [retention] policy of the settings every "
            f"{storage.every_minutes:g} minutes" if storage.every_minutes else
            "No process applies the [retention] policy on its own (every_minutes = 0)")
           + ". Compacted threads keep their goal, plans, decisions, results and events; only their "
             "intermediate checkpoints go. Waiting, running and forked threads are never compacted.")
