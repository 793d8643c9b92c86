"""Property-based test of the scheduler: random DAGs with random failures, priorities and
concurrency limits. Every step ends SUCCEEDED, FAILED or SKIPPED consistently with its
dependencies, none starts before its dependencies succeed, and none runs twice."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.tools import tool

from agents.tools import ToolRegistry
from graph.core.errors import ToolError
from graph.store.connect import open_database
from graph.core.schemas import Plan
from tests.support.settings import home_settings
from tests.support.ops import JsonOps

CALLS: list[tuple[str, float, float]] = []
LOCK = threading.Lock()


@tool
def probe(name: str, fail: bool = False, delay_ms: int = 0) -> str:
    """Record a call; fail when asked."""
    start = time.monotonic()
    time.sleep(delay_ms / 1000)
    with LOCK:
        CALLS.append((name, start, time.monotonic()))
    if fail:
        raise ToolError(f"{name} failed on purpose")
    return name


@st.composite
def plans(draw: st.DrawFn) -> tuple[Plan, int]:
    n = draw(st.integers(1, 10))
    steps = []
    for i in range(n):
        deps = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=3)) if i else []
        fail = draw(st.booleans()) and draw(st.booleans())  # about one step in four fails
        steps.append({"id": f"s{i}", "tool": "probe", "depends_on": [f"s{d}" for d in deps],
                      "priority": draw(st.integers(0, 3)),
                      "args": {"name": f"s{i}", "fail": fail, "delay_ms": draw(st.integers(0, 15))}})
    shuffled = draw(st.permutations(steps))
    return Plan.model_validate({"goal": "property", "steps": shuffled}), draw(st.integers(1, 4))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_random_dags_end_consistently_and_run_each_step_at_most_once(case: tuple[Plan, int]) -> None:
    plan, concurrency = case
    registry = ToolRegistry()
    registry.register(probe)
    CALLS.clear()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "workspace").mkdir()
        config = home_settings(Path(tmp), step_concurrency=concurrency)
        db = open_database(config.db)
        flow = JsonOps(config, db, registry=registry)
        out = flow.approve(flow.start(plan=plan)["thread_id"])
        db.close()

    results = {k: v["status"] for k, v in out["steps"].items()}
    calls = {name: (start, end) for name, start, end in CALLS}
    assert len(calls) == len(CALLS), "a step ran twice"
    by_id = {s.id: s for s in plan.steps}
    for step in plan.steps:
        deps_ok = all(results[d] == "SUCCEEDED" for d in step.depends_on)
        if not deps_ok:
            assert results[step.id] == "SKIPPED" and step.id not in calls
            continue
        assert results[step.id] == ("FAILED" if step.args["fail"] else "SUCCEEDED")
        assert step.id in calls
        for dep in step.depends_on:
            assert calls[step.id][0] >= calls[dep][1], f"{step.id} started before {dep} finished"
    for start, _ in calls.values():
        running = sum(1 for s, e in calls.values() if s <= start < e)
        assert running <= concurrency, "the concurrency limit was exceeded"
    failed = any(r != "SUCCEEDED" for r in results.values())
    assert out["status"] == ("FAILED" if failed else "COMPLETED")
    assert set(results) == set(by_id)
