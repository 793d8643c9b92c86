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


def is_awaiting_review(snapshot: StateSnapshot) -> bool:
    """Paused for the review of a step, with no review decision written yet."""
    return snapshot.next == (HUMAN_REVIEW,) and snapshot.values.get("status") == Status.AWAITING_REVIEW.value


def is_paused(snapshot: StateSnapshot) -> bool:
    """Waiting on a person (the gate or a review): nothing drives it until a decision."""
    return is_awaiting(snapshot) or is_awaiting_review(snapshot)


def has_ended(snapshot: StateSnapshot) -> bool:
    """The thread ran to its end: it has state and nothing left to run."""
    return bool(snapshot.values) and not snapshot.next and not snapshot.tasks


def gate_summary(values: dict) -> dict:
    """What the inbox lists of a thread at the gate: its steps, the critic's risk, the
    estimated critical path. The gate's ``awaiting_approval`` event carries it (so the inbox
    reads no checkpoint); a thread that reached the gate before then is read from its state."""
    return {"steps": len((values.get("plan") or {}).get("steps", [])),
            "risk": (values.get("critique") or {}).get("risk"),
            "critical_path_s": (values.get("estimate") or {}).get("critical_path_s")}
