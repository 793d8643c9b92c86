"""The SQLite back end, the zero-setup default: one file in WAL mode with a busy timeout,
one connection (``check_same_thread=False``) shared by LangGraph's ``SqliteSaver`` and our
tables. Our statements take the saver's lock, so the connection never interleaves two
transactions; other processes on the same file take turns through SQLite's own locks."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from graph.store.database import Cursor, Database, Dialect, SaverTables

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
    byte_length="length(CAST({column} AS BLOB))",
)

class SqliteDatabase(Database):
    dialect = SQLITE
    saver_tables = SaverTables(writes="writes", checkpoint_bytes="length(checkpoint) + length(metadata)",
                               write_bytes="length(value)")

    def __init__(self, path: str, versioned: bool = True) -> None:
        """``versioned``: each channel value stored once per version (``sqlite_saver.py``);
        off only to measure against LangGraph's stock saver (``bench/storage.py``)."""
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = self.url = path
        self.conn = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
        self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        # A new file frees pages incrementally after a prune (an older one keeps its mode
        # until ``prolight prune --vacuum``): must come before the first table.
        self.conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        _enable_wal(self.conn)
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.lock = threading.Lock()
        self.versioned = versioned
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

            from graph.store.sqlite_saver import VersionedSqliteSaver

            with self.lock:
                if self._saver is None:
                    saver = (VersionedSqliteSaver if self.versioned else SqliteSaver)(self.conn)
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

    def prune_thread(self, thread_id: str, compact: bool, ours: Callable[[Cursor], None]) -> None:
        """One transaction. Compaction keeps the latest checkpoint, its writes and the value
        blobs it refers to; its parent link is cleared, since the parent is gone."""
        _ = self.saver  # made first: its tables exist, and making it takes the lock held below
        with self.cursor() as cur:
            if compact:
                latest = cur.execute("SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
                                     "ORDER BY checkpoint_id DESC LIMIT 1", (thread_id,)).fetchone()
                keep = "AND NOT (checkpoint_ns = '' AND checkpoint_id = ?)"
                cur.execute(f"DELETE FROM writes WHERE thread_id = ? {keep}", (thread_id, latest[0]))
                cur.execute(f"DELETE FROM checkpoints WHERE thread_id = ? {keep}", (thread_id, latest[0]))
                cur.execute("UPDATE checkpoints SET parent_checkpoint_id = NULL WHERE thread_id = ?", (thread_id,))
                cur.executemany("DELETE FROM checkpoint_blobs WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? "
                                "AND version = ?", [(thread_id, *b[:3]) for b in self._unreferenced(cur, thread_id,
                                                                                                   latest[0])])
            else:
                for table in ("writes", "checkpoints", "checkpoint_blobs"):
                    cur.execute(f"DELETE FROM {table} WHERE thread_id = ?", (thread_id,))
            ours(cur)

    def blob_bytes(self, cur: Cursor, thread_id: str, keep: str) -> int:
        return sum(b[3] for b in self._unreferenced(cur, thread_id, keep))

    def _unreferenced(self, cur: Cursor, thread_id: str, keep: str) -> list[tuple[str, str, str, int]]:
        """The value blobs (namespace, channel, version, bytes) no checkpoint but ``keep``'s
        would miss: a compaction removes them. A blob of another namespace always goes."""
        from graph.store.sqlite_saver import referenced_blobs

        row = cur.execute("SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
                          "AND checkpoint_id = ?", (thread_id, keep)).fetchone()
        kept = referenced_blobs(self.saver, *row) if row else set()
        blobs = cur.execute("SELECT checkpoint_ns, channel, version, coalesce(length(blob), 0) FROM checkpoint_blobs "
                            "WHERE thread_id = ?", (thread_id,)).fetchall()
        return [b for b in blobs if b[0] != "" or (b[1], b[2]) not in kept]

    def reclaim_space(self, full: bool) -> None:
        """Incremental vacuum hands the freed pages back at once without rewriting the file;
        ``full`` (``VACUUM``) rewrites it, holding every writer off while it runs, and turns
        an older file's auto-vacuum on. The WAL is then checkpointed so the file shrinks."""
        with self.lock:
            mode = self.conn.execute("PRAGMA auto_vacuum").fetchone()[0]
            if full:
                self.conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
                self.conn.execute("VACUUM")
            elif mode == 2:  # INCREMENTAL; a script, since execute() steps it once: one page
                self.conn.executescript("PRAGMA incremental_vacuum;")
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def file_bytes(self) -> int | None:
        """The database's pages, free ones included: the size of the file once the write-ahead
        log is checkpointed (the file itself lags behind its log, and the log's size is its
        high-water mark, not the data's)."""
        with self.lock:
            pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
            return pages * self.conn.execute("PRAGMA page_size").fetchone()[0]


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
    """The migrations this file lacks (``migrations.py``), in one write transaction, so
    processes opening the same file at once take turns: the second finds them applied."""
    from graph.store.migrations import migrate

    conn.execute("BEGIN IMMEDIATE")
    try:
        migrate(conn, "sqlite", dialect)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
