"""The SQLite back end, the zero-setup default: one file in WAL mode with a busy timeout,
one connection (``check_same_thread=False``) shared by LangGraph's ``SqliteSaver`` and our
tables. Our statements take the saver's lock, so the connection never interleaves two
transactions; other processes on the same file take turns through SQLite's own locks."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from graph.store.database import Database, Dialect

if TYPE_CHECKING:
    from langgraph.checkpoint.sqlite import SqliteSaver

BUSY_TIMEOUT_S = 30.0

SQLITE = Dialect(
    key_type="TEXT",
    real_type="REAL",
    like="LIKE",  # ASCII case-insensitive already
    greatest="MAX",
    json_field="json_extract({column}, '$.{key}')",
    number="{value}",  # json_extract keeps JSON numbers as numbers
    seconds="((julianday({later}) - julianday({earlier})) * 86400.0)",
    buckets={"hour": "strftime('%Y-%m-%dT%H:00:00+00:00', {column})",
             "day": "strftime('%Y-%m-%dT00:00:00+00:00', {column})"},
)

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
        self.lock = threading.Lock()
        self._saver: SqliteSaver | None = None
        with self.lock:
            _create_schema(self.conn, self.dialect)

    @property
    def saver(self) -> "SqliteSaver":
        """LangGraph's saver on our connection and lock, made on first use: importing it
        costs 0.3 s (LangChain's callbacks), which a command that reads only our tables
        (``prolight threads``) should not pay."""
        if self._saver is None:
            from langgraph.checkpoint.sqlite import SqliteSaver

            with self.lock:
                if self._saver is None:
                    saver = SqliteSaver(self.conn)
                    saver.lock = self.lock  # one lock for its statements and ours
                    saver.setup()
                    self._saver = saver
        return self._saver

    @contextmanager
    def cursor(self) -> Iterator[sqlite3.Cursor]:
        """A cursor under the connection's lock (the saver's too), committed on success and
        rolled back on error."""
        with self.lock:
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


def _create_schema(conn: sqlite3.Connection, dialect: Dialect) -> None:
    """Tables and added columns in one write transaction, so processes opening the same
    file at once take turns: the second sees the first's columns instead of adding them
    twice ("duplicate column name")."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in dialect.schema():
            conn.execute(statement)
        have = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        for column, kind in dialect.run_columns().items():
            if column not in have:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
