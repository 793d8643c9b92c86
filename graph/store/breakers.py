"""The persisted breaker states (``breakers`` table), so ``prolight breakers``, the metrics
and the dashboard see what the executing processes saw. The one place a stored breaker is
turned into a view: an open breaker whose cool-down has passed reads as ``half_open``
(the next call is its trial), for every reader alike."""

from __future__ import annotations

import time
from datetime import datetime

from pydantic import ConfigDict

from graph.core.breaker import BreakerState
from graph.core.model import Model
from graph.core.schemas import utc_now
from graph.store.database import Database


class BreakerView(Model):
    model_config = ConfigDict(frozen=True)

    name: str
    state: BreakerState
    failures: int
    opened_at: float | None = None  # epoch seconds
    cooldown_s: float
    last_error: str | None = None
    updated_at: datetime


def save_breaker(db: Database, name: str, state: str, failures: int, opened_at: float | None,
                 cooldown_s: float, last_error: str | None) -> None:
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO breakers VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
            "state = excluded.state, failures = excluded.failures, opened_at = excluded.opened_at, "
            "cooldown_s = excluded.cooldown_s, last_error = excluded.last_error, updated_at = excluded.updated_at",
            (name, state, failures, opened_at, cooldown_s, last_error, utc_now().isoformat()),
        )


def breaker_views(db: Database, now: float | None = None) -> list[BreakerView]:
    """Every breaker that has changed state, by name."""
    now = time.time() if now is None else now
    with db.cursor() as cur:
        rows = cur.execute("SELECT name, state, failures, opened_at, cooldown_s, last_error, updated_at "
                           "FROM breakers ORDER BY name").fetchall()
    views = []
    for name, state, failures, opened_at, cooldown_s, last_error, updated_at in rows:
        if state == "open" and opened_at is not None and now >= opened_at + cooldown_s:
            state = "half_open"
        views.append(BreakerView(name=name, state=state, failures=failures, opened_at=opened_at,
                                 cooldown_s=cooldown_s, last_error=last_error, updated_at=updated_at))
    return views
