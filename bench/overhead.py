"""What our layer costs: the full workflow (plan → critique → approve → execute → report)
with the offline model and a zero-latency tool, run by our Workflow with the events table,
runs table, claims and OpenTelemetry tracing on, against the bare LangGraph graph (the same
nodes, the same SqliteSaver, driven with plain stream/update_state), alternating, in one
run. Then two read paths: listing 10,000 threads, and reading the events of a 1,000-step run.

    python -m bench.overhead [--runs 30] [--steps 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from graph.core import tracing
from graph.engine.build import APPROVAL_NODE, build_graph
from graph.store.event_log import read_events
from graph.store.metrics import compute_metrics
from graph.store.database import open_database
from graph.core.schemas import Decision, Plan, Status, dump
from graph.core.settings import Settings
from graph.operations import Operations
from graph.operations.models import ThreadQuery


def goal(steps: int) -> str:
    return "\n".join(f"- calculate {i} + {i}" for i in range(steps))


def run_ours(flow: Operations, text: str) -> float:
    began = time.perf_counter()
    thread = flow.start(text).thread_id
    assert flow.approve(thread).status == Status.COMPLETED
    return time.perf_counter() - began


def run_bare(graph, text: str) -> float:
    began = time.perf_counter()
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    for _ in graph.stream({"goal": text}, config, durability="sync"):
        pass
    decision = dump(Decision(action="approve"))
    graph.update_state(config, {"decision": decision, "decisions": [decision], "status": "APPROVED"},
                       as_node=APPROVAL_NODE)
    for _ in graph.stream(None, config, durability="sync"):
        pass
    assert graph.get_state(config).values["status"] == Status.COMPLETED.value
    return time.perf_counter() - began


def list_threads(tmp: Path, count: int = 10_000) -> float:
    db = open_database(str(tmp / "list.db"))
    now = "2026-01-01T00:00:00+00:00"
    with db.cursor() as cur:
        cur.executemany("INSERT INTO runs (thread_id, goal, status, model, operator, created_at, updated_at) "
                        "VALUES (?, ?, ?, 'offline', 'op', ?, ?)",
                        [(uuid.uuid4().hex, f"goal {i}", "COMPLETED", now, now) for i in range(count)])
    flow = Operations(db)
    began = time.perf_counter()
    page = flow.threads(ThreadQuery(limit=count))
    elapsed = time.perf_counter() - began
    assert len(page.items) == count
    return elapsed


def thousand_step_events(tmp: Path) -> tuple[float, int]:
    db = open_database(str(tmp / "big.db"))
    flow = Operations(db)
    steps = [{"id": f"s{i}", "tool": "calculate", "args": {"expression": f"{i}*2"},
              "depends_on": [f"s{i - 1}"] if i % 50 else []} for i in range(1000)]
    thread = flow.start(plan=Plan.model_validate({"goal": "1000 steps", "steps": steps})).thread_id
    assert flow.approve(thread).status == Status.COMPLETED
    began = time.perf_counter()
    events = read_events(db, thread)
    return time.perf_counter() - began, len(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    text = goal(args.steps)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        flow = Operations(open_database(str(tmp / "ours.db")))
        bare_db = open_database(str(tmp / "bare.db"))
        bare = build_graph(bare_db.saver, settings=Settings.from_env())
        run_ours(flow, text), run_bare(bare, text)  # warm-up
        ours, base = [], []
        for _ in range(args.runs):
            ours.append(run_ours(flow, text))
            base.append(run_bare(bare, text))
        metrics_began = time.perf_counter()
        compute_metrics(flow.db)
        metrics_s = time.perf_counter() - metrics_began
        listing = list_threads(tmp)
        events_s, event_count = thousand_step_events(tmp)
    ratio = statistics.median(ours) / statistics.median(base)
    print(f"full workflow, {args.steps} steps, {args.runs} runs each (median), {len(exporter.get_finished_spans())} spans")
    print(f"  ours (events, runs table, claims, tracing)  {statistics.median(ours) * 1000:.1f} ms")
    print(f"  bare LangGraph graph, same nodes and saver   {statistics.median(base) * 1000:.1f} ms")
    print(f"overhead ratio: {ratio:.3f} goal<=1.30 {'PASS' if ratio <= 1.30 else 'MISS'}")
    print(f"metrics over {2 * args.runs + 2} runs: {metrics_s * 1000:.1f} ms")
    print(f"list 10,000 threads: {listing * 1000:.1f} ms")
    print(f"read the {event_count} events of a 1,000-step run: {events_s * 1000:.1f} ms")


if __name__ == "__main__":
    main()
