"""The SQLite back end, the zero-setup default: one file in WAL mode with a busy timeout,
one connection (``check_same_thread=False``) shared by LangGraph's ``SqliteSaver`` and our
tables. Our statements take the saver's lock, so the connection never interleaves two
transactions; other processes on the same file take turns through SQLite's own locks."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

from graph.store.database import Database, Dialect

BUSY_TIMEOUT_S = 30.0

SQLITE = Dialect(
    name="sqlite",
    like="LIKE",  # ASCII case-insensitive already
    greatest="MAX",
    json_field="json_extract({column}, '$.{key}')",
    number="{value}",  # json_extract keeps JSON numbers as numbers
    seconds="((julianday({later}) - julianday({earlier})) * 86400.0)",
    buckets={"hour": "strftime('%Y-%m-%dT%H:00:00+00:00', {column})",
             "day": "strftime('%Y-%m-%dT00:00:00+00:00', {column})"},
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    thread_id  TEXT PRIMARY KEY,
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
    thread_id TEXT NOT NULL,
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
CREATE TABLE IF NOT EXISTS breakers (
    name       TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    failures   INTEGER NOT NULL,
    opened_at  REAL,
    cooldown_s REAL NOT NULL,
    last_error TEXT,
    updated_at TEXT NOT NULL
);
"""
# Columns added after the first release; added in place to older databases.
_RUN_COLUMNS = {
    "owner": "TEXT",                   # the process holding the thread (pid@host:nonce)
    "lease_until": "REAL",             # epoch seconds; a claim lapses unless renewed
    "cancel_requested": "INTEGER NOT NULL DEFAULT 0",
    "queued": "INTEGER NOT NULL DEFAULT 0",  # a detached request waits for a worker
    "input": "TEXT",                   # the graph input (JSON) until the first checkpoint
    "decided_by": "TEXT",              # the operator of the latest decision (written with its event)
    "decided_at": "TEXT",
    "cancel_by": "TEXT",               # who asked for the pending cancel
}


class SqliteDatabase(Database):
    dialect = SQLITE

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = self.url = path
        self.conn = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
        self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _enable_wal(self.conn)
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.saver = SqliteSaver(self.conn)
        with self.saver.lock:
            _create_schema(self.conn)
            self.saver.setup()

    @contextmanager
    def cursor(self) -> Iterator[sqlite3.Cursor]:
        """A cursor under the saver's lock, committed on success and rolled back on error."""
        with self.saver.lock:
            self.saver.setup()
            cur = self.conn.cursor()
            try:
                yield cur
                self.conn.commit()
            except BaseException:
                self.conn.rollback()
                raise
            finally:
                cur.close()

    def close(self) -> None:
        self.conn.close()


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switching a new file to WAL needs a lock SQLite does not wait for (the busy timeout
    does not apply), so a dashboard and a worker opening a fresh database together would
    see "database is locked". Retry until the timeout instead."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _create_schema(conn: sqlite3.Connection) -> None:
    """Tables and added columns in one write transaction, so processes opening the same
    file at once take turns: the second sees the first's columns instead of adding them
    twice ("duplicate column name")."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in filter(str.strip, _SCHEMA.split(";")):
            conn.execute(statement)
        have = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        for column, kind in _RUN_COLUMNS.items():
            if column not in have:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
