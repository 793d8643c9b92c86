"""What a step's checks (``graph/core/checks.py``) say of its output. Each failed check reads
"LABEL: why", so the operator, the retry's feedback to a model and the metrics all name the
check and the reason alike.

A ``judge`` check asks the run's chat model for a ``JudgeVerdict``. The offline model
answers it by ``offline_verdict``, a fixed rule (documented in the README): it fails a
blank output, an output that reads as an error, or one that lacks a text the criteria
quote; it passes anything else."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from langchain_core.language_models import BaseChatModel
from pydantic import Field

from agents.prompts import JUDGE_SYSTEM, judge_request
from agents.structured import ask_structured
from graph.core.checks import Check, Contains, JsonSchema, Judge, NotEmpty, Range, Regex, check_label
from graph.core.errors import CheckFailed
from graph.core.model import Model
from graph.core.settings import Settings
from graph.core.walk import as_text

Judging = Callable[[str, str], tuple[bool, str]]  # (criteria, output text) -> (passed, reason)
_ERROR_WORDS = re.compile(r"\b(error|exception|traceback|failed|undefined|nan|infinity)\b|division by zero", re.I)
_QUOTED = re.compile(r"\"([^\"]+)\"|'([^']+)'")


class JudgeVerdict(Model):
    """The judge's answer on one output."""

    passed: bool = Field(description="true if the output meets the criteria")
    reason: str = Field(description="One line: why it passes or fails.")


def verify(checks: list[Check], output: Any, judge: Judging | None) -> dict[str, list[str]]:
    """The kinds of check that passed and that failed; raise CheckFailed naming every
    check the output fails (and holding the output)."""
    results = check_results(checks, output, judge)
    tally = {"passed": [c.kind for c, why in results if why is None],
             "failed": [c.kind for c, why in results if why is not None]}
    failures = [f"{check_label(check)}: {why}" for check, why in results if why is not None]
    if failures:
        raise CheckFailed(failures, output, tally)
    return tally


def failed_checks(checks: list[Check], output: Any, judge: Judging | None) -> list[str]:
    return [f"{check_label(check)}: {why}" for check, why in check_results(checks, output, judge) if why is not None]


def check_results(checks: list[Check], output: Any, judge: Judging | None) -> list[tuple[Check, str | None]]:
    """Each check with why the output fails it, or None where it passes."""
    return [(check, _why_failed(check, output, judge)) for check in checks]


def _why_failed(check: Check, output: Any, judge: Judging | None) -> str | None:
    text = as_text(output)
    match check:
        case NotEmpty():
            empty = output is None or (isinstance(output, (str, list, dict)) and not (
                output.strip() if isinstance(output, str) else output))
            return "the output is empty" if empty else None
        case Contains(text=wanted):
            return None if wanted in text else f"the output does not contain {wanted!r}"
        case Regex(pattern=pattern):
            try:
                return None if re.search(pattern, text) else f"the output does not match {pattern!r}"
            except re.error as exc:
                return f"the pattern does not compile: {exc}"
        case JsonSchema(json_schema=schema):
            return _schema_problem(schema, output)
        case Range(min=low, max=high):
            value = _number(output)
            if value is None:
                return f"the output is not a number: {text[:60]!r}"
            if (low is not None and value < low) or (high is not None and value > high):
                return f"{value:g} is out of range"
            return None
        case Judge(criteria=criteria):
            if judge is None:
                return "no chat model to judge with"
            passed, reason = judge(criteria, text)
            return None if passed else reason or "the judge said no"
    return f"unknown check {check.kind!r}"


def _schema_problem(schema: dict[str, Any], output: Any) -> str | None:
    value = output
    if isinstance(output, str):
        try:
            value = json.loads(output)
        except json.JSONDecodeError:
            return "the output is not JSON"
    try:
        error = next(iter(sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))), None)
    except SchemaError as exc:
        return f"the schema is invalid: {exc.message}"
    if error is None:
        return None
    return f"{'.'.join(str(p) for p in error.path) or 'output'}: {error.message}"


def _number(output: Any) -> float | None:
    if isinstance(output, bool):
        return None
    if isinstance(output, (int, float)):
        return float(output)
    if isinstance(output, str):
        try:
            return float(output.strip())
        except ValueError:
            return None
    return None


def check_problems(checks: list[Check]) -> list[str]:
    """Checks that could never pass as written: a pattern that does not compile, a schema
    that is not JSON Schema. The critic makes each a blocking issue."""
    problems = []
    for check in checks:
        if isinstance(check, Regex):
            try:
                re.compile(check.pattern)
            except re.error as exc:
                problems.append(f"{check_label(check)} does not compile: {exc}")
        elif isinstance(check, JsonSchema):
            try:
                Draft202012Validator.check_schema(check.json_schema)
            except SchemaError as exc:
                problems.append(f"json_schema is not a valid JSON Schema: {exc.message}")
    return problems


def model_judge(model: BaseChatModel, settings: Settings) -> Judging:
    """A judge that asks ``model``, with the agents' structured output and its repairs."""

    def judge(criteria: str, output: str) -> tuple[bool, str]:
        verdict = ask_structured(model, JudgeVerdict, JUDGE_SYSTEM, judge_request(criteria, output), agent="judge",
                                 settings=settings)
        return verdict.passed, verdict.reason

    return judge


def offline_verdict(criteria: str, output: str) -> JudgeVerdict:
    """The offline model's rule for a judge check (deterministic, so tests can rely on it)."""
    if not output.strip():
        return JudgeVerdict(passed=False, reason="the output is empty")
    found = _ERROR_WORDS.search(output)
    if found:
        return JudgeVerdict(passed=False, reason=f"the output reads as an error ({found.group(0)!r})")
    for match in _QUOTED.finditer(criteria):
        wanted = match.group(1) or match.group(2)
        if wanted.lower() not in output.lower():
            return JudgeVerdict(passed=False, reason=f"the output does not mention {wanted!r}")
    return JudgeVerdict(passed=True, reason="not empty, no error, every quoted text present")
