"""How the engine reads a thread: a well-formed thread id, and whether a snapshot stands at
the approval gate with no decision written yet. (The views front ends see are built in
``graph/operations/views.py``.)"""

from __future__ import annotations

import re
from langgraph.types import StateSnapshot

from graph.engine.build import REVIEW_NODE
from graph.core.errors import ThreadNotFound
from graph.core.schemas import Status

THREAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def check_thread_id(thread_id: str) -> None:
    """Refuse an id that no thread can have before it reaches a query."""
    if not THREAD_ID.match(thread_id):
        shown = thread_id if len(thread_id) <= 40 else thread_id[:40] + "…"
        raise ThreadNotFound(f"unknown thread {shown!r} (ids are letters, digits, '-' and '_')")


def is_awaiting(snapshot: StateSnapshot) -> bool:
    """At the gate with no decision written yet (a written, not yet applied decision has
    moved the status on while ``next`` still names the review node)."""
    return snapshot.next == (REVIEW_NODE,) and snapshot.values.get("status") == Status.AWAITING_APPROVAL.value


def has_ended(snapshot: StateSnapshot) -> bool:
    """The thread ran to its end: it has state and nothing left to run."""
    return bool(snapshot.values) and not snapshot.next and not snapshot.tasks
