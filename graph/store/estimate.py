"""The time estimate shown with a plan at the approval gate: each step's tool is given its
median duration over the newest ``RECENT`` ``step_succeeded`` events of the event log, and
the plan's estimate is the critical path over those durations. Tools not seen among them
count as ``DEFAULT_S``. The window keeps the cost of an estimate flat however long the
history grows (it is computed for every plan at the approval gate).

The window is kept in memory and topped up with the events newer than the newest one it
holds, so an estimate reads a handful of rows instead of 500 (0.6 ms of SQL at every gate).
An event written late with an older timestamp (another process's buffered batch) can be
missed by a window that already moved past it; for an estimate that is an acceptable loss."""

from __future__ import annotations

import statistics
import threading
from collections import deque
from typing import Any

from graph.core.dag import critical_path_seconds
from graph.core.schemas import Plan
from graph.store.database import Database
from graph.store.event_log import step_durations_after

DEFAULT_S = 1.0
RECENT = 500  # newest successful steps looked at, all tools together


class Estimator:
    """Callable ``plan -> estimate``; shared by every thread of a process, hence the lock."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._window: deque[tuple[str, float]] = deque(maxlen=RECENT)
        self._newest_ts = ""

    def tool_medians(self) -> dict[str, tuple[float, int]]:
        with self._lock:
            rows = step_durations_after(self.db, self._newest_ts, RECENT)  # newest first
            if rows:
                self._newest_ts = rows[0][0]
                self._window.extend((tool, float(seconds)) for _, tool, seconds in reversed(rows)
                                    if isinstance(tool, str) and isinstance(seconds, (int, float)))
            window = list(self._window)
        samples: dict[str, list[float]] = {}
        for tool, seconds in window:
            samples.setdefault(tool, []).append(seconds)
        return {tool: (statistics.median(values), len(values)) for tool, values in samples.items()}

    def __call__(self, plan: Plan) -> dict[str, Any]:
        medians = self.tool_medians()
        per_step = {s.id: medians.get(s.tool, (DEFAULT_S, 0))[0] for s in plan.steps}
        return {
            "critical_path_s": round(critical_path_seconds(plan, per_step), 3),
            "steps_s": {k: round(v, 3) for k, v in per_step.items()},
            "samples": {s.tool: medians.get(s.tool, (0, 0))[1] for s in plan.steps},
            "unknown_tools": sorted({s.tool for s in plan.steps if s.tool not in medians}),
        }
