"""New run: a goal for the planner, or a plan pasted or uploaded as JSON (checked by the
one plan parser on submit, its error shown under the input it concerns). The run starts
in the background (queued for this process's run manager) and its page opens."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from graph.operations import PlanInputError, RequestError, parse_plan
from graph.operations.models import Plan
from ui.dashboard.session import may, open_thread, operations, operator

EXAMPLE = '{"goal": "Add two numbers", "steps": [{"id": "add", "tool": "calculate", "args": {"expression": "2 + 3"}}]}'



def start(goal: str, pasted: str, upload, boxes: dict[str, DeltaGenerator]) -> None:
    """Parse what was given, start it queued and open its page; or show the error under the
    input it concerns and start nothing."""
    plan_box = boxes["upload"] if upload is not None else boxes["pasted"] if pasted.strip() else boxes["goal"]
    try:
        plan: Plan | None = None
        if upload is not None:
            plan = parse_plan(upload.getvalue(), f"the uploaded file {upload.name}", goal.strip() or None)
        elif pasted.strip():
            plan = parse_plan(pasted, "the pasted plan", goal.strip() or None)
        view = operations().start(goal.strip() or None, plan, operator=operator(), queue=True)
    except PlanInputError as exc:
        plan_box.error(str(exc))
    except RequestError as exc:  # an empty or overlong goal, or a plan the critic cannot run
        (boxes["goal"] if str(exc).startswith("the goal") else plan_box).error(str(exc))
    else:
        open_thread(view.thread_id)


st.title("New run")
st.caption("Give a goal and the planner drafts a plan, or give the plan yourself. "
           "Either way a critic reviews it and it waits for your approval.")
if not may("start"):
    st.info("Your account may read runs but not start them: that takes the operator role.")
else:
    with st.form("new_run"):
        goal = st.text_area("Goal", placeholder="e.g. Fetch the status page and summarize it")
        goal_error = st.empty()
        pasted = st.text_area("Plan as JSON (optional)", placeholder=EXAMPLE, height=160)
        pasted_error = st.empty()
        upload = st.file_uploader("or upload a plan file", type=["json"])
        upload_error = st.empty()
        submitted = st.form_submit_button("Start", type="primary")
    if submitted:
        start(goal, pasted, upload, {"goal": goal_error, "pasted": pasted_error, "upload": upload_error})
