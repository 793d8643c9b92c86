"""Metrics computed in SQL from the ``runs`` and ``events`` tables over a time window, so
they survive restarts, agree across processes, and cost what the window holds rather than
the whole history. Durations are summarised as avg, p50 and p95 (nearest rank).

- runs: threads created in the window, by status; success rate = COMPLETED / EXECUTED;
  duration = from ``run_created`` to the thread's last terminal event (approval wait included).
- agents (planner, critic): calls, failures, duration, from ``node_finished``.
- tools: calls (steps that ran), failures, retries, duration, from ``step_*`` events; steps
  an open breaker refused; result cache hits, misses and seconds saved.
- checks: passed and failed per tool and kind (``step_checked``); reviews by outcome (the
  ``decision`` events of reviews).
- transitions: consecutive distinct statuses of each thread, as seen in its events.
- approval wait: from ``awaiting_approval`` to the next ``decision``; plus threads waiting now.
- breakers: the state of each, as ``breaker_views`` reads it (half-open included)."""

from __future__ import annotations

import json

import math
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from graph.core.breaker import BreakerState
from graph.core.model import Model
from graph.core.nodes import AGENTS
from graph.core.schemas import EXECUTED, WAITING, Status
from graph.store.breakers import breaker_views
from graph.store.database import Database, Dialect

TERMINAL = ("run_completed", "run_failed", "run_cancelled")


class Summary(Model):
    count: int = 0
    avg: float | None = None
    p50: float | None = None
    p95: float | None = None


class RunMetrics(Model):
    by_status: dict[str, int]
    total: int
    success_rate: float | None
    duration_s: Summary


class AgentMetrics(Model):
    calls: int
    failures: int
    duration_s: Summary


class ToolMetrics(Model):
    """``not_attempted``: steps an open breaker refused; neither calls nor failures.
    ``cache_hits``: steps answered from the result cache (not calls either), with the
    seconds the calls that made those results took; ``cache_misses``: steps that asked the
    cache, found nothing usable, and ran."""

    calls: int
    failures: int
    retries: int
    not_attempted: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_seconds_saved: float = 0.0
    duration_s: Summary


class CheckCount(Model):
    """How often checks of one kind passed and failed on one tool's outputs (each
    evaluation counts: a check retried three times counts three times)."""

    tool: str
    kind: str
    passed: int
    failed: int


