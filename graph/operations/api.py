"""The operations API: the one seam between the front ends (CLI, dashboard, the coming HTTP
API) and the engine. Front ends call this and nothing else of ``graph/``, and every answer
is a pydantic model from ``models.py``, so they cannot drift apart.

Commands either execute in the caller (``queue=False``: the CLI's foreground commands) or
are recorded and left to a run manager (``queue=True``: the dashboard, ``--detach``), in
which case they return at once. A request is validated before anything is written, so a
refused one leaves nothing behind; refusals are ``RequestError`` with a one-line message."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from langchain_core.language_models import BaseChatModel
from prometheus_client import CollectorRegistry

from agents.critic import check_plan
from agents.tools import ToolRegistry
from graph.core.audit import AuditReport, verify
from graph.core.events import Event
from graph.core.schemas import SETTLED, CritiqueIssue, Plan, Status
from graph.core.settings import Settings
from graph.engine.run_manager import RunManager, is_settled
from graph.engine.workflow import Workflow
from graph.operations import views
from graph.operations.models import (CheckpointState, CheckpointView, EventPage, PendingApproval, RunSummary,
                                     StatusCounts, ThreadPage, ThreadQuery, ThreadView, ToolView)
from graph.store.breakers import BreakerView, breaker_views
from graph.store.connect import open_database
from graph.store.database import Database, RunRow
from graph.store.event_log import current_execution, read_events
from graph.store.metrics import Metrics, compute_metrics, prometheus_registry

EventSink = Callable[[Event], None]


class Operations:
    def __init__(self, db: Database, *, settings: Settings | None = None, model: BaseChatModel | None = None,
                 registry: ToolRegistry | None = None) -> None:
        self.db = db
        self.workflow = Workflow(db, settings=settings, model=model, registry=registry)
        self.settings = self.workflow.settings
        self._manager: RunManager | None = None

    @classmethod
    def open(cls, settings: Settings | None = None, **kwargs: object) -> "Operations":
        settings = settings or Settings.from_env()
        return cls(open_database(settings.db), settings=settings, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        self.stop_run_manager()
        self.db.close()

    # ---- the run manager: who executes queued requests ---------------------------------
    def start_run_manager(self, workers: int | None = None, resume_orphans: bool | None = None,
                          poll_s: float = 0.5, background: bool = True) -> RunManager:
        """This process executes queued and orphaned threads (the dashboard, ``prolight worker``)."""
        if self._manager is None:
            self._manager = RunManager(
                self.workflow, workers=workers or self.settings.workers, poll_s=poll_s,
                resume_orphans=self.settings.resume_orphans if resume_orphans is None else resume_orphans)
            if background:
                self._manager.run_in_background()
        return self._manager

    def stop_run_manager(self) -> None:
        if self._manager is not None:
            self._manager.close()
            self._manager = None

    def wait(self, thread_id: str, timeout: float = 60.0, until: frozenset[Status] = SETTLED) -> ThreadView:
        """Block until the thread settles (tests, scripts). Needs a run manager somewhere."""
        deadline = time.monotonic() + timeout
        while not is_settled(self.db, thread_id, until):
            if time.monotonic() > deadline:
                raise TimeoutError(f"thread {thread_id} did not settle within {timeout}s")
            time.sleep(0.05)
        return self.thread(thread_id)

    def is_settled(self, thread_id: str) -> bool:
        return is_settled(self.db, thread_id)

    # ---- commands ------------------------------------------------------------------------
    def start(self, goal: str | None = None, plan: Plan | None = None, operator: str = "operator",
              queue: bool = False, on_event: EventSink | None = None) -> ThreadView:
        """A new thread from a goal (the planner plans it) or a plan (the critic checks it)."""
        return self._answer(self.workflow.start(goal, plan, operator, on_event, execute=not queue), queue)

    def approve(self, thread_id: str, plan: Plan | None = None, operator: str = "operator",
                queue: bool = False, on_event: EventSink | None = None, seen_digest: str | None = None) -> ThreadView:
        """Approve the plan at the gate, or approve an edited ``plan`` (re-validated first).
        ``seen_digest``: the ``plan_digest`` of the view the operator decided on; refused if
        the plan at the gate has changed since."""
        return self._answer(self.workflow.approve(thread_id, plan, operator, on_event, execute=not queue,
                                                  seen_digest=seen_digest), queue)

    def reject(self, thread_id: str, feedback: str | None = None, final: bool = False,
               operator: str = "operator", queue: bool = False, on_event: EventSink | None = None) -> ThreadView:
        """With feedback the planner revises; ``final`` ends the thread REJECTED."""
        return self._answer(self.workflow.reject(thread_id, feedback, final, operator, on_event,
                                                 execute=not queue), queue)

    def resume(self, thread_id: str, operator: str = "operator", queue: bool = False,
               on_event: EventSink | None = None) -> ThreadView:
        """Continue after a crash, a failure (once fixed) or a cancel."""
        return self._answer(self.workflow.resume(thread_id, operator, on_event, execute=not queue), queue)

    def retry(self, thread_id: str, operator: str = "operator", queue: bool = False,
              on_event: EventSink | None = None) -> ThreadView:
        """Run the failed and skipped steps of a FAILED thread again."""
        return self._answer(self.workflow.resume(thread_id, operator, on_event, execute=not queue,
                                                 only_failed=True), queue)

    def cancel(self, thread_id: str, operator: str = "operator", wait_s: float = 10.0,
               queue: bool = False) -> ThreadView:
        """No new step starts; running ones get a grace period (from any process). ``queue``:
        record the request and return; whoever executes the thread, or a worker, stops it."""
        return self._answer(self.workflow.cancel(thread_id, operator, wait_s, execute=not queue), queue)

    def fork(self, thread_id: str, checkpoint_id: str, plan: Plan | None = None, operator: str = "operator",
             queue: bool = False, on_event: EventSink | None = None) -> ThreadView:
        """Time travel: continue from an earlier checkpoint, optionally with another plan."""
        return self._answer(self.workflow.fork(thread_id, checkpoint_id, plan, operator, on_event,
                                               execute=not queue), queue)

    def _answer(self, thread_id: str, queued: bool) -> ThreadView:
        if queued and self._manager is not None:
            self._manager.wake(thread_id)
        return self.thread(thread_id)

    # ---- reads ---------------------------------------------------------------------------
    def thread(self, thread_id: str) -> ThreadView:
        row = self._row(thread_id)
        snapshot = self.workflow.snapshot(thread_id)
        live = current_execution(self.db, thread_id) if views.is_executing(snapshot) else None
        return views.thread_view(snapshot, row, live, self._audit(thread_id, snapshot.values))

    def audit(self, thread_id: str) -> AuditReport:
        """The thread's decisions with their seals checked: where the trail breaks, if it does."""
        self._row(thread_id)
        return self._audit(thread_id, self.workflow.snapshot(thread_id).values)

    def _audit(self, thread_id: str, values: dict) -> AuditReport:
        return verify(self.workflow.audit_key, thread_id, values.get("decisions") or [])

    def threads(self, query: ThreadQuery | None = None) -> ThreadPage:
        query = query or ThreadQuery()
        rows, total = self.db.page_runs(tuple(s.value for s in query.statuses), query.search, query.sort,
                                        query.descending, query.offset, query.limit)
        return ThreadPage(items=[views.run_summary(r) for r in rows], total=total,
                          offset=query.offset, limit=query.limit)

    def status_counts(self) -> StatusCounts:
        counts = {Status(k): v for k, v in self.db.count_by_status().items()}
        return StatusCounts(counts=counts, total=sum(counts.values()))

    def awaiting_approval(self, limit: int = 200) -> list[PendingApproval]:
        """Threads waiting for a decision, oldest first, with what the inbox shows."""
        pending = []
        for row in self.db.runs_with_status(Status.AWAITING_APPROVAL.value, oldest_first=True, limit=limit):
            values = self.workflow.snapshot(row.thread_id).values
            estimate = values.get("estimate") or {}
            pending.append(PendingApproval(
                thread_id=row.thread_id, goal=row.goal, operator=row.operator, waiting_since=row.updated_at,
                steps=len((values.get("plan") or {}).get("steps", [])),
                risk=(values.get("critique") or {}).get("risk"), critical_path_s=estimate.get("critical_path_s")))
        return pending

    def checkpoints(self, thread_id: str) -> list[CheckpointView]:
        """The thread's checkpoints, newest first (every branch: forks keep the old ones)."""
        self._row(thread_id)
        return views.checkpoint_views(self.workflow.history(thread_id))

    def checkpoint_state(self, thread_id: str, checkpoint_id: str) -> CheckpointState:
        """The state at one checkpoint and what changed from the one before it."""
        self._row(thread_id)
        snapshot = self.workflow.snapshot(thread_id, checkpoint_id)
        parent_id = (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        parent = self.workflow.snapshot(thread_id, parent_id) if parent_id else None
        view = views.checkpoint_view(snapshot, {parent_id: parent} if parent else {})
        return CheckpointState(thread_id=thread_id, checkpoint=view, values=snapshot.values,
                               changes=views.changes(parent.values if parent else {}, snapshot.values))

    def events(self, thread_id: str, after_seq: int = 0, limit: int = 1000) -> EventPage:
        self._row(thread_id)
        events = read_events(self.db, thread_id, after_seq, limit)
        return EventPage(events=events, last_seq=events[-1].seq if events else after_seq)

    def metrics(self, since: datetime | None = None, until: datetime | None = None) -> Metrics:
        return compute_metrics(self.db, since, until)

    def prometheus_registry(self) -> CollectorRegistry:
        return prometheus_registry(self.db)

    def breakers(self) -> list[BreakerView]:
        return breaker_views(self.db)

    def check_plan(self, plan: Plan) -> list[CritiqueIssue]:
        """The rules a plan must pass before it may run (errors block), each naming its step:
        what an editor shows beside the steps before it sends the plan."""
        return check_plan(plan, self.workflow.registry)

    def tools(self) -> list[ToolView]:
        registry = self.workflow.registry
        return [ToolView(name=t.name, description=t.description, args=list(t.args), risky=registry.is_risky(t.name))
                for t in registry.tools()]

    def _row(self, thread_id: str) -> RunRow:
        return self.workflow.run_row(thread_id)



