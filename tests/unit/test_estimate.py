"""The time estimate at the gate: medians per tool over a window of the newest successful
steps, topped up from the event log as new steps succeed (a real SQLite file)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from graph.core.events import Event
from graph.core.schemas import Plan, utc_now
from graph.store import estimate
from graph.store.connect import open_database
from graph.store.estimate import DEFAULT_S, Estimator
from graph.store.event_log import append_events

START = utc_now()


def succeeded(n: int, tool: str, seconds: float) -> Event:
    return Event(kind="step_succeeded", ts=START + timedelta(seconds=n), step_id=f"s{n}",
                 payload={"tool": tool, "seconds": seconds})


def two_step_plan() -> Plan:
    return Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "calculate", "args": {"expression": "1"}},
        {"id": "b", "tool": "http_request", "args": {"url": "http://127.0.0.1/"}, "depends_on": ["a"]}]})


def test_the_window_takes_new_steps_and_drops_the_oldest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(estimate, "RECENT", 3)
    db = open_database(str(tmp_path / "e.db"))
    estimator = Estimator(db)
    first = estimator(two_step_plan())
    assert first["unknown_tools"] == ["calculate", "http_request"]
    assert first["critical_path_s"] == 2 * DEFAULT_S

    append_events(db, "t1", [succeeded(1, "calculate", 0.1), succeeded(2, "calculate", 0.3),
                             Event(kind="step_failed", ts=START, payload={"tool": "http_request", "seconds": 9.0})])
    second = estimator(two_step_plan())
    assert second["steps_s"] == {"a": 0.2, "b": DEFAULT_S} and second["samples"] == {"calculate": 2, "http_request": 0}

    append_events(db, "t2", [succeeded(3, "http_request", 0.5), succeeded(4, "http_request", 0.7)])
    third = estimator(two_step_plan())  # the window of 3 keeps steps 2, 3 and 4
    assert third["steps_s"] == {"a": 0.3, "b": 0.6} and third["samples"] == {"calculate": 1, "http_request": 2}
    assert third["critical_path_s"] == pytest.approx(0.9)
    assert Estimator(db)(two_step_plan()) == third, "a fresh window reads the same newest steps"
