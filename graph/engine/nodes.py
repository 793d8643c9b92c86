"""The graph's nodes. Each reads the state, calls one thing, and returns a partial update;
the routing functions beside them decide the next node from the state alone. Every node
reports its start and its end (with the status it set) as events of its own, so whoever
drives the graph needs no stream mode but the events: LangGraph's ``tasks`` and ``updates``
modes would also report each of the executor's thousand step tasks."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphBubbleUp
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import ValidationError

from agents.critic import blocking_problem, critique
from agents.models import ModelConfigError
from agents.offline_model import OfflineChatModel
from agents.planner import draft_plan
from agents.structured import ModelCallError, ModelOutputError, model_name, span_provider
from agents.tools.context import ToolContext

from graph.core.audit import execution_refusal, plan_digest, seal
from graph.core.events import emit
from graph.core.nodes import CRITIC, EXECUTOR, HUMAN_REVIEW, PLANNER, REPORTER, REQUEST_APPROVAL, REQUEST_REVIEW
from graph.engine.context import RunContext, context_of
from graph.engine.executor import execute_plan
from graph.engine.gate_request import UnreadableAnswer, decision_from_answer, gate_request
from graph.engine.review import apply_review, awaiting_review, reviewed_plan
from graph.engine.snapshots import gate_summary
from graph.core.schemas import Critique, Decision, Plan, Status, StepStatus, dump
from graph.engine.state import RESET, WorkflowState
from graph.engine.versions import latest_version, new_version
from graph.core.tracing import agent_span, fail


def planner(state: WorkflowState, ctx: RunContext) -> dict[str, Any]:
    with agent_span(PLANNER, span_provider(ctx.model), model_name(ctx.model)) as span:
        try:
            plan = draft_plan(state["goal"], ctx.model, ctx.registry, ctx.settings, state.get("feedback"))
        except (ModelOutputError, ModelCallError, ModelConfigError) as exc:
            fail(span, exc)
            emit("run_failed", node=PLANNER, payload={"error": str(exc), "status": Status.FAILED.value})
            return {"status": Status.FAILED.value, "error": f"planning failed: {exc}"}
    emit("plan_created", node=PLANNER, payload={"steps": len(plan.steps)})
    kept = new_version(state, dump(plan), "revision" if state.get("plan_versions") else "planner")
    return {"plan": dump(plan), "plan_source": "planner", "status": Status.PLANNED.value,
            "steps": {RESET: True}, "feedback": None, "error": None, "plan_versions": kept}

def critic(state: WorkflowState, ctx: RunContext) -> dict[str, Any]:
    """Also the graph's entry for a plan given as input, which may come from a client of
    LangGraph's own API (the Agent Server) unchecked: a plan without its goal takes the
    thread's, and one that does not validate ends the run FAILED with the reason."""
    try:
        plan = Plan.model_validate({"goal": state.get("goal", ""), **(state.get("plan") or {})})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        error = f"invalid plan: {where}: {first['msg']}"
        emit("run_failed", node=CRITIC, payload={"error": error, "status": Status.FAILED.value})
        return {"status": Status.FAILED.value, "error": error}
    reviewer = None if isinstance(ctx.model, OfflineChatModel) else ctx.model
    with agent_span(CRITIC, span_provider(ctx.model), model_name(ctx.model)) as span:
        try:
            verdict = critique(plan, ctx.registry, ctx.settings, reviewer)
        except (ModelOutputError, ModelCallError) as exc:
            fail(span, exc)
            verdict = critique(plan, ctx.registry, ctx.settings)
            verdict.issues.append(_warning(f"model review unavailable: {exc}"))
    revisions = state.get("revisions", 0)
    revise = (verdict.verdict == "revise" and revisions < ctx.settings.max_revisions
              and state.get("plan_source", "operator") == "planner")
    emit("critique", node=CRITIC, payload={"verdict": verdict.verdict, "issues": len(verdict.issues)})
    checked = dump(plan)
    update: dict[str, Any] = {"critique": dump(verdict), "status": Status.CRITIQUED.value, "plan": checked,
                              "plan_versions": new_version(state, checked, state.get("plan_source") or "operator")}
    if revise:
        update |= {"revisions": revisions + 1, "feedback": _feedback(verdict)}
    return update

