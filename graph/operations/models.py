"""The answers of the operations API: every front end (CLI ``--json``, dashboard, HTTP API)
gets these models and nothing else of the engine, so they cannot drift apart.
Timestamps are timezone-aware UTC; statuses are the one ``Status`` enum, commands and
decisions the one ``Action`` enum."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from graph.core.audit import AuditReport
from graph.core.checks import Check, check_label  # noqa: F401
from graph.core.model import Model
# The vocabulary of the answers (plans, statuses, actions, events), named here so that front
# ends take every type they show from this one module.
from graph.core.events import Event, EventKind, StoredEvent  # noqa: F401
from graph.core.schemas import (FINISHED, FOLLOW_UNTIL, UNSUCCESSFUL, Action, Attempt, Clause, Critique,  # noqa: F401
                                CritiqueIssue, Decision, FollowUntil, Plan, PlanVersion, RetryConfig, Status,
                                StepStatus)
# Answers the store builds itself (the breaker view with its half-open state, the metrics in
# SQL), named here so every front end takes its answer types from this one module.
from graph.store.breakers import BreakerView  # noqa: F401
from graph.store.retention import RetentionRow, StorageView  # noqa: F401
from graph.store.metrics import Metrics, TokenUsage  # noqa: F401

SortKey = Literal["updated", "created", "status", "goal"]


class _View(Model):
    model_config = ConfigDict(frozen=True)


class StepView(_View):
    """One plan step with its live result: while the executor runs, status, attempt and
    output come from the event log as it is written, not only when the node returns."""

    id: str
    description: str = ""
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    priority: int = 0
    timeout_s: float | None = None
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0  # the attempt running now, or how many were made
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None
    output: Any = None
    error: str | None = None
    attempt_log: list[Attempt] = Field(default_factory=list)
    next_attempt_at: datetime | None = None  # in back-off after a failed attempt: when it tries again
    checks: list[Check] = Field(default_factory=list)
    review: str | None = None  # what a reviewer decided on it
    cached: bool = False  # its output came from the result cache


class Estimate(_View):
    critical_path_s: float
    steps_s: dict[str, float] = Field(default_factory=dict)
    samples: dict[str, int] = Field(default_factory=dict)
    unknown_tools: list[str] = Field(default_factory=list)


class StepChange(_View):
    """One line of a diff between two plan versions."""

    step: str
    change: Literal["added", "removed", "changed"]
    field: str = ""  # for a changed step: the field ("args.url" for one arg)
    before: str = ""
    after: str = ""


class ThreadView(_View):
    """Everything about one thread: the checkpoint (the truth), the ``runs`` row (who,
    when, queued, held) and, while executing, the live step events."""

    thread_id: str
    status: Status
    awaiting_approval: bool
    awaiting_review: list[str] = Field(default_factory=list)  # steps a reviewer must decide on now
    goal: str
    operator: str  # who started it
    model: str
    created_at: datetime
    updated_at: datetime
    queued: bool = False  # a request waits for a run manager
    held_by: str | None = None  # the process executing it now
    plan: Plan | None = None
    plan_digest: str | None = None  # of the plan as stored: what an approval of this view approves
    plan_source: str | None = None
    steps: dict[str, StepView] = Field(default_factory=dict)  # plan order
    critique: Critique | None = None
    estimate: Estimate | None = None
    decisions: list[Decision] = Field(default_factory=list)
    plan_versions: list[PlanVersion] = Field(default_factory=list)  # every plan this thread's gate showed
    audit: AuditReport | None = None  # the decisions' seals checked
    error: str | None = None
    report: str | None = None
    actions: list[Action] = Field(default_factory=list)  # what an operator may do now
    tokens: dict[str, TokenUsage] = Field(default_factory=dict)  # chat model tokens by agent (provider models)
    release: str | None = None  # the ProLight Flow release that created it (None: an older one)
    compacted_at: datetime | None = None  # retention dropped its intermediate checkpoints then (history: one)


class RunSummary(_View):
    """One row of the thread list (from the indexed ``runs`` table, no checkpoint read)."""

    thread_id: str
    goal: str
    status: Status
    model: str
    operator: str
    created_at: datetime
    updated_at: datetime
    error: str | None = None
    queued: bool = False
    decided_by: str | None = None
    decided_at: datetime | None = None
    release: str | None = None  # the release that created it (None: an older one)

    @property
    def duration_s(self) -> float:
        return (self.updated_at - self.created_at).total_seconds()


class ThreadQuery(_View):
    """A page request: ``search`` matches a full id, an id prefix, or every word of the goal."""

    statuses: tuple[Status, ...] = ()
    search: str | None = None
    sort: SortKey = "updated"
    descending: bool = True
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=10_000)


class ThreadPage(_View):
    items: list[RunSummary]
    total: int
    offset: int
    limit: int


class StatusCounts(_View):
    counts: dict[Status, int]
    total: int


class PendingApproval(_View):
    """A thread waiting for a decision, for the inbox (oldest first): at the approval gate,
    or (``kind`` review) for the review of the steps in ``review`` whose checks kept failing."""

    thread_id: str
    goal: str
    operator: str
    waiting_since: datetime
    steps: int
    risk: str | None = None
    critical_path_s: float | None = None
    kind: Literal["approval", "review"] = "approval"
    review: list[str] = Field(default_factory=list)


class CheckpointView(_View):
    checkpoint_id: str
    parent_checkpoint_id: str | None = None
    step: int | None = None
    source: str | None = None
    node: str | None = None  # what produced it: nodes that ran, "operator", "input", "fork"
    next: list[str] = Field(default_factory=list)
    status: Status | None = None
    created_at: datetime | None = None


class BranchView(_View):
    """One branch of a thread: forks leave the branch they came from as it was."""

    branch: int  # 1 is the thread as started; each fork adds one
    head_checkpoint_id: str  # its newest checkpoint
    current: bool  # the branch the thread's page and commands act on
    status: Status | None = None
    report: str | None = None
    error: str | None = None
    updated_at: datetime | None = None  # its head's time
    forked_from: str | None = None  # the checkpoint it was forked from (none for branch 1)
    forked_by: str | None = None
    forked_at: datetime | None = None
    decisions: int = 0
    audit_verified: bool = True


class FieldChange(_View):
    field: str
    before: Any = None
    after: Any = None


class CheckpointState(_View):
    """The state at one checkpoint and what changed from its parent."""

    thread_id: str
    checkpoint: CheckpointView
    values: dict[str, Any]
    changes: list[FieldChange]


class EventPage(_View):
    events: list[StoredEvent]
    last_seq: int  # pass back as ``after_seq`` to get what follows


class StreamPosition(_View):
    """Where a thread's event stream stands, for a server feeding its followers: the newest
    event's seq, and whether the thread has stopped where a follower may end (idle, in an
    end state, or also at a pause for ``settled``)."""

    last_seq: int
    status: Status
    finished: bool
    settled: bool

    def stopped(self, until: FollowUntil) -> bool:
        return self.finished if until == "finished" else self.settled


class ToolView(_View):
    name: str
    description: str
    args: list[str]
    risky: bool
