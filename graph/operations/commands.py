"""The command table: every operator command declared once, with its request model, the
role it needs, its HTTP method and path and its CLI verb and flags. The CLI parser, the
HTTP routes, the role checks, the remote client and the dashboard's dispatch are all
derived from ``COMMANDS``; ``tests/unit/test_command_table.py`` fails when a front end
misses a command or takes other arguments. A new command is a request model and a row
here, plus its case in ``Operations.send``.

Reads are listed in ``READS`` (the method of ``OperationsApi``, its HTTP path, its CLI
verb) so that the same test holds every front end to every read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from graph.core.accounts import Role
from graph.core.model import Model
from graph.core.schemas import MAX_GOAL_CHARS, Action, Plan
from graph.operations.storable import unstorable

DEFAULT_PLAN_GOAL = "operator plan"
BLANK = r"\S"  # the pattern of text that must not be blank


def _goal_optional(value: Any) -> Any:
    """A plan sent without its goal takes the thread's (approve, fork) or the request's
    (start): the placeholder is replaced before anything is stored."""
    if isinstance(value, dict) and "goal" not in value:
        return {"goal": DEFAULT_PLAN_GOAL, **value}
    return value


class _GoalOptionalSchema:
    """The plan's JSON Schema as a request declares it: the same as ``Plan``'s, with the goal
    optional (inline, so the answers' ``Plan`` keeps it required)."""

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = dict(handler.resolve_ref_schema(handler(core_schema)))
        schema["required"] = [name for name in schema.get("required", []) if name != "goal"]
        schema["title"] = "PlanInput"
        return schema


PlanInput = Annotated[Plan, BeforeValidator(_goal_optional), _GoalOptionalSchema()]
# Not length-checked here: an id no thread can have is refused as an unknown thread.
ThreadId = Annotated[str, Field(description="The thread's id (or, from the CLI, a unique prefix of 4 or more "
                                            "characters).")]


class CommandRequest(Model):
    """What a command asks for. Who asks (``operator``) and whether to wait (``queue``)
    travel beside it: the HTTP API takes the operator from the caller's account."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    action: ClassVar[Action]
    needs: ClassVar[str | None] = None  # in words, the rule its schema's top-level anyOf states

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, given: Any) -> Any:
        return refuse_unstorable(given)


def refuse_unstorable(given: Any) -> Any:
    """A request (or an HTTP body) whose text or numbers the store cannot keep as given is
    refused, naming the field (``storable.py``)."""
    raw = given.model_dump(by_alias=True) if isinstance(given, BaseModel) else given
    if isinstance(raw, dict):
        problem = unstorable({k: v.model_dump(by_alias=True) if isinstance(v, BaseModel) else v
                              for k, v in raw.items()})
        if problem:
            raise ValueError(problem)
    return given


class StartRequest(CommandRequest):
    # A goal, a plan or both; a blank goal is refused (the schema says so, the workflow in words).
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["goal"], "properties": {"goal": {"type": "string"}}},
        {"required": ["plan"], "properties": {"plan": {"type": "object"}}}]})
    action = Action.START
    needs = "a goal, a plan or both"
    goal: str | None = Field(None, description="What to do; the planner plans it. Optional with a plan.",
                             json_schema_extra={"pattern": BLANK, "maxLength": MAX_GOAL_CHARS})
    plan: PlanInput | None = Field(None, description="A plan to use instead of the planner's.")
    no_cache: bool = Field(False, description="Take nothing from the result cache; what runs refreshes it.")


class ApproveRequest(CommandRequest):
    action = Action.APPROVE
    thread_id: ThreadId
    plan: PlanInput | None = Field(None, description="An edited plan to approve instead of the proposed one "
                                                     "(checked by the critic's rules first).")
    plan_digest: str | None = Field(None, description="The plan_digest of the thread view the approver saw: "
                                                      "refused if the plan at the gate has changed since.")
    no_cache: bool = Field(False, description="Take nothing from the result cache; what runs refreshes it.")


class RejectRequest(CommandRequest):
    # Feedback for the planner, or final: the schema says so, the workflow in words.
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["feedback"], "properties": {"feedback": {"type": "string", "pattern": BLANK}}},
        {"required": ["final"], "properties": {"final": {"const": True}}}]})
    action = Action.REJECT
    needs = "feedback for the planner, or final: true"
    thread_id: ThreadId
    feedback: str | None = Field(None, description="What the planner should change; needed unless final.")
    final: bool = Field(False, description="End the thread REJECTED instead of replanning.")


class ResumeRequest(CommandRequest):
    action = Action.RESUME
    thread_id: ThreadId
    reason: str | None = Field(None, max_length=500, description="Why: recorded with the decision on the audit trail.")


class RetryRequest(CommandRequest):
    action = Action.RETRY
    thread_id: ThreadId
    reason: str | None = Field(None, max_length=500, description="Why: recorded with the decision on the audit trail.")


class CancelRequest(CommandRequest):
    action = Action.CANCEL
    thread_id: ThreadId
    wait_s: float = Field(10.0, ge=0, le=3600, description="Seconds to wait for the executing process to stop it.")
    reason: str | None = Field(None, max_length=500, description="Why: recorded with the decision on the audit trail.")


class ForkRequest(CommandRequest):
    action = Action.FORK
    thread_id: ThreadId
    checkpoint_id: str = Field(min_length=1, max_length=128, description="The checkpoint to continue from.")
    plan: PlanInput | None = Field(None, description="A changed plan (goes through the critic and approval).")
    reason: str | None = Field(None, max_length=500, description="Why: recorded with the decision on the audit trail.")


class RestoreRequest(CommandRequest):
    action = Action.RESTORE
    thread_id: ThreadId
    version: int = Field(ge=1, le=1_000_000, description="The plan version to bring back (see the thread's plan_versions).")


class ReviewRequest(CommandRequest):
    action = Action.REVIEW
    thread_id: ThreadId
    step_id: str = Field(min_length=1, max_length=64, description="The step awaiting review.")
    outcome: Literal["accept", "retry", "fail"] = Field(
        description="accept: keep its output as it is; retry: run it again; fail: fail it (its dependents are "
                    "skipped).")
    args: dict[str, Any] | None = Field(None, description="retry only: the args to run it with instead (a JSON "
                                                          "object, checked against the tool).")
    reason: str | None = Field(None, max_length=500, description="Why: recorded with the decision on the audit trail.")


@dataclass(frozen=True)
class Command:
    """One row of the table. ``flags`` names each request field on the command line: a
    bare name is positional, ``--name`` an option. ``executes``: without ``--detach`` the
    CLI follows the run it starts to where it stops. ``--a|--b|--c`` names a field chosen
    by one of several flags (the value is the flag's name)."""

    request: type[CommandRequest]
    role: Role
    method: str
    path: str
    verb: str
    help: str
    flags: dict[str, str]
    executes: bool = True

    @property
    def action(self) -> Action:
        return self.request.action

    @property
    def path_fields(self) -> tuple[str, ...]:
        return tuple(name for name in self.request.model_fields if "{" + name + "}" in self.path)

    @property
    def body_fields(self) -> tuple[str, ...]:
        return tuple(name for name in self.request.model_fields if name not in self.path_fields)


def _on_thread(request: type[CommandRequest], role: Role, verb: str, help_text: str,
               **flags: str) -> Command:
    return Command(request, role, "POST", f"/threads/{{thread_id}}/{verb}", verb, help_text,
                   {"thread_id": "thread", **flags})


COMMANDS: dict[Action, Command] = {c.action: c for c in (
    Command(StartRequest, "operator", "POST", "/threads", "run",
            "plan and critique a goal (or check a given plan); stops at the approval gate",
            {"goal": "goal", "plan": "--plan", "no_cache": "--no-cache"}),
    _on_thread(ApproveRequest, "approver", "approve", "approve (or edit) a plan and execute it",
               plan="--plan", plan_digest="--plan-digest", no_cache="--no-cache"),
    _on_thread(RejectRequest, "approver", "reject", "reject a plan: replan with feedback, or end it with --final",
               feedback="--feedback", final="--final"),
    _on_thread(ResumeRequest, "operator", "resume", "continue a thread that stopped (crash, failure, cancel)",
               reason="--reason"),
    _on_thread(RetryRequest, "operator", "retry", "run the failed and skipped steps of a FAILED thread again",
               reason="--reason"),
    Command(CancelRequest, "operator", "POST", "/threads/{thread_id}/cancel", "cancel",
            "stop a thread: no new step starts, running steps get a grace period",
            {"thread_id": "thread", "wait_s": "--wait", "reason": "--reason"}, executes=False),
    _on_thread(ForkRequest, "operator", "fork", "time travel: continue a thread from an earlier checkpoint",
               checkpoint_id="--checkpoint", plan="--plan", reason="--reason"),
    _on_thread(RestoreRequest, "approver", "restore",
               "bring back an earlier version of the plan to decide on (a new version, at the gate again)",
               version="--version"),
    _on_thread(ReviewRequest, "approver", "review",
               "decide on a step whose checks kept failing: accept its output, retry it (--args), or fail it",
               step_id="step", outcome="--accept|--retry|--fail", args="--args", reason="--reason"),
)}


def role_for(action: Action) -> Role:
    """The role an action needs. An edit is an approval of a changed plan."""
    return COMMANDS[Action.APPROVE if action == Action.EDIT else action].role


def may(roles: frozenset[str], action: Action) -> bool:
    return role_for(action) in roles


@dataclass(frozen=True)
class Read:
    """A read every front end offers: the ``OperationsApi`` method, its HTTP GET path and
    its CLI verb."""

    method: str
    path: str
    verb: str


READS: tuple[Read, ...] = (
    Read("thread", "/threads/{thread_id}", "status"),
    Read("threads", "/threads", "threads"),
    Read("status_counts", "/threads/counts", "counts"),
    Read("awaiting_approval", "/approvals", "inbox"),
    Read("checkpoints", "/threads/{thread_id}/history", "history"),
    Read("branches", "/threads/{thread_id}/branches", "branches"),
    Read("audit", "/threads/{thread_id}/audit", "audit"),
    Read("checkpoint_state", "/threads/{thread_id}/checkpoints/{checkpoint_id}", "state"),
    Read("events", "/threads/{thread_id}/events", "events"),
    Read("metrics", "/metrics/summary", "metrics"),
    Read("breakers", "/breakers", "breakers"),
    Read("storage", "/storage", "storage"),
    Read("tools", "/tools", "tools"),
)
