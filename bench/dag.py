"""Makespan / critical path on a skewed DAG: one slow branch (a slow step, then a short one)
beside one long chain of short steps, every step an HTTP call to a local server that waits
as told. Our executor (greedy: each step starts when its dependencies are done) against a
bare LangGraph graph that fans out with ``Send`` per superstep (a step waits for the whole
previous superstep), both on the same SQLite checkpointer, in the same run.

    python -m bench.dag [--repeats 3] [--chain 12] [--short 0.1] [--slow 1.2]
"""

from __future__ import annotations

import argparse
import operator
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from agents.tools.context import ToolContext
from agents.tools.http import http_request
from graph.core.dag import critical_path_seconds
from graph.store.connect import open_database
from graph.core.schemas import Plan
from graph.core.settings import Settings
from graph.operations import Operations
from tests.support.http_server import ToolServer
from tests.support.plans import fetch


def skewed_plan(server: ToolServer, chain: int, short: float, slow: float) -> tuple[Plan, dict[str, float]]:
    delays = {"slow": slow, "slow_tail": short} | {f"chain_{i}": short for i in range(chain)}
    deps = {"slow": [], "slow_tail": ["slow"]} | {
        f"chain_{i}": ([f"chain_{i - 1}"] if i else []) for i in range(chain)}
    steps = [fetch(server, s, deps[s], delay=d) for s, d in delays.items()]
    return Plan.model_validate({"goal": "skewed DAG benchmark", "steps": steps}), delays


def makespan(windows: list[tuple[float, float]]) -> float:
    return max(end for _, end in windows) - min(start for start, _ in windows)


def run_ours(plan: Plan, db_path: Path) -> float:
    db = open_database(str(db_path))
    settings = Settings.from_env().model_copy(update={"db": str(db_path), "step_concurrency": 64})
    workflow = Operations(db, settings)
    thread = workflow.start(plan=plan).thread_id
    status = workflow.approve(thread).model_dump(mode="json")
    db.close()
    assert status["status"] == "COMPLETED", status["error"]
    ts = lambda v: datetime.fromisoformat(v).timestamp()  # noqa: E731
    return makespan([(ts(r["started_at"]), ts(r["finished_at"])) for r in status["steps"].values()])


class SuperstepState(TypedDict):
    done: Annotated[list[str], operator.add]
    windows: Annotated[list[tuple[float, float]], operator.add]


def run_superstep_baseline(plan: Plan, db_path: Path) -> float:
    """The textbook LangGraph fan-out: each superstep Sends every ready step."""
    by_id = {s.id: s for s in plan.steps}
    tool_config = ToolContext(Settings.from_env()).config()  # the same settings our run gets

    def ready(state: SuperstepState) -> list[str]:
        done = set(state.get("done", []))
        return [s.id for s in plan.steps if s.id not in done and all(d in done for d in s.depends_on)]

    def dispatch(state: SuperstepState) -> dict[str, Any]:
        return {}

    def fan_out(state: SuperstepState) -> list[Send] | str:
        todo = ready(state)
        return [Send("run_step", {"step_id": s}) for s in todo] if todo else END

    def run_step(payload: dict[str, str]) -> dict[str, Any]:
        start = time.time()
        http_request.invoke(by_id[payload["step_id"]].args, config=tool_config)
        return {"done": [payload["step_id"]], "windows": [(start, time.time())]}

    builder = StateGraph(SuperstepState)
    builder.add_node("dispatch", dispatch)
    builder.add_node("run_step", run_step)
    builder.add_edge(START, "dispatch")
    builder.add_conditional_edges("dispatch", fan_out, ["run_step", END])
    builder.add_edge("run_step", "dispatch")
    db = open_database(str(db_path))
    graph = builder.compile(checkpointer=db.saver)
    final = graph.invoke({"done": [], "windows": []}, {"configurable": {"thread_id": "baseline"},
                                                       "recursion_limit": 10_000, "max_concurrency": 64},
                         durability="sync")
    db.close()
    return makespan(final["windows"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chain", type=int, default=12)
    parser.add_argument("--short", type=float, default=0.1)
    parser.add_argument("--slow", type=float, default=1.2)
    args = parser.parse_args()
    server = ToolServer().start()
    plan, delays = skewed_plan(server, args.chain, args.short, args.slow)
    critical = critical_path_seconds(plan, delays)
    ours, baseline = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            ours.append(run_ours(plan, Path(tmp) / f"ours{i}.db"))
            baseline.append(run_superstep_baseline(plan, Path(tmp) / f"base{i}.db"))
    server.stop()
    ours_ratio = statistics.median(ours) / critical
    base_ratio = statistics.median(baseline) / critical
    print(f"skewed DAG: {len(plan.steps)} steps, critical path {critical:.2f}s, {args.repeats} repeats (median)")
    print(f"  greedy executor   makespan {statistics.median(ours):.3f}s  ratio {ours_ratio:.3f}")
    print(f"  Send supersteps   makespan {statistics.median(baseline):.3f}s  ratio {base_ratio:.3f}")
    print(f"makespan/critical_path: ours={ours_ratio:.3f} baseline={base_ratio:.3f} goal<=1.10 "
          f"{'PASS' if ours_ratio <= 1.10 else 'MISS'}")


if __name__ == "__main__":
    main()
