"""The critic. Deterministic checks always run, because they are what makes a plan safe to
execute (and what an edited or uploaded plan is re-validated with); with a real model the
model's review is added on top and may ask for a revision."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, ValidationError

from agents.goal_checks import GOAL_CHECKS, goal_issues
from agents.prompts import CRITIC_SYSTEM, critic_request
from agents.result_checks import check_problems
from agents.structured import ask_structured
from agents.tools import ToolRegistry
from graph.core.dag import find_cycle, references
from graph.core.errors import RequestError
from graph.core.model import Model
from graph.core.schemas import Critique, CritiqueIssue, Plan, Step
from graph.core.secrets import ENV_PREFIX, literal_secrets
from graph.core.settings import Settings


class InvalidPlanError(RequestError, ValueError):
    """A plan that must not run; the message is one line naming the first problem."""


def check_plan(plan: Plan, registry: ToolRegistry) -> list[CritiqueIssue]:
    """Every rule a plan must pass before it may run, as issues (errors block)."""
    issues: list[CritiqueIssue] = []
    counts = Counter(s.id for s in plan.steps)
    for step_id, count in counts.items():
        if count > 1:
            issues.append(CritiqueIssue(severity="error", step_id=step_id,
                                        message=f"duplicate step id {step_id!r} ({count} steps)"))
    ids = set(counts)
    for step in plan.steps:
        issues.extend(_check_step(step, ids, registry))
    if not any(i.severity == "error" and "depends on" in i.message for i in issues):
        cycle = find_cycle(plan)
        if cycle:
            issues.append(CritiqueIssue(severity="error", step_id=cycle[0],
                                        message=f"dependency cycle: {' -> '.join(cycle)}"))
    return issues


def _check_step(step: Step, ids: set[str], registry: ToolRegistry) -> list[CritiqueIssue]:
    issues: list[CritiqueIssue] = []

    def error(message: str) -> None:
        issues.append(CritiqueIssue(severity="error", step_id=step.id, message=message))

    for dep in step.depends_on:
        if dep == step.id:
            error(f"step {step.id!r} depends on itself (cycle: {step.id} -> {step.id})")
        elif dep not in ids:
            error(f"step {step.id!r} depends on missing step {dep!r}")
    for where in literal_secrets(step.args):
        error(f"step {step.id!r}: literal secret in {where}; cite it as ${{secret:NAME}} "
              f"(read from {ENV_PREFIX}NAME when the step runs)")
    for problem in check_problems(step.checks):
        error(f"step {step.id!r}: check {problem}")
    for cited in sorted(references(step.args) - set(step.depends_on)):
        error(f"step {step.id!r} cites {{{{{cited}}}}} but does not depend on {cited!r}")
    if step.tool not in registry:
        error(f"step {step.id!r} uses unknown tool {step.tool!r} (known: {', '.join(registry.names())})")
        return issues
    problem = args_problem(registry.get(step.tool).args_schema, step.args)
    if problem:
        error(f"step {step.id!r}: args do not fit tool {step.tool!r}: {problem}")
    if step.cache is not None and (refusal := cache_refusal(step, registry)):
        error(f"step {step.id!r}: {refusal}: remove its cache")
    if registry.is_risky(step.tool):
        issues.append(CritiqueIssue(severity="warning", step_id=step.id, check="risky_tool",
                                    message=f"step {step.id!r} uses risky tool {step.tool!r}"))
    if step.tool == "http_request" and str(step.args.get("method", "GET")).upper() != "GET":
        issues.append(CritiqueIssue(severity="warning", step_id=step.id, check="method",
                                    message=f"step {step.id!r} sends a {step.args['method']} request"))
    return issues


def cache_refusal(step: Step, registry: ToolRegistry) -> str | None:
    """Why a step's results are never cached, or None: a risky tool (it changes something,
    so a second call is not the same as the first) or an HTTP method other than GET."""
    if registry.is_risky(step.tool):
        return f"tool {step.tool!r} is risky: its results are never cached"
    if step.tool == "http_request" and str(step.args.get("method", "GET")).upper() != "GET":
        return f"a {step.args['method']} request's results are never cached"
    return None


def args_problem(schema: type[BaseModel] | dict[str, Any] | None, args: dict[str, Any]) -> str | None:
    """The first way ``args`` break the tool's schema ("where: what"), or None. A tool's
    schema is a pydantic model (ours, ``@tool`` functions) or JSON Schema (MCP servers')."""
    if schema is None:
        return None
    if isinstance(schema, dict):
        error = next(iter(sorted(Draft202012Validator(schema).iter_errors(args), key=lambda e: list(e.path))), None)
        if error is None:
            return None
        return f"{'.'.join(str(p) for p in error.path) or 'args'}: {error.message}"
    try:
        schema.model_validate(args)
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'args'}: {first['msg']}"
    return None


def assess_risk(issues: list[CritiqueIssue], plan: Plan) -> tuple[str, dict[str, str]]:
    """The plan's risk and the steps that make it so, each with why: a warning makes it
    high; a step that reaches the network, medium."""
    warned: dict[str, list[str]] = {}
    for issue in issues:
        if issue.severity == "warning" and issue.check not in GOAL_CHECKS:
            warned.setdefault(issue.step_id or "plan", []).append(issue.message)
    if warned:
        return "high", {where: "; ".join(messages) for where, messages in warned.items()}
    network = {s.id: f"step {s.id!r} reaches the network ({s.tool})" for s in plan.steps if s.tool == "http_request"}
    return ("medium", network) if network else ("low", {})


def blocking_problem(issues: Iterable[CritiqueIssue | Mapping[str, Any]]) -> str | None:
    """The gate's one rule: a plan with an error-severity issue does not run, whoever approves
    it (a front end through ``Workflow.approve``, or a client of LangGraph's own API whose
    decision ``human_review`` applies). The first blocking issue and how many more, or None."""
    blocking = [i.message if isinstance(i, CritiqueIssue) else i["message"] for i in issues
                if (i.severity if isinstance(i, CritiqueIssue) else i["severity"]) == "error"]
    if not blocking:
        return None
    return blocking[0] + (f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else "")


def validate_plan(plan: Plan, registry: ToolRegistry) -> None:
    """Raise InvalidPlanError naming the first blocking problem, or return."""
    problem = blocking_problem(check_plan(plan, registry))
    if problem:
        raise InvalidPlanError(problem)


class ModelReview(Model):
    """What the model adds to the deterministic checks."""

    verdict: str = Field(description="'approve' or 'revise'")
    issues: list[str] = Field(default_factory=list, description="Problems a human should know about.")


def critique(plan: Plan, registry: ToolRegistry, settings: Settings, model: BaseChatModel | None = None) -> Critique:
    """The deterministic checks, the flags for a plan that may miss the goal (warnings: the
    operator looks, the verdict stands), then (``model`` given, and nothing blocks) the
    model's review."""
    issues = check_plan(plan, registry)
    verdict = "revise" if any(i.severity == "error" for i in issues) else "approve"
    issues += goal_issues(plan)
    if model is not None and verdict == "approve":
        review = ask_structured(model, ModelReview, CRITIC_SYSTEM, critic_request(plan, registry.catalogue()),
                                agent="critic", settings=settings)
        issues += [CritiqueIssue(severity="warning", message=m, check="model") for m in review.issues]
        if review.verdict.strip().lower() == "revise":
            verdict = "revise"
    risk, risky_steps = assess_risk(issues, plan)
    return Critique(verdict=verdict, issues=issues, risk=risk, risky_steps=risky_steps)
