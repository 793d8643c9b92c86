"""Reusable daemon threads for the short background jobs of a run: a tool call under a
deadline, the cancel watcher, a claim's renewer, an event batch's flush timer. Starting a
thread costs about 80 µs, paid several times per run and once per step attempt before
these were reused. They are daemons, so a call abandoned at its deadline never holds up
the process's exit; a new one starts only when none is idle, and an idle one ends after
``IDLE_S``."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable


class DaemonThreads:
    IDLE_S = 30.0

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def run(self, job: Callable[[], None]) -> None:
        """Run ``job`` on an idle thread or a new one; ``job`` must not raise."""
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1  # that idle thread is now spoken for
        if start:
            threading.Thread(target=self._work, name="prolight-daemon", daemon=True).start()
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self.IDLE_S)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # no job is on its way to this thread: end it
                        self._idle -= 1
                        return
                continue  # spoken for just now: its job is being queued
            job()
            with self._lock:
                self._idle += 1


DAEMONS = DaemonThreads()
