"""The approval panel of a thread at the gate: approve; edit the steps in a table first
(checked by the parser and the critic's rules before anything is sent, each problem listed
by its step); reject with feedback for the planner, or for good. It is drawn outside the
page's live fragment, so a refresh never drops a half-made edit or feedback.

One decision, exactly the plan on screen: while the table holds edits, the approve control
reads "Approve with N edits" and sends them, and the plan as it was can be approved only
after "Discard N edits". An operator who edited and then pressed a plain Approve had the
original plan run (12*7 edited to 12*700 gave 84)."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from graph.operations.models import Plan, ThreadView
from ui.dashboard.decision_card import decision_card, digest_note
from ui.dashboard.plan_edit import edited_plan, plan_frame
from ui.dashboard.session import operations, operator, send
from ui.dashboard.tables import problems_frame


NO_CACHE = "approve_no_cache"


def approval_panel(view: ThreadView) -> None:
    """The decision card on the left, the buttons beside it; the editor, when open, full
    width under both."""
    st.subheader("Waiting for your decision")
    editor = PlanEditor(view)
    card, decide = st.columns([3, 2], gap="medium")
    with card:
        decision_card(view)
    with decide:
        buttons = st.container()  # filled below, once the editor has drawn its table
        st.toggle("Edit the plan before approving", key=editor.toggle_key, disabled=editor.pending > 0,
                  help="Discard the edits to close the editor" if editor.pending else None)
        st.checkbox("Run without the result cache", key=NO_CACHE,
                    help="Steps with a cache policy run instead of reusing a stored result; what they return "
                         "refreshes the cache.")
        digest_note(view)
        deciding_as()
        with st.form("reject", border=True):
            feedback = st.text_area("Feedback for the planner", key="reject_feedback",
                                    placeholder="what the plan should do differently")
            final = st.checkbox("Reject for good (no revision)", key="reject_final")
            if st.form_submit_button("Reject"):
                send("reject", view.thread_id, feedback=feedback, final=final)
                st.rerun()
    edited = editor.draw() if editor.open else None
    with buttons:
        if edited is not None and editor.pending:
            if st.button(f"Approve with {editor.edits}", type="primary", key="approve_edited"):
                editor.approve(edited)
            st.button(f"Discard {editor.edits}", key="discard_edits", on_click=editor.discard)
        else:
            st.button("Approve", type="primary", key="approve", on_click=send, args=("approve", view.thread_id),
                      kwargs={"plan_digest": view.plan_digest, "no_cache": bool(st.session_state.get(NO_CACHE))})
    editor.show_problems()


def deciding_as() -> None:
    """Whose name a decision is sealed under, beside the buttons (in open mode the
    sidebar's name, which an operator may not have typed)."""
    name = operator()
    if st.session_state.get("operator_name") or name != "operator":
        st.caption(f"deciding as {name}")
    else:
        st.caption("deciding as operator: type your name in the sidebar to decide under it")


class PlanEditor:
    """The steps in an editable table (add and remove rows too). Nothing is sent until the
    edited plan passes the parser and the critic's rules; each problem is listed by step.
    The edits and problems are kept per thread, plan and discard, so they never carry over
    to another thread, to the plan a revision brings, or past a discard."""

    def __init__(self, view: ThreadView) -> None:
        self.view = view
        self.toggle_key = f"editing_{view.thread_id}"
        self._generation_key = f"edit_generation_{view.thread_id}"
        plan_hash = hashlib.sha256(view.plan.model_dump_json().encode()).hexdigest()[:12] if view.plan else ""
        self.key = f"plan_editor_{view.thread_id}_{plan_hash}_{st.session_state.get(self._generation_key, 0)}"
        self.pending = pending_edits(st.session_state.get(self.key))
        self.edits = f"{self.pending} edit{'s' if self.pending != 1 else ''}"
        self.open = view.plan is not None and bool(st.session_state.get(self.toggle_key) or self.pending)
        self._problems: Any = None  # where the edited plan's problems go, under the table

    def draw(self) -> pd.DataFrame:
        assert self.view.plan is not None
        tools = [t.name for t in operations().tools()]
        st.markdown("**Edit the plan**")
        edited = st.container(key="plan_editor").data_editor(
            plan_frame(self.view.plan), key=self.key, num_rows="dynamic", hide_index=True, column_config={
            "id": st.column_config.TextColumn("id", required=True),
            "tool": st.column_config.SelectboxColumn("tool", options=tools, required=True),
            "args": st.column_config.TextColumn("args (JSON)", width="large"),
            "checks": st.column_config.TextColumn("checks (JSON list)", help="checks on the step's output, e.g. "
                                                  '[{"kind": "range", "min": 0}]; kinds: not_empty, contains (text), '
                                                  "regex (pattern), json_schema (schema), range (min, max), "
                                                  "judge (criteria)"),
            "depends_on": st.column_config.TextColumn("after (ids, comma-separated)"),
            "priority": st.column_config.NumberColumn("priority", step=1),
            "timeout_s": st.column_config.NumberColumn("timeout (s)", min_value=0.001),
            "description": st.column_config.TextColumn("description")})
        st.caption(f"{self.edits} not sent yet: \"Approve with {self.edits}\" sends them, \"Discard {self.edits}\" "
                   "drops them" if self.pending
                   else "Double-click a cell to edit it; add or delete rows at the bottom and the left.")
        self._problems = st.container()
        return edited

    def approve(self, edited: pd.DataFrame) -> None:
        plan: Plan = self.view.plan  # type: ignore[assignment]  (drawn only with a plan)
        keep = {s.id: {"retry": s.retry.model_dump()} for s in plan.steps if s.retry is not None}
        checked, problems = edited_plan(edited, self.view.goal, keep, plan.coverage)
        if checked is not None:
            problems = [(i.step_id or "plan", i.message) for i in operations().check_plan(checked)
                        if i.severity == "error"]
        st.session_state[f"{self.key}_problems"] = problems
        if checked is not None and not problems:
            send("approve", self.view.thread_id, plan=checked, plan_digest=self.view.plan_digest,
                 no_cache=bool(st.session_state.get(NO_CACHE)))
            st.rerun()  # past the gate now, the panel is gone; refused, the edits are still here

    def discard(self) -> None:
        """A fresh table (a new key), and the editor closed: the plan on screen is the plan."""
        st.session_state[self._generation_key] = st.session_state.get(self._generation_key, 0) + 1
        st.session_state[self.toggle_key] = False
        st.session_state["thread_notice"] = "edits discarded"

    def show_problems(self) -> None:
        problems: list[tuple[str, str]] = st.session_state.get(f"{self.key}_problems", [])
        if problems and self._problems is not None:
            with self._problems:
                st.error(f"The edited plan was not sent: {len(problems)} step(s) to fix.")
                st.dataframe(problems_frame(problems), hide_index=True)


def pending_edits(changes: dict[str, Any] | None) -> int:
    """Edited cells, added rows and deleted rows in a data editor's state."""
    changes = changes or {}
    return (sum(len(cells) for cells in changes.get("edited_rows", {}).values())
            + len(changes.get("added_rows", [])) + len(changes.get("deleted_rows", [])))
