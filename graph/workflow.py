"""The operations an operator performs on threads (start, approve, edit, reject, resume,
cancel, fork, and the read-only views). The CLI and the dashboard call these; nothing else
drives the graph. Every request is validated before anything is written, so a bad request
leaves no thread and no checkpoint behind, and a process drives a thread only while it
holds the thread's claim in the ``runs`` table, so two processes never drive one thread."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

from agents.critic import InvalidPlanError, validate_plan
from agents.tools import ToolRegistry, default_registry
from graph.breaker import BOARD, BreakerSnapshot, BreakerState
from graph.build import APPROVAL_NODE, REVIEW_NODE, build_graph
from graph.events import Event, parse
from graph.persistence import Database
from graph.schemas import Decision, Plan, Status, dump
from graph.settings import Settings
from graph.state import RESET

MAX_GOAL_CHARS = 20_000
THREAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
FINAL = {Status.COMPLETED.value, Status.REJECTED.value}
EventSink = Callable[[Event], None]


class WorkflowError(Exception):
    """A request the operator must change; the message is one line."""


class ThreadNotFound(WorkflowError):
    pass


class Workflow:
    def __init__(self, db: Database, *, settings: Settings | None = None,
                 model: BaseChatModel | None = None, registry: ToolRegistry | None = None) -> None:
        self.db = db
        self.settings = settings or Settings.from_env()
        self.registry = registry or default_registry()
        self.owner = f"{os.getpid()}@{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.graph = build_graph(db.saver, model=model, registry=self.registry, settings=self.settings,
                                 cancel_requested=db.cancel_requested)
        BOARD.configure(self.settings.breaker, self.settings.breaker_overrides)
        BOARD.listen("database", self._save_breaker)

    # ---- commands -------------------------------------------------------------------
    def start(self, goal: str | None = None, plan: Plan | None = None, operator: str = "operator",
              on_event: EventSink | None = None) -> dict[str, Any]:
        if plan is not None:
            self._validate(plan)
            goal = goal or plan.goal
        goal = (goal or "").strip()
        if not goal:
            raise WorkflowError("the goal is empty")
        if len(goal) > MAX_GOAL_CHARS:
            raise WorkflowError(f"the goal is {len(goal)} characters; the limit is {MAX_GOAL_CHARS}")
        thread_id = uuid.uuid4().hex
        self.db.create_run(thread_id, goal, Status.CREATED.value, self.settings.model, operator,
                           owner=self.owner, lease_s=self.settings.lease_s)
        inputs: dict[str, Any] = {"goal": goal}
        if plan is not None:
            inputs["plan"] = dump(plan.model_copy(update={"goal": goal}))
        with self._claimed(thread_id):
            self._drive(thread_id, inputs, on_event)
        return self.status(thread_id)

    def approve(self, thread_id: str, plan: Plan | None = None, operator: str = "operator",
                on_event: EventSink | None = None) -> dict[str, Any]:
        if plan is not None:
            self._validate(plan)
        with self._claimed(thread_id, deciding=True):
            snapshot = self._awaiting(thread_id)
            if plan is not None:
                decision = Decision(action="edit", plan=plan.model_copy(update={"goal": snapshot.values["goal"]}),
                                    operator=operator)
            else:
                blocking = [i for i in (snapshot.values.get("critique") or {}).get("issues", [])
                            if i["severity"] == "error"]
                if blocking:
                    raise WorkflowError(f"the plan has blocking issues ({blocking[0]['message']}); edit or reject it")
                decision = Decision(action="approve", operator=operator)
            self.db.request_cancel(thread_id, False)
            self._decide(thread_id, decision, Status.APPROVED)
            self._drive(thread_id, None, on_event)
        return self.status(thread_id)

    def reject(self, thread_id: str, feedback: str | None, final: bool = False, operator: str = "operator",
               on_event: EventSink | None = None) -> dict[str, Any]:
        feedback = (feedback or "").strip() or None
        if not final and not feedback:
            raise WorkflowError("a reject without --final needs --feedback for the planner")
        with self._claimed(thread_id, deciding=True):
            self._awaiting(thread_id)
            self._decide(thread_id, Decision(action="reject", feedback=feedback, final=final, operator=operator),
                         Status.REJECTED if final else Status.CRITIQUED)
            self._drive(thread_id, None, on_event)
        return self.status(thread_id)

    def resume(self, thread_id: str, operator: str = "operator", on_event: EventSink | None = None) -> dict[str, Any]:
        with self._claimed(thread_id):
            snapshot = self._snapshot(thread_id)
            status = snapshot.values.get("status")
            if snapshot.next == (REVIEW_NODE,):
                raise WorkflowError(f"thread {thread_id} is awaiting approval: approve or reject it")
            self.db.request_cancel(thread_id, False)
            if snapshot.next or snapshot.tasks:
                self._drive(thread_id, None, on_event)  # interrupted mid-run: continue from the checkpoint
            elif status in (Status.FAILED.value, Status.CANCELLED.value) and snapshot.values.get("steps"):
                decision = Decision(action="resume", operator=operator)
                self.graph.update_state(self._config(thread_id),
                                        {"decision": dump(decision), "decisions": [dump(decision)],
                                         "status": Status.EXECUTING.value}, as_node=REVIEW_NODE)
                self._drive(thread_id, None, on_event)
            else:
                raise WorkflowError(f"thread {thread_id} is {status}: nothing to resume")
        return self.status(thread_id)

    def cancel(self, thread_id: str, operator: str = "operator", wait_s: float = 10.0) -> dict[str, Any]:
        """Stop a thread. A thread another process is executing is flagged and that process
        stops it (no new step starts; running steps get a grace period); an orphan or a
        thread at the approval gate is stopped here."""
        snapshot = self._snapshot(thread_id)
        status = snapshot.values.get("status", Status.CREATED.value)
        if not snapshot.next and not snapshot.tasks:
            raise WorkflowError(f"thread {thread_id} is {status}: nothing to cancel")
        self.db.request_cancel(thread_id)
        holder = self.db.holder(thread_id)
        if holder is not None and holder != self.owner:
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and self.db.holder(thread_id) is not None:
                time.sleep(0.1)
            if self.db.holder(thread_id) is not None:
                raise WorkflowError(f"cancel requested; {holder} has not stopped thread {thread_id} within {wait_s:g}s")
            return self.status(thread_id)
        with self._claimed(thread_id):
            snapshot = self._snapshot(thread_id)
            decision = Decision(action="cancel", operator=operator)
            if snapshot.next == (REVIEW_NODE,):
                self._decide(thread_id, decision, Status.CANCELLED)
                self._drive(thread_id, None, None)
            elif "executor" in snapshot.next:
                self._drive(thread_id, None, None)  # finished steps come back from their writes; the rest stop
            else:
                self.graph.update_state(self._config(thread_id), {
                    "status": Status.CANCELLED.value, "error": "cancelled by the operator",
                    "decisions": [dump(decision)]}, as_node="reporter")
                self._sync_run(thread_id)
        return self.status(thread_id)

    def fork(self, thread_id: str, checkpoint_id: str, plan: Plan | None = None,
             on_event: EventSink | None = None) -> dict[str, Any]:
        """Time travel: continue the thread from an earlier checkpoint (optionally with another
        plan, which goes through the critic and the approval gate again)."""
        if plan is not None:
            self._validate(plan)
        with self._claimed(thread_id):
            past = self.graph.get_state(self._config(thread_id, checkpoint_id))
            if past.config["configurable"].get("checkpoint_id") != checkpoint_id or not past.values:
                raise WorkflowError(f"thread {thread_id} has no checkpoint {checkpoint_id}")
            if plan is not None:
                plan = plan.model_copy(update={"goal": past.values["goal"]})
                forked = self.graph.update_state(past.config, {
                    "plan": dump(plan), "plan_source": "operator", "status": Status.PLANNED.value,
                    "steps": {RESET: True}, "error": None, "feedback": None}, as_node="planner")
                self._drive(thread_id, None, on_event, forked)
            elif past.next == (REVIEW_NODE,):
                # Streaming from here would pass the approval gate; restore the gate instead.
                self.graph.update_state(past.config, {"status": Status.AWAITING_APPROVAL.value},
                                        as_node=APPROVAL_NODE)
            elif past.next:
                self._drive(thread_id, None, on_event, past.config)
            else:
                raise WorkflowError(f"checkpoint {checkpoint_id} is the end of a run; fork from an earlier one")
            self._sync_run(thread_id)
        return self.status(thread_id)

    # ---- views ----------------------------------------------------------------------
    def status(self, thread_id: str) -> dict[str, Any]:
        snapshot = self._snapshot(thread_id)
        values = snapshot.values
        return {
            "thread_id": thread_id,
            "status": values.get("status", Status.CREATED.value),
            "awaiting_approval": snapshot.next == (REVIEW_NODE,),
            "goal": values.get("goal"),
            "plan": values.get("plan"),
            "steps": values.get("steps") or {},
            "critique": values.get("critique"),
            "decisions": values.get("decisions") or [],
            "error": values.get("error"),
            "report": values.get("report"),
        }

    def threads(self, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        return [row.__dict__ for row in self.db.list_runs(status, limit)]

    def history(self, thread_id: str) -> list[dict[str, Any]]:
        self._snapshot(thread_id)
        # Materialised first: iterating the saver lazily holds its lock.
        snapshots = list(self.graph.get_state_history(self._config(thread_id)))
        by_id = {s.config["configurable"]["checkpoint_id"]: s for s in snapshots}
        return [{
            "checkpoint_id": s.config["configurable"]["checkpoint_id"],
            "parent_checkpoint_id": (s.parent_config or {}).get("configurable", {}).get("checkpoint_id"),
            "step": s.metadata.get("step") if s.metadata else None,
            "source": s.metadata.get("source") if s.metadata else None,
            "node": _writer_of(s, by_id),
            "next": list(s.next),
            "status": s.values.get("status", Status.CREATED.value) if s.values else None,
            "created_at": s.created_at,
        } for s in snapshots]

    def breakers(self) -> list[dict[str, Any]]:
        """Every breaker that has changed state (from the database, so any process sees them)."""
        rows = self.db.list_breakers()
        now = time.time()
        for row in rows:
            if row["state"] == "open" and row["opened_at"] and now >= row["opened_at"] + row["cooldown_s"]:
                row["state"] = "half_open"  # the next call is the trial
        return rows

    # ---- internals ------------------------------------------------------------------
    def _config(self, thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
        configurable: dict[str, Any] = {"thread_id": thread_id}
        if checkpoint_id:
            # SqliteSaver hands an addressed config back as given, and update_state then
            # needs checkpoint_ns in it: say it explicitly (root namespace).
            configurable |= {"checkpoint_id": checkpoint_id, "checkpoint_ns": ""}
        return {"configurable": configurable}

    def _snapshot(self, thread_id: str) -> StateSnapshot:
        if not THREAD_ID.match(thread_id):
            shown = thread_id if len(thread_id) <= 40 else thread_id[:40] + "…"
            raise ThreadNotFound(f"unknown thread {shown!r} (ids are letters, digits, '-' and '_')")
        if self.db.get_run(thread_id) is None:
            raise ThreadNotFound(f"unknown thread {thread_id!r}")
        return self.graph.get_state(self._config(thread_id))

    def _awaiting(self, thread_id: str) -> StateSnapshot:
        snapshot = self._snapshot(thread_id)
        if snapshot.next != (REVIEW_NODE,):
            status = snapshot.values.get("status")
            decisions = snapshot.values.get("decisions") or []
            if decisions:
                last = decisions[-1]
                raise WorkflowError(f"thread {thread_id} was already decided ({last['action']} by "
                                    f"{last['operator']} at {last['at'][:19]}); status {status}")
            raise WorkflowError(f"thread {thread_id} is not awaiting approval (status {status})")
        return snapshot

    @contextmanager
    def _claimed(self, thread_id: str, deciding: bool = False) -> Iterator[None]:
        """Hold the thread's claim (renewed in the background) for the block."""
        self._snapshot(thread_id)
        if not self._claim(thread_id):
            holder = self.db.holder(thread_id)
            if deciding:
                raise WorkflowError(f"thread {thread_id} was already decided: another process holds it ({holder})")
            raise WorkflowError(f"thread {thread_id} is being executed by another process ({holder})")
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(thread_id, stop), name="prolight-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self.db.release(thread_id, self.owner)

    def _claim(self, thread_id: str) -> bool:
        if self.db.claim(thread_id, self.owner, self.settings.lease_s):
            return True
        holder = self.db.holder(thread_id)
        return holder is not None and owner_is_dead(holder) and \
            self.db.take_over(thread_id, holder, self.owner, self.settings.lease_s)

    def _renew(self, thread_id: str, stop: threading.Event) -> None:
        while not stop.wait(self.settings.lease_s / 3):
            try:
                self.db.claim(thread_id, self.owner, self.settings.lease_s)
            except Exception:  # a busy database: try again at the next beat
                continue

    def _validate(self, plan: Plan) -> None:
        try:
            validate_plan(plan, self.registry)
        except InvalidPlanError as exc:
            raise WorkflowError(f"invalid plan: {exc}") from None

    def _decide(self, thread_id: str, decision: Decision, status: Status) -> None:
        self.graph.update_state(
            self._config(thread_id),
            {"decision": dump(decision), "decisions": [dump(decision)], "status": status.value},
            as_node=APPROVAL_NODE,
        )
        self._sync_run(thread_id)

    def _drive(self, thread_id: str, inputs: dict[str, Any] | None, on_event: EventSink | None,
               config: RunnableConfig | None = None) -> None:
        config = dict(config or self._config(thread_id))
        config["max_concurrency"] = self._threads_needed(thread_id)
        for mode, chunk in self.graph.stream(inputs, config, stream_mode=["updates", "custom"], durability="sync"):
            if mode == "custom":
                event = parse(chunk)
                if event and on_event:
                    on_event(event)
            elif mode == "updates":
                for update in chunk.values():
                    if isinstance(update, dict) and "status" in update:
                        self.db.update_run(thread_id, update["status"], update.get("error"))
        self._sync_run(thread_id)

    def _threads_needed(self, thread_id: str) -> int:
        """One thread per pending step (each waits for its dependencies on its own thread)."""
        plan = self.graph.get_state(self._config(thread_id)).values.get("plan") or {}
        return min(len(plan.get("steps", [])) + 4, self.settings.max_task_threads)

    def _sync_run(self, thread_id: str) -> None:
        values = self.graph.get_state(self._config(thread_id)).values
        self.db.update_run(thread_id, values.get("status", Status.CREATED.value), values.get("error"))

    def _save_breaker(self, snapshot: BreakerSnapshot, old: BreakerState) -> None:
        config = BOARD.overrides.get(snapshot.name, BOARD.default)
        self.db.save_breaker(snapshot.name, snapshot.state, snapshot.failures, snapshot.opened_at,
                             config.cooldown_s, snapshot.last_error)


def owner_is_dead(owner: str) -> bool:
    """True when ``owner`` (pid@host:nonce) is a process of this host that no longer exists
    (killed with -9, say), so its claim need not be waited out."""
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


def _writer_of(snapshot: StateSnapshot, by_id: dict[str, StateSnapshot]) -> str | None:
    """What produced this checkpoint: the nodes that ran from its parent, or the operator's
    update (LangGraph 1.x keeps no per-checkpoint writer in the metadata)."""
    source = (snapshot.metadata or {}).get("source")
    if source in ("input", "update", "fork"):
        return {"input": "input", "update": "operator", "fork": "fork"}[source]
    parent_id = (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    parent = by_id.get(parent_id) if parent_id else None
    return ",".join(t.name for t in parent.tasks) if parent and parent.tasks else None
