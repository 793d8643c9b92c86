"""Plan-as-DAG algorithms: cycles, the deterministic execution order, the critical path."""

from __future__ import annotations

import pytest

from graph.core.dag import critical_path_seconds, execution_order, find_cycle, references
from graph.core.schemas import Plan


def plan(*steps: tuple[str, list[str], int]) -> Plan:
    return Plan.model_validate({"goal": "g", "steps": [
        {"id": i, "tool": "calculate", "args": {"expression": "1"}, "depends_on": d, "priority": p}
        for i, d, p in steps]})


def test_find_cycle_returns_the_cycle_only() -> None:
    cyc = find_cycle(plan(("free", [], 0), ("a", ["c"], 0), ("b", ["a"], 0), ("c", ["b"], 0)))
    assert cyc is not None and cyc[0] == cyc[-1] and set(cyc) == {"a", "b", "c"}
    assert find_cycle(plan(("a", [], 0), ("b", ["a"], 0))) is None


def test_execution_order_is_topological_and_prefers_priority_then_plan_order() -> None:
    p = plan(("low", [], 0), ("high", [], 5), ("child", ["low"], 9), ("mid", [], 1))
    assert [s.id for s in execution_order(p)] == ["high", "mid", "low", "child"]


def test_execution_order_is_the_same_every_time() -> None:
    p = plan(*[(f"s{i}", [f"s{i - 1}"] if i % 3 else [], i % 4) for i in range(60)])
    first = [s.id for s in execution_order(p)]
    assert all([s.id for s in execution_order(p)] == first for _ in range(20))


def test_execution_order_refuses_a_cycle() -> None:
    with pytest.raises(ValueError, match="cycle"):
        execution_order(plan(("a", ["b"], 0), ("b", ["a"], 0)))


def test_critical_path_is_the_longest_chain() -> None:
    p = plan(("slow", [], 0), ("tail", ["slow"], 0), ("c1", [], 0), ("c2", ["c1"], 0), ("c3", ["c2"], 0))
    durations = {"slow": 1.0, "tail": 0.1, "c1": 0.5, "c2": 0.5, "c3": 0.5}
    assert critical_path_seconds(p, durations) == pytest.approx(1.5)


def test_references_are_found_in_nested_args() -> None:
    assert references({"a": "x {{one}} y", "b": ["{{ two }}", {"c": "{{three}}"}], "n": 3}) == {"one", "two", "three"}
