"""The graph state. Values are JSON (pydantic ``model_dump``) so that checkpoints, history
and the Agent Server all read them without project classes; reducers sit on the fields."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

RESET = "*reset*"


def merge_steps(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Step results merge per step id; an update carrying ``{RESET: True}`` starts over
    (a new plan makes the old results meaningless)."""
    if right is None:
        return dict(left or {})
    if right.get(RESET):
        return {k: v for k, v in right.items() if k != RESET}
    return {**(left or {}), **right}


class WorkflowInput(TypedDict, total=False):
    goal: str
    plan: dict[str, Any]
    no_cache: bool


class WorkflowState(TypedDict, total=False):
    goal: str
    plan: dict[str, Any] | None
    plan_source: str  # "planner" or "operator"; an operator's plan is never replanned by the critic
    critique: dict[str, Any] | None
    estimate: dict[str, Any] | None  # critical-path time from past tool durations, shown at the gate
    status: str
    revisions: int
    feedback: str | None  # what the next planner call must address (critic's or operator's)
    decision: dict[str, Any] | None  # the latest operator decision, written with update_state
    decisions: Annotated[list[dict[str, Any]], operator.add]  # the audit trail
    plan_versions: Annotated[list[dict[str, Any]], operator.add]  # every version of the plan (PlanVersion)
    steps: Annotated[dict[str, Any], merge_steps]  # step id -> StepResult
    error: str | None
    report: str | None
    no_cache: bool  # asked for with --no-cache: nothing comes from the result cache, what runs refreshes it
