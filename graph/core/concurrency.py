"""A priority-ordered concurrency limit for the steps of one run: when slots are scarce the
waiting step with the highest priority (then the earliest in execution order) goes first.

Steps are enqueued by the scheduler at the moment they become ready (all dependencies
done), not by their own threads when they wake up; otherwise a low-priority step whose
thread happened to wake first would take a slot that a higher-priority sibling, made ready
by the same dependency, should have had."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from graph.core.resilience import Cancelled

Ticket = tuple[int, int]  # (-priority, execution order)


class PriorityLimiter:
    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a concurrency limit needs at least one slot")
        self._free = slots
        self._waiting: list[Ticket] = []
        self._cond = threading.Condition()

    @staticmethod
    def ticket(priority: int, order: int) -> Ticket:
        return (-priority, order)

    def enqueue(self, ticket: Ticket) -> None:
        with self._cond:
            heapq.heappush(self._waiting, ticket)
            self._cond.notify_all()

    def discard(self, ticket: Ticket) -> None:
        """Drop a ticket that will never be used (its step's result came from the checkpoint)."""
        with self._cond:
            self._drop(ticket)

    @contextmanager
    def slot(self, ticket: Ticket, cancelled: threading.Event | None = None) -> Iterator[None]:
        """Wait until ``ticket`` (already enqueued) is first in line and a slot is free.
        Raises ``Cancelled`` (and gives up the place in line) if the run is cancelled first."""
        with self._cond:
            while not (self._free > 0 and self._waiting and self._waiting[0] == ticket):
                if cancelled is not None and cancelled.is_set():
                    self._drop(ticket)
                    raise Cancelled("cancelled before it started")
                self._cond.wait(0.1 if cancelled is not None else None)
            heapq.heappop(self._waiting)
            self._free -= 1
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._free += 1
                self._cond.notify_all()

    def _drop(self, ticket: Ticket) -> None:
        """Leave the line (the caller holds the condition) and let the next in line look."""
        if ticket in self._waiting:
            self._waiting.remove(ticket)
            heapq.heapify(self._waiting)
            self._cond.notify_all()
