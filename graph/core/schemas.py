"""Pydantic models for everything that crosses a boundary: plans, critiques, decisions
and step results. They are stored in the graph state as plain JSON (``model_dump``), so a
checkpoint never depends on pickling project classes, and parsed back where used."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from graph.core.checks import Check
from graph.core.model import Model

STEP_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_PLAN_STEPS = 10_000
MAX_GOAL_CHARS = 20_000
PRIORITY_BOUND = 1_000_000


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Action(StrEnum):
    """Every operator command and decision kind: what an account's role allows, what a
    thread view offers, what the audit trail records. ``edit`` is an approval of a changed
    plan (the approve command with a plan)."""

    START = "start"
    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"
    CANCEL = "cancel"
    RESUME = "resume"
    RETRY = "retry"
    FORK = "fork"
    RESTORE = "restore"  # bring back an earlier version of the plan to decide on
    REVIEW = "review"  # decide on a step whose checks kept failing: accept, retry or fail it


class Status(StrEnum):
    """Workflow states of a thread; the value lives in the graph state, so in every checkpoint."""

    CREATED = "CREATED"
    PLANNED = "PLANNED"
    CRITIQUED = "CRITIQUED"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    AWAITING_REVIEW = "AWAITING_REVIEW"  # a step's checks kept failing: a reviewer decides, its dependents wait
    APPROVED = "APPROVED"
    EXECUTING = "EXECUTING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


# The groups, declared once; everything that asks "is it over?", "may a worker take it?"
# or "did it go well?" reads one of these.
FINISHED: frozenset[Status] = frozenset({Status.COMPLETED, Status.FAILED, Status.REJECTED, Status.CANCELLED})
ACTIVE: frozenset[Status] = frozenset(  # a process has work to do (planning, executing)
    {Status.CREATED, Status.PLANNED, Status.CRITIQUED, Status.APPROVED, Status.EXECUTING})
WAITING: frozenset[Status] = frozenset({Status.AWAITING_APPROVAL, Status.AWAITING_REVIEW})  # on a person
SETTLED: frozenset[Status] = FINISHED | WAITING  # nothing happens without a new request
UNSUCCESSFUL: frozenset[Status] = frozenset({Status.FAILED, Status.CANCELLED})  # executed, did not complete
EXECUTED: frozenset[Status] = UNSUCCESSFUL | {Status.COMPLETED}  # the success rate's denominator

# Where a follower of a thread's events stops: ``settled`` also at the gate (the CLI that
# started a run hands back to the operator there), ``finished`` only at an end state (an
# operator watching a thread sees the run an approval starts).
FollowUntil = Literal["settled", "finished"]
FOLLOW_UNTIL: dict[str, frozenset[Status]] = {"settled": SETTLED, "finished": FINISHED}


class StepStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"  # stopped by a cancel while it ran: not a failure of its tool
    NOT_ATTEMPTED = "NOT_ATTEMPTED"  # refused by an open breaker: never called, not its own failure
    NEEDS_REVIEW = "NEEDS_REVIEW"  # its output kept failing its checks: a reviewer decides


ErrorCategory = Literal[
    "timeout", "connection", "http_429", "http_5xx", "http_4xx", "refused", "validation",
    "circuit_open", "cancelled", "check_failed", "error",
]
RETRYABLE_DEFAULT: tuple[ErrorCategory, ...] = ("timeout", "connection", "http_429", "http_5xx", "check_failed")

# The bounds of each retry setting, shared by the config and its overrides.
Attempts = Annotated[int, Field(ge=1, le=100)]
Delay = Annotated[float, Field(ge=0, le=3600)]
MaxDelay = Annotated[float, Field(ge=0, le=86_400)]
Base = Annotated[float, Field(ge=1, le=10)]


class RetryConfig(Model):
    """The one retry configuration (tenacity does the waiting). Delays grow as
    initial_delay_s * exponential_base ** (attempt - 1), capped at max_delay_s, plus a jitter
    of up to initial_delay_s when jitter is on."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: Attempts = 3
    initial_delay_s: Delay = 1.0
    max_delay_s: MaxDelay = 60.0
    exponential_base: Base = 2.0
    jitter: bool = True
    retry_on: tuple[ErrorCategory, ...] = RETRYABLE_DEFAULT

    def merged(self, override: "RetryOverride | None") -> "RetryConfig":
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_none=True))


class RetryOverride(Model):
    """Any subset of RetryConfig, for a tool, an agent or one step."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: Attempts | None = None
    initial_delay_s: Delay | None = None
    max_delay_s: MaxDelay | None = None
    exponential_base: Base | None = None
    jitter: bool | None = None
    retry_on: list[ErrorCategory] | None = None  # a list: a plan arrives as JSON, checked strictly


class CachePolicy(Model):
    """A step's results may be reused from the result cache while they are this young."""

    model_config = ConfigDict(extra="forbid")

    ttl_s: float = Field(gt=0, le=2_592_000, description="Seconds a cached result stays usable (30 days at most).")


