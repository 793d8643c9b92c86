"""Approvals: every thread waiting for a decision, oldest first, with what an approver
weighs (goal, risk, steps, estimate); a click on a row opens its approval panel."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.dashboard.session import open_thread, operations
from ui.dashboard.tables import GOAL_CHARS, cut

REFRESH_S = 3
TABLE = "approvals_table"


@st.fragment(run_every=REFRESH_S)
def inbox() -> None:
    pending = operations().awaiting_approval()
    if not pending:
        st.info("Nothing is waiting for a decision.")
        return
    st.session_state["approvals_shown"] = [p.thread_id for p in pending]
    frame = pd.DataFrame({
        "thread": pd.Series([p.thread_id for p in pending], dtype="string"),
        "waiting_since": pd.Series([pd.Timestamp(p.waiting_since) for p in pending], dtype="datetime64[us, UTC]"),
        "goal": pd.Series([cut(p.goal, GOAL_CHARS) for p in pending], dtype="string"),
        "risk": pd.Series([p.risk for p in pending], dtype="string"),
        "steps": pd.Series([p.steps for p in pending], dtype="int64"),
        "estimate_s": pd.Series([p.critical_path_s for p in pending], dtype="float64"),
        "started_by": pd.Series([p.operator for p in pending], dtype="string"),
    })
    st.dataframe(frame, key=TABLE, on_select="rerun", selection_mode="single-row", hide_index=True,
                 column_config={
                     "waiting_since": st.column_config.DatetimeColumn("waiting since", format="YYYY-MM-DD HH:mm:ss z"),
                     "estimate_s": st.column_config.NumberColumn("estimate", format="%.1f s"),
                     "started_by": "started by"})
    rows = st.session_state[TABLE]["selection"]["rows"]
    if rows:
        open_thread(st.session_state["approvals_shown"][rows[0]])


st.title("Approvals")
st.caption("Oldest first. Click a row to open its plan and decide.")
inbox()
