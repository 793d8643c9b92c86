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

A freed slot is handed to the head of the line directly, by opening that one ticket's
latch: a run of a thousand ready steps would otherwise wake a thousand threads at every
release to learn that one of them may go (the cost grew with the square of the width)."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from graph.core.resilience import Cancelled

Ticket = int  # the step's place in the execution order
CANCEL_POLL_S = 0.1


class Latch:
    """Closed until opened, then open for good; any number of threads wait for it. A
    ``threading.Event`` does the same job with a Condition, a deque and two dicts, all
    objects the garbage collector must track: a run keeps two per step alive, and in a run
    of a thousand short steps the collections they caused cost more than the steps. This is
    one untracked lock, held while closed; a waiter takes it and hands it straight back."""

    __slots__ = ("_lock", "_open")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._open = False

    def open(self) -> None:
        if not self._open:  # callers serialise opening under their own lock
            self._open = True
            self._lock.release()

    def is_open(self) -> bool:
        return self._open

    def wait(self, timeout: float | None = None) -> bool:
        """True once open; False if ``timeout`` seconds passed first."""
        if self._open:
            return True
        if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
            return False
        self._lock.release()  # for the next waiter
        return True


class OrderedLimiter:
    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a concurrency limit needs at least one slot")
        self._free = slots
        self._waiting: list[Ticket] = []
        # Every enqueued ticket until it leaves; its latch opens when it is handed a slot, so
        # a ticket with an open latch holds a slot it has not given back.
        self._turns: dict[Ticket, Latch] = {}
        self._lock = threading.Lock()

    def enqueue(self, ticket: Ticket) -> None:
        with self._lock:
            self._turns[ticket] = Latch()
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
        if turn.is_open():
            self._free += 1
        else:
            self._waiting.remove(ticket)
            heapq.heapify(self._waiting)
        self._hand_out()

    def _hand_out(self) -> None:
        while self._free > 0 and self._waiting:
            ticket = heapq.heappop(self._waiting)
            self._free -= 1
            self._turns[ticket].open()
