"""The review panel of a thread paused because a step's output kept failing its checks:
for each such step, what it answered, which checks failed and why, and every attempt; then
the three decisions: accept the output as it is, run it again (with the args as edited
here), or fail it. Drawn outside the page's live fragment, so a refresh never drops the
args or the reason being typed. Output and errors are shown as text, never as markdown."""

from __future__ import annotations

import json

import streamlit as st

from graph.operations.models import StepView, ThreadView
from ui.dashboard.approval import deciding_as
from ui.dashboard.plan_edit import json_text
from ui.dashboard.session import send
from ui.dashboard.tables import attempts_frame, checks_summary


def review_panel(view: ThreadView) -> None:
    st.subheader("Waiting for your review")
    st.caption("These steps answered, but their output kept failing its checks. Steps that depend on them wait; "
               "the others have run.")
    for step_id in view.awaiting_review:
        step = view.steps[step_id]
        with st.container(border=True, key=f"review_{step_id}"):
            _step_review(view.thread_id, step)


def _step_review(thread_id: str, step: StepView) -> None:
    st.markdown(f"**Step** `{step.id}`")  # a step id is letters, digits, '_' and '-'
    st.text(f"{step.tool} · {step.attempts} attempt(s) · checks: {checks_summary(step.checks)}")
    st.text(step.error or "")
    st.caption("Its last output")
    output = step.output if isinstance(step.output, str) else json.dumps(step.output, indent=2, ensure_ascii=False)
    st.code(output, language=None, wrap_lines=True)
    st.caption("Every attempt")
    st.dataframe(attempts_frame([step]), hide_index=True, width="stretch")
    args_key, reason_key = f"review_args_{thread_id}_{step.id}", f"review_reason_{thread_id}_{step.id}"
    st.text_area("Args for a retry (JSON)", value=json.dumps(step.args, indent=2, ensure_ascii=False), key=args_key,
                 help="Retry runs the step with these args; left as they are, it runs with its own.")
    st.text_input("Reason (optional)", key=reason_key, placeholder="recorded with the decision")
    accept, retry, fail = st.columns(3)
    accept.button("Accept the output", key=f"review_accept_{step.id}", type="primary", width="stretch",
                  on_click=_decide, args=(thread_id, step, "accept", args_key, reason_key))
    retry.button("Retry the step", key=f"review_retry_{step.id}", width="stretch",
                 on_click=_decide, args=(thread_id, step, "retry", args_key, reason_key))
    fail.button("Fail the step", key=f"review_fail_{step.id}", width="stretch",
                on_click=_decide, args=(thread_id, step, "fail", args_key, reason_key))
    deciding_as()


def _decide(thread_id: str, step: StepView, outcome: str, args_key: str, reason_key: str) -> None:
    """The args and reason as typed when the button is pressed. A retry sends args only
    when they differ from the step's own, so an unedited retry keeps the plan as approved."""
    reason = (st.session_state.get(reason_key) or "").strip() or None
    args = None
    if outcome == "retry":
        typed, problem = json_text(st.session_state.get(args_key), "args", dict)
        if problem is not None:
            st.session_state["thread_error"] = problem
            return
        args = typed if typed != step.args else None
    send("review", thread_id, step_id=step.id, outcome=outcome, args=args, reason=reason)
