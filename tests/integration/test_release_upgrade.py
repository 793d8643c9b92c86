"""A database written by an earlier release (``tests/releases/``, made by
``make_release_db.py`` and committed as that release wrote it) opens with this one and its
threads go on: the one waiting for approval is approved to COMPLETED, the failed one resumed
to COMPLETED once its missing file exists, every audit trail still verifies, and history
reads. The test works on a copy; the kept file never changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from graph.core.release import release as current_release
from graph.operations import Operations
from graph.store.connect import open_database
from graph.store.migrations import LATEST, MIGRATIONS, DatabaseTooNew
from tests.support.cli import Cli
from tests.support.settings import home_settings

RELEASES = Path(__file__).resolve().parents[1] / "releases"


@pytest.mark.parametrize("release", sorted(p.name for p in RELEASES.iterdir() if (p / "prolight.db").exists()))
def test_an_earlier_releases_database_opens_and_its_threads_go_on(tmp_path: Path, release: str) -> None:
    home = tmp_path / release
    shutil.copytree(RELEASES / release, home)
    threads = json.loads((home / "threads.json").read_text())
    (home / "workspace").mkdir()
    settings = home_settings(home, str(home / "prolight.db"))
    ops = Operations(open_database(settings.db), settings)
    try:
        statuses = {name: ops.thread(thread_id).status for name, thread_id in threads.items()}
        assert statuses == {"waiting": "AWAITING_APPROVAL", "failed": "FAILED", "completed": "COMPLETED",
                            "rejected": "REJECTED"}
        assert ops.approve(threads["waiting"], operator="ana").status == "COMPLETED"
        (home / "workspace" / "later.txt").write_text("written after the upgrade")
        resumed = ops.resume(threads["failed"], operator="ana")
        assert resumed.status == "COMPLETED" and resumed.steps["read"].output == "written after the upgrade"
        for thread_id in threads.values():
            assert ops.audit(thread_id).verified, thread_id
            assert ops.checkpoints(thread_id), "history reads"
        assert ops.threads().total == 4
        assert {row.release for row in ops.threads().items} == {None}, "made before threads recorded a release"
        made_now = ops.start("Calculate 1+1").thread_id
        assert ops.thread(made_now).release == current_release() != "unknown"
        with ops.db.cursor() as cur:
            assert [r[0] for r in cur.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()] == \
                [m.version for m in MIGRATIONS], "every migration ran, in order, and is recorded"
            writes = cur.execute("SELECT sql FROM sqlite_master WHERE name = 'writes'").fetchone()[0]
            assert "WITHOUT ROWID" in writes, "migration 2 laid out the old writes table again"
    finally:
        ops.close()


@pytest.mark.both_backends
def test_a_database_without_the_newer_columns_gains_them_when_opened(home: Path, db_url: str) -> None:
    """An older release's tables (here: runs without ``release``, and no schema version,
    which releases before this one did not record) get the columns they lack when this
    release opens the database, on SQLite and on PostgreSQL, where a process that finds
    the schema current skips the work: it must not take an old one for current."""
    settings = home_settings(home, db_url)
    db = open_database(settings.db)
    with db.cursor() as cur:
        cur.execute("ALTER TABLE runs DROP COLUMN release")
        cur.execute("DROP TABLE schema_migrations")
    db.close()
    ops = Operations(open_database(settings.db), settings)
    try:
        made = ops.start("Calculate 1+1").thread_id
        assert ops.thread(made).release == current_release()
        with ops.db.cursor() as cur:
            assert [r[0] for r in cur.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()] == \
                [m.version for m in MIGRATIONS]
    finally:
        ops.close()


@pytest.mark.both_backends
def test_a_database_a_newer_release_laid_out_is_refused_with_one_line(home: Path, db_url: str) -> None:
    """An older release must not write rows a newer one laid out differently: the CLI says so
    and exits non-zero, and nothing is written."""
    settings = home_settings(home, db_url)
    db = open_database(settings.db)
    with db.cursor() as cur:
        cur.execute("INSERT INTO schema_migrations (version, applied_at, release) VALUES (?, ?, ?)",
                    (LATEST + 1, "2027-01-01T00:00:00+00:00", "9.9.9"))
    db.close()
    with pytest.raises(DatabaseTooNew, match=f"schema is version {LATEST + 1}, newer than this release"):
        open_database(settings.db)
    refused = Cli(home)("threads")
    assert refused.code != 0 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert f"schema is version {LATEST + 1}" in refused.stderr
