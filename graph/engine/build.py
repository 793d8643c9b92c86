"""The whole workflow in one screen:

    START → planner → critic ─(revise, at most max_revisions)→ planner
    (a plan given as input goes straight to the critic)
    critic → request_approval → [interrupt] human_review
    human_review → executor → reporter → END      (approve, valid edit, resume, a review's decision)
                 → planner                         (reject with feedback)
                 → request_approval                (edit that fails the critic's rules)
                 → request_review                  (another step still awaits review)
                 → END                             (final reject: REJECTED)
    executor → request_review → [interrupt] human_review   (a step's checks kept failing)

The operator's decision is written with ``update_state(..., as_node="request_approval")``
(a review's, ``as_node="request_review"``) so the thread stays in front of ``human_review``;
then ``stream(None)`` continues. In LangGraph's Agent Server the gate is the same node at
the same place, asking with an interrupt that carries LangChain's human-in-the-loop request;
``Command(resume=...)`` answers it (``gate_request.py``).
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from graph.core.nodes import CRITIC, EXECUTOR, HUMAN_REVIEW, PLANNER, REPORTER, REQUEST_APPROVAL, REQUEST_REVIEW
from graph.engine import nodes
from graph.engine.context import RunContext
from graph.engine.nodes import (observed, route_after_critic, route_after_executor, route_after_planner,
                                route_after_review, route_start)
from graph.engine.state import WorkflowInput, WorkflowState
from graph.core.tracing import WORKFLOW


def build_graph(checkpointer: BaseCheckpointSaver | None = None, *,
                default: RunContext | None = None, static_gate: bool = True) -> CompiledStateGraph:
    """The graph's nodes read the run's ``RunContext`` (``context=`` of each call);
    ``default``: the context of a run whose caller passes none (the Agent Server's).
    ``static_gate``: pause before ``human_review`` (our front ends write the decision, then
    go on); without it (the Agent Server's graph) ``human_review`` itself asks, with an
    interrupt whose value LangGraph's clients render (``gate_request.py``)."""
    builder = StateGraph(WorkflowState, input_schema=WorkflowInput)  # no context_schema: see context.py
    for name, node in ((PLANNER, nodes.planner), (CRITIC, nodes.critic), (REQUEST_APPROVAL, nodes.request_approval),
                       (HUMAN_REVIEW, nodes.human_review), (EXECUTOR, nodes.executor), (REPORTER, nodes.reporter),
                       (REQUEST_REVIEW, nodes.request_review)):
        builder.add_node(name, observed(name, node, default))

    builder.add_conditional_edges(START, route_start, [PLANNER, CRITIC])
    builder.add_conditional_edges(PLANNER, route_after_planner, [CRITIC, END])
    builder.add_conditional_edges(CRITIC, route_after_critic, [PLANNER, REQUEST_APPROVAL, END])
    builder.add_edge(REQUEST_APPROVAL, HUMAN_REVIEW)
    builder.add_conditional_edges(HUMAN_REVIEW, route_after_review,
                                  [EXECUTOR, PLANNER, REQUEST_APPROVAL, REQUEST_REVIEW, END])
    builder.add_conditional_edges(EXECUTOR, route_after_executor, [REQUEST_REVIEW, REPORTER])
    builder.add_edge(REQUEST_REVIEW, HUMAN_REVIEW)
    builder.add_edge(REPORTER, END)
    return builder.compile(checkpointer=checkpointer, interrupt_before=[HUMAN_REVIEW] if static_gate else None,
                           name=WORKFLOW)
