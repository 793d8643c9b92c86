"""The one poller behind every event stream of a server (``ui/api/stream.py``), on a real
SQLite file: idle streams cost the database nothing of their own, a thread's new events are
read once for all of its streams, and every stream still gets every event once, in order,
and then the status it ended in."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

from graph.core.settings import Settings
from graph.operations import Operations
from graph.store.connect import open_database
from ui.api.stream import EventHub

STREAMS_PER_THREAD = 20


class CountingOps(Operations):
    """The real operations API, counting the reads the hub and its streams make."""

    calls: Counter[str]

    def events(self, thread_id: str, after_seq: int = 0, limit: int = 1000):  # type: ignore[no-untyped-def]
        self.calls["events"] += 1
        return super().events(thread_id, after_seq, limit)

    def stream_positions(self, thread_ids: list[str]):  # type: ignore[no-untyped-def]
        self.calls["positions"] += 1
        return super().stream_positions(thread_ids)


async def until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


def test_one_poller_feeds_every_stream_and_idle_streams_read_nothing(settings: Settings) -> None:
    ops = CountingOps(open_database(settings.db), settings)
    ops.calls = Counter()
    busy = ops.start("Calculate 1+1").thread_id
    idle = ops.start("Calculate 2+2").thread_id  # both wait at the gate
    first_seq = {t: ops.events(t).last_seq for t in (busy, idle)}
    hub = EventHub(ops, poll_s=0.01)
    got: dict[int, list] = {}

    async def scenario() -> None:
        async def drain(index: int, thread_id: str) -> None:
            got[index] = []
            async for item in hub.stream(thread_id, 0, "finished"):
                got[index].append(item)

        threads = [busy] * STREAMS_PER_THREAD + [idle] * STREAMS_PER_THREAD
        tasks = [asyncio.create_task(drain(i, t)) for i, t in enumerate(threads)]
        await until(lambda: len(got) == len(threads) and all(
            len(got[i]) == first_seq[t] for i, t in enumerate(threads)), "every stream caught up")
        reads, ticks = ops.calls["events"], ops.calls["positions"]
        await until(lambda: ops.calls["positions"] >= ticks + 20, "the poller ticks")
        assert ops.calls["events"] == reads, "idle streams read nothing of their own"

        ticks = ops.calls["positions"]
        await asyncio.to_thread(ops.approve, busy)  # executes to the end here, in a worker thread
        await until(lambda: all(t.done() for t in tasks[:STREAMS_PER_THREAD]), "the busy thread's streams end")
        batches = ops.calls["events"] - reads
        assert 1 <= batches <= ops.calls["positions"] - ticks, "one read per batch, whatever the streams"
        assert batches < STREAMS_PER_THREAD
        assert not any(t.done() for t in tasks[STREAMS_PER_THREAD:]), "a thread at the gate keeps its streams"
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())
    stored = [e.seq for e in ops.events(busy).events]
    for index in range(STREAMS_PER_THREAD):
        assert [e.seq for e in got[index][:-1]] == stored, "every event once, in order"
        assert got[index][-1] == "COMPLETED"
    ops.close()


def test_a_stream_opened_after_a_command_never_ends_on_a_position_read_before_it(settings: Settings) -> None:
    """Seen in CI: ``prolight approve`` against a server follows the thread until it
    settles. Another stream of the same thread had left the hub holding the gate's
    position (settled), so the new stream ended at once, before the hub read the approval,
    and the client printed EXECUTING for a run it had asked to see finish. Ticks are driven
    by hand here: the hub's own poller sleeps through the test."""
    ops = Operations(open_database(settings.db), settings)
    thread = ops.start("Calculate 1+1").thread_id  # at the gate: settled
    hub = EventHub(ops, poll_s=3600)

    async def scenario() -> None:
        watcher = hub.stream(thread, 0, "finished")
        first = asyncio.create_task(anext(watcher))
        await until(lambda: thread in hub._watches and hub._watches[thread].position is not None, "the hub's first look")
        await first
        seen = ops.events(thread).last_seq
        await asyncio.to_thread(ops.approve, thread, queue=True)  # recorded; a worker would execute it
        follower = hub.stream(thread, seen, "settled")
        item = asyncio.create_task(anext(follower))
        await until(lambda: item.done() or getattr(hub._watches[thread], "wants_fresh", False), "the follower looked")
        assert not item.done(), f"ended on the gate's position, read before it began: {item.result()!r}"
        await hub._tick()  # a look after the command: the decision, and the thread queued (not settled)
        got = await item
        assert not isinstance(got, str) and got.kind == "decision"
        for stream in (watcher, follower):
            await stream.aclose()

    asyncio.run(scenario())
    ops.close()
