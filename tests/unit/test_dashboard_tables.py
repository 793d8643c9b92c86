"""The dashboard's tables and pictures, built from the API's models: one dtype per column
(Arrow fails on a column mixing ints and text), and text escaped where it is drawn."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from graph.core.events import StoredEvent
from graph.core.schemas import Attempt, StepStatus
from graph.operations.models import StepView
from graph.core.schemas import Plan
from ui.dashboard.charts import dag, dag_layout
from ui.dashboard.tables import args_summary, attempts_frame, card_frame, events_frame, steps_frame, timeline_frame

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


def event(seq: int, kind: str, attempt: int | None = None, step: str | None = None) -> StoredEvent:
    return StoredEvent(thread_id="t", seq=seq, ts=T0, kind=kind, attempt=attempt, step_id=step, payload={"n": seq})


def test_events_keep_one_type_per_column_and_blank_cells_when_some_have_no_attempt() -> None:
    frame = events_frame([event(1, "node_started"), event(2, "step_started", 1, "a")])
    assert frame["attempt"].tolist() == ["", "1"] and frame["step"].tolist() == ["", "a"], "blank, not None"
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
    frame = steps_frame(steps, now=T0 + timedelta(seconds=5))
    assert frame["output"].tolist()[0] == "42" and frame["after"].tolist() == ["", "a", "a"]
    assert frame["duration"].tolist() == ["2.00 s", "3.0 s so far", ""], "blank, not None, where there is none"
    assert frame["error"].tolist() == ["", "", ""] and frame["started"].tolist() == ["10:00:00.000", "10:00:02.000", ""]
    backing_off = steps[1].model_copy(update={"attempts": 2, "next_attempt_at": T0 + timedelta(seconds=7)})
    assert steps_frame([backing_off], now=T0 + timedelta(seconds=5))["next_try"].tolist() == ["attempt 2 at 10:00:07.000"]
    assert steps_frame([backing_off], now=T0 + timedelta(seconds=8))["next_try"].tolist() == [""], "not once it is due"
    assert attempts_frame(steps).to_dict("records") == [
        {"step": "a", "attempt": 1, "category": "http_5xx", "error": "HTTP 503", "backoff": "0.50 s"}]
    timeline = timeline_frame(steps, now=T0 + timedelta(seconds=5))
    assert timeline["step"].tolist() == ["a", "b"], "a step that has not started has no bar"
    assert timeline["end"].tolist()[1] == T0 + timedelta(seconds=5), "a running step's bar ends now"
    assert timeline["start_s"].tolist() == [0.0, 2.0] and timeline["end_s"].tolist() == [2.0, 5.0], "from the start"
    assert timeline["label"].tolist() == ["2.00 s", "3.00 s…"], "each bar says how long; a running one goes on"


def test_the_dag_puts_each_step_a_row_below_its_latest_dependency() -> None:
    steps = [StepView(id="a", tool="calculate"), StepView(id="b", tool="calculate", depends_on=["a"]),
             StepView(id="c", tool="calculate", depends_on=["a"]),
             StepView(id="d", tool="summarize", depends_on=["b", "c"], status=StepStatus.FAILED)]
    nodes, edges = dag_layout(steps)
    assert dict(zip(nodes["step"], nodes["y"])) == {"a": 0, "b": 1, "c": 1, "d": 2}
    assert dict(zip(nodes["step"], nodes["x"])) == {"a": 0.0, "b": -0.5, "c": 0.5, "d": 0.0}, "rows centred"
    assert len(edges) == 4
    chain = [StepView(id=f"s{i}", tool="calculate", depends_on=[f"s{i - 1}"] if i else []) for i in range(20)]
    nodes, _ = dag_layout(chain)
    assert nodes["y"].tolist() == list(range(20)) and set(nodes["x"]) == {0.0}, "a chain runs down the page"
    spec = dag(chain).to_dict()
    assert spec["height"] >= 20 * 60, "and grows taller, each row as tall as the last"
    assert [p["name"] for p in spec["params"]] == ["dag_pick"], "a click on a node picks its step"


def test_the_decision_card_summarises_args_on_one_line() -> None:
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "calculate", "args": {"expression": "6*7"}},
        {"id": "b", "tool": "write_file", "args": {"path": "x.txt", "content": "y" * 500}, "depends_on": ["a"]}]})
    frame = card_frame(plan)
    assert frame["args"].tolist()[0] == 'expression="6*7"' and frame["after"].tolist() == ["", "a"]
    assert len(frame["args"].tolist()[1]) == 120 and frame["args"].tolist()[1].endswith("…")
    assert frame["checks"].tolist() == ["", ""]
    checked = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "calculate", "args": {}, "checks": [
        {"kind": "not_empty"}, {"kind": "range", "min": 0, "max": 100}, {"kind": "contains", "text": "4"}]}]})
    assert card_frame(checked)["checks"].tolist() == ["not_empty; range 0..100; contains '4'"]
    assert args_summary({}) == ""


def test_a_step_in_back_off_says_when_it_tries_next() -> None:
    from graph.operations.views import step_views

    plan = {"steps": [{"id": "a", "tool": "http_request", "args": {}}]}
    started = StoredEvent(thread_id="t", seq=1, ts=T0, kind="step_started", step_id="a", attempt=1)
    retry = StoredEvent(thread_id="t", seq=2, ts=T0 + timedelta(seconds=1), kind="step_retry", step_id="a",
                        attempt=1, payload={"error": "HTTP 503", "delay_s": 0.5})
    [view] = step_views(plan, {}, [started, retry]).values()
    assert view.status == StepStatus.RUNNING and view.attempts == 2
    assert view.next_attempt_at == T0 + timedelta(seconds=1.5)
    done = StoredEvent(thread_id="t", seq=3, ts=T0 + timedelta(seconds=2), kind="step_succeeded", step_id="a",
                       attempt=2, payload={"output": "ok", "seconds": 2.0})
    [view] = step_views(plan, {}, [started, retry, done]).values()
    assert view.next_attempt_at is None


def test_a_step_running_again_keeps_its_earlier_attempts_in_the_live_view() -> None:
    from graph.operations.views import step_views

    plan = {"steps": [{"id": "a", "tool": "http_request", "args": {}}]}
    earlier = {"a": {"status": "NOT_ATTEMPTED", "attempts": 2, "error": "not attempted: breaker ...", "attempt_log": [
        {"attempt": 1, "started_at": T0.isoformat(), "error": "HTTP 503", "category": "http_5xx", "delay_s": 0.5},
        {"attempt": 2, "started_at": T0.isoformat(), "error": "HTTP 503", "category": "http_5xx"},
        {"attempt": 3, "started_at": T0.isoformat(), "error": "refused", "category": "circuit_open"}]}}
    started = StoredEvent(thread_id="t", seq=9, ts=T0 + timedelta(seconds=9), kind="step_started", step_id="a",
                          attempt=4)
    [view] = step_views(plan, earlier, [started]).values()
    assert view.status == StepStatus.RUNNING and view.attempts == 4 and view.error is None
    assert [a.attempt for a in view.attempt_log] == [1, 2, 3], "the earlier run's attempts stay on screen"
    refused = StoredEvent(thread_id="t", seq=10, ts=T0 + timedelta(seconds=9), kind="step_not_attempted",
                          step_id="a", payload={"error": "not attempted: breaker for http:h open"})
    [view] = step_views(plan, earlier, [started, refused]).values()
    assert view.status == StepStatus.NOT_ATTEMPTED and view.error.startswith("not attempted")
