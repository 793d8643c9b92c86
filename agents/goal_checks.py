"""Does the plan do what the goal asks? The critic's flags for a plan that may run cleanly
and still miss the point, found by a newcomer's first tries:

- a clause of the goal that no step serves ("Calculate (2+3)*4" lost into a description);
- a step that reads a file another step writes without waiting for it (the read of
  notes.txt ran beside the write);
- a step described as one operation that calls another tool ("Calculate 10/0" as a
  ``summarize`` step, which completed).

They are warnings: they ask the operator to look, they do not block, and they do not make a
plan risky (risk is about what a step may harm)."""

from __future__ import annotations

import re

from agents.tools.builtin import OPERATIONS
from graph.core.schemas import CritiqueIssue, Plan, Step

COVERAGE, ORDER, OPERATION = "coverage", "order", "operation"
GOAL_CHECKS = frozenset({COVERAGE, ORDER, OPERATION})
_WORD = re.compile(r"[a-z]+")


def goal_issues(plan: Plan) -> list[CritiqueIssue]:
    return [*coverage_issues(plan), *order_issues(plan), *operation_issues(plan)]


def coverage_issues(plan: Plan) -> list[CritiqueIssue]:
    if not plan.coverage:
        return [CritiqueIssue(severity="info", check=COVERAGE,
                              message="the plan does not say which steps serve which part of the goal")]
    ids = {s.id for s in plan.steps}
    issues = []
    for clause in plan.coverage:
        unknown = [s for s in clause.steps if s not in ids]
        if unknown:
            issues.append(CritiqueIssue(severity="warning", check=COVERAGE, step_id=unknown[0],
                                        message=f"{clause.text!r} is served by step {unknown[0]!r}, "
                                                "which the plan does not have"))
        elif not clause.steps:
            issues.append(CritiqueIssue(severity="warning", check=COVERAGE,
                                        message=f"no step serves {clause.text!r}"))
    return issues


def _ancestors(plan: Plan) -> dict[str, set[str]]:
    """Every step each step waits for, directly or through others."""
    by_id = {s.id: s for s in plan.steps}
    found: dict[str, set[str]] = {}

    def of(step_id: str, path: frozenset[str] = frozenset()) -> set[str]:
        if step_id not in found:
            direct = [d for d in by_id[step_id].depends_on if d in by_id and d not in path]
            found[step_id] = set(direct).union(*(of(d, path | {step_id}) for d in direct))
        return found[step_id]

    for step in plan.steps:
        of(step.id)
    return found


def file_key(value: object) -> str | None:
    """An arg as the file tools resolve it, so "./notes.txt" is the notes.txt written
    before; None for anything that names no file."""
    return value.strip().removeprefix("./") if isinstance(value, str) and value.strip() else None


def order_issues(plan: Plan) -> list[CritiqueIssue]:
    """A file written by one step and named by another, with neither waiting for the other."""
    ancestors = _ancestors(plan)
    issues = []
    for writer in (s for s in plan.steps if s.tool == "write_file"):
        written = file_key(writer.args.get("path"))
        for other in plan.steps:
            if other.id == writer.id or written is None:
                continue
            if written in {file_key(v) for v in other.args.values()} and writer.id not in ancestors[other.id] \
                    and other.id not in ancestors[writer.id]:
                issues.append(CritiqueIssue(
                    severity="warning", check=ORDER, step_id=other.id,
                    message=f"step {other.id!r} uses {written}, which step {writer.id!r} writes, "
                            f"but does not wait for it (add {writer.id!r} to its depends_on)"))
    return issues


def operation_issues(plan: Plan) -> list[CritiqueIssue]:
    return [issue for step in plan.steps if (issue := _operation_issue(step)) is not None]


def _operation_issue(step: Step) -> CritiqueIssue | None:
    own = OPERATIONS.get(step.tool)
    if not own or not step.description:
        return None  # a tool of the user's: its words are unknown
    words = {_stem(w) for w in _WORD.findall(step.description.lower())}
    if words & own:
        return None
    named = sorted(tool for tool, verbs in OPERATIONS.items() if tool != step.tool and words & verbs)
    if not named:
        return None
    return CritiqueIssue(severity="warning", check=OPERATION, step_id=step.id,
                         message=f"step {step.id!r} is described as {step.description!r}, which names "
                                 f"{' or '.join(named)}, but it calls {step.tool}")


def _stem(word: str) -> str:
    """'fetches', 'fetching', 'calculated' → their verb, as the tool's verbs spell it."""
    for suffix, back in (("ing", ""), ("ing", "e"), ("es", ""), ("ed", ""), ("ed", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)] + back
            if any(stem in verbs for verbs in OPERATIONS.values()):
                return stem
    return word
