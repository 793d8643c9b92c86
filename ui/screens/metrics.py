"""Metrics over a chosen time window, computed in SQL by the operations API: runs by
status over time, run and step durations, per-tool calls, failures and retries, agent
calls and failures, time waiting for approval, breaker states."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import altair as alt
import pandas as pd
import streamlit as st

from ui.dashboard.session import operations
from ui.dashboard.tables import STATUS_COLOURS

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
    over_time = pd.DataFrame({
        "start": pd.Series([pd.Timestamp(c.start) for c in metrics.runs_over_time], dtype="datetime64[us, UTC]"),
        "status": pd.Series([c.status for c in metrics.runs_over_time], dtype="string"),
        "runs": pd.Series([c.count for c in metrics.runs_over_time], dtype="int64")})
    statuses = sorted(set(over_time["status"]))
    st.altair_chart(alt.Chart(over_time).mark_bar().encode(
        x=alt.X(f"{'yearmonthdatehours' if metrics.bucket == 'hour' else 'yearmonthdate'}(start):O", title=None),
        y=alt.Y("runs:Q", title="runs"),
        color=alt.Color("status:N", scale=alt.Scale(domain=statuses,
                                                    range=[STATUS_COLOURS.get(s, "#6b7280") for s in statuses])),
        tooltip=["start:T", "status", "runs"]), use_container_width=True)
else:
    st.info("No runs were created in this window.")

left, right = st.columns(2)
with left:
    st.subheader("Tools")
    tools = pd.DataFrame({
        "tool": pd.Series(list(metrics.tools), dtype="string"),
        "calls": pd.Series([t.calls for t in metrics.tools.values()], dtype="int64"),
        "failures": pd.Series([t.failures for t in metrics.tools.values()], dtype="int64"),
        "retries": pd.Series([t.retries for t in metrics.tools.values()], dtype="int64"),
        "failure_rate": pd.Series([t.failures / t.calls if t.calls else None for t in metrics.tools.values()],
                                  dtype="float64"),
        "p50_s": pd.Series([t.duration_s.p50 for t in metrics.tools.values()], dtype="float64"),
        "p95_s": pd.Series([t.duration_s.p95 for t in metrics.tools.values()], dtype="float64")})
    st.dataframe(tools, hide_index=True, column_config={
        "failure_rate": st.column_config.NumberColumn("failure rate", format="percent"),
        "p50_s": st.column_config.NumberColumn("step p50", format="%.3f s"),
        "p95_s": st.column_config.NumberColumn("step p95", format="%.3f s")})
    if len(tools):
        st.bar_chart(tools.set_index("tool")[["calls", "failures", "retries"]], stack=False)
with right:
    st.subheader("Agents")
    st.dataframe(pd.DataFrame({
        "agent": pd.Series(list(metrics.agents), dtype="string"),
        "calls": pd.Series([a.calls for a in metrics.agents.values()], dtype="int64"),
        "failures": pd.Series([a.failures for a in metrics.agents.values()], dtype="int64"),
        "p50_s": pd.Series([a.duration_s.p50 for a in metrics.agents.values()], dtype="float64"),
        "p95_s": pd.Series([a.duration_s.p95 for a in metrics.agents.values()], dtype="float64")}), hide_index=True)
    st.subheader("Breakers")
    breakers = operations().breakers()
    if breakers:
        st.dataframe(pd.DataFrame({
            "breaker": pd.Series([b.name for b in breakers], dtype="string"),
            "state": pd.Series([b.state for b in breakers], dtype="string"),
            "failures": pd.Series([b.failures for b in breakers], dtype="int64"),
            "last_error": pd.Series([b.last_error for b in breakers], dtype="string")}), hide_index=True)
    else:
        st.caption("No breaker has tripped.")
    if metrics.transitions:
        st.subheader("Status transitions")
        st.dataframe(pd.DataFrame({
            "transition": pd.Series(list(metrics.transitions), dtype="string"),
            "count": pd.Series(list(metrics.transitions.values()), dtype="int64")}), hide_index=True)
