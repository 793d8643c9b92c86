"""Our tables' schema version, and the ordered migrations that bring a database forward when a
newer release opens it, on SQLite and PostgreSQL.

``schema_migrations`` records each migration applied (its number, when, by which release).
Opening a database runs the ones it lacks, in order, in the back end's schema transaction
(SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: under the schema advisory lock), so two processes
opening it at once take turns and the second finds the work done. A database whose
version is newer than this release knows is refused: an older release must not write
rows a newer one laid out differently.

A migration is written once and never changed after a release ships it; a new layout is a
new migration at the end. Each one is idempotent (it checks before it alters), since a
database made before versions were recorded has some of the work done already.

LangGraph's savers migrate their own tables (``checkpoint_migrations`` on PostgreSQL);
migration 2 also lays out the SQLite saver's ``writes`` table, because its primary key
already orders it and the implicit rowid index only doubled every row's key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from graph.core.errors import SettingsError
from graph.core.release import release
from graph.core.schemas import utc_now
from graph.store.database import Dialect

Backend = Literal["sqlite", "postgres"]
VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL,
    release    TEXT
)"""


class DatabaseTooNew(SettingsError):
    """The database was laid out by a newer release than this one."""


@dataclass(frozen=True)
class Migration:
    version: int
    says: str
    apply: Callable[[Any, Backend, Dialect], None]  # (connection, back end, dialect)


def _tables_and_columns(conn: Any, backend: Backend, dialect: Dialect) -> None:
    for statement in dialect.schema():
        conn.execute(statement)
    if backend == "sqlite":
        have = {row[1] for row in conn.execute("PRAGMA table_info(runs)").fetchall()}
        for column, kind in dialect.run_columns().items():
            if column not in have:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
    else:
        for column, kind in dialect.run_columns().items():
            conn.execute(f"ALTER TABLE runs ADD COLUMN IF NOT EXISTS {column} {kind}")


# The SQLite saver's writes table as LangGraph lays it out, keyed by its primary key
# (``VersionedSqliteSaver.setup`` makes a new database's so).
SQLITE_WRITES = """CREATE TABLE IF NOT EXISTS {name} (
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    task_path TEXT NOT NULL DEFAULT '',
    idx INTEGER NOT NULL,
    channel TEXT NOT NULL,
    type TEXT,
    value BLOB,
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
) WITHOUT ROWID"""


def _writes_without_rowid(conn: Any, backend: Backend, dialect: Dialect) -> None:
    """SQLite: the saver's ``writes`` keyed by its primary key. As a rowid table it kept that
    key (thread, checkpoint and task ids, 100 bytes) a second time in an index of its own,
    for every step's result. A new database's is made so already; PostgreSQL has no rowid.
    (``events`` stays a rowid table: its index by kind would carry the whole key instead.)"""
    if backend != "sqlite":
        return
    found = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'writes'").fetchone()
    if found is None or "WITHOUT ROWID" in found[0].upper():
        return
    columns = ", ".join(row[1] for row in conn.execute("PRAGMA table_info(writes)").fetchall())
    conn.execute(SQLITE_WRITES.format(name="writes_keyed"))
    conn.execute(f"INSERT INTO writes_keyed ({columns}) SELECT {columns} FROM writes")
    conn.execute("DROP TABLE writes")
    conn.execute("ALTER TABLE writes_keyed RENAME TO writes")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "our tables, and the runs columns added up to release 0.1.0", _tables_and_columns),
    Migration(2, "SQLite: the saver's writes keyed by its primary key (no rowid)", _writes_without_rowid),
)
LATEST = MIGRATIONS[-1].version


def applied(conn: Any) -> int:
    """The highest migration the database has (0: none recorded)."""
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(conn: Any, backend: Backend, dialect: Dialect, mark: str = "?") -> list[int]:
    """Apply the migrations the database lacks, in order; the caller holds the schema
    transaction. ``mark``: the driver's placeholder. Returns the versions applied."""
    conn.execute(VERSION_TABLE)
    done = applied(conn)
    if done > LATEST:
        raise DatabaseTooNew(f"the database's schema is version {done}, newer than this release "
                             f"({release()}) knows ({LATEST}): open it with the release that wrote it or a later one")
    ran = []
    for migration in MIGRATIONS[done:]:
        migration.apply(conn, backend, dialect)
        conn.execute(f"INSERT INTO schema_migrations (version, applied_at, release) VALUES ({mark}, {mark}, {mark})",
                     (migration.version, utc_now().isoformat(), release()))
        ran.append(migration.version)
    return ran
