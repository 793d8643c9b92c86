"""Figures the benchmarks share."""

from __future__ import annotations


def p95(values: list[float]) -> float:
    """The nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(int(0.95 * len(ordered) + 0.999) - 1, 0)]
