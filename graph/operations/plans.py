"""The one plan parser every front end uses, whatever the plan came as: a file, pasted text
or an uploaded file's bytes. The first problem comes back as one line that names where it
is (the source, then the step by id and the field), so an operator knows what to fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from graph.core.errors import PlanInputError
from graph.core.schemas import Plan


def parse_plan(data: bytes | str, source: str = "plan", default_goal: str | None = None) -> Plan:
    """``data``: the plan's JSON. A plan without a goal takes ``default_goal`` (the thread's)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PlanInputError(f"{source} is not UTF-8 (byte {exc.start})") from None
    if not data.strip():
        raise PlanInputError(f"{source} is empty")
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        raise PlanInputError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(value, dict):
        raise PlanInputError(f"{source} is not a valid plan: expected an object with \"steps\", got {type(value).__name__}")
    if "goal" not in value:
        value = {"goal": default_goal or "operator plan", **value}
    try:
        return Plan.model_validate(value)
    except ValidationError as exc:
        raise PlanInputError(f"{source} is not a valid plan: {first_error(exc, value)}") from None


def read_plan_file(path: str | Path, default_goal: str | None = None) -> Plan:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PlanInputError(f"cannot read plan file {path}: {exc.strerror}") from None
    return parse_plan(raw, f"plan file {path}", default_goal)


def first_error(exc: ValidationError, value: Any) -> str:
    """``step 'fetch' (#2) timeout_s: Input should be greater than 0``: the step by its id
    (and position), then the field, then pydantic's message."""
    return describe_error(exc.errors()[0], value)


def describe_error(error: Any, value: Any) -> str:
    """One pydantic error of a plan (its ``loc`` from the plan down) as ``first_error`` says it."""
    loc = list(error["loc"])
    where = ".".join(str(p) for p in loc) or "plan"
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = value.get("steps") if isinstance(value, dict) else None
        step = steps[loc[1]] if isinstance(steps, list) and loc[1] < len(steps) else None
        step_id = step.get("id") if isinstance(step, dict) else None
        name = f"step {step_id!r} (#{loc[1] + 1})" if isinstance(step_id, str) else f"step #{loc[1] + 1}"
        field = ".".join(str(p) for p in loc[2:]) or "step"
        where = f"{name} {field}"
    return f"{where}: {error['msg']}"
