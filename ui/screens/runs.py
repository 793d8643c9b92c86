"""Runs: counts per status and every thread, a page at a time, filtered, searched and
sorted in SQL (``runs`` table, indexed: fast with 10,000 threads). The table refreshes
itself every few seconds; the filter widgets sit outside that fragment, so a refresh keeps
them. The selection is remembered by thread id, not by row, so rows moving under a refresh
never change what "Cancel selected" acts on. A click on a thread's id opens it."""

from __future__ import annotations

import streamlit as st

from graph.operations.models import Status
from graph.operations.models import SortKey, ThreadQuery
from ui.dashboard.session import may, open_thread, operations, request
from ui.dashboard.tables import STATUS_COLOURS, runs_frame
from ui.dashboard.plain import plain

REFRESH_S = 3
PAGE_SIZES = (25, 50, 100)
SORTS: tuple[SortKey, ...] = ("updated", "created", "status", "goal")
TABLE = "runs_table"
SELECTED = "runs_selected"  # thread ids the operator ticked
SHOWN = "runs_shown"  # thread ids of the rows drawn last, in order
OFFSET = "runs_offset"


def remember_selection() -> None:
    """The table's on-select callback: rows ticked become ids; a click on an id opens it."""
    state = st.session_state[TABLE]["selection"]
    shown = st.session_state.get(SHOWN, [])
    st.session_state[SELECTED] = [shown[i] for i in state.get("rows", []) if i < len(shown)]
    opened = [shown[row] for row, column in state.get("cells", []) if column == "thread" and row < len(shown)]
    if opened:
        st.session_state["runs_open"] = opened[0]


def query() -> ThreadQuery:
    search = st.session_state.get("runs_search", "").strip() or None
    statuses = tuple(Status(s) for s in st.session_state.get("runs_statuses", []))
    return ThreadQuery(statuses=statuses, search=search, sort=st.session_state.get("runs_sort", "updated"),
                       descending=st.session_state.get("runs_descending", True),
                       offset=st.session_state.get(OFFSET, 0), limit=st.session_state.get("runs_size", 25))


def reset_paging() -> None:
    st.session_state[OFFSET] = 0


def filters() -> None:
    left, middle, right, last = st.columns([3, 3, 2, 1.4])
    left.multiselect("Status", [s.value for s in Status], key="runs_statuses", on_change=reset_paging,
                     placeholder="every status")
    middle.text_input("Search", key="runs_search", on_change=reset_paging,
                      placeholder="thread id, id prefix or words of the goal")
    right.selectbox("Sort by", SORTS, key="runs_sort", on_change=reset_paging)
    last.toggle("Descending", value=True, key="runs_descending", on_change=reset_paging)


@st.fragment(run_every=REFRESH_S)
def runs() -> None:
    if opening := st.session_state.pop("runs_open", None):
        open_thread(opening)
    ops = operations()
    counts = ops.status_counts()
    shown_counts = [(status, n) for status, n in counts.counts.items() if n]
    for column, (status, n) in zip(st.columns(len(shown_counts) + 1), [("ALL", counts.total), *shown_counts]):
        column.metric(str(status).replace("_", " ").lower(), n)
    page = ops.threads(query())
    if page.total == 0:
        st.info(f"No thread matches this filter ({counts.total} threads in all).")
        return
    frame = runs_frame(page.items)
    ids = frame["thread"].tolist()
    st.session_state[SHOWN] = ids
    selected = [t for t in st.session_state.get(SELECTED, []) if t in ids]
    st.session_state[TABLE] = {"selection": {"rows": [ids.index(t) for t in selected], "columns": [], "cells": []}}
    st.dataframe(
        frame.style.map(lambda s: f"color: {STATUS_COLOURS.get(s, '#111827')}; font-weight: 600", subset=["status"]),
        key=TABLE, on_select=remember_selection, selection_mode=["multi-row", "single-cell"], hide_index=True,
        column_config={
            # narrow enough that who started and who decided fit on a laptop's screen too
            "thread": st.column_config.TextColumn("thread", help="Click an id to open the thread", width=120),
            "goal": st.column_config.TextColumn("goal", width="medium"),
            "created": st.column_config.DatetimeColumn("created", format="MMM D, HH:mm z"),
            "updated": st.column_config.DatetimeColumn("updated", format="MMM D, HH:mm z"),
            "duration_s": st.column_config.NumberColumn("duration", format="%.1f s"),
            "started_by": "started by", "decided_by": "decided by",
        })
    paging(page.offset, len(page.items), page.total, page.limit)
    bulk(selected)


def paging(offset: int, count: int, total: int, limit: int) -> None:
    left, middle, right, size = st.columns([1, 2, 1, 1])
    middle.markdown(f"**{offset + 1}–{offset + count} of {total}**")
    if left.button("◀ Previous", disabled=offset == 0, key="runs_previous"):
        st.session_state[OFFSET] = max(offset - limit, 0)
        st.rerun(scope="fragment")
    if right.button("Next ▶", disabled=offset + count >= total, key="runs_next"):
        st.session_state[OFFSET] = offset + limit
        st.rerun(scope="fragment")
    size.selectbox("Rows", PAGE_SIZES, key="runs_size", label_visibility="collapsed", on_change=reset_paging)


def bulk(selected: list[str]) -> None:
    """Cancel or resume every ticked thread; each is a queued request, answered at once."""
    actions = [a for a in ("cancel", "resume") if may(a)]
    if not actions:
        return
    if not selected:
        st.caption("Tick rows to cancel or resume several threads together; click an id to open it.")
        return
    for column, action in zip(st.columns([1, 1, 3]), actions):
        if column.button(f"{action.title()} {len(selected)} selected", key=f"runs_{action}"):
            answers = [request(action, thread_id) for thread_id in selected]
            refused = [message for message in answers if message]
            st.session_state[SELECTED] = []
            if len(refused) < len(answers):
                st.toast(f"{action} requested for {len(answers) - len(refused)} thread(s)")
            for message in refused:
                st.error(plain(message))


st.title("Runs")
if operations().status_counts().total == 0:
    st.info("No threads yet.")
    st.page_link("screens/new_run.py", label="Start a run on the New run page", icon=":material/add_circle:")
else:
    filters()
    runs()
