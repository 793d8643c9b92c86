"""Many subscribers on one ``prolight serve``: the event delay and the server's CPU with the
one poller that feeds every stream (``ui/api/stream.py``), against yesterday's streams that
each polled the database on their own, measured in the same run on the same database.

``--threads`` threads are live (EXECUTING, so no stream ends); ``--subscribers`` SSE
connections are spread over them, each a bare asyncio socket (HTTP/1.0, so no chunk
framing to undo: the client costs little beside the server). The bench writes one event
per thread ``--rate`` times a second for ``--seconds``, each carrying the time it was
written; the delay is from then until a subscriber holds it. The server's CPU is its
utime + stime over the window, in cores. Goals: delay p95 <= 250 ms, CPU <= 1 core.

    python -m bench.stream [--subscribers 500] [--threads 50] [--rate 2] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from bench.stats import p95
from graph.core.events import Event
from graph.operations import Operations
from graph.operations.models import FollowUntil, StoredEvent
from graph.store.connect import open_database
from graph.store.event_log import append_events
from tests.support.browser import free_port, wait_answering
from ui.api.stream import POLL_S

GOAL_P95_S, GOAL_CORES = 0.25, 1.0


class PerStreamPolling:
    """The baseline: yesterday's stream, each one polling the database every ``POLL_S``
    (its events, then whether the thread has stopped) on its own."""

    def __init__(self, ops: Operations, poll_s: float = POLL_S) -> None:
        self._ops, self._poll_s = ops, poll_s

    async def stream(self, thread_id: str, after: int, until: FollowUntil) -> AsyncIterator[StoredEvent | str]:
        seq = after
        while True:
            page = await run_in_threadpool(self._ops.events, thread_id, seq)
            for event in page.events:
                yield event
            seq = page.last_seq
            if not page.events and await run_in_threadpool(self._ops.is_settled, thread_id, until):
                yield self._ops.thread(thread_id).status.value
                return
            if not page.events:
                await asyncio.sleep(self._poll_s)


def serve_baseline(port: int) -> None:
    """``prolight serve --open`` with the baseline streams in place of the one poller."""
    import uvicorn

    import ui.api.app
    from graph.core.settings import Settings

    ui.api.app.EventHub = PerStreamPolling  # type: ignore[misc, assignment]  # the baseline, this process only
    ops = Operations.open(Settings.from_env())
    uvicorn.run(ui.api.app.create_app(ops, ops.settings, open_access=True), host="127.0.0.1", port=port,
                log_level="warning")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def subscribe(port: int, thread_id: str, delays: list[float], ready: asyncio.Event,
                    counts: dict[str, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /threads/{thread_id}/stream HTTP/1.0\r\nHost: 127.0.0.1\r\nLast-Event-ID: 1\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"the stream of {thread_id} answered {status!r}")
    counts["connected"] += 1
    if counts["connected"] == counts["wanted"]:
        ready.set()
    try:
        while line := await reader.readline():
            if line.startswith(b"data: "):
                payload = json.loads(line[6:])["payload"]
                delays.append(time.time() - payload["sent"])
    finally:
        writer.close()


async def measure(port: int, pid: int, db: Path, threads: list[str], subscribers: int, rate: float,
                  seconds: float) -> tuple[list[float], float, int]:
    """The delays, the server's cores over the window, the events written."""
    delays: list[float] = []
    ready, counts = asyncio.Event(), {"connected": 0, "wanted": subscribers}
    listeners = [asyncio.create_task(subscribe(port, threads[i % len(threads)], delays, ready, counts))
                 for i in range(subscribers)]
    await asyncio.wait_for(ready.wait(), 120)
    ops = open_database(str(db))
    written, began, cpu_before = 0, time.perf_counter(), cpu_seconds(pid)
    try:
        for tick in range(int(seconds * rate)):
            await asyncio.sleep(max(0.0, began + tick / rate + random.uniform(0, POLL_S) - time.perf_counter()))
            for thread_id in threads:
                event = Event(kind="progress", payload={"message": f"bench {tick}", "sent": time.time()})
                await asyncio.to_thread(append_events, ops, thread_id, [event])
                written += 1
        expected = written * subscribers // len(threads)
        deadline = time.perf_counter() + 30
        while len(delays) < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        cores = (cpu_seconds(pid) - cpu_before) / (time.perf_counter() - began)
    finally:
        ops.close()
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    if len(delays) < expected:
        raise RuntimeError(f"{expected - len(delays)} of {expected} deliveries never arrived")
    return delays, cores, written


def run(mode: str, home: Path, args: argparse.Namespace) -> tuple[list[float], float]:
    db = home / f"{mode}.db"
    store = open_database(str(db))
    threads = [uuid.uuid4().hex for _ in range(args.threads)]
    for thread_id in threads:  # live threads: no stream of theirs ends while measured
        store.create_run(thread_id, "bench", "EXECUTING", "offline", "bench")
        append_events(store, thread_id, [Event(kind="progress", payload={"message": "start", "sent": time.time()})])
    store.close()
    port = free_port()
    env = {**os.environ, "PROLIGHT_DB": str(db), "PROLIGHT_WORKSPACE": str(home)}
    command = ([sys.executable, "-m", "ui.cli", "serve", "--open", "--port", str(port)] if mode == "hub" else
               [sys.executable, "-m", "bench.stream", "--serve-baseline", str(port)])
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_answering(f"http://127.0.0.1:{port}/health", server)
        delays, cores, _ = asyncio.run(measure(port, server.pid, db, threads, args.subscribers, args.rate,
                                               args.seconds))
        return delays, cores
    finally:
        server.terminate()
        server.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--rate", type=float, default=2.0, help="events per thread per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return
    print(f"stream: {args.subscribers} subscribers on {args.threads} threads, {args.threads * args.rate:g} "
          f"events/s for {args.seconds:g} s, one serve process")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode, label in (("per-stream", "per-stream polling (baseline)"), ("hub", "one poller")):
            delays, cores = run(mode, Path(tmp), args)
            results[mode] = (p95(delays), cores)
            print(f"  {label:30s} deliveries {len(delays)}, delay p50 {sorted(delays)[len(delays) // 2] * 1000:.0f} ms,"
                  f" p95 {p95(delays) * 1000:.0f} ms, server CPU {cores:.2f} cores")
    (base_p95, base_cpu), (hub_p95, hub_cpu) = results["per-stream"], results["hub"]
    print(f"stream ratio (one poller / per-stream): delay p95 {hub_p95 / base_p95:.2f}, "
          f"CPU {hub_cpu / max(base_cpu, 1e-9):.2f}")
    print(f"goal p95 <= {GOAL_P95_S * 1000:.0f} ms: {'PASS' if hub_p95 <= GOAL_P95_S else 'MISS'} "
          f"({hub_p95 * 1000:.0f} ms); goal CPU <= {GOAL_CORES:g} core: "
          f"{'PASS' if hub_cpu <= GOAL_CORES else 'MISS'} ({hub_cpu:.2f})")


if __name__ == "__main__":
    main()
