"""Applying the retention policy (``graph/core/retention.py``): which threads are due, what
removing them frees, and removing them, one thread at a time under its claim.

What keeps a thread out, whatever the policy: it is not finished (waiting for a person,
planning, executing), it is queued for a worker, someone holds its claim, or (for
compaction) it has been forked, since its branches are its history. Each thread is pruned
under its claim, so a fork or a resume that starts meanwhile waits for it or skips it, and
the claim's check is repeated inside: the row must still be finished and unqueued.

A compacted thread keeps its ``runs`` row, its events and its latest checkpoint: that
checkpoint's state holds the goal, every plan version, the critique, the sealed decisions
and each step's result, so its view, its audit trail (``prolight audit``) and its export
are what they were; its history is that one checkpoint. A deleted thread leaves nothing.

LangGraph's own ``prune`` does the PostgreSQL saver's part (``keep_latest``, ``delete``);
the SQLite saver has only ``delete_thread``, one transaction per call, so on SQLite the
saver's rows go in our transaction instead (``SqliteDatabase.prune_thread``). Neither knows
which threads an audit still needs or which a person is waiting on: that is this module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import Field

from graph.core.model import Model
from graph.core.retention import PRUNABLE, RetentionPolicy
from graph.core.schemas import Status, utc_now
from graph.store.claims import new_owner, try_claim
from graph.store.database import Cursor, Database

CLAIM_LEASE_S = 60.0  # a pruned thread's claim: far longer than one thread's prune takes


class PruneReport(Model):
    dry_run: bool = Field(description="Nothing was removed: what would be.")
    compacted: list[str] = Field(description="Threads whose intermediate checkpoints went (the audit record stays).")
    deleted: list[str] = Field(description="Threads removed whole.")
    skipped: list[str] = Field(default_factory=list, description="Due, but busy (claimed, queued) or changed "
                                                                 "meanwhile: left for the next prune.")
    checkpoints: int = 0
    writes: int = Field(0, description="Pending writes (step results of unfinished supersteps).")
    events: int = 0
    bytes: int = Field(0, description="The data in the removed rows, the channel values' blobs included.")
    file_bytes_before: int | None = Field(None, description="The database's size before.")
    file_bytes_after: int | None = Field(None, description="And after, once the freed pages are given back "
                                                           "(PostgreSQL reuses them instead: about the same).")
    seconds: float = 0.0
    more: bool = Field(False, description="The batch was full: more threads are due.")


@dataclass
class _Due:
    thread_id: str
    compact: bool  # else delete


@dataclass
class _Freed:
    checkpoints: int = 0
    writes: int = 0
    events: int = 0
    bytes: int = 0
    threads: dict[str, list[str]] = field(default_factory=lambda: {"compacted": [], "deleted": []})

    def add(self, other: "_Freed") -> None:
        self.checkpoints += other.checkpoints
        self.writes += other.writes
        self.events += other.events
        self.bytes += other.bytes
        for kind, ids in other.threads.items():
            self.threads[kind] += ids


def _rules(db: Database, policy: RetentionPolicy, now: datetime) -> Iterator[tuple[Status, bool, str, list]]:
    """Each rule as (status, compact, WHERE over ``runs``, its parameters); deletions first.
    A thread due for both is deleted, so the compaction rule leaves it out."""
    fork = f"{db.dialect.json_text('e.payload', 'action')} = 'fork'"
    for compact in (False, True):
        for status in PRUNABLE:
            rule = policy.rule(status)
            days = rule.compact_after_days if compact else rule.delete_after_days
            if days is None:
                continue
            where = ["status = ?", "updated_at < ?", "queued = 0", "(owner IS NULL OR lease_until < ?)"]
            params: list = [status.value, (now - timedelta(days=days)).isoformat(), time.time()]
            if compact:
                where += ["compacted_at IS NULL", "NOT EXISTS (SELECT 1 FROM events e WHERE e.thread_id = "
                          f"runs.thread_id AND e.kind = 'decision' AND {fork})"]
                if rule.delete_after_days is not None:
                    where.append("updated_at >= ?")
                    params.append((now - timedelta(days=rule.delete_after_days)).isoformat())
            yield status, compact, " AND ".join(where), params


def due(db: Database, policy: RetentionPolicy, limit: int, now: datetime | None = None) -> list[_Due]:
    """The oldest threads the policy says to prune, at most ``limit``, deletions first.
    Claimed threads are left out here, and checked again under the claim."""
    found: list[_Due] = []
    for _, compact, where, params in _rules(db, policy, now or utc_now()):
        if len(found) >= limit:
            break
        with db.cursor() as cur:
            rows = cur.execute(f"SELECT thread_id FROM runs WHERE {where} ORDER BY updated_at LIMIT ?",
                               (*params, limit - len(found))).fetchall()
        found += [_Due(r[0], compact) for r in rows]
    return found


class RetentionRow(Model):
    status: Status
    compact_after_days: float | None
    delete_after_days: float | None
    due_compact: int = Field(0, description="Threads the next prune compacts.")
    due_delete: int = Field(0, description="Threads the next prune deletes.")


class StorageView(Model):
    """What the database holds and what the retention policy will do to it next."""

    bytes: int | None = Field(description="The database's size (SQLite: its pages; PostgreSQL: pg_database_size).")
    threads: int
    compacted: int = Field(description="Threads whose intermediate checkpoints retention removed.")
    last_compacted_at: datetime | None = None
    rules: list[RetentionRow]
    every_minutes: float = Field(description="How often a run manager applies the policy (0: never on its own).")


def storage(db: Database, policy: RetentionPolicy, now: datetime | None = None) -> StorageView:
    counts: dict[tuple[Status, bool], int] = {}
    with db.cursor() as cur:
        for status, compact, where, params in _rules(db, policy, now or utc_now()):
            counts[(status, compact)] = cur.execute(f"SELECT count(*) FROM runs WHERE {where}", params).fetchone()[0]
        threads, compacted, last = cur.execute(
            "SELECT count(*), count(compacted_at), max(compacted_at) FROM runs").fetchone()
    rules = [RetentionRow(status=status, compact_after_days=policy.rule(status).compact_after_days,
                          delete_after_days=policy.rule(status).delete_after_days,
                          due_compact=counts.get((status, True), 0), due_delete=counts.get((status, False), 0))
             for status in PRUNABLE]
    return StorageView(bytes=db.file_bytes(), threads=threads, compacted=compacted, last_compacted_at=last,
                       rules=rules, every_minutes=policy.every_minutes)


def _measure(cur: Cursor, db: Database, item: _Due, freed: _Freed) -> None:
    """Add what pruning ``item`` removes to ``freed``."""
    tables = db.saver_tables
    latest = ""  # no checkpoint has this id: deletion counts them all
    if item.compact:
        latest = cur.execute("SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''",
                             (item.thread_id,)).fetchone()[0] or ""
    others = "thread_id = ? AND NOT (checkpoint_ns = '' AND checkpoint_id = ?)"
    count, size = cur.execute(f"SELECT count(*), coalesce(sum({tables.checkpoint_bytes}), 0) FROM checkpoints "
                              f"WHERE {others}", (item.thread_id, latest)).fetchone()
    freed.checkpoints += count
    freed.bytes += int(size)
    count, size = cur.execute(f"SELECT count(*), coalesce(sum({tables.write_bytes}), 0) FROM {tables.writes} "
                              f"WHERE {others}", (item.thread_id, latest)).fetchone()
    freed.writes += count
    freed.bytes += int(size)
    freed.bytes += db.blob_bytes(cur, item.thread_id, latest)
    if not item.compact:
        count, size = cur.execute(f"SELECT count(*), coalesce(sum({db.dialect.bytes_of('payload')}), 0) FROM events "
                                  "WHERE thread_id = ?", (item.thread_id,)).fetchone()
        freed.events += count
        freed.bytes += int(size)
    freed.threads["compacted" if item.compact else "deleted"].append(item.thread_id)


def _still_due(cur: Cursor, item: _Due) -> bool:
    """Under the claim: still finished, unqueued, and (to compact) not compacted meanwhile."""
    row = cur.execute("SELECT status, queued, compacted_at FROM runs WHERE thread_id = ?", (item.thread_id,)).fetchone()
    return (row is not None and Status(row[0]) in PRUNABLE and not row[1]
            and not (item.compact and row[2] is not None))


def prune(db: Database, policy: RetentionPolicy, dry_run: bool = False, full_vacuum: bool = False,
          limit: int | None = None, now: datetime | None = None) -> PruneReport:
    """Prune what the policy says is due, at most ``limit`` threads (the policy's batch
    when not given). ``full_vacuum``: rewrite the file afterwards (SQLite ``VACUUM``)."""
    started = time.perf_counter()
    limit = limit or policy.batch
    before = db.file_bytes()
    items = due(db, policy, limit + 1, now)
    more, items = len(items) > limit, items[:limit]
    freed, skipped = _Freed(), []
    _ = db.saver  # the saver's tables exist before any count
    if dry_run:
        with db.cursor() as cur:
            for item in items:
                _measure(cur, db, item, freed)
    else:
        owner = new_owner()
        for item in items:
            if not _prune_one(db, item, owner, freed):
                skipped.append(item.thread_id)
        if freed.threads["compacted"] or freed.threads["deleted"] or full_vacuum:
            db.reclaim_space(full_vacuum)
    return PruneReport(dry_run=dry_run, compacted=freed.threads["compacted"], deleted=freed.threads["deleted"],
                       skipped=skipped, checkpoints=freed.checkpoints, writes=freed.writes, events=freed.events,
                       bytes=freed.bytes, file_bytes_before=before,
                       file_bytes_after=before if dry_run else db.file_bytes(),
                       seconds=round(time.perf_counter() - started, 3), more=more)


def _prune_one(db: Database, item: _Due, owner: str, freed: _Freed) -> bool:
    if not try_claim(db, item.thread_id, owner, CLAIM_LEASE_S):
        return False
    try:
        with db.cursor() as cur:
            if not _still_due(cur, item):
                return False
            counted = _Freed()
            _measure(cur, db, item, counted)

        def ours(cur: Cursor) -> None:
            if item.compact:
                cur.execute("UPDATE runs SET compacted_at = ? WHERE thread_id = ?",
                            (utc_now().isoformat(), item.thread_id))
            else:
                cur.execute("DELETE FROM events WHERE thread_id = ?", (item.thread_id,))
                cur.execute("DELETE FROM runs WHERE thread_id = ?", (item.thread_id,))

        db.prune_thread(item.thread_id, item.compact, ours)
    finally:
        db.release(item.thread_id, owner)  # a deleted row: nothing to release
    freed.add(counted)
    return True