def request_approval(state: WorkflowState, ctx: RunContext) -> dict[str, Any]:
    update: dict[str, Any] = {"status": Status.AWAITING_APPROVAL.value}
    if ctx.estimator is not None:
        update["estimate"] = ctx.estimator(Plan.model_validate(state["plan"]))
        emit("estimate", node=REQUEST_APPROVAL, payload=update["estimate"])
    emit("awaiting_approval", node=REQUEST_APPROVAL, payload={
        "status": Status.AWAITING_APPROVAL.value, **gate_summary({**state, **update})})
    return update | {"decision": None}  # the decision that answers this pause is yet to come

def human_review(state: WorkflowState, ctx: RunContext, config: RunnableConfig) -> dict[str, Any]:
    """Applies the decision written with update_state. The front ends record it sealed in
    the audit trail as they write it; a decision written by a client of LangGraph's own
    API (the Agent Server) is not, and is sealed here, with the digest of the plan it
    approves. A sealed decision that is not the trail's last is refused."""
    thread_id = config["configurable"].get("thread_id", "")
    raw, answered = state.get("decision"), {}
    if raw is None:  # no front end of ours wrote one (LangGraph's clients): ask, as they read it
        try:
            raw = dump(decision_from_answer(interrupt(gate_request(dict(state))), dict(state), _caller(config)))
        except UnreadableAnswer as exc:  # the thread stays at its pause and asks again
            return {"status": state.get("status"), "error": f"the answer was refused: {exc}"}
        answered = {"decision": raw, "error": None}  # the executor reads whether it follows a review
    decision = Decision.model_validate(raw)
    trail = state.get("decisions") or []
    recorded: list[dict[str, Any]] = []
    if not raw.get("seal"):
        digest = decision.plan_digest
        if digest is None and decision.action == "review":
            digest = plan_digest(reviewed_plan(state.get("plan") or {}, decision))
        elif digest is None and decision.action in ("approve", "edit"):
            digest = plan_digest(dump(decision.plan) if decision.plan is not None else state.get("plan") or {})
        recorded = [seal(ctx.audit_key, thread_id, dump(decision.model_copy(update={
            "plan_digest": digest, "plan_version": decision.plan_version or latest_version(state)})), trail)]
    elif not trail or trail[-1].get("seal") != raw["seal"]:
        error = "refused: the decision at the gate is not the last one in the audit trail"
        emit("run_failed", node=HUMAN_REVIEW, payload={"error": error, "status": Status.FAILED.value})
        return {"status": Status.FAILED.value, "error": error}
    return answered | _apply(decision, state, ctx) | ({"decisions": recorded} if recorded else {})


def _caller(config: RunnableConfig) -> str:
    """Who answered through LangGraph's API: the Agent Server's authenticated user, if any."""
    return str(config["configurable"].get("langgraph_auth_user_id") or "langgraph-client")

def _apply(decision: Decision, state: WorkflowState, ctx: RunContext) -> dict[str, Any]:
    if decision.action == "review":
        return apply_review(decision, dict(state))
    if decision.action == "cancel":
        emit("run_cancelled", node=HUMAN_REVIEW, payload={"status": Status.CANCELLED.value})
        return {"status": Status.CANCELLED.value, "error": "cancelled by the operator"}
    if decision.action == "reject":
        if decision.final:
            return {"status": Status.REJECTED.value}
        return {"feedback": decision.feedback, "revisions": 0, "status": Status.CRITIQUED.value}
    update: dict[str, Any] = {"error": None}
    issues = (state.get("critique") or {}).get("issues", [])
    if decision.action in ("edit", "restore") and decision.plan is not None:
        verdict = critique(decision.plan, ctx.registry, ctx.settings)
        decided = dump(decision.plan)
        update = {"plan": decided, "plan_source": "operator", "critique": dump(verdict), "steps": {RESET: True},
                  "plan_versions": new_version(state, decided, decision.action, by=decision.operator,
                                               restored_from=decision.restores)}
        issues = verdict.issues
        if decision.action == "restore":  # back to the gate with it: a new decision is asked for
            return update | {"status": Status.AWAITING_APPROVAL.value}
    if blocking_problem(issues):  # a decision written around Workflow.approve (Agent Server)
        return update | {"status": Status.AWAITING_APPROVAL.value}
    return update | {"status": Status.EXECUTING.value}

def executor(state: WorkflowState, ctx: RunContext, config: RunnableConfig) -> dict[str, Any]:
    """Runs the plan only if it is exactly the one the last approval sealed, whatever
    wrote the state since (an update through LangGraph's API, an edited checkpoint)."""
    thread_id = config["configurable"].get("thread_id", "")
    refusal = execution_refusal(ctx.audit_key, thread_id, state)
    if refusal is not None:
        return {"status": Status.FAILED.value, "error": refusal}
    check = ctx.cancel_requested
    return execute_plan(state, ctx.registry, ToolContext(ctx.settings, ctx.model),
                        (lambda: check(thread_id)) if check else None, ctx.cache)

