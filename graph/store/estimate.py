"""The time estimate shown with a plan at the approval gate: each step's tool is given its
median duration over the newest ``RECENT`` ``step_succeeded`` events of the event log, and
the plan's estimate is the critical path over those durations. Tools not seen among them
count as ``DEFAULT_S``. The window keeps the cost of an estimate flat however long the
history grows (it is computed for every plan at the approval gate)."""

from __future__ import annotations

import statistics
from typing import Any

from graph.core.dag import critical_path_seconds
from graph.store.event_log import recent_step_durations
from graph.store.database import Database
from graph.core.schemas import Plan

DEFAULT_S = 1.0
RECENT = 500  # newest successful steps looked at, all tools together


def tool_medians(db: Database) -> dict[str, tuple[float, int]]:
    samples: dict[str, list[float]] = {}
    for tool, seconds in recent_step_durations(db, RECENT):
        if isinstance(tool, str) and isinstance(seconds, (int, float)):
            samples.setdefault(tool, []).append(float(seconds))
    return {tool: (statistics.median(values), len(values)) for tool, values in samples.items()}


def estimate_plan(db: Database, plan: Plan) -> dict[str, Any]:
    medians = tool_medians(db)
    per_step = {s.id: medians.get(s.tool, (DEFAULT_S, 0))[0] for s in plan.steps}
    return {
        "critical_path_s": round(critical_path_seconds(plan, per_step), 3),
        "steps_s": {k: round(v, 3) for k, v in per_step.items()},
        "samples": {s.tool: medians.get(s.tool, (0, 0))[1] for s in plan.steps},
        "unknown_tools": sorted({s.tool for s in plan.steps if s.tool not in medians}),
    }
