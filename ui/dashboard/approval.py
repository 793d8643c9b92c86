"""The approval panel of a thread at the gate: approve; edit the steps in a table first
(checked by the parser and the critic's rules before anything is sent, each problem listed
by its step); reject with feedback for the planner, or for good. It is drawn outside the
page's live fragment, so a refresh never drops a half-made edit or feedback."""

from __future__ import annotations

import hashlib

import streamlit as st

from graph.operations.models import Plan
from graph.operations.models import ThreadView
from ui.dashboard.plan_edit import edited_plan, plan_frame
from ui.dashboard.session import operations, send
from ui.dashboard.tables import problems_frame


def approval_panel(view: ThreadView) -> None:
    st.subheader("Waiting for your decision")
    st.caption(f"Approving approves exactly this plan: {view.plan_digest}")  # our own hex digest
    approve, reject = st.columns(2)
    with approve:
        st.button("Approve", type="primary", key="approve", on_click=send, args=("approve", view.thread_id),
                  kwargs={"plan_digest": view.plan_digest})
        editing = st.toggle("Edit the plan before approving", key=f"editing_{view.thread_id}")
    with reject, st.form("reject", border=True):
        feedback = st.text_area("Feedback for the planner", key="reject_feedback",
                                placeholder="what the plan should do differently")
        final = st.checkbox("Reject for good (no revision)", key="reject_final")
        if st.form_submit_button("Reject"):
            send("reject", view.thread_id, feedback=feedback, final=final)
            st.rerun()
    if editing and view.plan is not None:
        plan_editor(view, view.plan)


def plan_editor(view: ThreadView, plan: Plan) -> None:
    """The steps in an editable table (add and remove rows too). Nothing is sent until the
    edited plan passes the parser and the critic's rules; each problem is listed by step.
    The edits and problems are kept per thread and plan, so they never carry over to
    another thread or to the plan a revision brings."""
    tools = [t.name for t in operations().tools()]
    key = f"plan_editor_{view.thread_id}_{hashlib.sha256(plan.model_dump_json().encode()).hexdigest()[:12]}"
    edited = st.data_editor(plan_frame(plan), key=key, num_rows="dynamic", hide_index=True, column_config={
        "id": st.column_config.TextColumn("id", required=True),
        "tool": st.column_config.SelectboxColumn("tool", options=tools, required=True),
        "args": st.column_config.TextColumn("args (JSON)", width="large"),
        "depends_on": st.column_config.TextColumn("after (ids, comma-separated)"),
        "priority": st.column_config.NumberColumn("priority", step=1),
        "timeout_s": st.column_config.NumberColumn("timeout (s)", min_value=0.001),
        "description": st.column_config.TextColumn("description")})
    changes = st.session_state.get(key) or {}
    changed = (sum(len(cells) for cells in changes.get("edited_rows", {}).values())
               + len(changes.get("added_rows", [])) + len(changes.get("deleted_rows", [])))
    st.caption(f"{changed} change(s), not sent until you approve the edited plan" if changed
               else "Double-click a cell to edit it; add or delete rows at the bottom and the left.")
    problems: list[tuple[str, str]] = st.session_state.get(f"{key}_problems", [])
    if st.button("Approve the edited plan", type="primary", key="approve_edited"):
        keep = {s.id: {"retry": s.retry.model_dump()} for s in plan.steps if s.retry is not None}
        checked, problems = edited_plan(edited, view.goal, keep)
        if checked is not None:
            problems = [(i.step_id or "plan", i.message) for i in operations().check_plan(checked)
                        if i.severity == "error"]
        st.session_state[f"{key}_problems"] = problems
        if checked is not None and not problems:
            send("approve", view.thread_id, plan=checked, plan_digest=view.plan_digest)
            st.rerun()  # past the gate now, the panel is gone; refused, the edits are still here
    if problems:
        st.error(f"The edited plan was not sent: {len(problems)} step(s) to fix.")
        st.dataframe(problems_frame(problems), hide_index=True)
