"""A concurrency limit for the steps of one run: when slots are scarce the waiting step that
comes first in the execution order goes first. That order is the plan's priority-aware
topological order, so among steps made ready together the highest priority wins; and it
is the order in which the steps' tasks reach a thread, so a slot is never handed to a step
that is still queued behind steps that wait for it (the executor runs with fewer threads
than steps; see ``graph/engine/executor.py: threads_needed``).

Steps are enqueued by the scheduler at the moment they become ready (all dependencies
done), not by their own threads when they wake up; otherwise a low-priority step whose
thread happened to wake first would take a slot that a higher-priority sibling, made ready
by the same dependency, should have had.

A freed slot is handed to the head of the line directly, by setting that one ticket's
event: a run of a thousand ready steps would otherwise wake a thousand threads at every
release to learn that one of them may go (the cost grew with the square of the width)."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from graph.core.resilience import Cancelled

Ticket = int  # the step's place in the execution order
CANCEL_POLL_S = 0.1


class OrderedLimiter:
    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a concurrency limit needs at least one slot")
        self._free = slots
        self._waiting: list[Ticket] = []
        # Every enqueued ticket until it leaves; its event is set when it is handed a slot, so
        # a ticket with a set event holds a slot it has not given back.
        self._turns: dict[Ticket, threading.Event] = {}
        self._lock = threading.Lock()

    def enqueue(self, ticket: Ticket) -> None:
        with self._lock:
            self._turns[ticket] = threading.Event()
            heapq.heappush(self._waiting, ticket)
            self._hand_out()

    def discard(self, ticket: Ticket) -> None:
        """Forget a ticket that will never be used (its step's result came from the checkpoint,
        or its step is over); a slot it was handed goes to the next in line."""
        with self._lock:
            self._leave(ticket)

    @contextmanager
    def slot(self, ticket: Ticket, cancelled: threading.Event | None = None) -> Iterator[None]:
        """Wait until ``ticket`` (already enqueued) is handed a slot. Raises ``Cancelled`` (and
        gives up the place in line, or the slot) if the run is cancelled first."""
        with self._lock:
            turn = self._turns[ticket]
        while not turn.wait(CANCEL_POLL_S if cancelled is not None else None):
            if cancelled is not None and cancelled.is_set():
                with self._lock:
                    self._leave(ticket)
                raise Cancelled("cancelled before it started")
        try:
            yield
        finally:
            with self._lock:
                self._leave(ticket)

    def _leave(self, ticket: Ticket) -> None:
        """The caller holds the lock. Out of the line, its slot (if any) passed on."""
        turn = self._turns.pop(ticket, None)
        if turn is None:  # left already (a finished step's record discards its ticket again)
            return
        if turn.is_set():
            self._free += 1
        else:
            self._waiting.remove(ticket)
            heapq.heapify(self._waiting)
        self._hand_out()

    def _hand_out(self) -> None:
        while self._free > 0 and self._waiting:
            ticket = heapq.heappop(self._waiting)
            self._free -= 1
            self._turns[ticket].set()
