"""Claims: a process drives a thread only while it holds the thread's ``runs`` row (owner
and lease, renewed in the background). Claims are strict: not re-entrant, even for the same
owner, so two workers of one process cannot both take a thread. A claim whose owner is a
dead process of this host is taken over at once; any other waits for its lease to lapse."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from graph.core.errors import ExecutionError
from graph.core.daemons import DAEMONS
from graph.store.database import Database


class ClaimHeld(ExecutionError):
    """Another live owner holds the thread."""

    def __init__(self, holder: str | None) -> None:
        super().__init__(holder or "unknown")
        self.holder = holder


def new_owner() -> str:
    return f"{os.getpid()}@{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """True when ``owner`` (pid@host:nonce) is a process of this host that no longer exists."""
    pid, _, rest = owner.partition("@")
    host = rest.rsplit(":", 1)[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def try_claim(db: Database, thread_id: str, owner: str, lease_s: float) -> bool:
    if db.claim(thread_id, owner, lease_s):
        return True
    holder = db.holder(thread_id)
    return holder is not None and owner_is_dead(holder) and db.take_over(thread_id, holder, owner, lease_s)


@contextmanager
def claimed(db: Database, thread_id: str, owner: str, lease_s: float, held: bool = False) -> Iterator[None]:
    """Hold the claim for the block, renewing it every third of the lease. ``held``: the
    caller took it already (a thread created with its owner set)."""
    if not held and not try_claim(db, thread_id, owner, lease_s):
        raise ClaimHeld(db.holder(thread_id))
    stop = threading.Event()
    stopped = threading.Event()

    def renew() -> None:
        try:
            while not stop.wait(lease_s / 3):
                try:
                    db.renew(thread_id, owner, lease_s)
                except Exception:  # a busy database: try again at the next beat
                    continue
        finally:
            stopped.set()

    DAEMONS.run(renew)
    try:
        yield
    finally:
        stop.set()
        stopped.wait()  # no renewal may land after the release
        db.release(thread_id, owner)
