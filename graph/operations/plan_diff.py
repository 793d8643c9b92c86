"""What changed between two versions of a plan, step by step: steps added, steps removed,
and for a step in both each field that differs (each arg on its own line), so a revision
after feedback can be read against the plan it replaced."""

from __future__ import annotations

import json
from typing import Any

from graph.operations.models import Plan, StepChange

_FIELDS = ("tool", "description", "depends_on", "priority", "timeout_s", "retry")


def plan_diff(before: Plan, after: Plan) -> list[StepChange]:
    old = {s.id: s for s in before.steps}
    new = {s.id: s for s in after.steps}
    changes: list[StepChange] = []
    for step in after.steps:
        if step.id not in old:
            changes.append(StepChange(step=step.id, change="added", after=f"{step.tool} {_json(step.args)}"))
            continue
        was = old[step.id]
        for name in _FIELDS:
            a, b = getattr(was, name), getattr(step, name)
            if a != b:
                changes.append(StepChange(step=step.id, change="changed", field=name, before=_json(a), after=_json(b)))
        for key in [*was.args, *(k for k in step.args if k not in was.args)]:
            a, b = was.args.get(key, _MISSING), step.args.get(key, _MISSING)
            if a != b:
                changes.append(StepChange(step=step.id, change="changed", field=f"args.{key}",
                                          before=_json(a), after=_json(b)))
    changes += [StepChange(step=s.id, change="removed", before=f"{s.tool} {_json(s.args)}")
                for s in before.steps if s.id not in new]
    return changes


_MISSING: Any = object()


def _json(value: Any) -> str:
    if value is _MISSING:
        return ""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