def request_review(state: WorkflowState, ctx: RunContext) -> dict[str, Any]:
    """The pause after a step's checks kept failing: independent steps have finished, the
    steps that depend on it wait; a reviewer decides (``Workflow.review``)."""
    emit("awaiting_review", node=REQUEST_REVIEW, payload={
        "status": Status.AWAITING_REVIEW.value, "review": awaiting_review(state.get("steps") or {}),
        **gate_summary(state)})  # what the inbox lists, as for the gate
    return {"status": Status.AWAITING_REVIEW.value, "decision": None}


def reporter(state: WorkflowState, ctx: RunContext) -> dict[str, Any]:
    """Reads the plan's dicts as stored: a model of a thousand steps, made only to read
    their ids, cost more than the report."""
    steps = state.get("steps") or {}
    succeeded = {k for k, r in steps.items() if r["status"] == StepStatus.SUCCEEDED.value}
    planned = state["plan"]["steps"]
    cited = {d for s in planned for d in s.get("depends_on", ())}
    outputs = [f"{s['id']}: {str(steps[s['id']].get('output'))[:500]}" for s in planned
               if s["id"] not in cited and s["id"] in succeeded]
    status = state["status"]
    kind = {Status.COMPLETED.value: "run_completed", Status.CANCELLED.value: "run_cancelled"}.get(status, "run_failed")
    emit(kind, node=REPORTER, payload={"status": status, "error": state.get("error")})
    return {"report": "\n".join([f"{len(succeeded)}/{len(planned)} steps succeeded", *outputs])}


def observed(name: str, node: Callable[..., dict[str, Any]], default: RunContext | None = None,
             ) -> Callable[[WorkflowState, RunnableConfig, Runtime[RunContext]], dict[str, Any]]:
    """``node`` between a ``node_started`` and a ``node_finished`` event; the latter carries
    the (status, error) the node set, which the driver mirrors into the runs table. LangGraph
    injects ``config`` and ``runtime`` by name; the node gets the run's context from it."""
    wants_config = "config" in inspect.signature(node).parameters

    def run(state: WorkflowState, config: RunnableConfig, runtime: Runtime[RunContext]) -> dict[str, Any]:
        emit("node_started", node=name)
        began = time.monotonic()
        ctx = context_of(runtime, default)
        try:
            update = node(state, ctx, config) if wants_config else node(state, ctx)
        except GraphBubbleUp:  # a pause (interrupt), not a failure: the node runs again on resume
            raise
        except Exception as exc:
            emit("node_finished", node=name, payload={"seconds": round(time.monotonic() - began, 6),
                                                     "error": str(exc)[:500]})
            raise
        payload: dict[str, Any] = {"seconds": round(time.monotonic() - began, 6)}
        if isinstance(update, dict) and "status" in update:
            payload |= {"status": update["status"], "error": update.get("error")}
        emit("node_finished", node=name, payload=payload)
        return update

    return run


def _feedback(verdict: Critique) -> str:
    return "The critic asks for a revision:\n" + "\n".join(f"- {i.message}" for i in verdict.issues)


def _warning(message: str):
    from graph.core.schemas import CritiqueIssue

    return CritiqueIssue(severity="warning", message=message)


def route_start(state: WorkflowState) -> str:
    return CRITIC if state.get("plan") else PLANNER


def route_after_planner(state: WorkflowState) -> str:
    return END if state.get("status") == Status.FAILED.value else CRITIC


def route_after_critic(state: WorkflowState) -> str:
    if state.get("status") == Status.FAILED.value:
        return END
    return PLANNER if state.get("feedback") else REQUEST_APPROVAL


def route_after_executor(state: WorkflowState) -> str:
    return REQUEST_REVIEW if state.get("status") == Status.AWAITING_REVIEW.value else REPORTER


def route_after_review(state: WorkflowState) -> str:
    status = state.get("status")
    if status == Status.EXECUTING.value:
        return EXECUTOR
    if status == Status.AWAITING_REVIEW.value:
        return REQUEST_REVIEW
    if status in (Status.REJECTED.value, Status.CANCELLED.value, Status.FAILED.value):
        return END
    if status == Status.AWAITING_APPROVAL.value:
        return REQUEST_APPROVAL
    return PLANNER
