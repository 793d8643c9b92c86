"""Building the API's answers from what the engine and the store hold: a checkpoint snapshot,
a ``runs`` row, and (while the executor runs) the step events of the current execution.

Live steps: the executor node returns its step results only when it ends, so during a run
the checkpoint still holds the previous results (or none). The view overlays the step
events written since the executor last started: RUNNING with its attempt, SUCCEEDED with
output preview and duration, FAILED, SKIPPED. Steps with no event yet read PENDING unless
an earlier execution already made them SUCCEEDED (those are not run again)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from graph.core.audit import AuditReport, plan_digest
from graph.core.events import ENDED_AS, StoredEvent
from graph.core.schemas import ACTIVE, Action, Attempt, Critique, Decision, Plan, PlanVersion, Status, StepResult, StepStatus
from graph.core.nodes import EXECUTOR
from graph.engine.review import awaiting_review
from graph.engine.snapshots import is_awaiting, is_awaiting_review
from graph.operations.models import (CheckpointView, Estimate, FieldChange, RunSummary, StepView, TokenUsage,
                                     ThreadView)
from graph.store.database import RunRow

if TYPE_CHECKING:
    from langgraph.types import StateSnapshot


def run_summary(row: RunRow) -> RunSummary:
    return RunSummary(thread_id=row.thread_id, goal=row.goal, status=row.status, model=row.model,
                      operator=row.operator, created_at=row.created_at, updated_at=row.updated_at,
                      error=row.error, queued=bool(row.queued), decided_by=row.decided_by,
                      decided_at=row.decided_at, release=row.release)


def thread_view(snapshot: StateSnapshot, row: RunRow, live: list[StoredEvent] | None = None,
                audit: AuditReport | None = None, tokens: dict[str, TokenUsage] | None = None) -> ThreadView:
    """``live``: the current execution's step events; pass them only while the executor runs.
    ``tokens``: the thread's chat model tokens by agent."""
    values = snapshot.values
    status = Status(values.get("status", row.status))
    plan = Plan.model_validate(values["plan"]) if values.get("plan") else None
    awaiting = is_awaiting(snapshot)
    reviewing = awaiting_review(values.get("steps") or {}) if is_awaiting_review(snapshot) else []
    held_by = row.holder(time.time())
    steps = step_views(values["plan"], values.get("steps") or {}, live) if plan else {}
    return ThreadView(
        thread_id=row.thread_id, status=status, awaiting_approval=awaiting, awaiting_review=reviewing,
        goal=values.get("goal", row.goal), operator=row.operator, model=row.model,
        created_at=row.created_at, updated_at=row.updated_at, queued=bool(row.queued), held_by=held_by,
        plan=plan, plan_digest=plan_digest(values["plan"]) if plan else None,
        plan_source=values.get("plan_source"), steps=steps,
        critique=Critique.model_validate(values["critique"]) if values.get("critique") else None,
        estimate=Estimate.model_validate(values["estimate"]) if values.get("estimate") else None,
        decisions=[Decision.model_validate(d) for d in values.get("decisions") or []], audit=audit,
        plan_versions=[PlanVersion.model_validate(v) for v in values.get("plan_versions") or []],
        error=values.get("error", row.error), report=values.get("report"),
        actions=actions(status, snapshot, awaiting, bool(held_by or row.queued), bool(reviewing)),
        tokens=tokens or {}, release=row.release, compacted_at=row.compacted_at,
    )


def is_executing(snapshot: StateSnapshot) -> bool:
    return EXECUTOR in snapshot.next


def actions(status: Status, snapshot: StateSnapshot, awaiting: bool, busy: bool, reviewing: bool = False,
            ) -> list[Action]:
    """What an operator may ask for now (the API still checks each request itself)."""
    if reviewing:
        return [Action.REVIEW, Action.CANCEL, Action.FORK]
    if awaiting:
        restore = [Action.RESTORE] if len(snapshot.values.get("plan_versions") or []) > 1 else []
        return [Action.APPROVE, Action.EDIT, Action.REJECT, Action.CANCEL, Action.FORK, *restore]
    found: list[Action] = []
    interrupted = bool(snapshot.next or snapshot.tasks)
    if status in ACTIVE or interrupted:
        found.append(Action.CANCEL)
        if interrupted and not busy:
            found.append(Action.RESUME)  # stopped mid-run: nothing is executing it
    elif status in (Status.FAILED, Status.CANCELLED) and snapshot.values.get("steps"):
        found += [Action.RETRY, Action.RESUME] if status == Status.FAILED else [Action.RESUME]
    if snapshot.values:
        found.append(Action.FORK)
    return found


_STEP_FIELDS = ("id", "description", "tool", "args", "depends_on", "priority", "timeout_s", "checks")
_RESULT_FIELDS = ("status", "attempts", "started_at", "finished_at", "output", "error", "attempt_log", "review",
                  "cached")


