"""The dashboard's tables, built from the API's models as typed pandas frames: one dtype
per column (a column mixing ints and "" made Arrow fail on every refresh), text as text.
No Streamlit here, so the shapes are unit-tested directly."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from graph.core.events import StoredEvent
from graph.core.schemas import Decision, Status, StepStatus
from graph.operations.models import RunSummary, StepView
from ui.render import event_detail

GOAL_CHARS = 120  # the list cuts goals; the thread page shows them whole
OUTPUT_CHARS = 300

STATUS_COLOURS: dict[str, str] = {
    Status.COMPLETED: "#15803d", Status.FAILED: "#b91c1c", Status.REJECTED: "#7f1d1d",
    Status.CANCELLED: "#6b7280", Status.AWAITING_APPROVAL: "#b45309", Status.EXECUTING: "#1d4ed8",
    StepStatus.SUCCEEDED: "#15803d", StepStatus.RUNNING: "#1d4ed8", StepStatus.SKIPPED: "#6b7280",
    StepStatus.PENDING: "#9ca3af",
}


def cut(text: str | None, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _time(value: datetime | None) -> pd.Timestamp:
    return pd.Timestamp(value) if value is not None else pd.NaT


def runs_frame(items: list[RunSummary]) -> pd.DataFrame:
    """The Runs table; times stay timezone-aware (the grid shows the zone)."""
    return pd.DataFrame({
        "thread": pd.Series([r.thread_id for r in items], dtype="string"),
        "status": pd.Series([r.status.value for r in items], dtype="string"),
        "goal": pd.Series([cut(r.goal, GOAL_CHARS) for r in items], dtype="string"),
        "created": pd.Series([_time(r.created_at) for r in items], dtype="datetime64[us, UTC]"),
        "updated": pd.Series([_time(r.updated_at) for r in items], dtype="datetime64[us, UTC]"),
        "duration_s": pd.Series([r.duration_s for r in items], dtype="float64"),
        "started_by": pd.Series([r.operator for r in items], dtype="string"),
        "decided_by": pd.Series([r.decided_by for r in items], dtype="string"),
        "queued": pd.Series([r.queued for r in items], dtype="bool"),
    })


def steps_frame(steps: list[StepView]) -> pd.DataFrame:
    return pd.DataFrame({
        "step": pd.Series([s.id for s in steps], dtype="string"),
        "status": pd.Series([s.status.value for s in steps], dtype="string"),
        "tool": pd.Series([s.tool for s in steps], dtype="string"),
        "after": pd.Series([", ".join(s.depends_on) for s in steps], dtype="string"),
        "attempts": pd.Series([s.attempts for s in steps], dtype="int64"),
        "duration_s": pd.Series([s.duration_s for s in steps], dtype="float64"),
        "started": pd.Series([_time(s.started_at) for s in steps], dtype="datetime64[us, UTC]"),
        "output": pd.Series([cut(_text(s.output), OUTPUT_CHARS) for s in steps], dtype="string"),
        "error": pd.Series([s.error for s in steps], dtype="string"),
    })


def attempts_frame(steps: list[StepView]) -> pd.DataFrame:
    """Each failed attempt with its error and the back-off before the next one."""
    rows = [(s.id, a.attempt, a.category, a.error, a.delay_s) for s in steps for a in s.attempt_log if a.error]
    return pd.DataFrame({
        "step": pd.Series([r[0] for r in rows], dtype="string"),
        "attempt": pd.Series([r[1] for r in rows], dtype="int64"),
        "category": pd.Series([r[2] for r in rows], dtype="string"),
        "error": pd.Series([r[3] for r in rows], dtype="string"),
        "backoff_s": pd.Series([r[4] for r in rows], dtype="float64"),
    })


def timeline_frame(steps: list[StepView], now: datetime) -> pd.DataFrame:
    """Start and end of every step that has started (a running one ends now), for the Gantt."""
    shown = [s for s in steps if s.started_at is not None]
    return pd.DataFrame({
        "step": pd.Series([s.id for s in shown], dtype="string"),
        "status": pd.Series([s.status.value for s in shown], dtype="string"),
        "start": pd.Series([_time(s.started_at) for s in shown], dtype="datetime64[us, UTC]"),
        "end": pd.Series([_time(s.finished_at or now) for s in shown], dtype="datetime64[us, UTC]"),
    })


def decisions_frame(decisions: list[Decision]) -> pd.DataFrame:
    """The audit trail: who decided what, when, and the feedback they gave."""
    return pd.DataFrame({
        "when": pd.Series([_time(d.at) for d in decisions], dtype="datetime64[us, UTC]"),
        "who": pd.Series([d.operator for d in decisions], dtype="string"),
        "action": pd.Series([d.action + (" (final)" if d.final else "") for d in decisions], dtype="string"),
        "feedback": pd.Series([d.feedback for d in decisions], dtype="string"),
        "edited_plan": pd.Series([d.plan is not None for d in decisions], dtype="bool"),
    })


def events_frame(events: list[StoredEvent]) -> pd.DataFrame:
    return pd.DataFrame({
        "seq": pd.Series([e.seq for e in events], dtype="int64"),
        "time": pd.Series([_time(e.ts) for e in events], dtype="datetime64[us, UTC]"),
        "kind": pd.Series([e.kind for e in events], dtype="string"),
        "node": pd.Series([e.node for e in events], dtype="string"),
        "step": pd.Series([e.step_id for e in events], dtype="string"),
        "attempt": pd.Series([e.attempt for e in events], dtype="Int64"),  # nullable: node events have none
        "detail": pd.Series([cut(event_detail(e), OUTPUT_CHARS) for e in events], dtype="string"),
    })


def _text(value: object) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)
