"""A thread's events as Server-Sent Events, fed by one poller per server process.

Each message's ``id`` is the event's seq, so a client that reconnects with
``Last-Event-ID`` gets exactly the events after it. A stream stays open while its thread
waits for a person (``until=finished``, the default), with heartbeats (sse-starlette's
comment pings), and ends once every event is sent and the thread has finished, with a last
``end`` event naming the status. A reconnect to a thread that has finished with nothing new
is answered 204 by the route, so a browser's ``EventSource`` stops instead of reconnecting
forever.

``EventHub`` is the one poller: every ``POLL_S`` it reads the position of every watched
thread in two queries (``Operations.stream_positions``), and for a thread with new events,
reads them once for all of its streams. N open streams cost the database two queries a
tick, not 10·N a second. A stream behind the hub's last batch (a reconnect from an old
seq) reads its own catch-up from the database once."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from graph.operations import Operations
from graph.operations.models import FollowUntil, StoredEvent, StreamPosition
from graph.operations.reconnect import END_EVENT, HEARTBEAT_HEADER

POLL_S = 0.1
PAGE = 1000  # events a catch-up reads at once
log = logging.getLogger(__name__)


class _Watch:
    """One watched thread: its position as the hub last read it, and its latest batch."""

    def __init__(self) -> None:
        self.streams = 0
        self.position: StreamPosition | None = None
        self.seq: int | None = None  # the newest seq the hub has read (None before the first tick)
        self.batch: list[StoredEvent] = []  # the events after batch_from, read once for every stream
        self.batch_from = 0
        self.changed = asyncio.Event()
        self.read_at = 0  # the hub's tick that last read this thread's position
        self.wants_fresh = False  # a stream waits for a position read after it began

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def after(self, seq: int) -> list[StoredEvent] | None:
        """The batch's events after ``seq``; None if the batch starts after it."""
        if self.seq is None or seq < self.batch_from:
            return None
        return [event for event in self.batch if event.seq > seq]


class EventHub:
    """The server's one poller; ``stream`` is one subscriber. Runs on the server's event
    loop: the poller starts with the first stream and stops with the last."""

    def __init__(self, ops: Operations, poll_s: float = POLL_S) -> None:
        self._ops, self._poll_s = ops, poll_s
        self._watches: dict[str, _Watch] = {}
        self._poller: asyncio.Task[None] | None = None
        self._reading = 0  # the tick whose read started last

    async def stream(self, thread_id: str, after: int, until: FollowUntil) -> AsyncIterator[StoredEvent | str]:
        """The thread's events after ``after``, then its final status (a ``str``)."""
        watch = self._watches.setdefault(thread_id, _Watch())
        watch.streams += 1
        # A position read before this stream began can predate the command its client just
        # sent (seen in CI: a follow after an approve ended on the gate's settled position,
        # shared with another stream of the thread): it may end the stream only if read later.
        begun = self._reading
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        try:
            seq, caught_up = after, False
            while True:
                changed = watch.changed  # taken before reading: a batch that lands meanwhile wakes us
                events = watch.after(seq)
                if events is None and caught_up and watch.seq is None:
                    events = []  # all read, and the hub's first look (which wakes us) is still to come
                elif events is None:  # behind the hub's batch: catch up from the database
                    events = (await run_in_threadpool(self._ops.events, thread_id, seq, PAGE)).events
                    caught_up = len(events) < PAGE
                for event in events:
                    yield event
                    seq = event.seq
                if events:
                    continue
                position = watch.position
                if position is not None and seq >= position.last_seq and position.stopped(until):
                    if watch.read_at > begun:
                        yield position.status.value
                        return
                    watch.wants_fresh = True  # the next tick wakes us, changed or not
                await changed.wait()
        finally:
            watch.streams -= 1
            if not watch.streams:
                del self._watches[thread_id]

    async def _poll(self) -> None:
        while self._watches:
            try:
                await self._tick()
            except Exception as exc:  # a failed read (a busy or restarting database) is tried again next tick
                log.warning("event streams: reading positions failed (%s); trying again", exc)
            await asyncio.sleep(self._poll_s)

    async def _tick(self) -> None:
        self._reading += 1
        tick = self._reading
        positions = await run_in_threadpool(self._ops.stream_positions, list(self._watches))
        for thread_id, position in positions.items():
            watch = self._watches.get(thread_id)
            if watch is None:
                continue
            watch.read_at = tick
            if watch.seq is None:  # first sight: streams read what came before themselves
                watch.seq = watch.batch_from = position.last_seq
            elif position.last_seq > watch.seq:
                page = await run_in_threadpool(self._ops.events, thread_id, watch.seq)
                watch.batch, watch.batch_from, watch.seq = page.events, watch.seq, page.last_seq
            elif position == watch.position:
                if watch.wants_fresh:
                    watch.wants_fresh = False
                    watch.notify()
                continue
            watch.position = position
            watch.wants_fresh = False
            watch.notify()


async def _messages(hub: EventHub, thread_id: str, after: int, until: FollowUntil) -> AsyncIterator[ServerSentEvent]:
    async for item in hub.stream(thread_id, after, until):
        if isinstance(item, str):
            yield ServerSentEvent(data=json.dumps({"status": item}), event=END_EVENT)
        else:
            yield ServerSentEvent(data=item.model_dump_json(), id=str(item.seq), event=item.kind)


def event_stream(hub: EventHub, thread_id: str, after: int, until: FollowUntil,
                 heartbeat_s: float) -> EventSourceResponse:
    return EventSourceResponse(_messages(hub, thread_id, after, until), ping=heartbeat_s,
                               headers={HEARTBEAT_HEADER: f"{heartbeat_s:g}"})
