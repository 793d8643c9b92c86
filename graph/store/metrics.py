"""Metrics computed from the ``runs`` and ``events`` tables, so they survive restarts and
agree across processes. Durations are summarised as avg, p50 and p95 (nearest rank).

- runs: count by status; success rate = COMPLETED / (COMPLETED + FAILED + CANCELLED);
  duration = from ``run_created`` to the run's last terminal event (approval wait included).
- agents (planner, critic): calls, failures, duration, from ``node_finished``.
- tools: calls (steps that ran), failures, retries, duration, from ``step_*`` events.
- transitions: consecutive distinct statuses of each thread, as seen in its events.
- approval wait: from ``awaiting_approval`` to the next ``decision``; plus threads waiting now.
- breakers: the last recorded state of each."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from graph.store.event_log import events_of_kinds
from graph.store.database import Database

TERMINAL = ("run_completed", "run_failed", "run_cancelled")
STATUS_KINDS = ("run_created", "decision", "node_finished", "awaiting_approval", *TERMINAL)
BREAKER_LEVEL = {"closed": 0, "half_open": 1, "open": 2}


def summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "avg": None, "p50": None, "p95": None}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]

    return {"count": len(ordered), "avg": sum(ordered) / len(ordered), "p50": rank(0.5), "p95": rank(0.95)}


def compute_metrics(db: Database) -> dict[str, Any]:
    with db.cursor() as cur:
        by_status = dict(cur.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall())
    events = events_of_kinds(db, (*STATUS_KINDS, "step_succeeded", "step_failed", "step_retry"))
    threads = _by_thread(events)
    finished = sum(by_status.get(s, 0) for s in ("COMPLETED", "FAILED", "CANCELLED"))
    return {
        "runs": {"by_status": by_status, "total": sum(by_status.values()),
                 "success_rate": by_status.get("COMPLETED", 0) / finished if finished else None,
                 "duration_s": summary(_run_durations(threads))},
        "agents": _agents(events),
        "tools": _tools(events),
        "transitions": dict(sorted(_transitions(threads).items())),
        "approval_wait_s": summary(_approval_waits(threads)),
        "awaiting_approval": by_status.get("AWAITING_APPROVAL", 0),
        "breakers": {b["name"]: b["state"] for b in db.list_breakers()},
    }


def _ts(value: datetime | str) -> float:
    return (value if isinstance(value, datetime) else datetime.fromisoformat(value)).timestamp()


def _by_thread(events: list) -> dict[str, list]:
    """Events per thread, in order (the per-thread metrics all walk a thread's own events)."""
    grouped: dict[str, list] = defaultdict(list)
    for event in events:
        grouped[event.thread_id].append(event)
    return grouped


def _run_durations(threads: dict[str, list]) -> list[float]:
    durations = []
    for thread_events in threads.values():
        created = next((e for e in thread_events if e.kind == "run_created"), None)
        ends = [e for e in thread_events if e.kind in TERMINAL]
        if created and ends:
            durations.append(_ts(ends[-1].ts) - _ts(created.ts))
    return durations


def _agents(events: list) -> dict[str, Any]:
    out = {}
    for agent in ("planner", "critic"):
        done = [e for e in events if e.kind == "node_finished" and e.node == agent]
        failures = sum(1 for e in done if e.payload.get("error") or e.payload.get("status") == "FAILED")
        out[agent] = {"calls": len(done), "failures": failures,
                      "duration_s": summary([e.payload.get("seconds", 0.0) for e in done])}
    return out


def _tools(events: list) -> dict[str, Any]:
    durations: dict[str, list[float]] = defaultdict(list)
    failures: Counter[str] = Counter()
    retries: Counter[str] = Counter()
    for event in events:
        tool = event.payload.get("tool")
        if not tool:
            continue
        if event.kind in ("step_succeeded", "step_failed"):
            durations[tool].append(float(event.payload.get("seconds", 0.0)))
            failures[tool] += event.kind == "step_failed"
        elif event.kind == "step_retry":
            retries[tool] += 1
    return {tool: {"calls": len(durations[tool]), "failures": failures[tool], "retries": retries[tool],
                   "duration_s": summary(durations[tool])} for tool in sorted(set(durations) | set(retries))}


def _transitions(threads: dict[str, list]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for thread_events in threads.values():
        previous = None
        for event in thread_events:
            status = event.payload.get("status")
            if status and status != previous:
                if previous is not None:
                    counts[f"{previous}->{status}"] += 1
                previous = status
    return counts


def _approval_waits(threads: dict[str, list]) -> list[float]:
    waits = []
    for thread_events in threads.values():
        waiting_since = None
        for event in thread_events:
            if event.kind == "awaiting_approval":
                waiting_since = _ts(event.ts)
            elif event.kind == "decision" and waiting_since is not None:
                waits.append(_ts(event.ts) - waiting_since)
                waiting_since = None
    return waits


class MetricsCollector(Collector):
    """Recomputes on every scrape, from the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self):  # type: ignore[override]
        m = compute_metrics(self.db)
        runs = GaugeMetricFamily("prolight_runs", "Threads by status.", labels=["status"])
        for status, count in sorted(m["runs"]["by_status"].items()):
            runs.add_metric([status], count)
        yield runs
        if m["runs"]["success_rate"] is not None:
            yield GaugeMetricFamily("prolight_run_success_ratio", "COMPLETED / finished runs.",
                                    value=m["runs"]["success_rate"])
        yield _stats("prolight_run_duration_seconds", "Run duration, created to finished.", m["runs"]["duration_s"])
        yield from _per_name("agent", m["agents"], {"calls": "Planner and critic calls.",
                                                    "failures": "Planner and critic failures."},
                             "Agent call duration.")
        yield from _per_name("tool", m["tools"], {"calls": "Steps that ran, by tool.",
                                                  "failures": "Steps that failed, by tool.",
                                                  "retries": "Retries, by tool."},
                             "Step duration by tool.")
        transitions = CounterMetricFamily("prolight_transitions", "Status transitions.", labels=["from", "to"])
        for pair, count in m["transitions"].items():
            transitions.add_metric(pair.split("->"), count)
        yield transitions
        yield _stats("prolight_approval_wait_seconds", "Time at the approval gate.", m["approval_wait_s"])
        yield GaugeMetricFamily("prolight_awaiting_approval", "Threads waiting for a decision.",
                                value=m["awaiting_approval"])
        breakers = GaugeMetricFamily("prolight_breaker_state", "0 closed, 1 half-open, 2 open.", labels=["breaker"])
        for name, state in m["breakers"].items():
            breakers.add_metric([name], BREAKER_LEVEL.get(state, -1))
        yield breakers


def _per_name(label: str, rows: dict[str, dict], counters: dict[str, str], duration_doc: str) -> Iterator[Metric]:
    """``prolight_<label>_<counter>`` and ``prolight_<label>_duration_seconds``, one series per name."""
    families = {key: CounterMetricFamily(f"prolight_{label}_{key}", doc, labels=[label])
                for key, doc in counters.items()}
    timing = GaugeMetricFamily(f"prolight_{label}_duration_seconds", duration_doc, labels=[label, "stat"])
    for name, data in rows.items():
        for key, family in families.items():
            family.add_metric([name], data[key])
        _add_stats(timing, [name], data["duration_s"])
    yield from (*families.values(), timing)


def _stats(name: str, doc: str, stats: dict) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["stat"])
    _add_stats(family, [], stats)
    return family


def _add_stats(family: GaugeMetricFamily, labels: list[str], stats: dict) -> None:
    for stat in ("avg", "p50", "p95"):
        if stats[stat] is not None:
            family.add_metric([*labels, stat], stats[stat])
    family.add_metric([*labels, "count"], stats["count"])


def prometheus_registry(db: Database) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(MetricsCollector(db))
    return registry