class TokenUsage(Model):
    """Tokens a provider reported for chat model calls (``model_usage`` events)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class RunCount(Model):
    """Threads created in one time bucket that have this status now."""

    start: datetime
    status: str
    count: int


class Metrics(Model):
    since: datetime | None = None
    until: datetime | None = None
    runs: RunMetrics
    bucket: Literal["hour", "day"] = "day"
    runs_over_time: list[RunCount] = Field(default_factory=list, description="By creation time and status now.")
    agents: dict[str, AgentMetrics]
    tools: dict[str, ToolMetrics]
    transitions: dict[str, int]
    approval_wait_s: Summary
    awaiting_approval: int = Field(description="Threads waiting for a decision now (whatever the window).")
    breakers: dict[str, BreakerState]
    checks: list[CheckCount] = Field(default_factory=list, description="Check results per tool and kind.")
    reviews: dict[str, int] = Field(default_factory=dict, description="Review decisions by outcome.")
    tokens: dict[str, TokenUsage] = Field(default_factory=dict, description="Chat model tokens by agent.")
    tokens_per_run: Summary = Field(default_factory=Summary,
                                    description="Tokens (input and output) per run that called a chat model.")


def summary(values: list[float]) -> Summary:
    if not values:
        return Summary()
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]

    return Summary(count=len(ordered), avg=sum(ordered) / len(ordered), p50=rank(0.5), p95=rank(0.95))


class _Window:
    """``ts`` bounds as SQL: ISO-8601 UTC strings compare in time order."""

    def __init__(self, since: datetime | None, until: datetime | None, column: str = "ts") -> None:
        self.sql, self.params = "", []
        for bound, op in ((since, ">="), (until, "<")):
            if bound is not None:
                self.sql += f" AND {column} {op} ?"
                self.params.append(bound.isoformat())


def compute_metrics(db: Database, since: datetime | None = None, until: datetime | None = None) -> Metrics:
    events, created = _Window(since, until), _Window(since, until, "created_at")
    with db.cursor() as cur:
        def rows(sql: str, *params: object) -> list[tuple]:
            return cur.execute(sql, params).fetchall()

        by_status = dict(rows(f"SELECT status, count(*) FROM runs WHERE 1 = 1{created.sql} GROUP BY status",
                              *created.params))
        awaiting = rows("SELECT count(*) FROM runs WHERE status IN (?, ?)", *sorted(WAITING))[0][0]
        bucket = _bucket(since, until)
        d = db.dialect
        status, seconds, tool = (d.json_text("payload", "status"), d.json_number("payload", "seconds"),
                                 d.json_text("payload", "tool"))
        over_time = rows(f"SELECT {d.bucket_start(bucket, 'created_at')}, status, count(*) FROM runs "
                         f"WHERE 1 = 1{created.sql} GROUP BY 1, 2 ORDER BY 1, 2", *created.params)
        ended = d.seconds_between("max(CASE WHEN kind IN (?, ?, ?) THEN ts END)",
                                  "min(CASE WHEN kind = 'run_created' THEN ts END)")
        durations = rows(
            f"SELECT {ended} FROM events WHERE kind IN ('run_created', ?, ?, ?){events.sql} GROUP BY thread_id",
            *TERMINAL, *TERMINAL, *events.params)
        agents = rows(
            f"SELECT node, {seconds}, ({d.json_text('payload', 'error')} IS NOT NULL OR {status} = 'FAILED') "
            f"FROM events WHERE kind = 'node_finished' AND node IN (?, ?){events.sql}", *AGENTS, *events.params)
        tools = rows(
            f"SELECT {tool}, kind, {seconds} FROM events "
            f"WHERE kind IN ('step_succeeded', 'step_failed', 'step_retry', 'step_not_attempted'){events.sql}",
            *events.params)
        checked = rows(f"SELECT {tool}, payload FROM events WHERE kind = 'step_checked'{events.sql}", *events.params)
        reviews = rows(
            f"SELECT {d.json_text('payload', 'outcome')}, count(*) FROM events "
            f"WHERE kind = 'decision' AND {d.json_text('payload', 'action')} = 'review'{events.sql} GROUP BY 1",
            *events.params)
        caching = rows(
            f"SELECT {tool}, kind, {d.json_number('payload', 'seconds_saved')} FROM events "
            f"WHERE (kind = 'step_cached' OR (kind = 'step_succeeded' AND {d.json_text('payload', 'cache')} = 'miss'))"
            f"{events.sql}", *events.params)
        usage = rows(_usage_sql(d) + events.sql, *events.params)
        transitions = rows(
            "SELECT previous || '->' || status, count(*) FROM ("
            f"  SELECT {status} AS status, lag({status}) OVER (PARTITION BY thread_id ORDER BY seq) AS previous "
            f"  FROM events WHERE {status} IS NOT NULL{events.sql}) AS t "
            "WHERE previous IS NOT NULL AND previous != status GROUP BY 1 ORDER BY 1", *events.params)
        waits = rows(
            f"SELECT {d.seconds_between('ts', 'previous_ts')} FROM ("
            "  SELECT kind, ts, lag(kind) OVER w AS previous_kind, lag(ts) OVER w AS previous_ts "
            f"  FROM events WHERE kind IN ('awaiting_approval', 'decision'){events.sql} "
            "  WINDOW w AS (PARTITION BY thread_id ORDER BY seq)) AS t "
            "WHERE kind = 'decision' AND previous_kind = 'awaiting_approval'", *events.params)
    executed = sum(by_status.get(s, 0) for s in EXECUTED)
    return Metrics(
        since=since, until=until,
        runs=RunMetrics(by_status=by_status, total=sum(by_status.values()),
                        success_rate=by_status.get(Status.COMPLETED, 0) / executed if executed else None,
                        duration_s=summary([s for (s,) in durations if s is not None])),
        bucket=bucket,
        runs_over_time=[RunCount(start=start, status=status, count=n) for start, status, n in over_time],
        agents=_agents(agents),
        tools=_tools(tools, caching),
        transitions=dict(transitions),
        approval_wait_s=summary([w for (w,) in waits]),
        awaiting_approval=awaiting,
        breakers={b.name: b.state for b in breaker_views(db)},
        checks=_checks(checked),
        reviews={outcome: count for outcome, count in reviews if outcome},
        tokens=_token_usage(usage),
        tokens_per_run=_tokens_per_run(usage),
    )


def _usage_sql(d: Dialect) -> str:
    """Each chat model call's (agent, thread, input tokens, output tokens)."""
    return (f"SELECT {d.json_text('payload', 'agent')}, thread_id, {d.json_number('payload', 'input_tokens')}, "
            f"{d.json_number('payload', 'output_tokens')} FROM events WHERE kind = 'model_usage'")


