"""Scale-out figures, each with a baseline measured in the same run:

1. The HTTP API's event stream: from an event being written to the database until an SSE
   client of a real ``prolight serve`` receives it (goal p95 <= 0.5 s), against the
   stream's own poll period (its floor).
2. Runs per second with 1, 2 and 4 ``prolight worker`` processes on PostgreSQL against one
   on SQLite (goal: 2 processes >= 1.7 x one), the same plans of I/O-bound steps. The runs
   wait at the gate with their approvals queued before the workers start; the clock runs
   from the first executor start to the last completion, both read from the event log, so
   process start-up is not counted. PostgreSQL is a throw-away cluster on 127.0.0.1
   (``tests/support/postgres.py``), one database per measurement.

    python -m bench.scale [--events 50] [--runs 48] [--no-postgres] [--processes 4]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from httpx_sse import connect_sse

from bench.stats import p95
from graph.core.events import Event
from graph.core.schemas import Plan
from graph.core.settings import Settings
from graph.operations import Operations
from graph.store.event_log import append_events
from tests.support.browser import free_port, wait_answering
from tests.support.http_server import ToolServer
from tests.support.plans import fetch
from tests.support.postgres import PostgresServer, server_binaries
from ui.api.stream import POLL_S


def stream_latencies(home: Path, events: int) -> list[float]:
    """Seconds from an event's commit to an SSE client holding it, on a thread whose one
    step is held open by the local tool server (so the thread stays live and quiet)."""
    tools = ToolServer().start()
    env = {**os.environ, "PROLIGHT_DB": str(home / "prolight.db"), "PROLIGHT_WORKSPACE": str(home)}
    ops = Operations.open(Settings.from_env(db=env["PROLIGHT_DB"]))
    plan = Plan.model_validate({"goal": "Hold", "steps": [fetch(tools, "held", timeout_s=600, hold="gate")]})
    thread = ops.start(None, plan).thread_id
    ops.approve(thread, queue=True)  # for the server's run manager
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--open", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    received: dict[str, float] = {}  # the bench event's message → when the client held it
    try:
        tools.wait_started("/held")
        url = f"http://127.0.0.1:{port}"
        wait_answering(f"{url}/health", server)
        seen = ops.events(thread, 0, 100_000).last_seq
        connected = threading.Event()

        def listen() -> None:
            with httpx.Client(base_url=url, timeout=httpx.Timeout(30, read=None)) as http, \
                    connect_sse(http, "GET", f"/threads/{thread}/stream", headers={"Last-Event-ID": str(seen)}) as sse:
                connected.set()
                for message in sse.iter_sse():
                    if not message.data:
                        continue  # a heartbeat (httpx-sse hands it over once an id was seen)
                    mark = json.loads(message.data)["payload"].get("message", "")
                    received[mark] = time.perf_counter()

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        if not connected.wait(30):
            raise RuntimeError("the SSE client did not connect")
        spent = []
        for i in range(events):
            time.sleep(random.uniform(0, POLL_S))  # events arrive at any moment of the poll cycle
            mark = f"bench {i}"  # matched by its text: the server writes events of its own meanwhile
            append_events(ops.db, thread, [Event(kind="progress", payload={"message": mark})])
            written = time.perf_counter()
            deadline = written + 30
            while mark not in received:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{mark!r} never reached the client")
                time.sleep(0.001)
            spent.append(received[mark] - written)
        tools.release("gate")
        listener.join(30)  # the stream ends when the thread settles
        return spent
    finally:
        server.terminate()
        server.wait(15)
        ops.close()
        tools.stop()


STEP_DELAY_S = 0.2  # each step waits on the tool server: I/O, not CPU
WORKERS_PER_PROCESS = 4


def queue_runs(db_url: str, tools: ToolServer, runs: int, tag: str) -> list[str]:
    """``runs`` threads of three steps (two in parallel, then one after both), planned,
    critiqued and approved with the approval queued for a worker."""
    ops = Operations.open(Settings.from_env(db=db_url))
    try:
        threads = []
        for i in range(runs):
            steps = [fetch(tools, f"{tag}/{i}/a", delay=STEP_DELAY_S), fetch(tools, f"{tag}/{i}/b", delay=STEP_DELAY_S)]
            steps[0]["id"], steps[1]["id"] = "a", "b"
            last = fetch(tools, f"{tag}/{i}/c", delay=STEP_DELAY_S)
            last.update(id="c", depends_on=["a", "b"])
            plan = Plan.model_validate({"goal": f"scale {tag} {i}", "steps": [*steps, last]})
            threads.append(ops.start(None, plan).thread_id)
        for thread in threads:
            ops.approve(thread, queue=True)
        return threads
    finally:
        ops.close()


def runs_per_second(db_url: str, home: Path, tools: ToolServer, processes: int, runs: int, tag: str) -> float:
    threads = queue_runs(db_url, tools, runs, tag)
    env = {**os.environ, "PROLIGHT_DB": db_url, "PROLIGHT_WORKSPACE": str(home)}
    workers = [subprocess.Popen([sys.executable, "-m", "ui.cli", "worker", "--workers", str(WORKERS_PER_PROCESS)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(processes)]
    ops = Operations.open(Settings.from_env(db=db_url))
    try:
        deadline = time.monotonic() + 600
        while ops.status_counts().counts.get("COMPLETED", 0) < runs:
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise RuntimeError(f"{tag}: the workers did not complete {runs} runs")
            time.sleep(0.2)
        first_start, last_end = None, None
        for thread in threads:
            for event in ops.events(thread, 0, 10_000).events:
                if event.kind == "node_started" and event.node == "executor":
                    first_start = min(first_start or event.ts, event.ts)
                if event.kind == "run_completed":
                    last_end = max(last_end or event.ts, event.ts)
        return runs / (last_end - first_start).total_seconds()
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(30)
        ops.close()


def throughput(runs: int, most: int = 4) -> list[tuple[str, float]]:
    """(configuration, runs per second): SQLite with one process, then PostgreSQL with 1, 2
    and 4 processes (up to ``most``)."""
    tools = ToolServer().start()
    server = PostgresServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            home = Path(tmp_name)
            os.environ["PROLIGHT_AUDIT_KEY_FILE"] = str(home / "audit.key")  # shared by the workers on PostgreSQL
            figures = [("SQLite, 1 process", runs_per_second(str(home / "scale.db"), home, tools, 1, runs, "sqlite"))]
            for processes in (p for p in (1, 2, 4) if p <= most):
                figures.append((f"PostgreSQL, {processes} process{'es' if processes > 1 else ''}",
                                runs_per_second(server.new_database(), home, tools, processes, runs, f"pg{processes}")))
        return figures
    finally:
        server.stop()
        tools.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--runs", type=int, default=48)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--processes", type=int, choices=(2, 4), default=4,
                        help="the most worker processes on PostgreSQL (2: the goal's figures only)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        latencies = stream_latencies(Path(tmp_name), args.events)
    print(f"Event written -> received by an SSE client of prolight serve, {args.events} events:")
    print(f"  p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95(latencies) * 1000:.0f} ms; the stream polls "
          f"every {POLL_S * 1000:.0f} ms; goal p95 <= 500 ms {'PASS' if p95(latencies) <= 0.5 else 'MISS'}")
    if args.no_postgres or server_binaries() is None:
        print("Runs per second on PostgreSQL: not measured (no PostgreSQL server here, or --no-postgres)")
        return
    figures = throughput(args.runs, args.processes)
    sqlite, pg_one = figures[0][1], figures[1][1]
    print(f"Runs per second, {args.runs} runs of 3 I/O-bound steps ({STEP_DELAY_S * 1000:.0f} ms each, two in "
          f"parallel then one), {WORKERS_PER_PROCESS} workers a process:")
    for name, rate in figures:
        print(f"  {name:<26} {rate:6.1f} runs/s   x{rate / sqlite:.2f} SQLite-1   x{rate / pg_one:.2f} PostgreSQL-1")
    two = figures[2][1] / pg_one
    print(f"  goal: 2 processes >= 1.7 x one: x{two:.2f} {'PASS' if two >= 1.7 else 'MISS'}")


if __name__ == "__main__":
    main()
