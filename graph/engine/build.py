"""The whole workflow in one screen:

    START → planner → critic ─(revise, at most max_revisions)→ planner
    (a plan given as input goes straight to the critic)
    critic → request_approval → [interrupt] human_review
    human_review → executor → reporter → END      (approve, valid edit, resume)
                 → planner                         (reject with feedback)
                 → request_approval                (edit that fails the critic's rules)
                 → END                             (final reject: REJECTED)

The operator's decision is written with ``update_state(..., as_node="request_approval")``
so the thread stays in front of ``human_review``; then ``stream(None)`` continues.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.models import chat_model
from agents.tools import ToolRegistry, registry_for
from graph.engine.nodes import Nodes, observed, route_after_critic, route_after_planner, route_after_review, route_start
from graph.core.schemas import Plan
from graph.core.settings import Settings
from graph.engine.state import WorkflowInput, WorkflowState

APPROVAL_NODE = "request_approval"
REVIEW_NODE = "human_review"


def build_graph(
    checkpointer: BaseCheckpointSaver | None = None,
    *,
    model: BaseChatModel | None = None,
    registry: ToolRegistry | None = None,
    settings: Settings | None = None,
    cancel_requested: Callable[[str], bool] | None = None,
    estimator: Callable[[Plan], dict[str, Any]] | None = None,
    audit_key: bytes | None = None,
) -> CompiledStateGraph:
    """``audit_key``: the key of the database the checkpointer writes to (default: the
    settings' database's)."""
    settings = settings or Settings.from_env()
    nodes = Nodes(model=model or chat_model(settings.model), registry=registry or registry_for(settings),
                  settings=settings, cancel_requested=cancel_requested, estimator=estimator,
                  audit_key=audit_key if audit_key is not None else settings.audit_secret())
    builder = StateGraph(WorkflowState, input_schema=WorkflowInput)
    builder.add_node("planner", observed("planner", nodes.planner))
    builder.add_node("critic", observed("critic", nodes.critic))
    builder.add_node(APPROVAL_NODE, observed(APPROVAL_NODE, nodes.request_approval))
    builder.add_node(REVIEW_NODE, observed(REVIEW_NODE, nodes.human_review))
    builder.add_node("executor", observed("executor", nodes.executor))
    builder.add_node("reporter", observed("reporter", nodes.reporter))

    builder.add_conditional_edges(START, route_start, ["planner", "critic"])
    builder.add_conditional_edges("planner", route_after_planner, ["critic", END])
    builder.add_conditional_edges("critic", route_after_critic, ["planner", APPROVAL_NODE, END])
    builder.add_edge(APPROVAL_NODE, REVIEW_NODE)
    builder.add_conditional_edges(REVIEW_NODE, route_after_review, ["executor", "planner", APPROVAL_NODE, END])
    builder.add_edge("executor", "reporter")
    builder.add_edge("reporter", END)
    return builder.compile(checkpointer=checkpointer, interrupt_before=[REVIEW_NODE], name="prolight")
