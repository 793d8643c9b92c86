"""History and time travel, drawn at the bottom of the thread page: the thread's checkpoints
(every branch, newest first), the state at the one picked and what changed from its parent,
and "fork from here", optionally with an edited plan, which a worker continues in the
background (the fork is the thread's newest checkpoint, so the page follows it)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from graph.operations import PlanInputError, RequestError, parse_plan
from graph.operations.models import CheckpointView, ThreadView
from ui.dashboard.session import operations, operator

TABLE = "history_table"


def checkpoints_frame(checkpoints: list[CheckpointView]) -> pd.DataFrame:
    return pd.DataFrame({
        "created": pd.Series([pd.Timestamp(c.created_at) if c.created_at else pd.NaT for c in checkpoints],
                             dtype="datetime64[us, UTC]"),
        "step": pd.Series([c.step for c in checkpoints], dtype="Int64"),
        "by": pd.Series([c.node for c in checkpoints], dtype="string"),
        "status": pd.Series([c.status.value if c.status else None for c in checkpoints], dtype="string"),
        "next": pd.Series([", ".join(c.next) for c in checkpoints], dtype="string"),
        "checkpoint": pd.Series([c.checkpoint_id for c in checkpoints], dtype="string"),
    })


def history(view: ThreadView) -> None:
    st.subheader("History")
    checkpoints = operations().checkpoints(view.thread_id)
    st.session_state["history_shown"] = [c.checkpoint_id for c in checkpoints]
    st.dataframe(checkpoints_frame(checkpoints), key=TABLE, on_select="rerun", selection_mode="single-row",
                 hide_index=True, column_config={
                     "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm:ss.SSS z")})
    rows = st.session_state[TABLE]["selection"]["rows"]
    if not rows:
        st.caption("Pick a checkpoint to see the state there, what changed, and to fork from it.")
        return
    checkpoint_id = st.session_state["history_shown"][rows[0]]
    try:
        state = operations().checkpoint_state(view.thread_id, checkpoint_id)
    except RequestError as exc:
        st.error(str(exc))
        return
    changed, whole = st.columns(2)
    with changed:
        st.markdown(f"**What changed at** `{checkpoint_id}`")
        st.dataframe(pd.DataFrame({
            "field": pd.Series([c.field for c in state.changes], dtype="string"),
            "before": pd.Series([_short(c.before) for c in state.changes], dtype="string"),
            "after": pd.Series([_short(c.after) for c in state.changes], dtype="string")}), hide_index=True)
    with whole:
        st.markdown("**The state there**")
        st.json(state.values, expanded=False)
    fork_form(view, checkpoint_id, state.values.get("plan"))


def fork_form(view: ThreadView, checkpoint_id: str, plan: dict | None) -> None:
    with st.form(f"fork_{checkpoint_id}"):
        edit = st.checkbox("with an edited plan (it goes through the critic and your approval again)",
                           key="fork_with_plan")
        text = st.text_area("Plan as JSON", value=json.dumps(plan, indent=2, ensure_ascii=False) if plan else "",
                            height=200, key=f"fork_plan_{checkpoint_id}")
        problem = st.empty()
        if st.form_submit_button("Fork from here"):
            try:
                edited = parse_plan(text, "the edited plan", view.goal) if edit else None
                operations().fork(view.thread_id, checkpoint_id, edited, operator=operator(), queue=True)
            except PlanInputError as exc:
                problem.error(str(exc))
            except RequestError as exc:
                problem.error(str(exc))
            else:
                st.session_state["thread_notice"] = "forked: a worker continues from that checkpoint"
                st.rerun()


def _short(value: object, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
