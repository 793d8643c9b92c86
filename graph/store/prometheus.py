"""The metrics in Prometheus's exposition, recomputed from the database on every scrape.
Apart from ``metrics.py`` so that reading the metrics as a model (``prolight metrics``)
does not import the Prometheus client.

Conventions: one unit per family, named in it (``_seconds``, ``_tokens``); counts are
counters (``_total``); a distribution is a summary (quantile samples 0.5 and 0.95, with
``_count`` and ``_sum``), never gauges told apart by a label. ``exposition`` answers a
scrape in the format the scraper's ``Accept`` asks for (OpenMetrics or the text format),
the one way every endpoint of ours serves them."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from pydantic import BaseModel

from graph.store.database import Database
from graph.store.metrics import Summary, compute_metrics

BREAKER_LEVEL = {"closed": 0, "half_open": 1, "open": 2}


class MetricsCollector(Collector):
    """Recomputes on every scrape, from the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self):  # type: ignore[override]
        m = compute_metrics(self.db)
        runs = GaugeMetricFamily("prolight_runs", "Threads by status.", labels=["status"])
        for status, count in sorted(m.runs.by_status.items()):
            runs.add_metric([status], count)
        yield runs
        if m.runs.success_rate is not None:
            yield GaugeMetricFamily("prolight_run_success_ratio", "COMPLETED / finished runs.",
                                    value=m.runs.success_rate)
        yield _summary("prolight_run_duration_seconds", "Run duration, created to finished.", m.runs.duration_s)
        yield from _per_name("agent", m.agents, {"calls": "Planner and critic calls.",
                                                 "failures": "Planner and critic failures."},
                             "Agent call duration.")
        yield from _per_name("tool", m.tools, {"calls": "Steps that ran, by tool.",
                                               "failures": "Steps that failed, by tool.",
                                               "retries": "Retries, by tool.",
                                               "not_attempted": "Steps an open breaker refused, by tool.",
                                               "cache_hits": "Steps answered from the result cache, by tool.",
                                               "cache_misses": "Steps that asked the result cache and ran, by tool.",
                                               "cache_seconds_saved": "Seconds of calls the cache hits saved, "
                                                                      "by tool."},
                             "Step duration by tool.")
        checks = CounterMetricFamily("prolight_check_results", "Check evaluations on step outputs, by tool, kind "
                                                               "and result.", labels=["tool", "kind", "result"])
        for count in m.checks:
            checks.add_metric([count.tool, count.kind, "passed"], count.passed)
            checks.add_metric([count.tool, count.kind, "failed"], count.failed)
        yield checks
        reviews = CounterMetricFamily("prolight_reviews", "Review decisions on steps whose checks kept failing, by "
                                                          "outcome.", labels=["outcome"])
        for outcome, count in sorted(m.reviews.items()):
            reviews.add_metric([outcome], count)
        yield reviews
        transitions = CounterMetricFamily("prolight_transitions", "Status transitions.", labels=["from", "to"])
        for pair, count in m.transitions.items():
            transitions.add_metric(pair.split("->"), count)
        yield transitions
        yield _summary("prolight_approval_wait_seconds", "Time at the approval gate.", m.approval_wait_s)
        tokens = CounterMetricFamily("prolight_model_tokens", "Chat model tokens the provider reported, by agent and "
                                                              "direction.", labels=["agent", "direction"])
        for agent, usage in m.tokens.items():
            tokens.add_metric([agent, "input"], usage.input_tokens)
            tokens.add_metric([agent, "output"], usage.output_tokens)
        yield tokens
        yield _summary("prolight_run_tokens", "Chat model tokens per run that called one.", m.tokens_per_run)
        yield GaugeMetricFamily("prolight_awaiting_approval", "Threads waiting for a decision.",
                                value=m.awaiting_approval)
        breakers = GaugeMetricFamily("prolight_breaker_state", "0 closed, 1 half-open, 2 open.", labels=["breaker"])
        for name, state in m.breakers.items():
            breakers.add_metric([name], BREAKER_LEVEL.get(state, -1))
        yield breakers


def _per_name(label: str, rows: dict[str, BaseModel], counters: dict[str, str], duration_doc: str) -> Iterator[Metric]:
    """``prolight_<label>_<counter>_total`` and the summary ``prolight_<label>_duration_seconds``,
    one series per name."""
    families = {key: CounterMetricFamily(f"prolight_{label}_{key}", doc, labels=[label])
                for key, doc in counters.items()}
    timing = Metric(f"prolight_{label}_duration_seconds", duration_doc, "summary")
    for name, data in rows.items():
        for key, family in families.items():
            family.add_metric([name], getattr(data, key))
        _add_summary(timing, {label: name}, data.duration_s)  # type: ignore[attr-defined]
    yield from (*families.values(), timing)


def _summary(name: str, doc: str, stats: Summary) -> Metric:
    family = Metric(name, doc, "summary")
    _add_summary(family, {}, stats)
    return family


def _add_summary(family: Metric, labels: dict[str, str], stats: Summary) -> None:
    """Quantiles (when there is anything to rank), ``_count`` and ``_sum``."""
    for quantile, value in (("0.5", stats.p50), ("0.95", stats.p95)):
        if value is not None:
            family.add_sample(family.name, {**labels, "quantile": quantile}, value)
    family.add_sample(f"{family.name}_count", labels, stats.count)
    family.add_sample(f"{family.name}_sum", labels, (stats.avg or 0.0) * stats.count)


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The scrape's body and content type: OpenMetrics when ``accept`` asks for it, else
    the text format (prometheus-client's own negotiation, as ``metrics --serve`` uses)."""
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type


def prometheus_registry(db: Database) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(MetricsCollector(db))
    return registry
