"""Read-only views of a thread for the CLI and the dashboard: the status object and the
checkpoint history rows."""

from __future__ import annotations

import re
from typing import Any

from langgraph.types import StateSnapshot

from graph.engine.build import REVIEW_NODE
from graph.store.database import RunRow
from graph.core.schemas import Status

THREAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def is_awaiting(snapshot: StateSnapshot) -> bool:
    """At the gate with no decision written yet (a written, not yet applied decision has
    moved the status on while ``next`` still names the review node)."""
    return snapshot.next == (REVIEW_NODE,) and snapshot.values.get("status") == Status.AWAITING_APPROVAL.value


def status_object(thread_id: str, snapshot: StateSnapshot, run: RunRow | None) -> dict[str, Any]:
    values = snapshot.values
    return {
        "thread_id": thread_id,
        "status": values.get("status", run.status if run else Status.CREATED.value),
        "awaiting_approval": is_awaiting(snapshot),
        "goal": values.get("goal", run.goal if run else None),
        "plan": values.get("plan"),
        "estimate": values.get("estimate"),
        "steps": values.get("steps") or {},
        "critique": values.get("critique"),
        "decisions": values.get("decisions") or [],
        "error": values.get("error", run.error if run else None),
        "report": values.get("report"),
        "queued": bool(run and run.queued),
    }


def history_rows(snapshots: list[StateSnapshot]) -> list[dict[str, Any]]:
    by_id = {s.config["configurable"]["checkpoint_id"]: s for s in snapshots}
    return [{
        "checkpoint_id": s.config["configurable"]["checkpoint_id"],
        "parent_checkpoint_id": (s.parent_config or {}).get("configurable", {}).get("checkpoint_id"),
        "step": s.metadata.get("step") if s.metadata else None,
        "source": s.metadata.get("source") if s.metadata else None,
        "node": _writer_of(s, by_id),
        "next": list(s.next),
        "status": s.values.get("status", Status.CREATED.value) if s.values else None,
        "created_at": s.created_at,
    } for s in snapshots]


def _writer_of(snapshot: StateSnapshot, by_id: dict[str, StateSnapshot]) -> str | None:
    """What produced this checkpoint: the nodes that ran from its parent, or the operator's
    update (LangGraph 1.x keeps no per-checkpoint writer in the metadata)."""
    source = (snapshot.metadata or {}).get("source")
    if source in ("input", "update", "fork"):
        return {"input": "input", "update": "operator", "fork": "fork"}[source]
    parent_id = (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    parent = by_id.get(parent_id) if parent_id else None
    return ",".join(t.name for t in parent.tasks) if parent and parent.tasks else None
