"""Storage: the bytes an executed step stores, against LangGraph's stock SQLite saver in the
same run; then the database after many runs, with and without the retention policy, and
how long ``prune`` takes on it.

1. One plan of ``--steps`` tiny ``calculate`` steps, approved and executed on a fresh
   SQLite file twice: with LangGraph's stock ``SqliteSaver`` and its tables (the
   baseline: every checkpoint carries every value, writes in a rowid table) and with ours
   (``graph/store/sqlite_saver.py``). Bytes are SQLite's own page accounting (``dbstat``)
   of every table and index, taken before approval and after execution, divided by the
   steps. Goal: ours/stock <= 0.5. (Storing a result without its empty fields is in both:
   it is the engine's, not the saver's; before this work a step cost 2,814 bytes here.)
2. ``--runs`` threads of three steps each, approved and run, their last change spread
   evenly over the past ``--days`` days. The file is copied; the copy is pruned with a
   policy (completed: compact after 7 days, delete after 30) and the two sizes are set
   side by side, with the prune's time.

    python -m bench.storage [--steps 1000] [--runs 10000] [--days 60]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from graph.core.retention import RetentionPolicy, RetentionRule
from graph.core.schemas import Plan, utc_now
from graph.core.settings import Settings
from graph.operations import Operations
from graph.store.connect import open_database
from graph.store.sqlite import SqliteDatabase

POLICY = RetentionPolicy(completed=RetentionRule(compact_after_days=7, delete_after_days=30), batch=10_000)


def sums(steps: int) -> Plan:
    return Plan.model_validate({"goal": f"{steps} sums", "steps": [
        {"id": f"s{i}", "tool": "calculate", "args": {"expression": f"{i}+1"}} for i in range(steps)]})


def settings(path: Path) -> Settings:
    return Settings.from_env().model_copy(update={"db": str(path), "retention": POLICY})


def stored_bytes(path: Path) -> int:
    """Every table's and index's pages, as SQLite accounts them (the WAL folded in)."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return conn.execute("SELECT sum(pgsize) FROM dbstat").fetchone()[0]


def bytes_per_step(folder: Path, steps: int, versioned: bool) -> tuple[float, int]:
    """(bytes per executed step, bytes before execution)."""
    path = folder / f"{'ours' if versioned else 'stock'}.db"
    ops = Operations(SqliteDatabase(str(path), versioned=versioned), settings(path))
    try:
        thread = ops.start(plan=sums(steps)).thread_id
        before = stored_bytes(path)
        assert ops.approve(thread).status == "COMPLETED"
        return (stored_bytes(path) - before) / steps, before
    finally:
        ops.close()


def file_size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def many_runs(folder: Path, runs: int, days: float) -> tuple[int, int, float, dict[str, int]]:
    """(size without retention, size after prune, prune seconds, what the prune did)."""
    path = folder / "many.db"
    ops = Operations(open_database(str(path)), settings(path))
    plan, now = sums(3), utc_now()
    try:
        made = [ops.start(plan=plan).thread_id for _ in range(runs)]
        for thread in made:
            assert ops.approve(thread).status == "COMPLETED"
        with ops.db.cursor() as cur:  # their last change spread over the past ``days``
            cur.executemany("UPDATE runs SET updated_at = ? WHERE thread_id = ?",
                            [((now - timedelta(days=days * i / runs)).isoformat(), t) for i, t in enumerate(made)])
    finally:
        ops.close()
    without = file_size(path)
    pruned = folder / "pruned.db"
    shutil.copy(path, pruned)
    ops = Operations(open_database(str(pruned)), settings(pruned))
    try:
        began = time.perf_counter()
        report = ops.prune()
        took = time.perf_counter() - began
    finally:
        ops.close()
    done = {"compacted": len(report.compacted), "deleted": len(report.deleted), "checkpoints": report.checkpoints,
            "writes": report.writes, "events": report.events}
    return without, file_size(pruned), took, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--days", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        stock, stock_before = bytes_per_step(folder, args.steps, versioned=False)
        ours, ours_before = bytes_per_step(folder, args.steps, versioned=True)
        without, pruned, took, done = many_runs(folder, args.runs, args.days)
    ratio = ours / stock
    print(f"a plan of {args.steps} calculate steps, approved and executed")
    print(f"  stock LangGraph SqliteSaver  {stock:8.0f} bytes per step   {stock_before:>11,} bytes before execution")
    print(f"  ours                         {ours:8.0f} bytes per step   {ours_before:>11,} bytes before execution")
    print(f"{args.runs:,} runs of 3 steps over {args.days:g} days")
    print(f"  without retention  {without:>13,} bytes")
    print(f"  with retention     {pruned:>13,} bytes   ({pruned / without:.2f}; completed: compact after 7 days, "
          f"delete after 30)")
    print(f"  prune took {took:.2f}s for {done['compacted']:,} compacted and {done['deleted']:,} deleted threads "
          f"({done['checkpoints']:,} checkpoints, {done['writes']:,} writes, {done['events']:,} events)")
    print(f"storage ratio (bytes per step, ours/stock): {ratio:.3f}; goal: <= 0.5 {'PASS' if ratio <= 0.5 else 'MISS'}")


if __name__ == "__main__":
    main()
