"""The PostgreSQL back end, for several workers on one or many machines: LangGraph's
``PostgresSaver`` and our tables on one psycopg 3 connection pool. Our queries are written
once with ``?`` placeholders; the cursor here hands them to psycopg as ``%s``.

Claims need nothing special: a claim is a conditional UPDATE of the thread's row, which
PostgreSQL runs under the row's lock, so of two workers racing for a thread exactly one
sees ``rowcount == 1`` (leases, as on SQLite; a dead owner of another machine is detected
by its lease lapsing). Event numbers need one lock: ``seq`` is MAX + 1 inside the INSERT,
and two READ COMMITTED writers would both read the same MAX, so appends to one thread hold
a transaction-scoped advisory lock on it."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from graph.core.settings import DatabaseUnavailable
from graph.store.database import Cursor, Database, Dialect, SaverTables
from graph.store.migrations import LATEST, migrate

CONNECT_TIMEOUT_S = 5
POOL_MIN, POOL_MAX = 1, 12  # run-manager workers, event flushes, claim renewals and reads at once
_SCHEMA_LOCK = 7_202_611    # advisory lock key: processes creating the schema take turns

POSTGRES = Dialect(
    key_type='TEXT COLLATE "C"',  # an id-prefix range means what it does on SQLite, whatever the locale
    real_type="DOUBLE PRECISION",
    like="ILIKE",
    greatest="GREATEST",
    json_field="(({column})::jsonb ->> '{key}')",
    number="({value})::float8",
    seconds="(EXTRACT(EPOCH FROM ({later})::timestamptz - ({earlier})::timestamptz))::float8",
    buckets={"hour": """to_char(({column})::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":00:00+00:00"')""",
             "day": """to_char(({column})::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T00:00:00+00:00"')"""},
    byte_length="octet_length({column})",
)

@functools.lru_cache(maxsize=512)
def _paramstyle(sql: str) -> str:
    """``?`` -> ``%s``. Our SQL has no ``?`` inside string literals; a literal ``%`` (LIKE
    patterns) is doubled so psycopg does not take it for a placeholder."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Cursor:
    """A psycopg cursor that takes our ``?`` placeholders."""

    def __init__(self, cur: Any) -> None:
        self._cur = cur

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def execute(self, sql: str, params: Any = ()) -> "_Cursor":
        self._cur.execute(_paramstyle(sql), params)
        return self

    def executemany(self, sql: str, params: Any) -> None:
        self._cur.executemany(_paramstyle(sql), params)

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall()


class PostgresDatabase(Database):
    dialect = POSTGRES
    saver_tables = SaverTables(writes="checkpoint_writes",
                               checkpoint_bytes="octet_length(checkpoint::text) + octet_length(metadata::text)",
                               write_bytes="coalesce(octet_length(blob), 0)")

    def __init__(self, url: str) -> None:
        # Imported here: the extra is optional, and Settings has checked it is installed.
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg_pool import ConnectionPool

        self.url = url
        try:  # one plain connection first: a pool only retries in the background and times out
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.Error as exc:
            raise DatabaseUnavailable(f"cannot connect to PostgreSQL ({_where(url)}): "
                                      f"{str(exc).strip().splitlines()[0]}") from None
        # autocommit: the saver's migrations create indexes CONCURRENTLY, outside any
        # transaction; our own statements open one explicitly (``cursor``).
        self.pool = ConnectionPool(url, min_size=POOL_MIN, max_size=POOL_MAX, open=True,
                                   kwargs={"autocommit": True, "prepare_threshold": 0})
        try:
            self.pool.wait(timeout=30)
            self.saver = PostgresSaver(self.pool)
            self._create_schema()
        except BaseException:
            self.pool.close()
            raise

    def _create_schema(self) -> None:
        """Our tables and the saver's, created by one process at a time: concurrent ``CREATE
        ... IF NOT EXISTS`` and migration inserts collide. The lock is taken by polling, not
        by a blocking call: the saver's ``CREATE INDEX CONCURRENTLY`` waits for every open
        transaction, a blocked ``pg_advisory_lock`` call among them (a deadlock)."""
        if self._schema_is_current():
            return
        with self.pool.connection() as conn:
            while not conn.execute("SELECT pg_try_advisory_lock(%s)", (_SCHEMA_LOCK,)).fetchone()[0]:
                time.sleep(0.05)
            try:
                with conn.transaction():
                    migrate(conn, "postgres", self.dialect, mark="%s")
                self.saver.setup()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))

    def _schema_is_current(self) -> bool:
        """Every process opens the database; only the first of a new one, or of one an
        older release laid out, has work to do (a newer one is refused by ``migrate``)."""
        with self.pool.connection() as conn:
            have = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AND "
                                "to_regclass('checkpoint_migrations') IS NOT NULL").fetchone()[0]
            if not have:
                return False
            latest = conn.execute("SELECT max(v) FROM checkpoint_migrations").fetchone()[0]
            ours = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
        return latest == len(self.saver.MIGRATIONS) - 1 and ours == LATEST

    @contextmanager
    def cursor(self) -> Iterator[Cursor]:
        """A cursor in its own transaction, committed on success and rolled back on error."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield _Cursor(cur)

    def prune_thread(self, thread_id: str, compact: bool, ours: Callable[[Cursor], None]) -> None:
        """LangGraph's ``prune`` does the saver's part: ``keep_latest`` keeps the latest
        checkpoint with the blobs it still references (older checkpoints share them, so a
        naive delete would cut the chain) and ``delete`` removes every row. It runs in
        transactions of its own, so the order makes a crash between them harmless: a
        compaction is recorded after the saver's part (done again, it changes nothing),
        a deletion removes our rows first (a thread is never listed without its state)."""
        if compact:
            self.saver.prune([thread_id], strategy="keep_latest")
        with self.cursor() as cur:
            ours(cur)
        if not compact:
            self.saver.prune([thread_id], strategy="delete")

    def blob_bytes(self, cur: Cursor, thread_id: str, keep: str) -> int:
        return int(cur.execute(
            "SELECT coalesce(sum(octet_length(b.blob)), 0) FROM checkpoint_blobs b WHERE b.thread_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM checkpoints c WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns "
            "AND c.checkpoint_id = ? AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version)",
            (thread_id, keep)).fetchone()[0])

    def file_bytes(self) -> int | None:
        """The whole database's size on disk (other tables of the database included)."""
        with self.pool.connection() as conn:
            return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]

    def reclaim_space(self, full: bool) -> None:
        """Plain ``VACUUM (ANALYZE)`` of the tables a prune touches, as PostgreSQL's docs
        advise for routine upkeep: the space is reused by new rows and writers go on.
        ``full`` changes nothing here: ``VACUUM FULL`` would give the space back to the file
        system but locks each table while it rewrites it, an administrator's decision."""
        with self.pool.connection() as conn:
            conn.execute("VACUUM (ANALYZE) checkpoints, checkpoint_blobs, checkpoint_writes, events, runs")

    def lock_events(self, cur: Cursor, thread_id: str) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (thread_id,))

    def close(self) -> None:
        self.pool.close()


def _where(url: str) -> str:
    """Host, port and database of a URL, never its password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:
        return "an unreadable URL"
    return f"host {info.get('host', 'localhost')}, port {info.get('port', 5432)}, database {info.get('dbname', '?')}"
