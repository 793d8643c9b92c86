"""The one place that opens the database: one SQLite file in WAL mode with a busy timeout,
one connection (``check_same_thread=False``) shared by LangGraph's ``SqliteSaver`` and the
project's own ``runs`` table. Our statements take the saver's lock, so the connection never
interleaves two transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

from graph.schemas import utc_now

BUSY_TIMEOUT_S = 30.0

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
"""


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


class Database:
    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
        self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.saver = SqliteSaver(self.conn)
        with self.cursor() as cur:
            cur.executescript(_SCHEMA)

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

    def create_run(self, thread_id: str, goal: str, status: str, model: str, operator: str) -> None:
        now = utc_now().isoformat()
        with self.cursor() as cur:
            cur.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                (thread_id, goal, status, model, operator, now, now),
            )

    def update_run(self, thread_id: str, status: str, error: str | None = None) -> None:
        with self.cursor() as cur:
            cur.execute(
                "UPDATE runs SET status = ?, error = ?, updated_at = ? WHERE thread_id = ?",
                (status, error, utc_now().isoformat(), thread_id),
            )

    def get_run(self, thread_id: str) -> RunRow | None:
        with self.cursor() as cur:
            row = cur.execute("SELECT * FROM runs WHERE thread_id = ?", (thread_id,)).fetchone()
        return RunRow(*row) if row else None

    def list_runs(self, status: str | None = None, limit: int = 50) -> list[RunRow]:
        query = "SELECT * FROM runs"
        params: tuple = ()
        if status:
            query += " WHERE status = ?"
            params = (status,)
        query += " ORDER BY updated_at DESC LIMIT ?"
        with self.cursor() as cur:
            return [RunRow(*r) for r in cur.execute(query, (*params, limit)).fetchall()]

    def delete_thread(self, thread_id: str) -> None:
        """Remove every trace of a thread (used to undo a thread whose creation failed)."""
        with self.cursor() as cur:
            for table in ("writes", "checkpoints", "runs"):
                cur.execute(f"DELETE FROM {table} WHERE thread_id = ?", (thread_id,))


def open_database(path: str) -> Database:
    return Database(path)
