"""The pause at the gate as LangGraph's own clients read it, and their answers as decisions.

A client of LangGraph's API (Agent Inbox, agent-chat-ui, ``langgraph-sdk``) shows a pause
through its interrupt value and answers with ``Command(resume=...)``. The value is
LangChain's human-in-the-loop request (``langchain.agents.middleware.human_in_the_loop``:
``HITLRequest``, action requests and the decisions each allows); the answer a
``HITLResponse``, ``{"decisions": [...]}`` with one decision per action request. A bare
decision (the per-call form) and Agent Inbox's older list (``accept``, ``edit``,
``response``, ``ignore``) are read too.

At the approval gate the one action is ``approve_plan`` with the plan as its args:

- approve: the plan at the gate, bound to its digest when ``human_review`` seals it;
- edit: ``edited_action.args.plan`` is approved instead, checked by the critic's rules like
  any edited plan (its goal stays the thread's);
- reject: with a ``message`` the planner revises with it as feedback; without one the
  thread ends REJECTED.

At a review pause the action is ``review_step`` for the first step awaiting review:
approve accepts its output, edit retries it with ``edited_action.args.args``, reject fails
it. An answer that cannot be read is refused in one line (``UnreadableAnswer``): the thread
stays where it was, with the error in its state, and asks again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from graph.core.audit import plan_digest
from graph.core.errors import BadInput
from graph.core.schemas import Decision, Plan, Status
from graph.engine.review import awaiting_review

if TYPE_CHECKING:  # the shapes are LangChain's; the values plain dicts (its module costs 40 ms of imports)
    from langchain.agents.middleware.human_in_the_loop import HITLRequest

APPROVE_PLAN, REVIEW_STEP = "approve_plan", "review_step"
ALLOWED = ["approve", "edit", "reject"]
_LEGACY = {"accept": "approve", "edit": "edit", "response": "reject", "ignore": "reject"}  # Agent Inbox's older names


class UnreadableAnswer(BadInput):
    """A resume value that is not a decision this pause takes."""


def gate_request(state: dict[str, Any]) -> HITLRequest:
    """What the pause asks a person, in LangChain's HITL request shape."""
    waiting = awaiting_review(state.get("steps") or {})
    if state.get("status") == Status.AWAITING_REVIEW.value and waiting:
        step = waiting[0]
        planned = next((s for s in (state.get("plan") or {}).get("steps", []) if s["id"] == step), {})
        result = (state.get("steps") or {}).get(step) or {}
        description = (f"Step {step} ({planned.get('tool')}) kept failing its checks: "
                       f"{result.get('error') or 'no error recorded'}. Approve keeps its output, edit runs it "
                       "again with other args, reject fails it.")
        return _request(REVIEW_STEP, {"step_id": step, "args": planned.get("args") or {}}, description)
    plan = state.get("plan") or {}
    critique = state.get("critique") or {}
    issues = "; ".join(f"{i.get('severity')}: {i.get('message')}" for i in critique.get("issues", [])) or "none"
    description = (f"Goal: {state.get('goal', '')}\n{len(plan.get('steps', []))} step(s), risk "
                   f"{critique.get('risk') or 'unknown'}; critic's issues: {issues}\nPlan digest {plan_digest(plan)}. "
                   "Approve runs exactly this plan; edit approves the plan in args.plan instead; reject with a "
                   "message replans with it as feedback, without one ends the thread.")
    return _request(APPROVE_PLAN, {"plan": plan}, description)


def _request(name: str, args: dict[str, Any], description: str) -> HITLRequest:
    return {"action_requests": [{"name": name, "args": args, "description": description}],
            "review_configs": [{"action_name": name, "allowed_decisions": list(ALLOWED)}]}


def decision_from_answer(answer: Any, state: dict[str, Any], operator: str) -> Decision:
    """The decision a resume value makes at this pause, or ``UnreadableAnswer``."""
    kind, fields = _one_decision(answer)
    if state.get("status") == Status.AWAITING_REVIEW.value:
        waiting = awaiting_review(state.get("steps") or {})
        if not waiting:
            raise UnreadableAnswer("no step awaits review")
        outcome = {"approve": "accept", "edit": "retry", "reject": "fail"}[kind]
        args = _edited_args(fields).get("args") if kind == "edit" else None
        if kind == "edit" and not isinstance(args, dict):
            raise UnreadableAnswer("an edit at a review needs edited_action.args.args, the step's new args (an object)")
        return Decision(action="review", step=waiting[0], outcome=outcome, args=args, operator=operator,
                        reason=fields.get("message") if kind == "reject" else None)
    if kind == "approve":
        return Decision(action="approve", operator=operator)
    if kind == "reject":
        message = fields.get("message") if isinstance(fields.get("message"), str) else None
        feedback = (message or "").strip() or None
        return Decision(action="reject", feedback=feedback, final=feedback is None, operator=operator)
    plan = _edited_args(fields).get("plan")
    if not isinstance(plan, dict):
        raise UnreadableAnswer("an edit needs edited_action.args.plan, the plan to approve instead (an object)")
    try:
        edited = Plan.model_validate({**plan, "goal": state.get("goal") or plan.get("goal") or ""})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UnreadableAnswer(f"the edited plan is not a valid plan: {where}: {first['msg']}") from None
    return Decision(action="edit", plan=edited, operator=operator)


def _one_decision(answer: Any) -> tuple[str, dict[str, Any]]:
    """The one decision in a HITLResponse, a bare decision or Agent Inbox's list."""
    if isinstance(answer, dict) and "decisions" in answer:
        decisions = answer["decisions"]
        if not isinstance(decisions, list) or len(decisions) != 1:
            raise UnreadableAnswer("decisions must hold exactly one decision, for the one action requested")
        answer = decisions[0]
    elif isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]
    if not isinstance(answer, dict) or not isinstance(answer.get("type"), str):
        raise UnreadableAnswer('the answer is not a decision: send {"decisions": [{"type": "approve"}]} (or edit, '
                               "reject)")
    kind = answer["type"]
    if kind in ALLOWED:
        return kind, answer
    if kind in _LEGACY:  # Agent Inbox's response: args carry the edit, or the response text
        args = answer.get("args")
        if kind == "edit":
            return "edit", {"edited_action": args if isinstance(args, dict) else {}}
        return _LEGACY[kind], {"message": args if kind == "response" and isinstance(args, str) else None}
    raise UnreadableAnswer(f"decision type {kind!r} is not allowed here; allowed: {', '.join(ALLOWED)}")


def _edited_args(fields: dict[str, Any]) -> dict[str, Any]:
    action = fields.get("edited_action")
    args = action.get("args") if isinstance(action, dict) else None
    if not isinstance(args, dict):
        raise UnreadableAnswer("an edit needs edited_action: {name, args}")
    return args
