"""Plan-as-DAG algorithms: cycle detection, the deterministic execution order and the
critical path. Pure functions over ``Plan`` so the critic, the executor and the benchmarks
share one definition."""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Mapping

from graph.core.schemas import Plan, Step

REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9][A-Za-z0-9_-]{0,63})\s*\}\}")


def find_cycle(plan: Plan) -> list[str] | None:
    """Step ids of one cycle, first id repeated at the end, or None if the plan is acyclic."""
    deps = {s.id: [d for d in s.depends_on] for s in plan.steps}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in deps:
        if state.get(root):
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, index = stack.pop()
            if index == 0:
                state[node] = 1
                path.append(node)
            children = [d for d in deps.get(node, []) if d in deps]
            if index < len(children):
                stack.append((node, index + 1))
                child = children[index]
                if state.get(child) == 1:
                    return path[path.index(child):] + [child]
                if not state.get(child):
                    stack.append((child, 0))
            else:
                state[node] = 2
                path.pop()
    return None


def execution_order(plan: Plan) -> list[Step]:
    """A topological order that prefers higher priority, then plan order.

    The executor calls one LangGraph task per step in this order, and LangGraph derives a
    task's id from its call index, so this must depend on the plan alone, never on timing.
    """
    position = {s.id: i for i, s in enumerate(plan.steps)}
    waiting = {s.id: len(set(s.depends_on)) for s in plan.steps}
    dependents: dict[str, list[str]] = {s.id: [] for s in plan.steps}
    for s in plan.steps:
        for d in set(s.depends_on):
            dependents[d].append(s.id)
    by_id = {s.id: s for s in plan.steps}
    ready = [(-s.priority, position[s.id], s.id) for s in plan.steps if waiting[s.id] == 0]
    heapq.heapify(ready)
    order: list[Step] = []
    while ready:
        _, _, step_id = heapq.heappop(ready)
        order.append(by_id[step_id])
        for child in dependents[step_id]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (-by_id[child].priority, position[child], child))
    if len(order) != len(plan.steps):
        raise ValueError(f"plan has a cycle: {' -> '.join(find_cycle(plan) or [])}")
    return order


def critical_path_seconds(plan: Plan, duration: Callable[[Step], float] | Mapping[str, float]) -> float:
    """Length of the longest dependency chain, the floor for any schedule's makespan."""
    cost = duration if callable(duration) else (lambda s: duration[s.id])
    finish: dict[str, float] = {}
    for step in execution_order(plan):
        start = max((finish[d] for d in step.depends_on), default=0.0)
        finish[step.id] = start + cost(step)
    return max(finish.values(), default=0.0)


def references(value: object) -> set[str]:
    """Step ids cited as ``{{id}}`` anywhere inside an args value."""
    if isinstance(value, str):
        return set(REFERENCE.findall(value))
    if isinstance(value, dict):
        return set().union(*(references(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(references(v) for v in value)) if value else set()
    return set()
