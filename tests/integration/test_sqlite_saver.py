"""The SQLite saver that stores each channel value once per version (``graph/store/
sqlite_saver.py``): LangGraph reads back the same states as from its stock saver, a plan is
written once however many checkpoints carry it, and a thread whose checkpoints the stock
saver wrote (an earlier release) goes on under the new one with nothing lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from graph.core.schemas import Plan
from graph.operations import Operations
from graph.store.sqlite import SqliteDatabase
from tests.support.settings import home_settings

PLAN = Plan.model_validate({"goal": "Many sums", "steps": [
    {"id": f"s{i}", "tool": "calculate", "args": {"expression": f"{i}+1"}} for i in range(30)]})


def ops_on(home: Path, versioned: bool) -> Operations:
    settings = home_settings(home)
    return Operations(SqliteDatabase(settings.db, versioned=versioned), settings)


def states(ops: Operations, thread_id: str) -> list[tuple]:
    """Every checkpoint's values and next nodes, without the ids and times that differ per run."""
    keep = lambda v: {k: x for k, x in v.items() if k not in ("steps", "decision", "decisions", "plan_versions", "estimate")}  # noqa: E731
    return [(tuple(s.next), keep(s.values), sorted(s.values.get("steps", {})))
            for s in ops.workflow.history(thread_id)]


def test_the_same_run_reads_back_the_same_states_as_from_the_stock_saver(tmp_path: Path) -> None:
    seen = {}
    for versioned in (False, True):
        ops = ops_on(tmp_path / str(versioned), versioned)
        try:
            thread = ops.start(plan=PLAN).thread_id
            assert ops.approve(thread).status == "COMPLETED"
            seen[versioned] = states(ops, thread)
            with ops.db.cursor() as cur:
                tables = {r[0] for r in cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert ("checkpoint_blobs" in tables) == versioned
        finally:
            ops.close()
    assert seen[True] == seen[False] and len(seen[True]) == 8


def test_a_plan_is_written_once_however_many_checkpoints_carry_it(tmp_path: Path) -> None:
    ops = ops_on(tmp_path, versioned=True)
    try:
        thread = ops.start(plan=PLAN).thread_id
        ops.approve(thread)
        with ops.db.cursor() as cur:
            checkpoints = cur.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?", (thread,)).fetchone()[0]
            plans = cur.execute("SELECT count(*) FROM checkpoint_blobs WHERE thread_id = ? AND channel = 'plan'",
                                (thread,)).fetchone()[0]
            biggest = cur.execute("SELECT max(length(checkpoint)) FROM checkpoints").fetchone()[0]
        assert checkpoints == 8 and plans == 2, "the planner's plan and the critic's checked copy, once each"
        assert biggest < 4_000, "a checkpoint row holds no values"
        assert len(ops.thread(thread).plan.steps) == 30
    finally:
        ops.close()


def test_a_thread_the_stock_saver_wrote_goes_on_under_the_versioned_one(tmp_path: Path) -> None:
    old = ops_on(tmp_path, versioned=False)
    waiting = old.start(plan=PLAN).thread_id
    before = states(old, waiting)
    old.close()
    new = ops_on(tmp_path, versioned=True)
    try:
        assert states(new, waiting) == before, "checkpoints written whole read as they are"
        assert new.approve(waiting).status == "COMPLETED"
        view = new.thread(waiting)
        assert len(view.steps) == 30 and view.steps["s29"].output == 30 and view.plan.steps == PLAN.steps
        assert new.audit(waiting).verified
        gate = next(c for c in new.checkpoints(waiting) if c.next == ["human_review"])
        assert new.fork(waiting, gate.checkpoint_id).status == "AWAITING_APPROVAL"
    finally:
        new.close()
    with sqlite3.connect(tmp_path / "prolight.db") as db:  # the unchanged plan was written as a blob when needed
        assert db.execute("SELECT count(*) FROM checkpoint_blobs WHERE channel = 'plan'").fetchone()[0] == 1
