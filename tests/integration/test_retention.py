"""Retention (``[retention]``, ``prolight prune``): finished threads are compacted (only what an
audit needs stays) or deleted once old enough, and nothing a person or a worker still needs
is touched. A pruned database resumes its failed thread, approves its waiting one, lists
history, forks a forked thread again, and verifies every audit trail; ``--dry-run`` removes
nothing; the SQLite file shrinks; a run manager applies the policy on its own."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

from graph.core.errors import SettingsError
from graph.core.retention import PRUNABLE, RetentionPolicy, RetentionRule
from graph.core.schemas import FINISHED, Plan, utc_now
from graph.core.settings import Settings
from graph.operations import Operations
from graph.store.connect import open_database
from tests.support.cli import Cli
from tests.support.settings import home_settings

COMPACT = RetentionPolicy(completed=RetentionRule(compact_after_days=7), rejected=RetentionRule(compact_after_days=7))
MISSING = Plan.model_validate({"goal": "Read later.txt", "steps": [
    {"id": "read", "tool": "read_file", "args": {"path": "later.txt"}}]})


def age(ops: Operations, days: float, *thread_ids: str) -> None:
    """Make threads look ``days`` old: retention reads ``runs.updated_at``."""
    when = (utc_now() - timedelta(days=days)).isoformat()
    with ops.db.cursor() as cur:
        for thread_id in thread_ids:
            cur.execute("UPDATE runs SET updated_at = ? WHERE thread_id = ?", (when, thread_id))


def rows(ops: Operations, thread_id: str) -> dict[str, int]:
    """The thread's rows in each table, the saver's included."""
    tables = {"runs": "runs", "events": "events", "checkpoints": "checkpoints", "writes": ops.db.saver_tables.writes}
    with ops.db.cursor() as cur:
        return {name: cur.execute(f"SELECT count(*) FROM {table} WHERE thread_id = ?", (thread_id,)).fetchone()[0]
                for name, table in tables.items()}


def make_threads(ops: Operations, home: Path) -> dict[str, str]:
    (home / "workspace").mkdir(exist_ok=True)
    threads = {"completed": ops.start("Calculate 2+2").thread_id}
    ops.approve(threads["completed"])
    threads["rejected"] = ops.start("Calculate 3+3").thread_id
    ops.reject(threads["rejected"], final=True)
    threads["failed"] = ops.start(plan=MISSING).thread_id
    assert ops.approve(threads["failed"]).status == "FAILED"
    threads["waiting"] = ops.start("Calculate 4+4").thread_id
    threads["forked"] = ops.start("Calculate 5+5").thread_id
    ops.approve(threads["forked"])
    gate = next(c for c in ops.checkpoints(threads["forked"]) if c.next == ["human_review"])
    assert ops.fork(threads["forked"], gate.checkpoint_id).status == "AWAITING_APPROVAL"
    ops.approve(threads["forked"])
    threads["recent"] = ops.start("Calculate 6+6").thread_id
    ops.approve(threads["recent"])
    age(ops, 30, *(t for name, t in threads.items() if name != "recent"))
    return threads


@pytest.mark.both_backends
def test_a_pruned_database_still_resumes_approves_lists_history_forks_and_verifies(home: Path, db_url: str) -> None:
    settings = home_settings(home, db_url, retention=COMPACT)
    ops = Operations(open_database(settings.db), settings)
    try:
        threads = make_threads(ops, home)
        before = {name: rows(ops, t) for name, t in threads.items()}
        views = {name: ops.thread(t) for name, t in threads.items()}
        due = {r.status.value: (r.due_compact, r.due_delete) for r in ops.storage().rules}
        assert due == {"COMPLETED": (1, 0), "REJECTED": (1, 0), "FAILED": (0, 0), "CANCELLED": (0, 0)}, \
            "the forked and the recent completed threads are not due"

        report = ops.prune()
        assert sorted(report.compacted) == sorted([threads["completed"], threads["rejected"]])
        assert report.deleted == [] and report.skipped == [] and report.events == 0
        assert report.checkpoints == sum(before[n]["checkpoints"] - 1 for n in ("completed", "rejected"))
        assert report.bytes > 0
        for name in ("completed", "rejected"):  # only what an audit needs is left
            after = rows(ops, threads[name])
            assert after["checkpoints"] == 1 and after["events"] == before[name]["events"] and after["runs"] == 1
            view = ops.thread(threads[name])
            assert view.compacted_at is not None
            assert view.model_dump(exclude={"compacted_at"}) == views[name].model_dump(exclude={"compacted_at"})
            [checkpoint] = ops.checkpoints(threads[name])
            assert ops.checkpoint_state(threads[name], checkpoint.checkpoint_id).values["status"] == name.upper()
        for name in ("failed", "waiting", "forked", "recent"):  # never touched
            assert rows(ops, threads[name]) == before[name], name
        assert ops.prune().compacted == [], "a compacted thread is not pruned again"
        storage = ops.storage()
        assert storage.compacted == 2 and storage.threads == len(threads) and storage.last_compacted_at is not None
        assert all(r.due_compact == r.due_delete == 0 for r in storage.rules) and storage.bytes > 0

        for thread_id in threads.values():
            assert ops.audit(thread_id).verified, thread_id
            assert ops.export(thread_id).decisions == views_decisions(views, threads, thread_id)
        assert ops.approve(threads["waiting"]).status == "COMPLETED"
        (home / "workspace" / "later.txt").write_text("there now")
        assert ops.resume(threads["failed"]).status == "COMPLETED"
        branches = ops.branches(threads["forked"])
        assert len(branches) == 2, "the forked thread keeps both branches"
        gate = [c for c in ops.checkpoints(threads["forked"]) if c.next == ["human_review"]][-1]
        assert ops.fork(threads["forked"], gate.checkpoint_id).status == "AWAITING_APPROVAL"
    finally:
        ops.close()


def views_decisions(views: dict, threads: dict[str, str], thread_id: str) -> list:
    name = next(n for n, t in threads.items() if t == thread_id)
    return [d.model_dump(mode="json") for d in views[name].decisions]


@pytest.mark.both_backends
def test_deletion_removes_a_finished_thread_whole_and_leaves_waiting_ones(home: Path, db_url: str) -> None:
    policy = RetentionPolicy(completed=RetentionRule(compact_after_days=1, delete_after_days=10),
                             failed=RetentionRule(delete_after_days=10), batch=1)
    settings = home_settings(home, db_url, retention=policy)
    ops = Operations(open_database(settings.db), settings)
    try:
        (home / "workspace").mkdir(exist_ok=True)
        done = ops.start("Calculate 1+1").thread_id
        ops.approve(done)
        failed = ops.start(plan=MISSING).thread_id
        ops.approve(failed)
        waiting = ops.start("Calculate 2+2").thread_id
        age(ops, 20, done, failed, waiting)
        kept = rows(ops, waiting)
        first = ops.prune()
        assert len(first.deleted) == 1 and first.more, "one thread a batch; more are due"
        second = ops.prune()
        assert sorted(first.deleted + second.deleted) == sorted([done, failed]) and not second.more
        assert first.compacted == second.compacted == []
        for gone in (done, failed):
            assert set(rows(ops, gone).values()) == {0}
        assert rows(ops, waiting) == kept and ops.threads().total == 1
    finally:
        ops.close()


def test_dry_run_removes_nothing_and_the_file_shrinks_after_pruning(cli: Cli) -> None:
    """Through the CLI, with the policy in the settings file."""
    settings = cli.home / "prolight.toml"
    settings.write_text("[retention.completed]\ncompact_after_days = 7\n[retention.failed]\ndelete_after_days = 7\n")
    cli.env["PROLIGHT_SETTINGS"] = str(settings)
    (cli.home / "workspace").mkdir(exist_ok=True)
    plan = {"goal": "Calculate many", "steps": [
        {"id": f"s{i}", "tool": "calculate", "args": {"expression": f"{i}*2"}} for i in range(40)]}
    threads = [cli.ok("run", "--plan", cli.write_plan("plan.json", plan))["thread_id"] for _ in range(3)]
    for thread_id in threads:
        cli.ok("approve", thread_id)
    db = cli.env["PROLIGHT_DB"]
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE runs SET updated_at = ?", ((utc_now() - timedelta(days=8)).isoformat(),))

    def counts() -> dict[str, int]:
        with sqlite3.connect(db) as conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("runs", "events", "checkpoints", "writes")}

    before = counts()
    dry = cli.ok("prune", "--dry-run")
    assert dry["dry_run"] and sorted(dry["compacted"]) == sorted(threads) and dry["checkpoints"] > 0
    assert counts() == before, "a dry run removes nothing"
    text = cli("prune", "--dry-run").stdout
    shown = cli("storage").stdout.splitlines()
    assert shown[0].endswith("3 threads, 0 compacted") and \
        shown[1] == "  COMPLETED  compact after 7 days, never deleted; due now: 3 to compact, 0 to delete"
    assert text.startswith(f"dry run: 3 threads compacted, 0 deleted; would remove {dry['checkpoints']:,} checkpoints")

    done = cli.ok("prune")
    assert {k: done[k] for k in ("compacted", "checkpoints", "writes", "bytes")} == \
        {k: dry[k] for k in ("compacted", "checkpoints", "writes", "bytes")}, "the dry run said what would go"
    assert counts() == {**before, "checkpoints": 3, "writes": before["writes"] - done["writes"]}
    assert done["file_bytes_after"] < done["file_bytes_before"] * 0.8, "the freed pages went back"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert Path(db).stat().st_size == done["file_bytes_after"]
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    for thread_id in threads:
        assert cli.ok("audit", thread_id)["verified"]


def test_prune_vacuum_turns_an_older_files_space_back(cli: Cli, tmp_path: Path) -> None:
    """A file made before incremental vacuum (auto_vacuum NONE) keeps its freed pages until
    ``prune --vacuum`` rewrites it; from then on it frees them at once."""
    db = cli.env["PROLIGHT_DB"]
    with sqlite3.connect(db) as conn:  # as an older release made it
        conn.execute("PRAGMA auto_vacuum = NONE")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("DROP TABLE t")
    plan = {"goal": "Calculate many", "steps": [
        {"id": f"s{i}", "tool": "calculate", "args": {"expression": f"{i}+1"}} for i in range(40)]}
    thread = cli.ok("run", "--plan", cli.write_plan("plan.json", plan))["thread_id"]
    cli.ok("approve", thread)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone() == (0,)
        conn.execute("UPDATE runs SET updated_at = '2020-01-01T00:00:00+00:00'")
    settings = cli.home / "prolight.toml"
    settings.write_text("[retention.completed]\ncompact_after_days = 7\n")
    cli.env["PROLIGHT_SETTINGS"] = str(settings)
    done = cli.ok("prune", "--vacuum")
    assert done["compacted"] == [thread] and done["file_bytes_after"] < done["file_bytes_before"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone() == (2,), "incremental from now on"


def test_a_run_manager_applies_the_policy_on_its_own(home: Path) -> None:
    policy = RetentionPolicy(completed=RetentionRule(compact_after_days=1), every_minutes=0.01)
    settings = home_settings(home, retention=policy)
    ops = Operations(open_database(settings.db), settings)
    try:
        done = ops.start("Calculate 1+1").thread_id
        ops.approve(done)
        waiting = ops.start("Calculate 2+2").thread_id
        age(ops, 2, done, waiting)
        ops.start_run_manager(poll_s=0.05)
        deadline = time.monotonic() + 60
        while ops.thread(done).compacted_at is None:  # progress, not a time window
            assert time.monotonic() < deadline, "the run manager never applied the policy"
            time.sleep(0.05)
        assert len(ops.checkpoints(done)) == 1 and ops.audit(done).verified
        assert ops.thread(waiting).compacted_at is None and len(ops.checkpoints(waiting)) > 1
    finally:
        ops.close()


@pytest.mark.parametrize(("toml", "message"), [
    ("[retention.failed]\ncompact_after_days = 3\n", "a FAILED thread can be resumed"),
    ("[retention.completed]\ncompact_after_days = 9\ndelete_after_days = 3\n",
     "delete_after_days must be more than compact_after_days"),
    ("[retention.completed]\nkeep_days = 3\n", "retention.completed.keep_days: Extra inputs are not permitted"),
    ("[retention.waiting]\ndelete_after_days = 3\n", "retention.waiting: Extra inputs are not permitted"),
])
def test_a_policy_that_would_break_threads_is_refused_with_a_clear_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, message: str) -> None:
    path = tmp_path / "prolight.toml"
    path.write_text(toml)
    monkeypatch.setenv("PROLIGHT_SETTINGS", str(path))
    with pytest.raises(SettingsError, match="bad setting retention") as raised:
        Settings.from_env(str(tmp_path / "x.db"))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_default_policy_compacts_after_30_days_and_deletes_nothing() -> None:
    assert set(PRUNABLE) == FINISHED, "every finished status has a rule"
    policy = RetentionPolicy()
    assert policy.completed.compact_after_days == policy.rejected.compact_after_days == 30
    assert all(r.delete_after_days is None for r in (policy.completed, policy.rejected, policy.failed,
                                                     policy.cancelled))
    json.dumps(policy.model_dump())
