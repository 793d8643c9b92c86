"""The executor's scheduling promises, in-process against the real HTTP server: a step
starts as soon as its own dependencies are done (not when a superstep ends), and a scarce
concurrency limit goes to the highest priority first."""

from __future__ import annotations

from pathlib import Path

from graph.core.schemas import Plan
from tests.support.settings import home_settings
from tests.support.ops import JsonOps
from tests.support.http_server import ToolServer
from tests.support.plans import fetch


def run(home: Path, steps: list[dict], **settings: object) -> dict:
    flow = JsonOps(home_settings(home, **settings))
    thread = flow.start(plan=Plan.model_validate({"goal": "g", "steps": steps}))["thread_id"]
    return flow.approve(thread)


def test_a_step_starts_when_its_dependencies_finish_not_when_a_slow_sibling_does(home: Path, server: ToolServer) -> None:
    out = run(home, [fetch(server, "slow", delay=1.0), fetch(server, "c1", delay=0.05),
                     fetch(server, "c2", ["c1"], delay=0.05), fetch(server, "c3", ["c2"], delay=0.05),
                     fetch(server, "after_slow", ["slow"], delay=0)])
    steps = out["steps"]
    assert out["status"] == "COMPLETED"
    assert steps["c3"]["finished_at"] < steps["slow"]["finished_at"], "the chain ran while slow was running"
    assert steps["c2"]["started_at"] >= steps["c1"]["finished_at"]
    assert steps["after_slow"]["started_at"] >= steps["slow"]["finished_at"]


def test_scarce_slots_go_to_the_highest_priority_first(home: Path, server: ToolServer) -> None:
    steps = [fetch(server, "gate", delay=0.3)] + [
        fetch(server, name, ["gate"], delay=0.02, priority=priority) for name, priority in
        [("p1", 1), ("p9", 9), ("p5", 5), ("p0", 0), ("p7", 7)]]
    out = run(home, steps, step_concurrency=1)
    order = sorted(["p1", "p9", "p5", "p0", "p7"], key=lambda s: out["steps"][s]["started_at"])
    assert order == ["p9", "p7", "p5", "p1", "p0"]


def test_more_steps_than_threads_still_finishes(home: Path, server: ToolServer) -> None:
    steps = [fetch(server, f"s{i}", [f"s{i - 1}"] if i % 5 else [], delay=0) for i in range(40)]
    out = run(home, steps, max_task_threads=6)
    assert out["status"] == "COMPLETED"
    assert sum(server.hits.values()) == 40
