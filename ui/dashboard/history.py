"""History and time travel, drawn at the bottom of the thread page: the thread's checkpoints
(every branch, newest first), the state at the one picked and what changed from its parent,
and "fork from here", optionally with an edited plan, which a worker continues in the
background (the fork is the thread's newest checkpoint, so the page follows it)."""

from __future__ import annotations

import json

import streamlit as st

from graph.operations import RequestError, parse_plan
from graph.operations.models import ThreadView
from ui.dashboard.session import may, operations, operator
from ui.dashboard.tables import changes_frame, checkpoints_frame
from ui.dashboard.plain import plain

PICKED = "history_checkpoint"  # the checkpoint picked, by id


def history(view: ThreadView) -> None:
    """The pick is kept by checkpoint id, not by row: a new checkpoint shifts the rows (a
    tick held by position sat on another checkpoint after a fork, "Fork from here" live).
    The table is drawn afresh whenever its rows change, and a fork clears the pick."""
    st.subheader("History")
    if view.compacted_at:
        st.caption(f"Compacted by the retention policy at {view.compacted_at:%Y-%m-%d %H:%M} UTC: the intermediate "
                   "checkpoints are gone; the final state, every plan version, the sealed decisions and the events "
                   "are kept.")
    checkpoints = operations().checkpoints(view.thread_id)
    shown = [c.checkpoint_id for c in checkpoints]
    table = f"history_table_{view.thread_id}_{len(shown)}_{st.session_state.get('history_generation', 0)}"

    def pick() -> None:
        rows = st.session_state[table]["selection"]["rows"]
        st.session_state[PICKED] = shown[rows[0]] if rows else None

    st.dataframe(checkpoints_frame(checkpoints), key=table, on_select=pick, selection_mode="single-row",
                 hide_index=True, column_config={
                     "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm:ss.SSS z")})
    checkpoint_id = st.session_state.get(PICKED)
    if checkpoint_id not in shown:
        st.caption("Pick a checkpoint to see the state there, what changed, and to fork from it.")
        return
    try:
        state = operations().checkpoint_state(view.thread_id, checkpoint_id)
    except RequestError as exc:
        st.error(plain(exc))
        return
    changed, whole = st.columns(2)
    with changed:
        st.markdown(f"**What changed at** `{checkpoint_id}`")
        st.dataframe(changes_frame(state.changes), hide_index=True)
    with whole:
        st.markdown("**The state there**")
        st.json(state.values, expanded=False)
    if may("fork"):
        fork_form(view, checkpoint_id, state.values.get("plan"))


def fork_form(view: ThreadView, checkpoint_id: str, plan: dict | None) -> None:
    with st.form(f"fork_{checkpoint_id}"):
        edit = st.checkbox("with an edited plan (it goes through the critic and your approval again)",
                           key="fork_with_plan")
        text = st.text_area("Plan as JSON", value=json.dumps(plan, indent=2, ensure_ascii=False) if plan else "",
                            height=200, key=f"fork_plan_{checkpoint_id}")
        reason = st.text_input("Reason (optional)", key=f"fork_reason_{checkpoint_id}",
                               placeholder="recorded with the fork on the audit trail")
        problem = st.empty()
        if st.form_submit_button("Fork from here"):
            try:
                edited = parse_plan(text, "the edited plan", view.goal) if edit else None
                operations().fork(view.thread_id, checkpoint_id, edited, operator=operator(), queue=True,
                                  reason=reason.strip() or None)
            except RequestError as exc:  # an unreadable plan (PlanInputError) included
                problem.error(str(exc))
            else:
                st.session_state["thread_notice"] = "forked: a worker continues from that checkpoint"
                st.session_state[PICKED] = None  # the pick ends with the fork; a fresh table below
                st.session_state["history_generation"] = st.session_state.get("history_generation", 0) + 1
                st.rerun()

