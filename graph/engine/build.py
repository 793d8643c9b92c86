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
from graph.core.nodes import CRITIC, EXECUTOR, HUMAN_REVIEW, PLANNER, REPORTER, REQUEST_APPROVAL
from graph.engine.nodes import Nodes, observed, route_after_critic, route_after_planner, route_after_review, route_start
from graph.core.schemas import Plan
from graph.core.settings import Settings
from graph.engine.state import WorkflowInput, WorkflowState


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
    builder.add_node(PLANNER, observed(PLANNER, nodes.planner))
    builder.add_node(CRITIC, observed(CRITIC, nodes.critic))
    builder.add_node(REQUEST_APPROVAL, observed(REQUEST_APPROVAL, nodes.request_approval))
    builder.add_node(HUMAN_REVIEW, observed(HUMAN_REVIEW, nodes.human_review))
    builder.add_node(EXECUTOR, observed(EXECUTOR, nodes.executor))
    builder.add_node(REPORTER, observed(REPORTER, nodes.reporter))

    builder.add_conditional_edges(START, route_start, [PLANNER, CRITIC])
    builder.add_conditional_edges(PLANNER, route_after_planner, [CRITIC, END])
    builder.add_conditional_edges(CRITIC, route_after_critic, [PLANNER, REQUEST_APPROVAL, END])
    builder.add_edge(REQUEST_APPROVAL, HUMAN_REVIEW)
    builder.add_conditional_edges(HUMAN_REVIEW, route_after_review, [EXECUTOR, PLANNER, REQUEST_APPROVAL, END])
    builder.add_edge(EXECUTOR, REPORTER)
    builder.add_edge(REPORTER, END)
    return builder.compile(checkpointer=checkpointer, interrupt_before=[HUMAN_REVIEW], name="prolight")