def step_views(plan: dict[str, Any], stored: dict[str, Any], live: list[StoredEvent] | None) -> dict[str, StepView]:
    """Each view is validated once, straight from the checkpoint's dicts: a view of a
    thousand steps is a thousand models either way, and building a StepResult and a dump
    of the step first tripled the objects the caller's garbage collector had to scan."""
    views: dict[str, StepView] = {}
    for step in plan["steps"]:
        data = {k: step[k] for k in _STEP_FIELDS if k in step}
        result = stored.get(step["id"])
        if result and (live is None or result.get("status") == StepStatus.SUCCEEDED.value):
            data.update((k, result[k]) for k in _RESULT_FIELDS if k in result)
            data["duration_s"] = _duration(result.get("started_at"), result.get("finished_at"))
        elif result:  # about to run again: only its history stays
            data.update(attempts=result.get("attempts", 0), attempt_log=result.get("attempt_log") or [])
        views[step["id"]] = StepView.model_validate(data)
    for event in live or []:
        if event.step_id in views:
            views[event.step_id] = _apply(views[event.step_id], event)
    return views


def _duration(started: str | None, finished: str | None) -> float | None:
    if not (started and finished):
        return None
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()


def _apply(view: StepView, event: StoredEvent) -> StepView:
    """One step event on top of what the step showed before it."""
    payload = event.payload
    if event.kind == "step_started":  # attempts before this one are an earlier run's, kept
        earlier = [a for a in view.attempt_log if a.attempt < (event.attempt or 1)]
        return view.model_copy(update={"status": StepStatus.RUNNING, "attempts": event.attempt or 1,
                                       "started_at": event.ts, "error": None, "attempt_log": earlier})
    if event.kind == "step_retry":
        failed = Attempt(attempt=event.attempt or view.attempts, started_at=view.started_at or event.ts,
                         error=payload.get("error"), category=payload.get("category"), delay_s=payload.get("delay_s"))
        delay = payload.get("delay_s")
        return view.model_copy(update={"status": StepStatus.RUNNING, "attempts": failed.attempt + 1,
                                       "attempt_log": [*view.attempt_log, failed],
                                       "next_attempt_at": event.ts + timedelta(seconds=delay) if delay else None})
    if event.kind in ENDED_AS:
        succeeded = event.kind == "step_succeeded"
        return view.model_copy(update={
            "status": ENDED_AS[event.kind],
            "attempts": event.attempt or view.attempts, "finished_at": event.ts,
            "duration_s": payload.get("seconds"), "output": payload.get("output") if succeeded else None,
            "next_attempt_at": None,
            "error": None if succeeded else payload.get("error")})
    if event.kind == "step_cached":
        return view.model_copy(update={"status": StepStatus.SUCCEEDED, "cached": True, "attempts": 0,
                                       "started_at": event.ts, "finished_at": event.ts, "duration_s": 0.0,
                                       "output": payload.get("output"), "error": None})
    if event.kind == "step_skipped":
        return view.model_copy(update={"status": StepStatus.SKIPPED, "error": payload.get("reason")})
    return view


def checkpoint_views(snapshots: list[StateSnapshot]) -> list[CheckpointView]:
    """Newest first, as LangGraph lists them."""
    by_id = {s.config["configurable"]["checkpoint_id"]: s for s in snapshots}
    return [checkpoint_view(s, by_id) for s in snapshots]


def checkpoint_view(snapshot: StateSnapshot, by_id: dict[str, StateSnapshot]) -> CheckpointView:
    metadata = snapshot.metadata or {}
    return CheckpointView(
        checkpoint_id=snapshot.config["configurable"]["checkpoint_id"],
        parent_checkpoint_id=parent_id(snapshot), step=metadata.get("step"), source=metadata.get("source"),
        node=_writer_of(snapshot, by_id), next=list(snapshot.next),
        status=snapshot.values.get("status", Status.CREATED.value) if snapshot.values else None,
        created_at=datetime.fromisoformat(snapshot.created_at) if snapshot.created_at else None)


def filled_state(values: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's values as a reader expects them: each step's result with every field,
    including those ``dump_result`` left out to keep the rows small (older threads stored
    them all, so a script reading either sees the same keys)."""
    steps = values.get("steps")
    if not steps:
        return values
    return {**values, "steps": {step_id: StepResult.model_validate(result).model_dump(mode="json")
                                for step_id, result in steps.items()}}


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """The state fields whose value differs between two checkpoints, in field order."""
    return [FieldChange(field=key, before=before.get(key), after=after.get(key))
            for key in dict.fromkeys([*after, *before]) if before.get(key) != after.get(key)]


def parent_id(snapshot: StateSnapshot) -> str | None:
    return (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")


def _writer_of(snapshot: StateSnapshot, by_id: dict[str, StateSnapshot]) -> str | None:
    """What produced this checkpoint: the nodes that ran from its parent, or the operator's
    update (LangGraph 1.x keeps no per-checkpoint writer in the metadata)."""
    source = (snapshot.metadata or {}).get("source")
    if source in ("input", "update", "fork"):
        return {"input": "input", "update": "operator", "fork": "fork"}[source]
    parent_key = parent_id(snapshot)
    parent = by_id.get(parent_key) if parent_key else None
    return ",".join(t.name for t in parent.tasks) if parent and parent.tasks else None
