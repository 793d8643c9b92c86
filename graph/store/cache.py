"""The result cache (``step_cache``): a step's output kept by the tool's name and version
and the step's resolved args, shared by every thread, on both back ends.

A table of ours rather than LangGraph's ``BaseCache``: LangGraph ships in-memory, SQLite
and Redis caches but none on PostgreSQL, and its ``CachePolicy`` keys a task on the task's
inputs, which here are the executor's run object, not the step's args. The key hashes the
args as the plan cites them after ``{{step}}`` references are filled and before secrets are
(a secret counts by its name, ``${secret:NAME}``); the output kept is the one the state
keeps, redacted. Only a result that succeeded and passed its checks is stored."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from graph.core.audit import canonical
from graph.core.schemas import utc_now
from graph.store.database import Database


@dataclass(frozen=True)
class CachedResult:
    output: Any
    seconds: float  # how long the call that made it took: what a hit saves
    created_at: str


def cache_key(tool: str, version: str, args: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical({"tool": tool, "version": version, "args": args})).hexdigest()


class ResultCache:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str, now: float | None = None) -> CachedResult | None:
        """The result under ``key`` if it has not expired."""
        now = time.time() if now is None else now
        with self.db.cursor() as cur:
            row = cur.execute("SELECT output, seconds, created_at FROM step_cache WHERE key = ? AND expires_at > ?",
                              (key, now)).fetchone()
        return None if row is None else CachedResult(json.loads(row[0]), float(row[1]), row[2])

    def put(self, key: str, tool: str, output: Any, seconds: float, ttl_s: float, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.db.cursor() as cur:
            cur.execute(
                "INSERT INTO step_cache VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                "tool = excluded.tool, output = excluded.output, seconds = excluded.seconds, "
                "created_at = excluded.created_at, expires_at = excluded.expires_at",
                (key, tool, json.dumps(output, ensure_ascii=False), seconds, utc_now().isoformat(), now + ttl_s))
