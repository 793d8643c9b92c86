"""The result cache: a plan of slow GET steps run twice, without the cache and with it, in
the same run; and a fork after approval, counting the steps that run again.

Each step is an HTTP call to a local server that answers after ``--delay`` seconds. Without
the cache the second run calls every step again; with it (``cache: {"ttl_s": ...}`` on each
step) the second run takes every result from the ``step_cache`` table. The ratio is the
second run's wall time with the cache over the same run without it. A hit still costs
what the engine spends on any step (a task, its events, its checkpoint write), so the run
is also set against its floor: the same number of ``calculate`` steps, which call nothing.
Then each thread is forked from its approval gate and approved again: the tool calls the
fork makes are counted by the server.

    python -m bench.cache [--steps 100] [--delay 0.2] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from graph.core.schemas import Plan
from graph.core.settings import Settings
from graph.operations import Operations
from graph.store.connect import open_database
from tests.support.http_server import ToolServer
from tests.support.plans import fetch


def slow_plan(server: ToolServer, steps: int, delay: float, prefix: str, cache: bool) -> Plan:
    policy = {"cache": {"ttl_s": 3600}} if cache else {}
    return Plan.model_validate({"goal": f"{steps} slow GETs", "steps": [
        fetch(server, f"{prefix}{i}", delay=delay) | policy for i in range(steps)]})


def instant_plan(steps: int) -> Plan:
    return Plan.model_validate({"goal": f"{steps} instant steps", "steps": [
        {"id": f"n{i}", "tool": "calculate", "args": {"expression": f"{i}+1"}} for i in range(steps)]})


def twice(plan: Plan, db_path: Path, concurrency: int, server: ToolServer, prefix: str) -> tuple[float, int]:
    """The second run's seconds, and how many calls a fork after approval made."""
    db = open_database(str(db_path))
    settings = Settings.from_env().model_copy(update={"db": str(db_path), "step_concurrency": concurrency})
    ops = Operations(db, settings)
    try:
        first = ops.start(plan=plan)
        assert ops.approve(first.thread_id).status == "COMPLETED"
        again = ops.start(plan=plan).thread_id
        began = time.perf_counter()
        assert ops.approve(again).status == "COMPLETED"
        second = time.perf_counter() - began
        gate = next(c for c in ops.checkpoints(again) if c.next == ["human_review"])
        calls = server.started_under(f"/{prefix}")
        ops.fork(again, gate.checkpoint_id)
        assert ops.approve(again).status == "COMPLETED"
        return second, server.started_under(f"/{prefix}") - calls
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    server = ToolServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            plain, plain_fork = twice(slow_plan(server, args.steps, args.delay, "plain", cache=False),
                                      Path(tmp) / "plain.db", args.concurrency, server, "plain")
            cached, cached_fork = twice(slow_plan(server, args.steps, args.delay, "cached", cache=True),
                                        Path(tmp) / "cached.db", args.concurrency, server, "cached")
            floor, _ = twice(instant_plan(args.steps), Path(tmp) / "floor.db", args.concurrency, server, "none")
    finally:
        server.stop()
    ratio, over_floor = cached / plain, cached / floor
    print(f"{args.steps} GET steps of {args.delay:g}s, {args.concurrency} at a time; the second run of the same plan")
    print(f"  without the cache  {plain:.3f}s   a fork after approval ran {plain_fork} of {args.steps} steps again")
    print(f"  with the cache     {cached:.3f}s   a fork after approval ran {cached_fork} of {args.steps} steps again")
    print(f"  floor: {args.steps} calculate steps  {floor:.3f}s   (cached/floor {over_floor:.2f})")
    print(f"cache ratio (second run, cached/uncached): {ratio:.3f}; goal: cached/floor<=1.5 and no fork step runs "
          f"again {'PASS' if over_floor <= 1.5 and cached_fork == 0 else 'MISS'}")


if __name__ == "__main__":
    main()
