"""A thread's events as Server-Sent Events. Each message's ``id`` is the event's seq, so a
client that reconnects with ``Last-Event-ID`` gets exactly the events after it; the store
is polled (its events are committed rows, in seq order), and the stream ends once every
event is sent and the thread has finished (``until=settled``: or stopped at the gate). Heartbeats are sse-starlette's comment pings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from graph.operations import Operations
from graph.operations.models import FollowUntil
from graph.operations.reconnect import HEARTBEAT_HEADER

POLL_S = 0.1


async def _events(ops: Operations, thread_id: str, after: int, until: FollowUntil) -> AsyncIterator[ServerSentEvent]:
    seq = after
    while True:
        page = await run_in_threadpool(ops.events, thread_id, seq)
        for event in page.events:
            yield ServerSentEvent(data=event.model_dump_json(), id=str(event.seq), event=event.kind)
        seq = page.last_seq
        if not page.events and await run_in_threadpool(ops.is_settled, thread_id, until):
            return
        if not page.events:
            await anyio.sleep(POLL_S)


def event_stream(ops: Operations, thread_id: str, after: int, until: FollowUntil,
                 heartbeat_s: float) -> EventSourceResponse:
    return EventSourceResponse(_events(ops, thread_id, after, until), ping=heartbeat_s,
                               headers={HEARTBEAT_HEADER: f"{heartbeat_s:g}"})