class Step(Model):
    """One tool call in a plan. Ids are short and safe because they name LangGraph tasks."""

    model_config = ConfigDict(extra="forbid")

    # The pattern is declared for clients (the OpenAPI schema); the validator says it in words.
    id: str = Field(description="Unique id: letters, digits, '_' or '-', at most 64 characters.",
                    json_schema_extra={"pattern": STEP_ID_PATTERN.pattern})
    description: str = Field(default="", description="What the step does, for the operator.")
    tool: str = Field(description="Name of a registered tool.")
    args: dict[str, Any] = Field(
        default_factory=dict,
        description="Arguments for the tool. A string may cite a dependency's output as {{step_id}}.",
    )
    depends_on: list[str] = Field(default_factory=list, description="Ids of steps that must succeed first.")
    priority: int = Field(default=0, ge=-PRIORITY_BOUND, le=PRIORITY_BOUND,
                          description="Higher runs first when the concurrency limit is reached.")
    timeout_s: float | None = Field(
        default=None, gt=0, le=86_400,
        description="Wall-clock limit for the whole step, retries included (default from settings).")
    retry: RetryOverride | None = Field(default=None, description="Retry settings for this step only.")
    cache: CachePolicy | None = Field(
        default=None, description="Reuse a result of the same tool and args younger than ttl_s (never for risky "
                                  "tools, errors or failed checks).")
    checks: list[Check] = Field(
        default_factory=list,
        description="Checks on the step's output (kind: not_empty, contains, regex, json_schema, range, judge). "
                    "A failed check is retried like a failed call; when retries run out, a human reviews it.")

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        if not STEP_ID_PATTERN.match(value):
            raise ValueError(
                f"step id {value!r} must be 1-64 characters of letters, digits, '_' or '-'"
            )
        return value


class Clause(Model):
    """One part of the goal and the steps that carry it out: what lets the critic and the
    operator see a part of the goal that no step serves."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="A clause of the goal, in the goal's own words.")
    steps: list[str] = Field(default_factory=list,
                             description="Ids of the steps that carry this clause out; empty if none does.")


class Plan(Model):
    """A DAG of steps for one goal."""

    model_config = ConfigDict(extra="forbid")

    goal: str = Field(description="The operator's goal, verbatim.")
    steps: list[Step] = Field(description="The steps; order does not matter, depends_on does.",
                              json_schema_extra={"minItems": 1, "maxItems": MAX_PLAN_STEPS})
    coverage: list[Clause] = Field(
        default_factory=list,
        description="Every clause of the goal, in order, with the ids of the steps that serve it.")

    @field_validator("steps")
    @classmethod
    def _bounded(cls, steps: list[Step]) -> list[Step]:
        if not steps:
            raise ValueError("a plan needs at least one step")
        if len(steps) > MAX_PLAN_STEPS:
            raise ValueError(f"a plan has at most {MAX_PLAN_STEPS} steps, this one has {len(steps)}")
        return steps


class CritiqueIssue(Model):
    severity: Literal["error", "warning", "info"]
    message: str
    step_id: str | None = None
    # The rule that found it. "coverage", "order" and "operation" flag a plan that may not do
    # what the goal asks; they do not make it risky, which is about what a step may harm.
    check: str = ""


class Critique(Model):
    """The critic's verdict. Any ``error`` issue blocks approval."""

    verdict: Literal["approve", "revise"]
    issues: list[CritiqueIssue] = Field(default_factory=list)
    risk: Literal["low", "medium", "high"] = "low"
    # What makes it that risky, by step id ("plan" for the plan as a whole): the gate names
    # the risky steps and why beside the buttons, so nobody has to infer it from the issues.
    risky_steps: dict[str, str] = Field(default_factory=dict)

    @property
    def blocking(self) -> list[CritiqueIssue]:
        return [i for i in self.issues if i.severity == "error"]


ReviewOutcome = Literal["accept", "retry", "fail"]


class Decision(Model):
    """An operator's answer at the approval gate; the list of them is the audit trail."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    plan: Plan | None = None
    feedback: str | None = None
    final: bool = False
    operator: str = "operator"
    at: datetime = Field(default_factory=utc_now)
    plan_digest: str | None = None  # approve and edit: the exact plan approved (graph/core/audit.py)
    plan_version: int | None = None  # the version of the plan the decision was made on
    reason: str | None = None  # why (cancel, resume, retry, fork): optional, the operator's words
    forked_from: str | None = None  # fork: the checkpoint the branch starts from
    restores: int | None = None  # restore: the version brought back
    step: str | None = None  # review: the step decided on
    outcome: ReviewOutcome | None = None  # review: accept its output, retry it, or fail it
    args: dict[str, Any] | None = None  # review, retry: the args it runs with instead
    prev: str | None = None  # the previous decision's seal ("" for the first)
    seal: str | None = None  # HMAC of this decision, its plan digest and prev, under the audit key


class PlanVersion(Model):
    """One version of a thread's plan, kept for good: the planner's, each revision after
    feedback, an operator's plan, each edit, each version brought back."""

    version: int  # 1, 2, … in the order they were made
    source: Literal["planner", "revision", "operator", "edit", "restore", "review"]
    plan: Plan
    digest: str
    at: datetime = Field(default_factory=utc_now)
    by: str | None = None  # the operator, for an edit or a restore
    restored_from: int | None = None


class Attempt(Model):
    """One try of a step: when, how it failed (None: it succeeded), the wait that followed."""

    attempt: int
    started_at: datetime
    error: str | None = None
    category: ErrorCategory | None = None
    delay_s: float | None = None


class StepResult(Model):
    """``attempts``: the calls that reached the tool, over every run of the step (a retry
    adds to them); ``attempt_log`` keeps them all, and a breaker's refusal too."""

    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    output: Any = None
    error: str | None = None
    attempt_log: list[Attempt] = Field(default_factory=list)
    review: str | None = None  # what a reviewer decided on it, by whom and when
    cached: bool = False  # the output came from the result cache; the tool was not called


def dump_result(result: StepResult) -> dict[str, Any]:
    """A step's result for the graph state, without its empty fields (None, and ``cached``
    when false): it is stored three times per step (the task's write, the executor's write,
    the checkpoint's value), and every reader fills them back (``StepView`` validates, the
    engine reads with ``.get``)."""
    data = result.model_dump(mode="json", exclude_none=True)
    if not data["cached"]:
        del data["cached"]
    return data


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-safe dict for the graph state (no datetimes or enums left as objects)."""
    return model.model_dump(mode="json")
