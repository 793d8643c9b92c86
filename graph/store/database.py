"""The project's own tables (``runs``, ``events``, ``breakers``, ``step_cache``) and the checkpointer beside
them, on either back end. ``Database`` owns the ``runs`` rows and their claims in SQL both
back ends speak; what differs (connecting, the schema, placeholders, a few functions) is a
``Dialect`` and a subclass: ``graph.store.sqlite`` (the zero-setup default) and
``graph.store.postgres`` (several workers). ``graph.store.connect`` is the one place that
opens one. The event log's queries are in ``event_log``, the metrics' in ``metrics``."""

from __future__ import annotations

import json
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from graph.core.schemas import ACTIVE, utc_now

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

ACTIVE_STATUSES = tuple(sorted(ACTIVE))

# The tables of both back ends, one definition (INSERT INTO breakers VALUES relies on its
# column order). ``{key}``: a thread id column's type; ``{real}``: a float's.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    thread_id  {key} PRIMARY KEY,
    goal       TEXT NOT NULL,
    status     TEXT NOT NULL,
    model      TEXT NOT NULL,
    operator   TEXT NOT NULL,
    error      TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, updated_at);
CREATE INDEX IF NOT EXISTS runs_by_updated ON runs (updated_at);
CREATE TABLE IF NOT EXISTS events (
    thread_id {key} NOT NULL,
    seq       INTEGER NOT NULL,
    ts        TEXT NOT NULL,
    kind      TEXT NOT NULL,
    node      TEXT,
    step_id   TEXT,
    attempt   INTEGER,
    payload   TEXT NOT NULL,
    PRIMARY KEY (thread_id, seq)
);
CREATE INDEX IF NOT EXISTS events_by_kind ON events (kind, ts);
CREATE TABLE IF NOT EXISTS step_cache (
    key        TEXT PRIMARY KEY,
    tool       TEXT NOT NULL,
    output     TEXT NOT NULL,
    seconds    {real} NOT NULL,
    created_at TEXT NOT NULL,
    expires_at {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS breakers (
    name       TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    failures   INTEGER NOT NULL,
    opened_at  {real},
    cooldown_s {real} NOT NULL,
    last_error TEXT,
    updated_at TEXT NOT NULL
);
"""
# Columns added after the first release; added in place to older databases by migration 1
# (migrations.py). A column added from now on goes in a new migration: a database already at
# version 1 never runs this list again.
_RUN_COLUMNS = {
    "owner": "TEXT",                   # the process holding the thread (pid@host:nonce)
    "lease_until": "{real}",           # epoch seconds; a claim lapses unless renewed
    "cancel_requested": "INTEGER NOT NULL DEFAULT 0",
    "queued": "INTEGER NOT NULL DEFAULT 0",  # a detached request waits for a worker
    "input": "TEXT",                   # the graph input (JSON) until the first checkpoint
    "decided_by": "TEXT",              # the operator of the latest decision (written with its event)
    "decided_at": "TEXT",
    "cancel_by": "TEXT",               # who asked for the pending cancel
    "cancel_reason": "TEXT",           # and why, if they said
    "release": "TEXT",                 # the ProLight Flow release that created it (none before 0.1.0's data lifecycle)
    "compacted_at": "TEXT",            # retention dropped its intermediate checkpoints then
}


class Cursor(Protocol):
    """What our queries use of a DB-API cursor; placeholders are ``?`` on every back end."""

    rowcount: int

    def execute(self, sql: str, params: Any = ...) -> "Cursor": ...
    def executemany(self, sql: str, params: Any) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


@dataclass(frozen=True)
class SaverTables:
    """Where each back end's LangGraph saver keeps a thread's rows, for retention to count
    them: the table of pending writes, and SQL for the bytes of a checkpoint row and of a
    write row. Channel values are in ``checkpoint_blobs`` on both (``blob_bytes``)."""

    writes: str
    checkpoint_bytes: str
    write_bytes: str


@dataclass(frozen=True)
class Dialect:
    """The SQL that differs between SQLite and PostgreSQL, as fragments our queries splice in.
    Timestamps are ISO-8601 UTC text on both, so they compare in time order as strings."""

    key_type: str                   # a thread id column's type
    real_type: str                  # a floating-point column's type
    like: str                       # case-insensitive LIKE
    greatest: str                   # scalar maximum of two values
    json_field: str                 # payload JSON -> a field as text, "{column}" and "{key}"
    number: str                     # text -> a float, "{value}"
    seconds: str                    # "{later}" - "{earlier}" ISO timestamps, in seconds
    buckets: dict[str, str]         # "hour"/"day" -> the bucket start of "{column}" as ISO text
    byte_length: str                # the bytes a text or blob "{column}" holds

    def schema(self) -> list[str]:
        """The statements that create the tables (each ``IF NOT EXISTS``)."""
        sql = _SCHEMA.format(key=self.key_type, real=self.real_type)
        return [statement for statement in sql.split(";") if statement.strip()]

    def run_columns(self) -> dict[str, str]:
        """``runs`` columns added after the first release, by name, with their types."""
        return {name: kind.format(real=self.real_type) for name, kind in _RUN_COLUMNS.items()}

    def json_text(self, column: str, key: str) -> str:
        return self.json_field.format(column=column, key=key)

    def json_number(self, column: str, key: str) -> str:
        return self.number.format(value=self.json_text(column, key))

    def seconds_between(self, later: str, earlier: str) -> str:
        return self.seconds.format(later=later, earlier=earlier)

    def bucket_start(self, bucket: str, column: str) -> str:
        return self.buckets[bucket].format(column=column)

    def bytes_of(self, column: str) -> str:
        return self.byte_length.format(column=column)


_RUN_FIELDS = ("thread_id, goal, status, model, operator, error, created_at, updated_at, queued, "
               "decided_by, decided_at, owner, lease_until, release, compacted_at")
SORT_COLUMNS = {"updated": "updated_at", "created": "created_at", "status": "status", "goal": "goal"}


@dataclass(frozen=True)
class RunRow:
    thread_id: str
    goal: str
    status: str
    model: str
    operator: str
    error: str | None
    created_at: str
    updated_at: str
    queued: int = 0
    decided_by: str | None = None
    decided_at: str | None = None
    owner: str | None = None
    lease_until: float | None = None
    release: str | None = None  # the release that created it (None: an older one)
    compacted_at: str | None = None  # retention kept only its latest checkpoint, then

    def holder(self, now: float) -> str | None:
        """The live owner (its lease not lapsed), if any."""
        return self.owner if self.owner and self.lease_until and self.lease_until >= now else None


class Database:
    """The runs table and the checkpointer of one database. Subclasses connect, create the
    schema and provide ``cursor``: one transaction, committed on success."""

    dialect: Dialect
    saver_tables: SaverTables
    saver: "BaseCheckpointSaver"
    url: str

    def cursor(self) -> AbstractContextManager[Cursor]:
        raise NotImplementedError

    def lock_events(self, cur: Cursor, thread_id: str) -> None:
        """Serialise appends to one thread's events until the transaction ends, so two
        writers never take the same ``seq`` (SQLite's write lock already does)."""

    def close(self) -> None:
        raise NotImplementedError

    # ---- retention (graph/store/retention.py decides; these do what differs) ------------
    def prune_thread(self, thread_id: str, compact: bool, ours: Callable[[Cursor], None]) -> None:
        """Drop the thread's checkpoints (all of them, or all but the latest when
        ``compact``) and run ``ours``, our own tables' part, as atomically as the back end allows."""
        raise NotImplementedError

    def blob_bytes(self, cur: Cursor, thread_id: str, keep: str) -> int:
        """The bytes of the thread's value blobs that checkpoint ``keep`` does not refer to
        (all of them when ``keep`` names none): what pruning it frees in that table."""
        raise NotImplementedError

    def reclaim_space(self, full: bool) -> None:
        """Give freed pages back after a prune (``full``: the slow, thorough way)."""
        raise NotImplementedError

    def file_bytes(self) -> int | None:
        """The database's size on disk, if the back end can tell."""
        return None

    def create_run(self, thread_id: str, goal: str, status: str, model: str, operator: str,
                   graph_input: dict | None = None, queued: bool = False, owner: str | None = None,
                   lease_s: float = 0, release: str | None = None) -> None:
        """A new row; with ``owner`` it is born claimed, so no worker can take it first."""
        now = utc_now().isoformat()
        with self.cursor() as cur:
            cur.execute(
                "INSERT INTO runs (thread_id, goal, status, model, operator, created_at, updated_at, queued, "
                "input, owner, lease_until, release) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (thread_id, goal, status, model, operator, now, now, int(queued),
                 json.dumps(graph_input) if graph_input is not None else None,
                 owner, time.time() + lease_s if owner else None, release),
            )

    def graph_input(self, thread_id: str) -> dict | None:
        value = self._run_column(thread_id, "input")
        return json.loads(value) if value else None

    def set_queued(self, thread_id: str, queued: bool) -> None:
        self._set_run_column(thread_id, "queued", int(queued))

    def candidates(self, limit: int, include_orphans: bool) -> list[tuple[str, str | None, float | None]]:
        """Threads a worker might execute: queued ones, and (optionally) active ones whose
        owner may be gone. Rows: (thread_id, owner, lease_until); the caller decides.
        Unowned rows come first: with several workers, the threads the others are executing
        are active too, and must not fill the ``limit`` ahead of queued requests."""
        marks = ",".join("?" * len(ACTIVE_STATUSES))
        query = "SELECT thread_id, owner, lease_until FROM runs WHERE queued = 1"
        if include_orphans:
            query += f" OR status IN ({marks})"
        query += " ORDER BY owner IS NOT NULL, updated_at LIMIT ?"
        params = (*ACTIVE_STATUSES, limit) if include_orphans else (limit,)
        with self.cursor() as cur:
            return cur.execute(query, params).fetchall()

    # ---- claims: one process drives a thread at a time ---------------------------------
    def claim(self, thread_id: str, owner: str, lease_s: float) -> bool:
        """Take the thread for ``owner`` unless someone (``owner`` included) holds it live."""
        now = time.time()
        with self.cursor() as cur:
            cur.execute(
                "UPDATE runs SET owner = ?, lease_until = ? WHERE thread_id = ? "
                "AND (owner IS NULL OR lease_until < ?)",
                (owner, now + lease_s, thread_id, now),
            )
            return cur.rowcount == 1

    def renew(self, thread_id: str, owner: str, lease_s: float) -> bool:
        with self.cursor() as cur:
            cur.execute("UPDATE runs SET lease_until = ? WHERE thread_id = ? AND owner = ?",
                        (time.time() + lease_s, thread_id, owner))
            return cur.rowcount == 1

    def take_over(self, thread_id: str, dead_owner: str, owner: str, lease_s: float) -> bool:
        """Take a thread from an owner known to be dead (its lease may not have lapsed yet)."""
        with self.cursor() as cur:
            cur.execute("UPDATE runs SET owner = ?, lease_until = ? WHERE thread_id = ? AND owner = ?",
                        (owner, time.time() + lease_s, thread_id, dead_owner))
            return cur.rowcount == 1

    def release(self, thread_id: str, owner: str) -> None:
        with self.cursor() as cur:
            cur.execute("UPDATE runs SET owner = NULL, lease_until = NULL WHERE thread_id = ? AND owner = ?",
                        (thread_id, owner))

    def holder(self, thread_id: str) -> str | None:
        """The live owner of a thread, if any."""
        row = self.get_run(thread_id)
        return row.holder(time.time()) if row else None

    def request_cancel(self, thread_id: str, by: str | None = None, queue: bool = False,
                       reason: str | None = None) -> None:
        """Flag the thread: whoever executes it stops it and records the cancel, by ``by``
        for ``reason``. ``queue``: also ask a worker to stop it if nobody is executing it."""
        with self.cursor() as cur:
            cur.execute("UPDATE runs SET cancel_requested = 1, cancel_by = ?, cancel_reason = ?, "
                        f"queued = {self.dialect.greatest}(queued, ?) WHERE thread_id = ?",
                        (by, reason, int(queue), thread_id))

    def clear_cancel(self, thread_id: str) -> None:
        """Withdraw an old cancel request before a new drive; a read when there is none."""
        if self.cancel_requested(thread_id):
            with self.cursor() as cur:
                cur.execute("UPDATE runs SET cancel_requested = 0, cancel_by = NULL, cancel_reason = NULL "
                            "WHERE thread_id = ?",
                            (thread_id,))

    def cancel_requested(self, thread_id: str) -> bool:
        return bool(self._run_column(thread_id, "cancel_requested"))

    def cancel_requester(self, thread_id: str) -> str | None:
        """Who asked for a pending cancel ("operator" if not recorded), or None."""
        request = self.cancel_request(thread_id)
        return request[0] if request else None

    def cancel_request(self, thread_id: str) -> tuple[str, str | None] | None:
        """(who, why) of a pending cancel, or None."""
        with self.cursor() as cur:
            row = cur.execute("SELECT cancel_requested, cancel_by, cancel_reason FROM runs WHERE thread_id = ?",
                              (thread_id,)).fetchone()
        return ((row[1] or "operator"), row[2]) if row and row[0] else None

    def get_run(self, thread_id: str) -> RunRow | None:
        with self.cursor() as cur:
            row = cur.execute(f"SELECT {_RUN_FIELDS} FROM runs WHERE thread_id = ?", (thread_id,)).fetchone()
        return RunRow(*row) if row else None

    def get_runs(self, thread_ids: list[str]) -> dict[str, RunRow]:
        """Several rows in one query (the stream poller's, for every watched thread)."""
        if not thread_ids:
            return {}
        marks = ",".join("?" * len(thread_ids))
        with self.cursor() as cur:
            rows = cur.execute(f"SELECT {_RUN_FIELDS} FROM runs WHERE thread_id IN ({marks})", thread_ids).fetchall()
        return {row[0]: RunRow(*row) for row in rows}

    def page_runs(self, statuses: tuple[str, ...] = (), search: str | None = None, sort: str = "updated",
                  descending: bool = True, offset: int = 0, limit: int = 50) -> tuple[list[RunRow], int]:
        """One page of the runs table and how many rows match. ``search`` matches a full
        thread id, an id prefix (through the primary key's index), or all words of the goal."""
        where, params = ["1 = 1"], []
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            params += statuses
        words = (search or "").split()
        if words:
            prefix = words[0] if len(words) == 1 else None
            goal = " AND ".join(f"goal {self.dialect.like} ? ESCAPE '\\'" for _ in words)
            likes = ["%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for w in words]
            if prefix:
                where.append(f"(thread_id >= ? AND thread_id < ? OR ({goal}))")
                params += [prefix, prefix + "\U0010ffff", *likes]
            else:
                where.append(f"({goal})")
                params += likes
        clause = " AND ".join(where)
        order = f"{SORT_COLUMNS[sort]} {'DESC' if descending else 'ASC'}, thread_id"
        with self.cursor() as cur:
            total = cur.execute(f"SELECT count(*) FROM runs WHERE {clause}", params).fetchone()[0]
            rows = cur.execute(f"SELECT {_RUN_FIELDS} FROM runs WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
                               (*params, limit, offset)).fetchall()
        return [RunRow(*r) for r in rows], total

    def count_by_status(self) -> dict[str, int]:
        with self.cursor() as cur:
            return dict(cur.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall())

    def runs_with_status(self, status: str, oldest_first: bool = True, limit: int = 1000) -> list[RunRow]:
        order = "ASC" if oldest_first else "DESC"
        with self.cursor() as cur:
            rows = cur.execute(f"SELECT {_RUN_FIELDS} FROM runs WHERE status = ? ORDER BY updated_at {order} LIMIT ?",
                               (status, limit)).fetchall()
        return [RunRow(*r) for r in rows]

    # Column names below come from this module only, never from input.
    def _run_column(self, thread_id: str, column: str) -> Any:
        with self.cursor() as cur:
            row = cur.execute(f"SELECT {column} FROM runs WHERE thread_id = ?", (thread_id,)).fetchone()
        return row[0] if row else None

    def _set_run_column(self, thread_id: str, column: str, value: Any) -> None:
        with self.cursor() as cur:
            cur.execute(f"UPDATE runs SET {column} = ? WHERE thread_id = ?", (value, thread_id))
