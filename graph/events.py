"""The one event schema. Nodes and step tasks emit events through LangGraph's stream writer
(``stream_mode="custom"``); whoever drives the graph (the CLI today, the run manager next)
receives them in order and shows or stores them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from langgraph.config import get_stream_writer
from pydantic import BaseModel, Field

from graph.schemas import utc_now

EventKind = Literal[
    "run_created", "node_started", "node_finished", "plan_created", "critique",
    "awaiting_approval", "decision", "step_started", "step_retry", "step_succeeded",
    "step_failed", "step_skipped", "breaker_opened", "breaker_closed", "run_completed",
    "run_failed", "run_cancelled", "progress",
]


class Event(BaseModel):
    kind: EventKind
    ts: datetime = Field(default_factory=utc_now)
    node: str | None = None
    step_id: str | None = None
    attempt: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


def emit(kind: EventKind, **fields: Any) -> None:
    """Send an event to the stream; a no-op outside a graph run (e.g. in unit tests)."""
    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    writer({"prolight_event": Event(kind=kind, **fields).model_dump(mode="json")})


def parse(chunk: Any) -> Event | None:
    if isinstance(chunk, dict) and "prolight_event" in chunk:
        return Event.model_validate(chunk["prolight_event"])
    return None
