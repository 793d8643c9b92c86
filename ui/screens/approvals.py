"""Approvals: every thread waiting for a decision, oldest first, with what an approver
weighs (goal, risk, steps, estimate); a click on a row opens its approval panel."""

from __future__ import annotations

import streamlit as st

from ui.dashboard.session import open_thread, operations
from ui.dashboard.tables import pending_frame

REFRESH_S = 3
TABLE = "approvals_table"


@st.fragment(run_every=REFRESH_S)
def inbox() -> None:
    pending = operations().awaiting_approval()
    if not pending:
        st.info("Nothing is waiting for a decision.")
        return
    st.session_state["approvals_shown"] = [p.thread_id for p in pending]
    frame = pending_frame(pending)
    st.dataframe(frame, key=TABLE, on_select="rerun", selection_mode="single-row", hide_index=True,
                 column_config={
                     "waiting_since": st.column_config.DatetimeColumn("waiting since", format="YYYY-MM-DD HH:mm:ss z"),
                     "estimate_s": st.column_config.NumberColumn("estimate", format="%.1f s"),
                     "started_by": "started by", "waits_for": "waits for"})
    rows = st.session_state[TABLE]["selection"]["rows"]
    if rows:
        open_thread(st.session_state["approvals_shown"][rows[0]])


st.title("Approvals")
st.caption("Oldest first: plans at the approval gate, and steps whose output kept failing its checks. Click a row "
           "to open it and decide.")
inbox()
