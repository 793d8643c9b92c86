"""The plan as an editable table and back: each step a row (args as JSON text, checks as a
JSON list, dependencies as a comma-separated list), and an edited table turned back into a plan with every problem
named by its row's step, so the approval panel can show each error beside its step."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
from pydantic import ValidationError

from graph.operations.models import Clause, Plan
from graph.operations.plans import first_error

COLUMNS = ("id", "tool", "args", "checks", "depends_on", "priority", "timeout_s", "description")


def plan_frame(plan: Plan) -> pd.DataFrame:
    steps = plan.steps
    return pd.DataFrame({
        "id": pd.Series([s.id for s in steps], dtype="string"),
        "tool": pd.Series([s.tool for s in steps], dtype="string"),
        "args": pd.Series([json.dumps(s.args, ensure_ascii=False) for s in steps], dtype="string"),
        "checks": pd.Series([json.dumps([c.model_dump(mode="json", exclude_none=True) for c in s.checks],
                                        ensure_ascii=False) if s.checks else "" for s in steps], dtype="string"),
        "depends_on": pd.Series([", ".join(s.depends_on) for s in steps], dtype="string"),
        "priority": pd.Series([s.priority for s in steps], dtype="int64"),
        "timeout_s": pd.Series([s.timeout_s for s in steps], dtype="float64"),
        "description": pd.Series([s.description for s in steps], dtype="string"),
    })


def _blank(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) or value == ""


_EXAMPLES = {dict: ("object", '{"expression": "2 + 3"}'), list: ("list", '[{"kind": "not_empty"}]')}


def json_text(text: Any, name: str, expected: type[dict] | type[list]) -> tuple[Any, str | None]:
    """A cell or text box holding a JSON object (args) or list (checks): its value (empty
    when blank), or the problem in one line naming ``name``."""
    if _blank(text):
        return expected(), None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"at column {exc.colno}" if exc.lineno == 1 else f"at line {exc.lineno} column {exc.colno}"
        return None, f"{name} is not valid JSON: {exc.msg} {where}"
    if not isinstance(value, expected):
        kind, example = _EXAMPLES[expected]
        return None, f"{name} must be a JSON {kind}, like {example}"
    return value, None


def edited_plan(frame: pd.DataFrame, goal: str, keep: dict[str, dict[str, Any]] | None = None,
                coverage: list[Clause] | None = None) -> tuple[Plan | None, list[tuple[str, str]]]:
    """The plan the table describes, or the problems as (step, message), one per step at
    most. ``keep``: fields the table does not show (a step's retry settings), by step id;
    ``coverage``: the plan's map of the goal's clauses to steps, carried over (a clause
    whose step was deleted is then flagged by the critic)."""
    steps: list[dict[str, Any]] = []
    problems: list[tuple[str, str]] = []
    for number, row in enumerate(frame.to_dict("records"), start=1):
        step_id = "" if _blank(row.get("id")) else str(row["id"]).strip()
        name = step_id or f"#{number}"
        step: dict[str, Any] = {"id": step_id, "tool": "" if _blank(row.get("tool")) else str(row["tool"]).strip()}
        args, problem = json_text(row.get("args"), "args", dict)
        if problem is None:
            checks, problem = json_text(row.get("checks"), "checks", list)
        if problem is not None:
            problems.append((name, problem))
            continue
        step["args"] = args
        if checks:
            step["checks"] = checks
        deps = "" if _blank(row.get("depends_on")) else str(row["depends_on"])
        step["depends_on"] = [d.strip() for d in deps.split(",") if d.strip()]
        if not _blank(row.get("priority")):
            step["priority"] = int(row["priority"])
        if not _blank(row.get("timeout_s")):
            step["timeout_s"] = float(row["timeout_s"])
        if not _blank(row.get("description")):
            step["description"] = str(row["description"])
        step |= (keep or {}).get(step_id, {})
        steps.append(step)
    if problems:
        return None, problems
    value = {"goal": goal, "steps": steps, "coverage": [c.model_dump() for c in coverage or []]}
    try:
        return Plan.model_validate(value), []
    except ValidationError as exc:
        found = []
        for error in exc.errors():
            loc = list(error["loc"])
            if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int) and loc[1] < len(steps):
                field = ".".join(str(p) for p in loc[2:]) or "step"
                found.append((steps[loc[1]]["id"] or f"#{loc[1] + 1}", f"{field}: {error['msg']}"))
            else:
                found.append(("plan", first_error(exc, value)))
        return None, _first_per_step(found)


def _first_per_step(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for step, message in problems:
        seen.setdefault(step, message)
    return list(seen.items())
