"""The one place that opens the database: a PostgreSQL URL opens the PostgreSQL back end,
anything else is a SQLite file (``Settings`` has already turned ``sqlite:///`` URLs into
paths and refused unknown schemes)."""

from __future__ import annotations

from graph.store.database import Database


def is_postgres_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def open_database(target: str) -> Database:
    # Each back end imported when chosen: PostgreSQL's driver is an extra, and neither is free.
    if is_postgres_url(target):
        from graph.store.postgres import PostgresDatabase

        return PostgresDatabase(target)
    from graph.store.sqlite import SqliteDatabase

    return SqliteDatabase(target)
