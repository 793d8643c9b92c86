"""The one event schema. Nodes and step tasks emit events to the process driving the graph,
which appends them to the ``events`` table in the order they arrive. Our own driver puts
an event sink in the run's config and takes them straight from the emitting thread; any
other client (LangGraph's Agent Server, a plain ``graph.stream``) gets them through
LangGraph's stream writer (``stream_mode="custom"``, each chunk ``{"prolight_event": Event}``).
The sink exists for speed: each chunk through the stream wakes the driving thread, which
cost 0.1 ms per event under a busy run, and our driver streams no mode at all. A tool
reports its own progress with ``progress(...)``; a chunk a tool writes to LangGraph's
stream writer itself reaches only clients that stream ``custom``."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from graph.core.model import Model
from graph.core.nodes import EXECUTOR
from graph.core.schemas import StepStatus, utc_now

EventKind = Literal[
    "run_created", "node_started", "node_finished", "plan_created", "critique", "estimate",
    "awaiting_approval", "decision", "step_started", "step_retry", "step_succeeded",
    "step_failed", "step_cancelled", "step_not_attempted", "step_needs_review", "step_skipped", "breaker_opened",
    "breaker_closed", "awaiting_review", "step_cached", "step_checked", "run_completed", "run_failed", "run_cancelled", "progress",
    "model_usage",  # one chat model call's tokens: {agent, model, input_tokens, output_tokens}
]


# How a step's run ends, as an event: the executor emits it, the views read the status back.
STEP_ENDS: dict[StepStatus, EventKind] = {
    StepStatus.SUCCEEDED: "step_succeeded", StepStatus.FAILED: "step_failed", StepStatus.CANCELLED: "step_cancelled",
    StepStatus.NOT_ATTEMPTED: "step_not_attempted", StepStatus.NEEDS_REVIEW: "step_needs_review"}
ENDED_AS: dict[str, StepStatus] = {kind: status for status, kind in STEP_ENDS.items()}


class Event(Model):
    kind: EventKind
    ts: datetime = Field(default_factory=utc_now)
    node: str | None = None
    step_id: str | None = None
    attempt: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class StoredEvent(Event):
    """An event as the log returns it: its thread and its place in the thread's order."""

    thread_id: str
    seq: int


# The step whose tool is running on this thread of control, so a tool's progress is
# attributed to its step without the tool knowing its id.
CURRENT_STEP: ContextVar[tuple[str, int] | None] = ContextVar("prolight_current_step", default=None)
# The thread a drive of the graph is for: spans carry it as gen_ai.conversation.id, log lines
# as thread_id (set by graph/core/tracing.conversation).
CONVERSATION: ContextVar[str | None] = ContextVar("prolight_conversation", default=None)


SINK_KEY = "prolight_event_sink"


def emit(kind: EventKind, **fields: Any) -> None:
    """Send an event to the run's sink or stream; a no-op outside a graph run."""
    # Imported here, not at the top: langgraph.config pulls in LangSmith's run trees (a
    # second of imports), and the read-only CLI commands that use this schema emit nothing.
    from langgraph.config import get_config, get_stream_writer

    try:
        config = get_config()
    except RuntimeError:
        return
    # The model itself, not a dump: in process it reaches the driver as is (no JSON round
    # trip per event); a server deployment serialises it like any pydantic value.
    event = Event(kind=kind, **fields)
    sink = config.get("configurable", {}).get(SINK_KEY)
    if sink is not None:
        sink(event)
    else:
        get_stream_writer()({"prolight_event": event})


def progress(message: str, **data: Any) -> None:
    """For tools: report progress of the running step (shown live, stored in the log)."""
    current = CURRENT_STEP.get()
    emit("progress", node=EXECUTOR, step_id=current[0] if current else None,
         attempt=current[1] if current else None, payload={"message": message, **data})

