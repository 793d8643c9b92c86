"""The operations an operator performs on threads (create, start, approve, edit, reject,
resume, retry, cancel, fork, execute) and the snapshots the views are built from. The
operations API and the run manager call these; nothing else drives the graph. Every request is validated before
anything is written, so a bad request leaves no thread and no checkpoint behind. A
decision is written under the thread's claim; ``execute=False`` leaves the execution that
follows to a worker (``--detach``)."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

from agents.critic import InvalidPlanError, blocking_problem, validate_plan
from agents.tools import ToolRegistry
from graph.core.breaker import BOARD, BreakerSnapshot, BreakerState
from graph.core.nodes import EXECUTOR, HUMAN_REVIEW, PLANNER, REPORTER, REQUEST_APPROVAL, REQUEST_REVIEW
from graph.engine.build import build_graph
from graph.engine.context import RunContext
from graph.engine.executor import threads_needed
from graph.store.breakers import save_breaker
from graph.store.cache import ResultCache
from graph.store.claims import ClaimHeld, claimed, new_owner
from graph.store.estimate import Estimator
from graph.store.event_buffer import EventBuffer
from graph.store.event_log import append_events, append_rows, event_row
from graph.core.audit import plan_digest, seal
from graph.core.errors import BadInput, NotFound, PlanInputError, RequestError
from graph.core.events import SINK_KEY, Event
from graph.core.logs import log_event
from graph.store.database import Database, RunRow
from graph.core.schemas import MAX_GOAL_CHARS, Decision, Plan, ReviewOutcome, Status, dump
from graph.core.release import release
from graph.core.settings import Settings
from graph.engine.state import RESET
from graph.engine.review import review_problem, reviewed_plan
from graph.engine.snapshots import has_ended, is_awaiting, is_awaiting_review, is_paused
from graph.engine.versions import find_version, latest_version
from graph.store.runs import run_row
from graph.core.tracing import configure_exporter, conversation, fail, workflow_span

EventSink = Callable[[Event], None]

# LangGraph's checkpoint ids are UUIDs; an id that cannot be one is unknown before any query.
CHECKPOINT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class Workflow:
    def __init__(self, db: Database, settings: Settings, *,
                 model: BaseChatModel | None = None, registry: ToolRegistry | None = None) -> None:
        """``settings``: what the entry point loaded; ``model``, ``registry``: a test's own."""
        self.db = db
        self.settings = settings
        self.owner = new_owner()
        self.context = RunContext.of(settings, model=model, registry=registry, audit_key=settings.audit_secret(db.url),
                                     cancel_requested=db.cancel_requested, estimator=Estimator(db),
                                     cache=ResultCache(db))
        self.registry = self.context.registry
        self.audit_key = self.context.audit_key
        self.graph = build_graph(db.saver)
        BOARD.configure(self.settings.breaker, self.settings.breaker_overrides)
        BOARD.listen("database", self._save_breaker)
        configure_exporter(self.settings.traces_exporter)

    # ---- commands -------------------------------------------------------------------
    def create(self, goal: str | None = None, plan: Plan | None = None, operator: str = "operator",
               queued: bool = False, claim: bool = False, no_cache: bool = False) -> str:
        """A new thread with its input, not yet driven (queued for a worker, or claimed by us)."""
        return self._create(goal, plan, operator, queued, claim, no_cache)[0]

    def _create(self, goal: str | None, plan: Plan | None, operator: str, queued: bool,
                claim: bool, no_cache: bool = False) -> tuple[str, dict[str, Any]]:
        if plan is not None:
            self._validate(plan)
            goal = plan.goal if goal is None else goal
        goal = goal or ""
        if len(goal) > MAX_GOAL_CHARS:
            raise BadInput(f"the goal is {len(goal)} characters; the limit is {MAX_GOAL_CHARS}")
        goal = goal.strip()
        if not goal:
            raise BadInput("the goal is empty")
        thread_id = uuid.uuid4().hex
        inputs: dict[str, Any] = {"goal": goal}
        if plan is not None:
            inputs["plan"] = dump(plan.model_copy(update={"goal": goal}))
        if no_cache:
            inputs["no_cache"] = True
        self.db.create_run(thread_id, goal, Status.CREATED.value, self.settings.model, operator, inputs, queued,
                           owner=self.owner if claim else None, lease_s=self.settings.lease_s, release=release())
        self._record(thread_id, [Event(kind="run_created", payload={
            "goal": goal[:500], "operator": operator, "model": self.settings.model,
            "status": Status.CREATED.value, "plan_given": plan is not None})])
        return thread_id, inputs

    def start(self, goal: str | None = None, plan: Plan | None = None, operator: str = "operator",
              on_event: EventSink | None = None, execute: bool = True, no_cache: bool = False) -> str:
        """``no_cache``: this run takes nothing from the result cache (what it runs refreshes it)."""
        thread_id, inputs = self._create(goal, plan, operator, queued=not execute, claim=execute, no_cache=no_cache)
        if execute:  # a thread made just now under our claim: nothing to read back first
            with self._claimed(thread_id, held=True):
                self._drive(thread_id, inputs, on_event, known=inputs)
        return thread_id

    def execute(self, thread_id: str, on_event: EventSink | None = None) -> str:
        """Drive a thread as far as it goes (to the approval gate or the end), or stop it
        if a cancel is pending."""
        with self._claimed(thread_id):
            self.db.set_queued(thread_id, False)
            snapshot = self._snapshot(thread_id)
            request = self.db.cancel_request(thread_id)
            if request is not None:
                if not has_ended(snapshot):
                    self._stop(thread_id, snapshot, *request)
            elif not snapshot.values:
                inputs = self.db.graph_input(thread_id)
                self._drive(thread_id, inputs, on_event, known=inputs)
            elif (snapshot.next or snapshot.tasks) and not is_paused(snapshot):
                self._drive(thread_id, None, on_event, known=snapshot.values)
        return thread_id

    def approve(self, thread_id: str, plan: Plan | None = None, operator: str = "operator",
                on_event: EventSink | None = None, execute: bool = True, seen_digest: str | None = None,
                no_cache: bool = False) -> str:
        """``seen_digest``: the digest of the plan the operator was shown (and edited); the
        approval is refused if the plan at the gate is another one by now."""
        if plan is not None:
            self._validate(plan)
        with self._claimed(thread_id, deciding=True):
            snapshot = self._awaiting(thread_id)
            at_gate = plan_digest(snapshot.values["plan"])
            if seen_digest is not None and seen_digest != at_gate:
                raise RequestError(f"the plan at the gate is not the one you were shown (it is {at_gate[:19]}…, "
                                   f"you saw {seen_digest[:19]}…): look at it again before approving")
            if plan is not None:
                edited = plan.model_copy(update={"goal": snapshot.values["goal"]})
                decision = Decision(action="edit", plan=edited, plan_digest=plan_digest(dump(edited)),
                                    operator=operator)
            else:
                problem = blocking_problem((snapshot.values.get("critique") or {}).get("issues", []))
                if problem:
                    raise RequestError(f"the plan has blocking issues ({problem}); edit or reject it")
                decision = Decision(action="approve", plan_digest=at_gate, operator=operator)
            self.db.clear_cancel(thread_id)
            self._decide(thread_id, snapshot, decision, Status.APPROVED, extra={"no_cache": True} if no_cache else None)
            self._continue(thread_id, on_event, execute, known={"plan": dump(decision.plan)} if decision.plan
                           else snapshot.values)
        return thread_id

    def reject(self, thread_id: str, feedback: str | None, final: bool = False, operator: str = "operator",
               on_event: EventSink | None = None, execute: bool = True) -> str:
        feedback = (feedback or "").strip() or None
        if not final and not feedback:
            raise BadInput("a reject needs feedback for the planner unless it is final")
        with self._claimed(thread_id, deciding=True):
            snapshot = self._awaiting(thread_id)
            self._decide(thread_id, snapshot,
                         Decision(action="reject", feedback=feedback, final=final, operator=operator),
                         Status.REJECTED if final else Status.CRITIQUED)
            self._continue(thread_id, on_event, execute or final)
        return thread_id

    def restore(self, thread_id: str, version: int, operator: str = "operator", on_event: EventSink | None = None,
                execute: bool = True) -> str:
        """Bring back an earlier version of the plan as the plan to decide on: a new version,
        checked by the critic, at the gate again; the audit trail records the restore."""
        with self._claimed(thread_id, deciding=True):
            snapshot = self._awaiting(thread_id)
            found = find_version(snapshot.values, version)
            if found is None:
                count = len(snapshot.values.get("plan_versions") or [])
                raise RequestError(f"thread {thread_id} has no plan version {version} (it has {count})")
            if found["digest"] == plan_digest(snapshot.values["plan"]):
                raise RequestError(f"version {version} is the plan at the gate already")
            plan = Plan.model_validate(found["plan"])
            decision = Decision(action="restore", plan=plan, restores=version, plan_digest=plan_digest(dump(plan)),
                                operator=operator)
            self._decide(thread_id, snapshot, decision, Status.CRITIQUED)
            self._continue(thread_id, on_event, execute, known={"plan": dump(plan)})
        return thread_id

    def review(self, thread_id: str, step: str, outcome: ReviewOutcome, args: dict[str, Any] | None = None,
               reason: str | None = None, operator: str = "operator", on_event: EventSink | None = None,
               execute: bool = True) -> str:
        """Decide on a step whose checks kept failing: accept its output, retry it (with
        ``args`` instead, checked like an edited plan's), or fail it. Sealed like an
        approval; its digest binds the plan that runs next."""
        if args is not None and outcome != "retry":
            raise BadInput("args go with the outcome retry: only a step run again can take other args")
        with self._claimed(thread_id, deciding=True):
            snapshot = self._snapshot(thread_id)
            if step not in {s["id"] for s in (snapshot.values.get("plan") or {}).get("steps", [])}:
                raise NotFound(f"thread {thread_id} has no step {step!r}")
            if not is_awaiting_review(snapshot):
                raise RequestError(f"thread {thread_id} is not awaiting review "
                                   f"(status {snapshot.values.get('status', Status.CREATED.value)})")
            problem = review_problem(snapshot.values, step)
            if problem is not None:
                raise RequestError(problem)
            decision = Decision(action="review", step=step, outcome=outcome, args=args, reason=reason,
                                operator=operator)
            plan = reviewed_plan(snapshot.values["plan"], decision)
            if args is not None:
                self._validate(Plan.model_validate(plan))
            decision = decision.model_copy(update={"plan_digest": plan_digest(plan)})
            self._decide(thread_id, snapshot, decision, Status.EXECUTING, REQUEST_REVIEW)
            self._continue(thread_id, on_event, execute, known=snapshot.values)
        return thread_id

    def resume(self, thread_id: str, operator: str = "operator", on_event: EventSink | None = None,
               execute: bool = True, only_failed: bool = False, reason: str | None = None) -> str:
        """Continue a thread that stopped: one interrupted mid-run (a crash) from its
        checkpoint, or a FAILED or CANCELLED one by re-running the steps that did not
        succeed. ``only_failed`` (``retry``): the thread must have ended FAILED."""
        with self._claimed(thread_id):
            snapshot = self._snapshot(thread_id)
            status = snapshot.values.get("status")
            if is_awaiting(snapshot):
                raise RequestError(f"thread {thread_id} is awaiting approval: approve or reject it")
            if is_awaiting_review(snapshot):
                raise RequestError(f"thread {thread_id} is awaiting review: accept, retry or fail each step "
                                   "that awaits it (prolight review)")
            interrupted = not has_ended(snapshot)
            if only_failed and (interrupted or status != Status.FAILED.value):
                raise RequestError(f"thread {thread_id} is {status}: retry is for a FAILED thread")
            self.db.clear_cancel(thread_id)
            if interrupted:
                pass  # continue from the checkpoint
            elif status in (Status.FAILED.value, Status.CANCELLED.value) and snapshot.values.get("steps"):
                decision = Decision(action="retry" if only_failed else "resume", operator=operator, reason=reason)
                sealed = self._seal(thread_id, snapshot, decision)
                self.graph.update_state(self._config(thread_id),
                                        {"decision": sealed, "decisions": [sealed],
                                         "status": Status.EXECUTING.value}, as_node=HUMAN_REVIEW)
                self._record(thread_id, [_decision_event(decision, Status.EXECUTING)])
                self._sync_run(thread_id)
            else:
                raise RequestError(f"thread {thread_id} is {status}: nothing to resume")
            inputs = None if snapshot.values else self.db.graph_input(thread_id)
            self._continue(thread_id, on_event, execute, inputs=inputs, known=inputs)
        return thread_id

    def cancel(self, thread_id: str, operator: str = "operator", wait_s: float = 10.0, execute: bool = True,
               reason: str | None = None) -> str:
        """Stop a thread. A thread a live process is executing is flagged and that process
        stops it (no new step starts; running steps get a grace period); an orphan or a
        thread at the approval gate is stopped here, or (``execute=False``) by a worker."""
        snapshot = self._snapshot(thread_id)
        status = snapshot.values.get("status", Status.CREATED.value)
        if has_ended(snapshot):
            raise RequestError(f"thread {thread_id} is {status}: nothing to cancel")
        if not execute:
            self.db.request_cancel(thread_id, by=operator, queue=True, reason=reason)
            return thread_id
        self.db.request_cancel(thread_id, by=operator, reason=reason)
        self.db.set_queued(thread_id, False)
        holder = self.db.holder(thread_id)
        if holder is not None:
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and self.db.holder(thread_id) is not None:
                time.sleep(0.1)
            if self.db.holder(thread_id) is not None:
                raise RequestError(f"cancel requested; {holder} has not stopped thread {thread_id} within {wait_s:g}s")
            snapshot = self._snapshot(thread_id)
            if not snapshot.next and not snapshot.tasks:
                return thread_id
        with self._claimed(thread_id):
            self._stop(thread_id, self._snapshot(thread_id), operator, reason)
        return thread_id

    def _stop(self, thread_id: str, snapshot: StateSnapshot, operator: str, reason: str | None = None) -> None:
        """End a thread nobody else is executing as CANCELLED (under our claim). Mid-run, the
        drive stops the steps and ``_drive`` records who cancelled it."""
        decision = Decision(action="cancel", operator=operator, reason=reason)
        if is_paused(snapshot):
            self._decide(thread_id, snapshot, decision, Status.CANCELLED,
                         REQUEST_REVIEW if is_awaiting_review(snapshot) else REQUEST_APPROVAL)
            self._drive(thread_id, None, None)
        elif EXECUTOR in snapshot.next:
            self._drive(thread_id, None, None)  # finished steps come back from their writes; the rest stop
        else:
            config = self._config(thread_id)
            if not snapshot.values:
                config = self.graph.update_state(config, self.db.graph_input(thread_id), as_node="__start__")
            self.graph.update_state(config, {
                "status": Status.CANCELLED.value, "error": f"cancelled by {operator}",
                "decisions": [self._seal(thread_id, snapshot, decision)]}, as_node=REPORTER)
            self._record(thread_id, [_decision_event(decision, Status.CANCELLED),
                                     Event(kind="run_cancelled", payload={"status": Status.CANCELLED.value})])
            self._sync_run(thread_id)

    def fork(self, thread_id: str, checkpoint_id: str, plan: Plan | None = None, operator: str = "operator",
             on_event: EventSink | None = None, execute: bool = True, reason: str | None = None) -> str:
        """Time travel: continue the thread from an earlier checkpoint (optionally with another
        plan, which goes through the critic and the approval gate again). The fork is written
        first as the thread's newest checkpoint, so a worker can take it like any request."""
        if plan is not None:
            self._validate(plan)
        with self._claimed(thread_id):
            past = self.snapshot(thread_id, checkpoint_id)
            if past.config["configurable"].get("checkpoint_id") != checkpoint_id or not past.values:
                raise NotFound(f"thread {thread_id} has no checkpoint {checkpoint_id}")
            if plan is None and not past.next:
                raise RequestError(f"checkpoint {checkpoint_id} is the end of a run; fork from an earlier one")
            # The fork is a decision on the new branch's audit trail, linked to the trail there.
            decision = Decision(action="fork", operator=operator, reason=reason, forked_from=checkpoint_id)
            sealed = {"decisions": [self._seal(thread_id, past, decision)]}
            status = Status(past.values.get("status", Status.CREATED.value))
            if plan is not None:
                plan = plan.model_copy(update={"goal": past.values["goal"]})
                status = Status.PLANNED
                self.graph.update_state(past.config, {
                    "plan": dump(plan), "plan_source": "operator", "status": status.value,
                    "steps": {RESET: True}, "error": None, "feedback": None, **sealed}, as_node=PLANNER)
            elif past.next == (HUMAN_REVIEW,):
                # Streaming from here would pass the approval gate; restore the gate instead.
                status = Status.AWAITING_APPROVAL
                self.graph.update_state(past.config, {"status": status.value, **sealed}, as_node=REQUEST_APPROVAL)
            else:
                self._fork_mid_run(past, sealed)
            self._record(thread_id, [_decision_event(decision, status)])
            self._sync_run(thread_id)
            if plan is not None or past.next != (HUMAN_REVIEW,):
                self._continue(thread_id, on_event, execute)
        return thread_id

    def _fork_mid_run(self, past: StateSnapshot, sealed: dict[str, Any]) -> None:
        """Continue from a checkpoint inside a run: written as the node that made it (so the
        next step is the same) with the fork decision. A checkpoint no single node made
        (the input) is copied as LangGraph forks, and the fork is in the event log only."""
        parent = self.graph.get_state(past.parent_config) if past.parent_config else None
        writer = parent.next[0] if parent is not None and len(parent.next) == 1 else None
        if writer and not writer.startswith("__"):
            self.graph.update_state(past.config, sealed, as_node=writer)
        else:
            self.graph.update_state(past.config, None, as_node="__copy__")  # LangGraph's own fork

    # ---- internals ------------------------------------------------------------------
    def _config(self, thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
        configurable: dict[str, Any] = {"thread_id": thread_id}
        if checkpoint_id:
            # SqliteSaver hands an addressed config back as given, and update_state then
            # needs checkpoint_ns in it: say it explicitly (root namespace).
            configurable |= {"checkpoint_id": checkpoint_id, "checkpoint_ns": ""}
        return {"configurable": configurable}

    def run_row(self, thread_id: str) -> RunRow:
        """The thread's ``runs`` row, or ThreadNotFound (an ill-formed id never reaches SQL)."""
        return run_row(self.db, thread_id)

    def _snapshot(self, thread_id: str) -> StateSnapshot:
        self.run_row(thread_id)
        return self.graph.get_state(self._config(thread_id))

    # ---- reads (the operations API builds its views on these) ---------------------------
    def snapshot(self, thread_id: str, checkpoint_id: str | None = None) -> StateSnapshot:
        """The thread's state now, or at ``checkpoint_id``; the caller has checked the id."""
        if checkpoint_id is not None and not CHECKPOINT_ID.match(checkpoint_id):  # never reaches SQL
            raise NotFound(f"thread {thread_id} has no checkpoint {checkpoint_id[:40]!r}")
        snapshot = self.graph.get_state(self._config(thread_id, checkpoint_id))
        if checkpoint_id and (snapshot.config["configurable"].get("checkpoint_id") != checkpoint_id
                              or not snapshot.created_at):
            raise NotFound(f"thread {thread_id} has no checkpoint {checkpoint_id}")
        return snapshot

    def history(self, thread_id: str) -> list[StateSnapshot]:
        # Materialised at once: iterating the saver lazily holds its lock.
        return list(self.graph.get_state_history(self._config(thread_id)))

    def _awaiting(self, thread_id: str) -> StateSnapshot:
        """The state at the gate; called under a claim, which has found the thread's row."""
        snapshot = self.graph.get_state(self._config(thread_id))
        if not is_awaiting(snapshot):
            status = snapshot.values.get("status", Status.CREATED.value)
            decisions = snapshot.values.get("decisions") or []
            if decisions:
                last = decisions[-1]
                raise RequestError(f"thread {thread_id} was already decided ({last['action']} by "
                                    f"{last['operator']} at {last['at'][:19]}); status {status}")
            raise RequestError(f"thread {thread_id} is not awaiting approval (status {status})")
        return snapshot

    @contextmanager
    def _claimed(self, thread_id: str, deciding: bool = False, held: bool = False) -> Iterator[None]:
        self.run_row(thread_id)
        try:
            with claimed(self.db, thread_id, self.owner, self.settings.lease_s, held):
                yield
        except ClaimHeld as held:
            if deciding:
                raise RequestError(f"thread {thread_id} was already decided: another worker holds it "
                                    f"({held.holder})") from None
            raise RequestError(f"thread {thread_id} is being executed by another worker ({held.holder})") from None

    def _validate(self, plan: Plan) -> None:
        try:
            validate_plan(plan, self.registry)
        except InvalidPlanError as exc:
            raise PlanInputError(f"invalid plan: {exc}") from None

    def _seal(self, thread_id: str, snapshot: StateSnapshot, decision: Decision) -> dict[str, Any]:
        """The decision as the audit trail records it, with the plan version it was made on,
        linked to the trail in ``snapshot`` (read under the thread's claim, so nothing is
        appended in between)."""
        decision = decision.model_copy(update={"plan_version": latest_version(snapshot.values)})
        return seal(self.audit_key, thread_id, dump(decision), snapshot.values.get("decisions") or [])

    def _decide(self, thread_id: str, snapshot: StateSnapshot, decision: Decision, status: Status,
                as_node: str = REQUEST_APPROVAL, extra: dict[str, Any] | None = None) -> None:
        """Written as the node before the pause it answers, so ``human_review`` applies it next."""
        sealed = self._seal(thread_id, snapshot, decision)
        self.graph.update_state(
            self._config(thread_id),
            {"decision": sealed, "decisions": [sealed], "status": status.value, **(extra or {})},
            as_node=as_node,
        )
        self._record(thread_id, [_decision_event(decision, status)], (status.value, None))

    def _continue(self, thread_id: str, on_event: EventSink | None, execute: bool,
                  known: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None) -> None:
        """Drive on now, or leave the thread queued for a worker (``--detach``)."""
        if execute:
            self._drive(thread_id, inputs, on_event, known=known)
        else:
            self.db.set_queued(thread_id, True)

    def _drive(self, thread_id: str, inputs: dict[str, Any] | None, on_event: EventSink | None,
               config: RunnableConfig | None = None, known: dict[str, Any] | None = None) -> None:
        """Stream the graph from ``inputs`` (or its checkpoint) until it pauses or ends.
        ``known``: the thread's values (or input) the caller already read, to size the
        thread pool without reading the state again."""
        config = dict(config or self._config(thread_id))
        config["max_concurrency"] = self._threads_needed(thread_id, known)
        log = EventBuffer(lambda rows, status: append_rows(self.db, thread_id, rows, status))
        wrote_status = False
        last_status: list[str] = []
        last_error: list[str | None] = [None]
        lock = threading.Lock()

        def take(event: Event) -> None:
            """Called on whichever thread emitted the event. The row is made outside any
            lock; only the append (in the buffer) and the caller's callback are serialised.
            Holding one lock across the whole of it made the steps' threads queue behind
            each other (a thread that lost the GIL inside it blocked all the others) and
            cost more than the events themselves. Statuses come from node events, which
            the nodes emit one after another."""
            nonlocal wrote_status
            log.add(event_row(event))
            log_event(thread_id, event)
            if on_event:
                with lock:
                    on_event(event)
            if event.kind == "node_finished" and "status" in event.payload:
                log.set_status(event.payload["status"], event.payload.get("error"))
                wrote_status = True
                last_status[:] = [event.payload["status"]]
                last_error[:] = [event.payload.get("error")]

        config["configurable"] = {**config.get("configurable", {}), SINK_KEY: take}
        try:
            with conversation(thread_id), workflow_span(thread_id) as span:
                # No stream mode at all: the events come through the sink, and without "custom"
                # LangGraph runs a superstep's single node on this thread instead of handing it,
                # and a waiter, to its pool (2.5 ms of a 25 ms run).
                for _ in self.graph.stream(inputs, config, context=self.context, stream_mode=[], durability="sync"):
                    pass
                if last_status == [Status.FAILED.value]:  # a run that ends FAILED is an error of its span
                    fail(span, last_error[0] or "the run failed", "run_failed")
        finally:
            log.flush()
        if not wrote_status:  # e.g. a drive that only re-reached the gate: mirror the state anyway
            self._sync_run(thread_id)
        if last_status == [Status.CANCELLED.value]:
            self._seal_cancel(thread_id)

    def _seal_cancel(self, thread_id: str) -> None:
        """A run this drive stopped on a cancel request: the cancel goes on the audit trail
        with who asked and why (the request is in the runs row), unless it is there already
        (a cancel at the gate is recorded before the drive)."""
        request = self.db.cancel_request(thread_id)
        snapshot = self._snapshot(thread_id)
        trail = snapshot.values.get("decisions") or []
        if request is None or (trail and trail[-1].get("action") == "cancel"):
            return
        decision = Decision(action="cancel", operator=request[0], reason=request[1])
        self.graph.update_state(self._config(thread_id), {"decisions": [self._seal(thread_id, snapshot, decision)]},
                                as_node=REPORTER)
        self._record(thread_id, [_decision_event(decision, Status.CANCELLED)])

    def _record(self, thread_id: str, events: list[Event], status: tuple[str, str | None] | None = None) -> None:
        append_events(self.db, thread_id, events, status)
        for event in events:
            log_event(thread_id, event)

    def _threads_needed(self, thread_id: str, known: dict[str, Any] | None) -> int:
        values = known if known is not None else self.graph.get_state(self._config(thread_id)).values
        return threads_needed(values.get("plan") or {}, self.settings)

    def _sync_run(self, thread_id: str) -> None:
        values = self.graph.get_state(self._config(thread_id)).values
        self._record(thread_id, [], (values.get("status", Status.CREATED.value), values.get("error")))

    def _save_breaker(self, snapshot: BreakerSnapshot, old: BreakerState) -> None:
        config = BOARD.overrides.get(snapshot.name, BOARD.default)
        save_breaker(self.db, snapshot.name, snapshot.state, snapshot.failures, snapshot.opened_at,
                             config.cooldown_s, snapshot.last_error)


def _decision_event(decision: Decision, status: Status) -> Event:
    return Event(kind="decision", payload={
        "action": decision.action, "operator": decision.operator, "status": status.value,
        "feedback": decision.feedback, "final": decision.final or None, "restores": decision.restores,
        "reason": decision.reason, "checkpoint_id": decision.forked_from, "step": decision.step,
        "outcome": decision.outcome})
