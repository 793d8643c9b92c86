"""The run manager: executes threads on bounded background workers, so a run goes on with
no browser open and after the process that asked for it has returned. Its calls return at
once; the dashboard and ``prolight worker`` hold one per process.

There is no separate queue: a thread needs a worker when its ``runs`` row is ``queued``
(a detached request) or, with ``resume_orphans`` on, when it is still active (planning or
executing) and its owner is gone (a dead process of this host, or a lapsed lease). The
manager polls for such threads and executes each under its claim, so two processes never
execute the same thread."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from graph.core.retention import RetentionPolicy
from graph.store.claims import owner_is_dead
from graph.store.retention import prune
from graph.engine.workflow import Workflow, RequestError

log = logging.getLogger("prolight.run_manager")
MAX_RETRY_AFTER_S = 30.0  # the longest a thread whose execution made no progress waits


def retry_after(stalls: int, poll_s: float) -> float:
    """Back off a thread whose executions keep making no progress (a bug, a broken
    database row) instead of spinning on it, but never give it up: a transient fault
    must not strand a thread until the worker restarts."""
    return min(MAX_RETRY_AFTER_S, poll_s * 2 ** stalls)


class RunManager:
    def __init__(self, workflow: Workflow, workers: int = 4, poll_s: float = 0.5,
                 resume_orphans: bool = True, retention: RetentionPolicy | None = None) -> None:
        self.workflow = workflow
        self.retention = retention
        self.workers = workers
        self.poll_s = poll_s
        self.resume_orphans = resume_orphans
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="prolight-worker")
        self._active: set[str] = set()
        self._stalled: dict[str, tuple[int, float]] = {}  # thread -> (stalls in a row, not before)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None
        self._pruner: threading.Thread | None = None

    def wake(self, thread_id: str | None = None) -> None:
        """A request was recorded: dispatch now, not at the next poll (and take the thread
        now even if it was backing off: the operator asked again)."""
        if thread_id is not None:
            with self._lock:
                self._stalled.pop(thread_id, None)
        self._wake.set()

    # ---- the loop --------------------------------------------------------------------------
    def run_in_background(self) -> "RunManager":
        if self._loop is None:
            self._loop = threading.Thread(target=self.run_forever, name="prolight-run-manager", daemon=True)
            self._loop.start()
        if self._pruner is None and self.retention is not None and self.retention.every_minutes > 0:
            self._pruner = threading.Thread(target=self._prune_forever, name="prolight-retention", daemon=True)
            self._pruner.start()
        return self

    def _prune_forever(self) -> None:
        """The retention policy, applied on its own thread in batches of ``policy.batch``
        threads, each pruned in a short transaction of its own under its claim, so running
        threads go on between them. A full batch is followed by the next one after a
        poll's pause; then the policy's interval. Never a full VACUUM here: it would hold
        every writer off (``prolight prune --vacuum`` is the operator's choice)."""
        assert self.retention is not None
        wait = self.poll_s
        while not self._stop.wait(wait):
            try:
                report = prune(self.workflow.db, self.retention)
            except Exception:
                log.exception("retention failed; next try at the next interval")
                wait = self.retention.every_minutes * 60
                continue
            if report.compacted or report.deleted:
                log.info("retention: %d threads compacted, %d deleted, %d bytes", len(report.compacted),
                         len(report.deleted), report.bytes)
            wait = self.poll_s if report.more else self.retention.every_minutes * 60

    def run_forever(self) -> None:
        while not self._stop.is_set():
            self.dispatch()
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def dispatch(self) -> int:
        """Hand every thread that needs a worker to a free worker; returns how many."""
        free = self.workers - len(self._active)
        if free <= 0:
            return 0
        handed = 0
        for thread_id in self.needing_work(free * 4):
            if handed >= free:
                break
            with self._lock:
                if thread_id in self._active:
                    continue
                self._active.add(thread_id)
            self._pool.submit(self._execute, thread_id)
            handed += 1
        return handed

    def needing_work(self, limit: int) -> list[str]:
        now, clock = time.time(), time.monotonic()
        found = []
        for thread_id, owner, lease_until in self.workflow.db.candidates(limit, self.resume_orphans):
            if self._stalled.get(thread_id, (0, 0.0))[1] > clock:
                continue
            if owner is None or (lease_until or 0) < now or owner_is_dead(owner):
                found.append(thread_id)
        return found

    def _execute(self, thread_id: str) -> None:
        before = self.workflow.db.get_run(thread_id)
        try:
            self.workflow.execute(thread_id)
        except RequestError as exc:  # another process got there first: nothing to do
            log.info("skipped: %s", exc, extra={"thread_id": thread_id})
        except Exception:
            log.exception("worker failed", extra={"thread_id": thread_id})
        finally:
            after = self.workflow.db.get_run(thread_id)
            with self._lock:
                if before and after and (before.status, before.updated_at) == (after.status, after.updated_at):
                    stalls = self._stalled.get(thread_id, (0, 0.0))[0] + 1
                    delay = retry_after(stalls, self.poll_s)
                    self._stalled[thread_id] = (stalls, time.monotonic() + delay)
                    log.warning("execution made no progress; next try in %.1fs", delay,
                                extra={"thread_id": thread_id})
                else:
                    self._stalled.pop(thread_id, None)
                self._active.discard(thread_id)
            self._wake.set()

    def drain(self, timeout: float = 60.0) -> None:
        """Dispatch until nothing needs a worker and no worker is busy (``prolight worker --once``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.dispatch()
            with self._lock:
                busy = bool(self._active)
            if not busy and not self.needing_work(1):
                return
            time.sleep(0.05)
        raise TimeoutError(f"work was still going on after {timeout}s")

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in (self._loop, self._pruner):
            if thread is not None:
                thread.join(timeout=5)
        self._pool.shutdown(wait=True)

