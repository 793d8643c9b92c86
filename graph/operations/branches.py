"""A thread's branches, read from its checkpoint tree: each fork starts a branch and leaves
the one it came from as it was, so the thread page can say "branch 2, forked from
checkpoint X by NAME at T; branch 1 ended COMPLETED" and show each one. Forking a
COMPLETED thread used to look like the thread had gone back to the gate: its report and
its audit mark were gone from the page.

A branch is a leaf of the tree (its head) with the checkpoints only it has; branches are
numbered in the order their first own checkpoint was made. The fork that started a branch
is the recorded ``fork`` decision whose checkpoint the branch left from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from graph.core.audit import AuditReport
from graph.core.events import StoredEvent
from graph.core.schemas import Status
from graph.operations.models import BranchView
from graph.operations.views import parent_id

if TYPE_CHECKING:
    from langgraph.types import StateSnapshot


def _id(snapshot: StateSnapshot) -> str:
    return snapshot.config["configurable"]["checkpoint_id"]


def branch_views(snapshots: Sequence[StateSnapshot], forks: Sequence[StoredEvent],
                 audit: Callable[[dict[str, Any]], AuditReport]) -> list[BranchView]:
    """``snapshots``: every checkpoint of the thread (any order); ``forks``: its fork
    decisions' events in order; ``audit``: checks a head's decisions."""
    by_id = {_id(s): s for s in snapshots}
    parents = {i: parent_id(s) for i, s in by_id.items()}
    has_child = {p for p in parents.values() if p}
    leaves = [i for i in by_id if i not in has_child]
    paths: dict[str, list[str]] = {}
    for leaf in leaves:
        path, at = [], leaf
        while at is not None and at in by_id:
            path.append(at)
            at = parents[at]
        paths[leaf] = path[::-1]  # root first
    shared = {leaf: set().union(*(paths[o] for o in leaves if o != leaf)) for leaf in leaves}

    def first_own(leaf: str) -> str:
        return next((c for c in paths[leaf] if c not in shared[leaf]), leaf)

    def created(checkpoint: str) -> str:
        return by_id[checkpoint].created_at or ""

    ordered = sorted(leaves, key=lambda leaf: created(first_own(leaf)))
    newest = max(leaves, key=lambda leaf: created(leaf)) if leaves else None
    unused = list(forks)
    views: list[BranchView] = []
    for number, leaf in enumerate(ordered, 1):
        head = by_id[leaf]
        start = by_id[first_own(leaf)]
        left_from = parent_id(start)
        fork = None
        if number > 1:
            copied_from = {c for c, p in parents.items() if p == left_from}  # a "__copy__" fork copies a sibling
            fork = next((e for e in unused if e.payload.get("checkpoint_id") in {left_from, *copied_from}), None)
            if fork is not None:
                unused.remove(fork)
        values = head.values or {}
        report = audit(values)
        views.append(BranchView(
            branch=number, head_checkpoint_id=leaf, current=leaf == newest,
            status=Status(values["status"]) if values.get("status") else None,
            report=values.get("report"), error=values.get("error"),
            updated_at=datetime.fromisoformat(head.created_at) if head.created_at else None,
            forked_from=(fork.payload.get("checkpoint_id") if fork else left_from) if number > 1 else None,
            forked_by=fork.payload.get("operator") if fork else None, forked_at=fork.ts if fork else None,
            decisions=report.decisions, audit_verified=report.verified))
    return views
