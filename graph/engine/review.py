"""A review decision on a step whose output kept failing its checks, applied to the state.

The reviewer accepts the output as it is (the step SUCCEEDED), sends the step back to run
again, optionally with other args (the plan changes: a new version, and the decision's
digest binds the args that run), or fails it (its dependents are then skipped, as for any
failed step). While another step still awaits review the thread stays AWAITING_REVIEW;
otherwise the executor goes on with the steps that waited."""

from __future__ import annotations

import copy
from typing import Any

from graph.core.schemas import Decision, Status, StepStatus
from graph.engine.versions import new_version


def awaiting_review(steps: dict[str, Any]) -> list[str]:
    """The steps a reviewer must decide on, in the order they were stored."""
    return [step_id for step_id, result in steps.items() if result.get("status") == StepStatus.NEEDS_REVIEW.value]


def review_problem(state: dict[str, Any], step: str | None) -> str | None:
    """Why ``step`` cannot be reviewed now, or None."""
    waiting = awaiting_review(state.get("steps") or {})
    if not waiting:
        return f"no step awaits review (status {state.get('status')})"
    if step not in waiting:
        return f"step {step!r} does not await review; these do: {', '.join(waiting)}"
    return None


def reviewed_plan(plan: dict[str, Any], decision: Decision) -> dict[str, Any]:
    """The plan the run goes on with: the reviewed step's args replaced on a retry with args."""
    if decision.outcome != "retry" or decision.args is None:
        return plan
    changed = copy.deepcopy(plan)
    for step in changed["steps"]:
        if step["id"] == decision.step:
            step["args"] = decision.args
    return changed


def apply_review(decision: Decision, state: dict[str, Any]) -> dict[str, Any]:
    problem = review_problem(state, decision.step)
    if problem is not None:  # a decision written around Workflow.review (LangGraph's own API)
        return {"status": Status.AWAITING_REVIEW.value, "error": f"review ignored: {problem}"}
    assert decision.step is not None
    result = dict(state["steps"][decision.step])
    who = f"{decision.operator} at {decision.at:%Y-%m-%d %H:%M:%S} UTC"
    why = f": {decision.reason}" if decision.reason else ""
    update: dict[str, Any] = {"error": None}
    if decision.outcome == "accept":
        result |= {"status": StepStatus.SUCCEEDED.value, "review": f"output accepted by {who}{why}"}
    elif decision.outcome == "fail":
        result |= {"status": StepStatus.FAILED.value, "review": f"failed by {who}{why}",
                   "error": f"failed by the reviewer {decision.operator}{why}; {result.get('error')}"}
    else:
        changed = " with other args" if decision.args is not None else ""
        result |= {"status": StepStatus.PENDING.value, "output": None, "error": None,
                   "review": f"sent back{changed} by {who}{why}"}
        plan = reviewed_plan(state["plan"], decision)
        if plan is not state["plan"]:
            update |= {"plan": plan, "plan_versions": new_version(state, plan, "review", by=decision.operator)}
    others = [s for s in awaiting_review(state["steps"]) if s != decision.step]
    status = Status.AWAITING_REVIEW if others else Status.EXECUTING
    return update | {"steps": {decision.step: result}, "status": status.value}
