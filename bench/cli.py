"""How fast the read-only CLI commands answer, against a bare Python process that opens the
same SQLite file and reads its runs table, measured in the same run (each figure is a
median of ``--runs`` processes, the commands taken in turn so that load hits them alike).

    python -m bench.cli [--runs 15] [--threads 20]

A command that needs checkpoint state (``status``, ``history``, ``audit``) imports
LangGraph to read it; the others read only our own tables."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from graph.core.schemas import Plan, Status
from graph.core.settings import Settings
from graph.operations import Operations

GOAL_ONLY = 8.0  # the goal: each command at most this many times the bare process

BARE = "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('SELECT * FROM runs').fetchall()"


def populate(db: str, threads: int) -> str:
    """``threads`` threads: half completed, half waiting at the gate. Returns one id."""
    ops = Operations.open(Settings.from_env(db=db))
    try:
        thread_id = ""
        for i in range(threads):
            plan = Plan.model_validate({"goal": f"sum {i}", "steps": [
                {"id": "a", "tool": "calculate", "args": {"expression": f"{i} + 1"}}]})
            view = ops.start(plan=plan)
            thread_id = view.thread_id
            if i % 2 == 0:
                assert ops.approve(thread_id).status == Status.COMPLETED
        return thread_id
    finally:
        ops.close()


def commands(thread_id: str) -> dict[str, list[str]]:
    return {
        "--help": ["--help"], "threads": ["threads", "--json"], "counts": ["counts", "--json"],
        "inbox": ["inbox", "--json"], "events": ["events", thread_id, "--json"],
        "breakers": ["breakers", "--json"], "metrics": ["metrics", "--json"], "tools": ["tools", "--json"],
        "status": ["status", thread_id, "--json"], "history": ["history", thread_id, "--json"],
        "audit": ["audit", thread_id, "--json"],
    }


def timed(argv: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    spent = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "cli.db")
        thread_id = populate(db, args.threads)
        env = {**os.environ, "PROLIGHT_DB": db, "PROLIGHT_WORKSPACE": str(Path(tmp) / "workspace")}
        prolight = [sys.executable, "-m", "ui.cli"]
        argvs = {"bare": [sys.executable, "-c", BARE, db]} | {
            name: prolight + argv for name, argv in commands(thread_id).items()}
        spent: dict[str, list[float]] = {name: [] for name in argvs}
        for _ in range(args.runs):
            for name, argv in argvs.items():
                spent[name].append(timed(argv, env))
    medians = {name: statistics.median(values) for name, values in spent.items()}
    bare = medians.pop("bare")
    print(f"{args.threads} threads, median of {args.runs} processes each")
    print(f"  bare python reading the runs table  {bare * 1000:6.0f} ms")
    worst = 0.0
    for name, value in medians.items():
        ratio = value / bare
        worst = max(worst, ratio) if name not in ("status", "history", "audit") else worst
        print(f"  prolight {name:<27} {value * 1000:6.0f} ms  {ratio:5.1f}x")
    print(f"cli ratio (worst of the commands that read only our tables): {worst:.1f}x "
          f"goal<={GOAL_ONLY:g} {'PASS' if worst <= GOAL_ONLY else 'MISS'}")


if __name__ == "__main__":
    main()
