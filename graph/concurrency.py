"""A priority-ordered concurrency limit for the steps of one run: when slots are scarce the
waiting step with the highest priority (then the earliest in execution order) goes first."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class PriorityLimiter:
    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a concurrency limit needs at least one slot")
        self._free = slots
        self._waiting: list[tuple[int, int]] = []
        self._cond = threading.Condition()

    @contextmanager
    def slot(self, priority: int, order: int) -> Iterator[None]:
        ticket = (-priority, order)
        with self._cond:
            heapq.heappush(self._waiting, ticket)
            while not (self._free > 0 and self._waiting[0] == ticket):
                self._cond.wait()
            heapq.heappop(self._waiting)
            self._free -= 1
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._free += 1
                self._cond.notify_all()
