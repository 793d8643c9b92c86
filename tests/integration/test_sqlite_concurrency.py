"""SQLite under load: 50 runs executing at once in one process, 4 processes writing the
same database file, and processes creating a fresh file together, with no "database is
locked" and no lost step result."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from graph.store.connect import open_database
from graph.operations.models import ThreadQuery
from tests.support.ops import JsonOps
from tests.support.settings import home_settings
from tests.support.http_server import ToolServer
from tests.support.load_worker import execute


def assert_all_complete(db_path: Path, expected: int, server: ToolServer) -> None:
    flow = JsonOps(home_settings(db_path.parent, str(db_path)))
    rows = flow.threads(ThreadQuery(limit=1000))["items"]
    assert len(rows) == expected
    for row in rows:
        status = flow.thread(row["thread_id"])
        assert status["status"] == "COMPLETED", status["error"]
        assert {k: v["status"] for k, v in status["steps"].items()} == dict.fromkeys("abc", "SUCCEEDED")
        assert status["steps"]["c"]["output"] == 42
    assert server.hits.total() == expected * 2
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_fifty_runs_at_once_in_one_process(home: Path, server: ToolServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    flow = JsonOps(home_settings(home))
    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(lambda i: execute(flow, server.base, f"t{i}"), range(50)))
    assert statuses == ["COMPLETED"] * 50
    assert_all_complete(home / "prolight.db", 50, server)


def test_four_processes_writing_one_database(home: Path, server: ToolServer) -> None:
    db = home / "prolight.db"
    workers = [subprocess.Popen([sys.executable, "-m", "tests.support.load_worker", str(db), server.base, "6", f"p{i}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=Path(__file__).resolve().parents[2], env=os.environ.copy())
               for i in range(4)]
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err[-2000:]
        assert "locked" not in err
        assert out.split() == ["COMPLETED"] * 6
    assert_all_complete(db, 24, server)


def _open_after(path: str, barrier: multiprocessing.synchronize.Barrier, errors: multiprocessing.Queue) -> None:
    barrier.wait()
    try:
        open_database(path).close()
    except Exception as exc:  # reported to the test, which names it
        errors.put(f"{type(exc).__name__}: {exc}")


def test_processes_creating_a_fresh_database_together(tmp_path: Path) -> None:
    """A worker and a dashboard started at once on a new machine both open a file that
    does not exist yet: neither may die of "database is locked" or a duplicate column."""
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    for trial in range(15):
        path = str(tmp_path / f"fresh{trial}.db")
        barrier = context.Barrier(4)
        procs = [context.Process(target=_open_after, args=(path, barrier, errors)) for _ in range(4)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=60)
            assert proc.exitcode == 0
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
