"""The operations API: the one seam between the front ends (CLI, dashboard, HTTP API) and
the engine. Front ends call this and nothing else of ``graph/``, and every answer is a
pydantic model from ``models.py``, so they cannot drift apart. ``OperationsApi``
(``protocol.py``) is its shape; ``ui/remote.py`` is the same shape over HTTP.

Every command is a request model of the command table (``commands.py``) given to ``send``;
``start``, ``approve``… are typed shorthands for it. Commands either execute in the caller
(``queue=False``: the CLI's foreground commands) or are recorded and left to a run manager
(``queue=True``: the dashboard, the HTTP API, ``--detach``), in which case they return at
once. A request is validated before anything is written, so a refused one leaves nothing
behind; refusals are ``RequestError`` with a one-line message.

The engine (LangGraph, LangChain, the agents) is imported and built on first use: reading
our own tables (``prolight threads``, ``counts``, ``inbox``, ``events``) needs none of it,
and importing it costs over a second."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agents.tools.builtin import listing, only_builtin
from graph.core.audit import AuditReport, verify
from graph.core.events import Event, StoredEvent
from graph.core.schemas import FINISHED, FOLLOW_UNTIL, SETTLED, Action, CritiqueIssue, FollowUntil, Plan, Status
from graph.core.settings import Settings
from graph.engine.snapshots import gate_summary
from graph.operations import views
from graph.operations.branches import branch_views
from graph.operations.export import ThreadExport
from graph.operations.commands import (ApproveRequest, CancelRequest, CommandRequest, ForkRequest, RejectRequest,
                                       RestoreRequest, ResumeRequest, RetryRequest, ReviewRequest, StartRequest)
from graph.operations.models import (BranchView, CheckpointState, CheckpointView, EventPage, PendingApproval,
                                     StatusCounts, StreamPosition, ThreadPage, ThreadQuery, ThreadView, ToolView)
from graph.store.breakers import BreakerView, breaker_views
from graph.store.connect import open_database
from graph.store.database import Database, RunRow
from graph.store.event_log import current_execution, latest_payloads, latest_seqs, read_events
from graph.store.metrics import Metrics, compute_metrics, thread_tokens
from graph.store.runs import is_settled, row_settled, run_row

if TYPE_CHECKING:
    from graph.store.backup import BackupReport
    from graph.store.retention import PruneReport, StorageView
    from langchain_core.language_models import BaseChatModel
    from prometheus_client import CollectorRegistry

    from agents.tools import ToolRegistry
    from graph.engine.run_manager import RunManager
    from graph.engine.workflow import Workflow

EventSink = Callable[[Event], None]
FOLLOW_POLL_S = 0.2


class Operations:
    def __init__(self, db: Database, settings: Settings, *, model: BaseChatModel | None = None,
                 registry: ToolRegistry | None = None) -> None:
        """``settings``: what the entry point loaded (``Settings.from_env()`` there, once)."""
        self.db = db
        self.settings = settings
        self._engine_parts = (model, registry)
        self._workflow: Workflow | None = None
        self._workflow_lock = threading.Lock()
        self._manager: RunManager | None = None

    @classmethod
    def open(cls, settings: Settings, **kwargs: object) -> "Operations":
        return cls(open_database(settings.db), settings, **kwargs)  # type: ignore[arg-type]

    @property
    def workflow(self) -> Workflow:
        """The engine, built on first use (shared by the dashboard's sessions: made once)."""
        if self._workflow is None:
            with self._workflow_lock:
                if self._workflow is None:
                    from graph.engine.workflow import Workflow

                    model, registry = self._engine_parts
                    self._workflow = Workflow(self.db, self.settings, model=model, registry=registry)
        return self._workflow

    def close(self) -> None:
        self.stop_run_manager()
        self.db.close()

    # ---- the run manager: who executes queued requests ---------------------------------
    def start_run_manager(self, workers: int | None = None, resume_orphans: bool | None = None,
                          poll_s: float = 0.5, background: bool = True) -> RunManager:
        """This process executes queued and orphaned threads (the dashboard, ``prolight worker``)."""
        if self._manager is None:
            from graph.engine.run_manager import RunManager

            self._manager = RunManager(
                self.workflow, workers=workers or self.settings.workers, poll_s=poll_s,
                resume_orphans=self.settings.resume_orphans if resume_orphans is None else resume_orphans,
                retention=self.settings.retention)
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

    def is_settled(self, thread_id: str, until: FollowUntil = "settled") -> bool:
        return is_settled(self.db, thread_id, FOLLOW_UNTIL[until])

    # ---- commands ------------------------------------------------------------------------
    def send(self, request: CommandRequest, *, operator: str | None = None, queue: bool = False,
             on_event: EventSink | None = None) -> ThreadView:
        """Carry out one command of the table. ``operator``: who asks (recorded on the thread
        and in the audit trail)."""
        who = operator or "operator"
        named = getattr(request, "thread_id", None)
        if named is not None:
            self._row(named)  # an unknown thread is refused before the engine is built (a second of imports)
        flow, execute = self.workflow, not queue
        match request:
            case StartRequest():
                thread_id = flow.start(request.goal, request.plan, who, on_event, execute=execute,
                                       no_cache=request.no_cache)
            case ApproveRequest():
                thread_id = flow.approve(request.thread_id, request.plan, who, on_event, execute=execute,
                                         seen_digest=request.plan_digest, no_cache=request.no_cache)
            case RejectRequest():
                thread_id = flow.reject(request.thread_id, request.feedback, request.final, who, on_event,
                                        execute=execute)
            case ResumeRequest():
                thread_id = flow.resume(request.thread_id, who, on_event, execute=execute, reason=request.reason)
            case RetryRequest():
                thread_id = flow.resume(request.thread_id, who, on_event, execute=execute, only_failed=True,
                                        reason=request.reason)
            case CancelRequest():
                thread_id = flow.cancel(request.thread_id, who, request.wait_s, execute=execute, reason=request.reason)
            case ForkRequest():
                thread_id = flow.fork(request.thread_id, request.checkpoint_id, request.plan, who, on_event,
                                      execute=execute, reason=request.reason)
            case RestoreRequest():
                thread_id = flow.restore(request.thread_id, request.version, who, on_event, execute=execute)
            case ReviewRequest():
                thread_id = flow.review(request.thread_id, request.step_id, request.outcome, request.args,
                                        request.reason, who, on_event, execute=execute)
            case _:
                raise TypeError(f"no command takes {type(request).__name__}")
        if queue and self._manager is not None:
            self._manager.wake(thread_id)
        return self.thread(thread_id)

    # Typed shorthands for ``send`` (scripts and tests): each builds the table's request.
    def start(self, goal: str | None = None, plan: Plan | None = None, operator: str | None = None,
              queue: bool = False, on_event: EventSink | None = None, no_cache: bool = False) -> ThreadView:
        """A new thread from a goal (the planner plans it) or a plan (the critic checks it)."""
        return self.send(StartRequest(goal=goal, plan=plan, no_cache=no_cache), operator=operator, queue=queue,
                         on_event=on_event)

    def approve(self, thread_id: str, plan: Plan | None = None, operator: str | None = None,
                queue: bool = False, on_event: EventSink | None = None, plan_digest: str | None = None,
                no_cache: bool = False) -> ThreadView:
        """Approve the plan at the gate, or approve an edited ``plan`` (re-validated first).
        ``plan_digest``: that of the view the operator decided on; refused if the plan at
        the gate has changed since."""
        return self.send(ApproveRequest(thread_id=thread_id, plan=plan, plan_digest=plan_digest, no_cache=no_cache),
                         operator=operator, queue=queue, on_event=on_event)

    def reject(self, thread_id: str, feedback: str | None = None, final: bool = False,
               operator: str | None = None, queue: bool = False, on_event: EventSink | None = None) -> ThreadView:
        """With feedback the planner revises; ``final`` ends the thread REJECTED."""
        return self.send(RejectRequest(thread_id=thread_id, feedback=feedback, final=final),
                         operator=operator, queue=queue, on_event=on_event)

    def resume(self, thread_id: str, operator: str | None = None, queue: bool = False,
               on_event: EventSink | None = None, reason: str | None = None) -> ThreadView:
        """Continue after a crash, a failure (once fixed) or a cancel."""
        return self.send(ResumeRequest(thread_id=thread_id, reason=reason), operator=operator, queue=queue,
                         on_event=on_event)

    def retry(self, thread_id: str, operator: str | None = None, queue: bool = False,
              on_event: EventSink | None = None, reason: str | None = None) -> ThreadView:
        """Run the failed and skipped steps of a FAILED thread again."""
        return self.send(RetryRequest(thread_id=thread_id, reason=reason), operator=operator, queue=queue,
                         on_event=on_event)

    def cancel(self, thread_id: str, operator: str | None = None, wait_s: float = 10.0,
               queue: bool = False, reason: str | None = None) -> ThreadView:
        """No new step starts; running ones get a grace period (from any process). ``queue``:
        record the request and return; whoever executes the thread, or a worker, stops it."""
        return self.send(CancelRequest(thread_id=thread_id, wait_s=wait_s, reason=reason), operator=operator,
                         queue=queue)

    def fork(self, thread_id: str, checkpoint_id: str, plan: Plan | None = None, operator: str | None = None,
             queue: bool = False, on_event: EventSink | None = None, reason: str | None = None) -> ThreadView:
        """Time travel: continue from an earlier checkpoint, optionally with another plan."""
        return self.send(ForkRequest(thread_id=thread_id, checkpoint_id=checkpoint_id, plan=plan, reason=reason),
                         operator=operator, queue=queue, on_event=on_event)

    def restore(self, thread_id: str, version: int, operator: str | None = None, queue: bool = False,
                on_event: EventSink | None = None) -> ThreadView:
        """Bring back an earlier plan version as the plan to decide on (a new version)."""
        return self.send(RestoreRequest(thread_id=thread_id, version=version), operator=operator, queue=queue,
                         on_event=on_event)

    def review(self, thread_id: str, step_id: str, outcome: str, args: dict[str, Any] | None = None,
               reason: str | None = None, operator: str | None = None, queue: bool = False,
               on_event: EventSink | None = None) -> ThreadView:
        """Decide on a step whose checks kept failing: accept, retry (with ``args``) or fail."""
        return self.send(ReviewRequest(thread_id=thread_id, step_id=step_id, outcome=outcome, args=args,
                                       reason=reason), operator=operator, queue=queue, on_event=on_event)

    # ---- reads ---------------------------------------------------------------------------
    def thread(self, thread_id: str) -> ThreadView:
        return self._view(thread_id)[0]

    def _view(self, thread_id: str) -> tuple[ThreadView, dict[str, Any]]:
        """The thread's view and the state values it was made from (one checkpoint read)."""
        row = self._row(thread_id)
        snapshot = self.workflow.snapshot(thread_id)
        live = current_execution(self.db, thread_id) if views.is_executing(snapshot) else None
        tokens = thread_tokens(self.db, thread_id) if row.model != "offline" else None  # the offline model counts none
        return views.thread_view(snapshot, row, live, self._audit(thread_id, snapshot.values), tokens), snapshot.values

    def export(self, thread_id: str) -> ThreadExport:
        """The thread as one document a reviewer reads without the database (``export.py``),
        redacted once more against the secrets this process knows."""
        from graph.core.secrets import redact

        view, values = self._view(thread_id)
        document = ThreadExport(
            thread_id=thread_id, goal=view.goal, status=view.status, operator=view.operator, model=view.model,
            created_at=view.created_at, plan_versions=view.plan_versions, critique=view.critique,
            decisions=values.get("decisions") or [], audit=view.audit or self._audit(thread_id, values),
            steps=view.steps, report=view.report, error=view.error, events=read_events(self.db, thread_id))
        known = {name: secret.get_secret_value() for name, secret in self.settings.secrets.items()
                 if secret.get_secret_value()}
        return ThreadExport.model_validate(redact(document.model_dump(mode="json"), known))

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
        """Threads waiting for a decision, oldest first: at the approval gate, or for the
        review of a step. What the inbox shows (``gate_summary``) comes from the pause's
        event (one query), or for a thread that reached the gate before the event carried it,
        from its checkpoint."""
        pending = []
        for status, kind, event in ((Status.AWAITING_APPROVAL, "approval", "awaiting_approval"),
                                    (Status.AWAITING_REVIEW, "review", "awaiting_review")):
            rows = self.db.runs_with_status(status.value, oldest_first=True, limit=limit)
            paused = latest_payloads(self.db, [r.thread_id for r in rows], event)
            for row in rows:
                shown = paused.get(row.thread_id) or {}
                if "steps" not in shown:
                    shown = gate_summary(self.workflow.snapshot(row.thread_id).values)
                pending.append(PendingApproval(
                    thread_id=row.thread_id, goal=row.goal, operator=row.operator, waiting_since=row.updated_at,
                    steps=shown["steps"], risk=shown.get("risk"), critical_path_s=shown.get("critical_path_s"),
                    kind=kind, review=shown.get("review") or []))
        return sorted(pending, key=lambda p: p.waiting_since)[:limit]

    def checkpoints(self, thread_id: str) -> list[CheckpointView]:
        """The thread's checkpoints, newest first (every branch: forks keep the old ones)."""
        self._row(thread_id)
        return views.checkpoint_views(self.workflow.history(thread_id))

    def branches(self, thread_id: str) -> list[BranchView]:
        """The thread's branches in the order they were made, each with its outcome."""
        self._row(thread_id)
        forks = [e for e in read_events(self.db, thread_id)
                 if e.kind == "decision" and e.payload.get("action") == Action.FORK]
        return branch_views(self.workflow.history(thread_id), forks, lambda values: self._audit(thread_id, values))

    def checkpoint_state(self, thread_id: str, checkpoint_id: str) -> CheckpointState:
        """The state at one checkpoint and what changed from the one before it."""
        self._row(thread_id)
        snapshot = self.workflow.snapshot(thread_id, checkpoint_id)
        parent_id = (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        parent = self.workflow.snapshot(thread_id, parent_id) if parent_id else None
        view = views.checkpoint_view(snapshot, {parent_id: parent} if parent else {})
        values = views.filled_state(snapshot.values)
        return CheckpointState(thread_id=thread_id, checkpoint=view, values=values,
                               changes=views.changes(views.filled_state(parent.values) if parent else {}, values))

    def events(self, thread_id: str, after_seq: int = 0, limit: int = 1000) -> EventPage:
        self._row(thread_id)
        events = read_events(self.db, thread_id, after_seq, limit)
        return EventPage(events=events, last_seq=events[-1].seq if events else after_seq)

    def follow(self, thread_id: str, after_seq: int, on_event: Callable[[StoredEvent], None] | None,
               until: FollowUntil = "finished", stop: threading.Event | None = None) -> int:
        """Pass each event after ``after_seq`` to ``on_event`` as it is stored, until the
        thread stops where ``until`` says (or ``stop`` is set: the CLI's Ctrl-C, taken
        between reads so that no database call is cut in half); the last seq seen."""
        stop = stop or threading.Event()
        while not stop.is_set():
            page = self.events(thread_id, after_seq)  # an unknown thread: refused before anything is shown
            for event in page.events:
                if on_event is not None:
                    on_event(event)
            after_seq = page.last_seq
            if not page.events and self.is_settled(thread_id, until):
                return after_seq
            if not page.events:
                stop.wait(FOLLOW_POLL_S)
        return after_seq

    def stream_positions(self, thread_ids: list[str]) -> dict[str, StreamPosition]:
        """Every watched thread's position in two queries, whatever their number: what one
        poller per server reads to feed every stream. The rows are read before the seqs, so
        a thread seen stopped has every event it wrote before stopping counted."""
        rows = self.db.get_runs(thread_ids)
        seqs = latest_seqs(self.db, list(rows))
        return {thread_id: StreamPosition(last_seq=seqs.get(thread_id, 0), status=Status(row.status),
                                          finished=row_settled(row, FINISHED), settled=row_settled(row, SETTLED))
                for thread_id, row in rows.items()}

    def metrics(self, since: datetime | None = None, until: datetime | None = None) -> Metrics:
        return compute_metrics(self.db, since, until)

    def prometheus_registry(self) -> CollectorRegistry:
        from graph.store.prometheus import prometheus_registry

        return prometheus_registry(self.db)

    def prometheus_text(self) -> str:
        return self.prometheus_exposition(None)[0].decode()

    def prometheus_exposition(self, accept: str | None) -> tuple[bytes, str]:
        """A scrape's body and content type, in the format ``accept`` asks for (OpenMetrics,
        or the text format): the one negotiation every metrics endpoint uses."""
        from graph.store.prometheus import exposition

        return exposition(self.prometheus_registry(), accept)

    def backup(self, dest: Path) -> BackupReport:
        """A consistent copy of the SQLite database, safe while workers write (``backup.py``)."""
        from graph.store.backup import backup

        return backup(self.db, dest, self.settings.audit_key_file)

    def prune(self, dry_run: bool = False, vacuum: bool = False, limit: int | None = None) -> PruneReport:
        """Apply the settings' retention policy now (``retention.py``): at most ``limit``
        threads (the policy's batch when not given); ``vacuum`` rewrites a SQLite file
        afterwards, which also turns incremental vacuum on in a file made before it."""
        from graph.store.retention import prune

        return prune(self.db, self.settings.retention, dry_run=dry_run, full_vacuum=vacuum, limit=limit)

    def breakers(self) -> list[BreakerView]:
        return breaker_views(self.db)

    def storage(self) -> StorageView:
        """The database's size, and what the retention policy will do next (``retention.py``)."""
        from graph.store.retention import storage

        return storage(self.db, self.settings.retention)

    def check_plan(self, plan: Plan) -> list[CritiqueIssue]:
        """The rules a plan must pass before it may run (errors block), each naming its step:
        what an editor shows beside the steps before it sends the plan."""
        from agents.critic import check_plan

        return check_plan(plan, self.workflow.registry)

    def tools(self) -> list[ToolView]:
        """Without tools of the user's, the built-in ones listed from their source: building
        the registry imports LangChain, over a second of a CLI call."""
        if self._workflow is None and self._engine_parts[1] is None and only_builtin(self.settings):
            tools = listing()
        else:
            tools = self.workflow.registry.listing()
        return [ToolView(name=t.name, description=t.description, args=list(t.args), risky=t.risky) for t in tools]

    def _row(self, thread_id: str) -> RunRow:
        return run_row(self.db, thread_id)
