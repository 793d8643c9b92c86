"""Reading one thread's ``runs`` row: whether an id can name a thread at all, the row
itself, and whether the thread is settled (nothing more happens to it without a new
request). No checkpoint is read, so front ends can ask these cheaply and often."""

from __future__ import annotations

import re
import time
from collections.abc import Collection

from graph.core.errors import ThreadNotFound
from graph.core.schemas import SETTLED
from graph.store.database import Database, RunRow

THREAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def check_thread_id(thread_id: str) -> None:
    """Refuse an id that no thread can have before it reaches a query."""
    if not THREAD_ID.match(thread_id):
        shown = thread_id if len(thread_id) <= 40 else thread_id[:40] + "…"
        raise ThreadNotFound(f"unknown thread {shown!r} (ids are letters, digits, '-' and '_')")


def run_row(db: Database, thread_id: str) -> RunRow:
    """The thread's row, or ThreadNotFound (an ill-formed id never reaches SQL)."""
    check_thread_id(thread_id)
    row = db.get_run(thread_id)
    if row is None:
        raise ThreadNotFound(f"unknown thread {thread_id!r}")
    return row


def is_settled(db: Database, thread_id: str, until: Collection[str] = SETTLED) -> bool:
    """Nothing more happens to the thread without a new request: its status is one of
    ``until``, no process holds it and no request waits for a worker."""
    row = db.get_run(thread_id)
    return bool(row and row_settled(row, until))


def row_settled(row: RunRow, until: Collection[str] = SETTLED) -> bool:
    return row.status in until and not row.queued and row.holder(time.time()) is None
