"""How the engine reads a thread snapshot: whether a snapshot stands at
the approval gate with no decision written yet. (The views front ends see are built in
``graph/operations/views.py``.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.core.nodes import HUMAN_REVIEW
from graph.core.schemas import Status

if TYPE_CHECKING:
    from langgraph.types import StateSnapshot


def is_awaiting(snapshot: StateSnapshot) -> bool:
    """At the gate with no decision written yet (a written, not yet applied decision has
    moved the status on while ``next`` still names the review node)."""
    return snapshot.next == (HUMAN_REVIEW,) and snapshot.values.get("status") == Status.AWAITING_APPROVAL.value


def has_ended(snapshot: StateSnapshot) -> bool:
    """The thread ran to its end: it has state and nothing left to run."""
    return bool(snapshot.values) and not snapshot.next and not snapshot.tasks