def thread_tokens(db: Database, thread_id: str) -> dict[str, TokenUsage]:
    """One thread's chat model tokens by agent (what its page shows)."""
    with db.cursor() as cur:
        rows = cur.execute(_usage_sql(db.dialect) + " AND thread_id = ?", (thread_id,)).fetchall()
    return _token_usage(rows)


def _token_usage(rows: list[tuple]) -> dict[str, TokenUsage]:
    """Rows: (agent, thread, input tokens, output tokens), one per call."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for agent, _thread, given, taken in rows:
        total = totals[agent or "unknown"]
        total[0] += 1
        total[1] += int(given or 0)
        total[2] += int(taken or 0)
    return {agent: TokenUsage(calls=c, input_tokens=i, output_tokens=o) for agent, (c, i, o) in sorted(totals.items())}


def _tokens_per_run(rows: list[tuple]) -> Summary:
    per_run: Counter[str] = Counter()
    for _agent, thread, given, taken in rows:
        per_run[thread] += int(given or 0) + int(taken or 0)
    return summary([float(n) for n in per_run.values()])


def _checks(rows: list[tuple]) -> list[CheckCount]:
    """Rows: (tool, payload) of step_checked events, whose payload lists the kinds that
    passed and that failed."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for tool, payload in rows:
        data = payload if isinstance(payload, dict) else json.loads(payload)
        for kind in data.get("passed", []):
            counts[(tool, kind)][0] += 1
        for kind in data.get("failed", []):
            counts[(tool, kind)][1] += 1
    return [CheckCount(tool=tool, kind=kind, passed=p, failed=f) for (tool, kind), (p, f) in sorted(counts.items())]


def _bucket(since: datetime | None, until: datetime | None) -> Literal["hour", "day"]:
    """Hours for a window of two days or less, days otherwise."""
    if since is None:
        return "day"
    return "hour" if (until or datetime.now(since.tzinfo)) - since <= timedelta(days=2) else "day"


def _agents(rows: list[tuple]) -> dict[str, AgentMetrics]:
    """Rows: (agent, seconds, failed), one per finished call."""
    seconds: dict[str, list[float]] = {agent: [] for agent in AGENTS}
    failures: Counter[str] = Counter()
    for agent, took, failed in rows:
        seconds[agent].append(took or 0.0)
        failures[agent] += bool(failed)
    return {agent: AgentMetrics(calls=len(seconds[agent]), failures=failures[agent],
                                duration_s=summary(seconds[agent])) for agent in AGENTS}


def _tools(rows: list[tuple], caching: list[tuple]) -> dict[str, ToolMetrics]:
    """Rows: (tool, kind, seconds) for step_succeeded, step_failed, step_retry and
    step_not_attempted events; ``caching``: (tool, kind, seconds saved) for cache hits
    (step_cached) and misses (a step_succeeded that asked the cache)."""
    seconds: dict[str, list[float]] = defaultdict(list)
    failures: Counter[str] = Counter()
    retries: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for tool, kind, took in rows:
        if not tool:
            continue
        if kind == "step_retry":
            retries[tool] += 1
        elif kind == "step_not_attempted":
            refused[tool] += 1
        else:
            seconds[tool].append(float(took or 0.0))
            failures[tool] += kind == "step_failed"
    hits: Counter[str] = Counter()
    misses: Counter[str] = Counter()
    saved: dict[str, float] = defaultdict(float)
    for tool, kind, took in caching:
        if kind == "step_cached":
            hits[tool] += 1
            saved[tool] += float(took or 0.0)
        else:
            misses[tool] += 1
    return {tool: ToolMetrics(calls=len(seconds[tool]), failures=failures[tool], retries=retries[tool],
                              not_attempted=refused[tool], cache_hits=hits[tool], cache_misses=misses[tool],
                              cache_seconds_saved=round(saved[tool], 6), duration_s=summary(seconds[tool]))
            for tool in sorted(set(seconds) | set(retries) | set(refused) | set(hits))}
