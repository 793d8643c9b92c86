"""The dashboard's tables, built from the API's models as typed pandas frames: one dtype
per column (a column mixing ints and "" made Arrow fail on every refresh), text as text.
No Streamlit here, so the shapes are unit-tested directly."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from graph.operations.models import Check, StoredEvent, check_label
from graph.operations.models import Decision, Status, StepStatus
from graph.operations.models import (BreakerView, CheckpointView, CritiqueIssue, FieldChange, Metrics, PendingApproval,
                                     Plan, PlanVersion, RunSummary, StepChange, StepView, StorageView, TokenUsage)
from ui.render import event_detail

GOAL_CHARS = 120  # the list cuts goals; the thread page shows them whole
OUTPUT_CHARS = 300
ARGS_CHARS = 120

STATUS_COLOURS: dict[str, str] = {
    Status.COMPLETED: "#15803d", Status.FAILED: "#b91c1c", Status.REJECTED: "#7f1d1d",
    Status.CANCELLED: "#6b7280", Status.AWAITING_APPROVAL: "#b45309", Status.EXECUTING: "#1d4ed8",
    Status.AWAITING_REVIEW: "#b45309", StepStatus.NEEDS_REVIEW: "#b45309",
    StepStatus.SUCCEEDED: "#15803d", StepStatus.RUNNING: "#1d4ed8", StepStatus.SKIPPED: "#6b7280",
    StepStatus.CANCELLED: "#6b7280", StepStatus.NOT_ATTEMPTED: "#a16207",
    StepStatus.PENDING: "#9ca3af",
}


def cut(text: str | None, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _times(values: Iterable[datetime | None]) -> pd.Series:
    """A timezone-aware time column (the grid shows the zone); a missing time is NaT."""
    return pd.Series([pd.Timestamp(v) if v is not None else pd.NaT for v in values], dtype="datetime64[us, UTC]")


def runs_frame(items: list[RunSummary]) -> pd.DataFrame:
    """The Runs table; times stay timezone-aware (the grid shows the zone)."""
    return pd.DataFrame({
        "thread": pd.Series([r.thread_id for r in items], dtype="string"),
        "status": pd.Series([r.status.value for r in items], dtype="string"),
        "goal": pd.Series([cut(r.goal, GOAL_CHARS) for r in items], dtype="string"),
        "created": _times(r.created_at for r in items),
        "updated": _times(r.updated_at for r in items),
        "duration_s": pd.Series([r.duration_s for r in items], dtype="float64"),
        "started_by": pd.Series([r.operator for r in items], dtype="string"),
        "decided_by": pd.Series([r.decided_by for r in items], dtype="string"),
        "queued": pd.Series([r.queued for r in items], dtype="bool"),
    })


def args_summary(args: dict[str, object]) -> str:
    """A step's args on one line, ``name=value`` with values as JSON, cut."""
    return cut(", ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in args.items()), ARGS_CHARS)


def card_frame(plan: Plan) -> pd.DataFrame:
    """The plan in the decision card: what each step does, with what, after what."""
    steps = plan.steps
    return pd.DataFrame({
        "step": pd.Series([s.id for s in steps], dtype="string"),
        "tool": pd.Series([s.tool for s in steps], dtype="string"),
        "args": pd.Series([args_summary(s.args) for s in steps], dtype="string"),
        "after": pd.Series([", ".join(s.depends_on) for s in steps], dtype="string"),
        "checks": pd.Series([checks_summary(s.checks) for s in steps], dtype="string"),
        "cache": pd.Series([f"{s.cache.ttl_s:g} s" if s.cache else "" for s in steps], dtype="string"),
        "description": pd.Series([s.description for s in steps], dtype="string"),
    })


def checks_frame(metrics: Metrics) -> pd.DataFrame:
    """Check results per tool and kind, with the share that passed."""
    rows = metrics.checks
    return pd.DataFrame({
        "tool": pd.Series([c.tool for c in rows], dtype="string"),
        "kind": pd.Series([c.kind for c in rows], dtype="string"),
        "passed": pd.Series([c.passed for c in rows], dtype="int64"),
        "failed": pd.Series([c.failed for c in rows], dtype="int64"),
        "pass_rate": pd.Series([c.passed / (c.passed + c.failed) if c.passed + c.failed else None for c in rows],
                               dtype="float64"),
    })


def checks_summary(checks: Iterable[Check]) -> str:
    """A step's checks on one line, each by its label."""
    return cut("; ".join(check_label(c) for c in checks), ARGS_CHARS)


def coverage_frame(plan: Plan) -> pd.DataFrame:
    """Each clause of the goal and the steps that serve it; a clause no step serves says so."""
    ids = {s.id for s in plan.steps}
    return pd.DataFrame({
        "clause": pd.Series([c.text for c in plan.coverage], dtype="string"),
        "steps": pd.Series([", ".join(c.steps) if c.steps else "no step" for c in plan.coverage], dtype="string"),
        "served": pd.Series([bool(c.steps) and all(s in ids for s in c.steps) for c in plan.coverage], dtype="bool"),
    })


def issues_frame(issues: list[CritiqueIssue]) -> pd.DataFrame:
    return pd.DataFrame({
        "severity": pd.Series([i.severity for i in issues], dtype="string"),
        "check": pd.Series([i.check for i in issues], dtype="string"),
        "step": pd.Series([i.step_id or "" for i in issues], dtype="string"),
        "issue": pd.Series([i.message for i in issues], dtype="string"),
    })


def _duration(step: StepView, now: datetime | None) -> str:
    if step.duration_s is not None:
        return f"{step.duration_s:.2f} s"
    if step.started_at is not None and step.finished_at is None and now is not None:
        return f"{(now - step.started_at).total_seconds():.1f} s so far"
    return ""


def steps_frame(steps: list[StepView], now: datetime | None = None) -> pd.DataFrame:
    """Live steps. Empty cells are blank (a step not started has no duration), not "None":
    times and durations are shown as text for that; a running step's duration counts up
    to ``now``."""
    return pd.DataFrame({
        "step": pd.Series([s.id for s in steps], dtype="string"),
        "status": pd.Series([s.status.value for s in steps], dtype="string"),
        "tool": pd.Series([s.tool for s in steps], dtype="string"),
        "after": pd.Series([", ".join(s.depends_on) for s in steps], dtype="string"),
        "attempts": pd.Series([s.attempts for s in steps], dtype="int64"),
        "cached": pd.Series(["cached" if s.cached else "" for s in steps], dtype="string"),
        "duration": pd.Series([_duration(s, now) for s in steps], dtype="string"),
        "started": pd.Series([f"{s.started_at:%H:%M:%S.%f}"[:12] if s.started_at else "" for s in steps],
                             dtype="string"),
        "output": pd.Series([cut(_text(s.output), OUTPUT_CHARS) for s in steps], dtype="string"),
        "error": pd.Series([s.error or "" for s in steps], dtype="string"),
        "next_try": pd.Series([next_try(s, now) for s in steps], dtype="string"),
    })


def next_try(step: StepView, now: datetime | None) -> str:
    """A step in back-off: when its next attempt starts (UTC)."""
    at = step.next_attempt_at
    if at is None or step.status != StepStatus.RUNNING or (now is not None and at <= now):
        return ""
    return f"attempt {step.attempts} at {at:%H:%M:%S.%f}"[:-3]


def attempts_frame(steps: list[StepView]) -> pd.DataFrame:
    """Each failed attempt with its error and the back-off before the next one."""
    rows = [(s.id, a.attempt, a.category, a.error, a.delay_s) for s in steps for a in s.attempt_log if a.error]
    return pd.DataFrame({
        "step": pd.Series([r[0] for r in rows], dtype="string"),
        "attempt": pd.Series([r[1] for r in rows], dtype="int64"),
        "category": pd.Series([r[2] or "" for r in rows], dtype="string"),
        "error": pd.Series([r[3] for r in rows], dtype="string"),
        "backoff": pd.Series([f"{r[4]:.2f} s" if r[4] is not None else "" for r in rows], dtype="string"),
    })


def timeline_frame(steps: list[StepView], now: datetime) -> pd.DataFrame:
    """Every step that has started, in seconds from the run's first start (a running one
    ends now, so its bar grows at each refresh), with its duration as the bar's label. An
    axis of clock times read ".800 .800 .800" on a run of a few seconds."""
    shown = [s for s in steps if s.started_at is not None]
    zero = min((s.started_at for s in shown), default=now)
    ends = [s.finished_at or now for s in shown]
    return pd.DataFrame({
        "step": pd.Series([s.id for s in shown], dtype="string"),
        "status": pd.Series([s.status.value for s in shown], dtype="string"),
        "start": _times(s.started_at for s in shown),
        "end": _times(ends),
        "start_s": pd.Series([(s.started_at - zero).total_seconds() for s in shown], dtype="float64"),
        "end_s": pd.Series([(end - zero).total_seconds() for end in ends], dtype="float64"),
        "label": pd.Series([f"{(end - s.started_at).total_seconds():.2f} s" + ("…" if s.finished_at is None else "")
                            for s, end in zip(shown, ends)], dtype="string"),
    })


def decisions_frame(decisions: list[Decision], verified: list[bool]) -> pd.DataFrame:
    """The audit trail: who decided what, when, the feedback they gave, the plan digest an
    approval sealed, and whether each decision's seal checks out."""
    return pd.DataFrame({
        "when": _times(d.at for d in decisions),
        "who": pd.Series([d.operator for d in decisions], dtype="string"),
        "action": pd.Series([d.action + (" (final)" if d.final else "")
                             + (f" of version {d.restores}" if d.restores else "")
                             + (f" of {d.step}: {d.outcome}" + (" with other args" if d.args is not None else "")
                                if d.action == "review" else "") for d in decisions], dtype="string"),
        "version": pd.Series([str(d.plan_version) if d.plan_version else "" for d in decisions], dtype="string"),
        "feedback": pd.Series([d.feedback or "" for d in decisions], dtype="string"),
        "reason": pd.Series([d.reason or "" for d in decisions], dtype="string"),
        "edited_plan": pd.Series([d.action == "edit" or d.args is not None for d in decisions], dtype="bool"),
        "plan_digest": pd.Series([d.plan_digest or "" for d in decisions], dtype="string"),
        "sealed": pd.Series(verified, dtype="bool"),
    })


def versions_frame(versions: list[PlanVersion]) -> pd.DataFrame:
    return pd.DataFrame({
        "version": pd.Series([v.version for v in versions], dtype="int64"),
        "source": pd.Series([v.source + (f" of {v.restored_from}" if v.restored_from else "") for v in versions],
                            dtype="string"),
        "by": pd.Series([v.by or "" for v in versions], dtype="string"),
        "at": _times(v.at for v in versions),
        "steps": pd.Series([len(v.plan.steps) for v in versions], dtype="int64"),
        "digest": pd.Series([v.digest[:19] + "…" for v in versions], dtype="string"),
    })


def diff_frame(changes: list[StepChange]) -> pd.DataFrame:
    return pd.DataFrame({
        "step": pd.Series([c.step for c in changes], dtype="string"),
        "change": pd.Series([c.change for c in changes], dtype="string"),
        "field": pd.Series([c.field for c in changes], dtype="string"),
        "before": pd.Series([cut(c.before, OUTPUT_CHARS) for c in changes], dtype="string"),
        "after": pd.Series([cut(c.after, OUTPUT_CHARS) for c in changes], dtype="string"),
    })


def events_frame(events: list[StoredEvent]) -> pd.DataFrame:
    return pd.DataFrame({
        "seq": pd.Series([e.seq for e in events], dtype="int64"),
        "time": _times(e.ts for e in events),
        "kind": pd.Series([e.kind for e in events], dtype="string"),
        "node": pd.Series([e.node or "" for e in events], dtype="string"),
        "step": pd.Series([e.step_id or "" for e in events], dtype="string"),
        "attempt": pd.Series([str(e.attempt) if e.attempt else "" for e in events], dtype="string"),  # blank: none
        "detail": pd.Series([cut(event_detail(e), OUTPUT_CHARS) for e in events], dtype="string"),
    })


def pending_frame(pending: list[PendingApproval]) -> pd.DataFrame:
    """The approvals inbox."""
    return pd.DataFrame({
        "thread": pd.Series([p.thread_id for p in pending], dtype="string"),
        "waits_for": pd.Series(["approval" if p.kind == "approval" else f"review of {', '.join(p.review)}"
                                for p in pending], dtype="string"),
        "waiting_since": _times(p.waiting_since for p in pending),
        "goal": pd.Series([cut(p.goal, GOAL_CHARS) for p in pending], dtype="string"),
        "risk": pd.Series([p.risk for p in pending], dtype="string"),
        "steps": pd.Series([p.steps for p in pending], dtype="int64"),
        "estimate_s": pd.Series([p.critical_path_s for p in pending], dtype="float64"),
        "started_by": pd.Series([p.operator for p in pending], dtype="string"),
    })


def checkpoints_frame(checkpoints: list[CheckpointView]) -> pd.DataFrame:
    return pd.DataFrame({
        "created": _times(c.created_at for c in checkpoints),
        "step": pd.Series([c.step for c in checkpoints], dtype="Int64"),
        "by": pd.Series([c.node for c in checkpoints], dtype="string"),
        "status": pd.Series([c.status.value if c.status else None for c in checkpoints], dtype="string"),
        "next": pd.Series([", ".join(c.next) for c in checkpoints], dtype="string"),
        "checkpoint": pd.Series([c.checkpoint_id for c in checkpoints], dtype="string"),
    })


def changes_frame(changes: list[FieldChange]) -> pd.DataFrame:
    """What changed at a checkpoint: each field before and after, as cut JSON text."""
    return pd.DataFrame({
        "field": pd.Series([c.field for c in changes], dtype="string"),
        "before": pd.Series([cut(_json(c.before), OUTPUT_CHARS) for c in changes], dtype="string"),
        "after": pd.Series([cut(_json(c.after), OUTPUT_CHARS) for c in changes], dtype="string"),
    })


def problems_frame(problems: list[tuple[str, str]]) -> pd.DataFrame:
    """(step, problem) pairs of an edited plan that was not sent."""
    return pd.DataFrame({"step": pd.Series([p[0] for p in problems], dtype="string"),
                         "problem": pd.Series([p[1] for p in problems], dtype="string")})


def runs_over_time_frame(metrics: Metrics) -> pd.DataFrame:
    counts = metrics.runs_over_time
    return pd.DataFrame({
        "start": _times(c.start for c in counts),
        "status": pd.Series([c.status for c in counts], dtype="string"),
        "runs": pd.Series([c.count for c in counts], dtype="int64"),
    })


def tools_frame(metrics: Metrics) -> pd.DataFrame:
    tools = metrics.tools.values()
    return pd.DataFrame({
        "tool": pd.Series(list(metrics.tools), dtype="string"),
        "calls": pd.Series([t.calls for t in tools], dtype="int64"),
        "failures": pd.Series([t.failures for t in tools], dtype="int64"),
        "retries": pd.Series([t.retries for t in tools], dtype="int64"),
        "not_attempted": pd.Series([t.not_attempted for t in tools], dtype="int64"),
        "cache_hits": pd.Series([t.cache_hits for t in tools], dtype="int64"),
        "cache_hit_rate": pd.Series([t.cache_hits / (t.cache_hits + t.cache_misses) if t.cache_hits + t.cache_misses
                                     else None for t in tools], dtype="float64"),
        "seconds_saved": pd.Series([t.cache_seconds_saved for t in tools], dtype="float64"),
        "failure_rate": pd.Series([t.failures / t.calls if t.calls else None for t in tools], dtype="float64"),
        "p50_s": pd.Series([t.duration_s.p50 for t in tools], dtype="float64"),
        "p95_s": pd.Series([t.duration_s.p95 for t in tools], dtype="float64"),
    })


def agents_frame(metrics: Metrics) -> pd.DataFrame:
    """One row per agent: its node's calls, and the tokens its chat model calls used (an
    agent with tokens but no node of its own, the judge, has calls 0)."""
    names = list(metrics.agents) + [a for a in metrics.tokens if a not in metrics.agents]
    nodes = [metrics.agents.get(a) for a in names]
    tokens = [metrics.tokens.get(a) for a in names]
    return pd.DataFrame({
        "agent": pd.Series(names, dtype="string"),
        "calls": pd.Series([a.calls if a else 0 for a in nodes], dtype="int64"),
        "failures": pd.Series([a.failures if a else 0 for a in nodes], dtype="int64"),
        "p50_s": pd.Series([a.duration_s.p50 if a else None for a in nodes], dtype="float64"),
        "p95_s": pd.Series([a.duration_s.p95 if a else None for a in nodes], dtype="float64"),
        "input_tokens": pd.Series([t.input_tokens if t else 0 for t in tokens], dtype="int64"),
        "output_tokens": pd.Series([t.output_tokens if t else 0 for t in tokens], dtype="int64"),
    })


def tokens_line(tokens: dict[str, TokenUsage]) -> str:
    """A thread's chat model tokens, one agent after another (plain text)."""
    return "Tokens: " + " · ".join(f"{agent} {t.input_tokens:,} in / {t.output_tokens:,} out ({t.calls} call"
                                   f"{'s' if t.calls != 1 else ''})" for agent, t in tokens.items())


def breakers_frame(breakers: list[BreakerView]) -> pd.DataFrame:
    return pd.DataFrame({
        "breaker": pd.Series([b.name for b in breakers], dtype="string"),
        "state": pd.Series([b.state for b in breakers], dtype="string"),
        "failures": pd.Series([b.failures for b in breakers], dtype="int64"),
        "last_error": pd.Series([b.last_error for b in breakers], dtype="string"),
    })


def retention_frame(storage: StorageView) -> pd.DataFrame:
    """One row per finished status: the policy's days ("never" where it sets none) and what
    is due now."""
    rules = storage.rules

    def days(value: float | None) -> str:
        return "never" if value is None else f"{value:g} days"

    return pd.DataFrame({
        "status": pd.Series([r.status.value for r in rules], dtype="string"),
        "compact after": pd.Series([days(r.compact_after_days) for r in rules], dtype="string"),
        "delete after": pd.Series([days(r.delete_after_days) for r in rules], dtype="string"),
        "due to compact": pd.Series([r.due_compact for r in rules], dtype="int64"),
        "due to delete": pd.Series([r.due_delete for r in rules], dtype="int64"),
    })


def transitions_frame(metrics: Metrics) -> pd.DataFrame:
    return pd.DataFrame({"transition": pd.Series(list(metrics.transitions), dtype="string"),
                         "count": pd.Series(list(metrics.transitions.values()), dtype="int64")})


def _json(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _text(value: object) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)
