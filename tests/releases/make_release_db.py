"""Writes the database that ``tests/releases/`` keeps from a release, as that release wrote it:
``python -m tests.releases.make_release_db DIR``. Run once per release whose data must keep
working (the file is committed; this script is kept beside it to say how it was made, and is
not run again by the tests: a later release would write a different file).

It holds four threads, made with the offline model:
- ``waiting``: at the approval gate, a plan of one calculate step;
- ``failed``: FAILED, its one step read a file that was missing (create ``later.txt`` in the
  workspace and resume it);
- ``completed``: COMPLETED, approved and run;
- ``rejected``: REJECTED with a final reject.
The thread ids are in ``threads.json``; the audit key is the file beside the database."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from graph.core.schemas import Plan
from graph.operations import Operations
from graph.store.connect import open_database
from tests.support.settings import home_settings


def make(home: Path) -> dict[str, str]:
    (home / "workspace").mkdir(parents=True, exist_ok=True)
    settings = home_settings(home, str(home / "prolight.db"))
    ops = Operations(open_database(settings.db), settings)
    try:
        one = Plan.model_validate({"goal": "Calculate 6*7", "steps": [
            {"id": "multiply", "tool": "calculate", "args": {"expression": "6*7"}}]})
        missing = Plan.model_validate({"goal": "Read later.txt", "steps": [
            {"id": "read", "tool": "read_file", "args": {"path": "later.txt"}}]})
        threads = {"waiting": ops.start(plan=one, operator="ana").thread_id}
        threads["failed"] = ops.start(plan=missing, operator="ana").thread_id
        assert ops.approve(threads["failed"], operator="ana").status == "FAILED"
        threads["completed"] = ops.start("Calculate 2+2", operator="ana").thread_id
        assert ops.approve(threads["completed"], operator="ana").status == "COMPLETED"
        threads["rejected"] = ops.start("Calculate 3+3", operator="ana").thread_id
        assert ops.reject(threads["rejected"], final=True, operator="ana").status == "REJECTED"
    finally:
        ops.close()
    with sqlite3.connect(home / "prolight.db") as db:  # one file: the WAL folded in
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (home / "threads.json").write_text(json.dumps(threads, indent=2) + "\n")
    return threads


if __name__ == "__main__":
    print(make(Path(sys.argv[1])))
