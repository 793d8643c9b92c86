"""A consistent copy of a SQLite database while workers write to it: SQLite's online backup,
all pages in one step from a connection of its own, so the copy is one snapshot of the file
(in WAL mode the writers go on meanwhile). The copy is written beside its name and renamed
into place once it passes ``PRAGMA integrity_check``: a failed backup leaves no file that
looks like one, and an existing file is never overwritten.

The audit key is not in the database (it is the file beside it, or the deployment's
secret): the report names it, to be kept with the copy, or the copy's seals cannot be
checked. On PostgreSQL, ``pg_dump`` makes the consistent copy (README: Backups)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from pydantic import Field

from graph.core.errors import BadInput
from graph.core.model import Model
from graph.store.database import Database


class BackupReport(Model):
    path: str = Field(description="The copy.")
    bytes: int
    threads: int = Field(description="Threads in the copy.")
    integrity: str = Field(description="PRAGMA integrity_check on the copy: 'ok'.")
    audit_key: str | None = Field(None, description="The audit key file to keep with the copy, if the key is one.")


def backup(db: Database, dest: Path, audit_key_file: Path | None = None) -> BackupReport:
    path = getattr(db, "path", None)
    if not path or path == ":memory:":
        raise BadInput("prolight backup copies a SQLite file; on PostgreSQL use pg_dump (README: Backups)")
    dest = Path(dest)
    if dest.exists():
        raise BadInput(f"{dest} exists: a backup goes to a new file, it never overwrites one")
    if not dest.parent.is_dir():
        raise BadInput(f"{dest.parent} is not a folder")
    partial = dest.with_name(dest.name + ".partial")
    source, copy = sqlite3.connect(path), sqlite3.connect(partial)  # the source is only read
    try:
        source.backup(copy)  # every page in one step: one read snapshot, however busy the writers
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        integrity = copy.execute("PRAGMA integrity_check").fetchone()[0]
        threads = copy.execute("SELECT count(*) FROM runs").fetchone()[0]
    except BaseException:
        copy.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    copy.close()
    if integrity != "ok":
        partial.unlink(missing_ok=True)
        raise BadInput(f"the copy failed its integrity check ({integrity}); nothing was kept")
    os.replace(partial, dest)
    key = audit_key_file or Path(path + ".audit-key")
    return BackupReport(path=str(dest), bytes=dest.stat().st_size, threads=threads, integrity=integrity,
                        audit_key=str(key) if key.exists() else None)
