"""The dashboard's tables and pictures, built from the API's models: one dtype per column
(Arrow fails on a column mixing ints and text), and text escaped where it is drawn."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from graph.core.events import StoredEvent
from graph.core.schemas import Attempt, StepStatus
from graph.operations.models import StepView
from ui.dashboard.charts import dag_dot
from ui.dashboard.tables import attempts_frame, events_frame, steps_frame, timeline_frame

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


def event(seq: int, kind: str, attempt: int | None = None, step: str | None = None) -> StoredEvent:
    return StoredEvent(thread_id="t", seq=seq, ts=T0, kind=kind, attempt=attempt, step_id=step, payload={"n": seq})


def test_events_keep_one_type_per_column_when_some_have_no_attempt() -> None:
    frame = events_frame([event(1, "node_started"), event(2, "step_started", 1, "a")])
    assert str(frame["attempt"].dtype) == "Int64" and frame["attempt"].isna().tolist() == [True, False]
    assert frame["detail"].tolist() == ["n=1", "n=2"]


def test_steps_attempts_and_timeline() -> None:
    failed = Attempt(attempt=1, started_at=T0, error="HTTP 503", category="http_5xx", delay_s=0.5)
    steps = [
        StepView(id="a", tool="calculate", status=StepStatus.SUCCEEDED, attempts=2, started_at=T0,
                 finished_at=T0 + timedelta(seconds=2), duration_s=2.0, output=42, attempt_log=[failed]),
        StepView(id="b", tool="summarize", depends_on=["a"], status=StepStatus.RUNNING, attempts=1,
                 started_at=T0 + timedelta(seconds=2)),
        StepView(id="c", tool="summarize", depends_on=["a"]),
    ]
    frame = steps_frame(steps)
    assert frame["output"].tolist()[0] == "42" and frame["after"].tolist() == ["", "a", "a"]
    assert attempts_frame(steps).to_dict("records") == [
        {"step": "a", "attempt": 1, "category": "http_5xx", "error": "HTTP 503", "backoff_s": 0.5}]
    timeline = timeline_frame(steps, now=T0 + timedelta(seconds=5))
    assert timeline["step"].tolist() == ["a", "b"], "a step that has not started has no bar"
    assert timeline["end"].tolist()[1] == T0 + timedelta(seconds=5), "a running step's bar ends now"


def test_the_dag_quotes_what_it_draws() -> None:
    dot = dag_dot([StepView(id="a", tool='we"ird'), StepView(id="b", tool="calculate", depends_on=["a"],
                                                               status=StepStatus.FAILED)])
    assert '"a" -> "b";' in dot and 'we\\"ird' in dot and "#b91c1c" in dot
