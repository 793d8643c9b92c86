"""The events of one drive of a thread, written in batches instead of one transaction each.

A batch goes out ``FLUSH_S`` after its first event (a timer, so a follower sees a live run
even while a slow step produces nothing more) and when the drive ends. The run's latest
(status, error) rides in the same transaction as the events that led to it, so the
``runs`` row and the event log never disagree; the row may lag the checkpoint by at most
``FLUSH_S`` during a drive, which is what listing can afford and what a transaction per
status change would cost every run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from graph.core.daemons import DAEMONS
from graph.store.event_log import EventRow

log = logging.getLogger(__name__)

Status = tuple[str, str | None]
Writer = Callable[[list[EventRow], Status | None], None]


class EventBuffer:
    FLUSH_S = 0.25

    def __init__(self, write: Writer) -> None:
        self._write = write
        self._lock = threading.Lock()  # guards the batch; never held while writing
        self._writing = threading.Lock()  # one write at a time, so batches land in order
        self._pending: list[EventRow] = []
        self._status: Status | None = None
        self._timer: threading.Event | None = None  # set to call off the pending timed flush

    def add(self, row: EventRow) -> None:
        with self._lock:
            self._pending.append(row)
            self._arm()

    def set_status(self, status: str, error: str | None) -> None:
        with self._lock:
            self._status = (status, error)
            self._arm()

    def flush(self) -> None:
        """Write what is pending now (at the drive's end). A failed write puts its batch back
        in front of what came since. The batch is taken out under the lock and written
        outside it: the steps' threads add events while a batch is being written, and
        holding the lock through the write stalled all of them for its whole length (a
        third of the per-step cost in a run of short steps)."""
        with self._writing:
            with self._lock:
                if self._timer is not None:
                    self._timer.set()
                    self._timer = None
                rows, status = self._pending, self._status
                self._pending, self._status = [], None
            if not rows and not status:
                return
            try:
                self._write(rows, status)
            except BaseException:
                with self._lock:
                    self._pending[:0] = rows
                    if self._status is None:  # a newer status wins
                        self._status = status
                raise

    def _on_timer(self) -> None:
        try:
            self.flush()
        except Exception:  # e.g. a database busy past its timeout: the next flush retries
            log.warning("event batch not written yet; retrying", exc_info=True)
            with self._lock:
                self._arm()

    def _arm(self) -> None:
        if self._timer is None:
            called_off = self._timer = threading.Event()

            def timed_flush() -> None:
                if not called_off.wait(self.FLUSH_S):
                    self._on_timer()

            DAEMONS.run(timed_flush)
