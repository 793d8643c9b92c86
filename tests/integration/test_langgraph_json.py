"""langgraph.json points at a graph that LangGraph's Agent Server can load unmodified: a
compiled graph, no checkpointer of ours (the server brings its own), the approval gate on."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_langgraph_json_graph_loads_as_a_compiled_graph() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    path, _, attribute = config["graphs"]["prolight"].partition(":")
    spec = importlib.util.spec_from_file_location("prolight_graph_entry", ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph = getattr(module, attribute)
    assert graph.checkpointer is None
    assert graph.interrupt_before_nodes == ["human_review"]
    assert set(graph.nodes) >= {"planner", "critic", "request_approval", "human_review", "executor", "reporter"}


def test_a_plan_without_its_goal_runs_through_the_gate_as_langgraphs_api_sends_it() -> None:
    """The Agent Server's natural input: the goal beside the plan, not in it. An approval
    written with update_state (as the SDK's threads.update_state does) continues the run."""
    from langgraph.checkpoint.memory import InMemorySaver

    from graph.core.schemas import Decision, Status, dump
    from graph.engine.build import APPROVAL_NODE, build_graph

    graph = build_graph(InMemorySaver())
    config = {"configurable": {"thread_id": "agent-server-like"}}
    plan = {"steps": [{"id": "add", "tool": "calculate", "args": {"expression": "40 + 2"}}]}
    graph.invoke({"goal": "Add two numbers", "plan": plan}, config)
    waiting = graph.get_state(config)
    assert waiting.next == ("human_review",) and waiting.values["status"] == Status.AWAITING_APPROVAL.value
    assert waiting.values["plan"]["goal"] == "Add two numbers"
    decision = dump(Decision(action="approve", operator="sdk"))
    graph.update_state(config, {"decision": decision, "decisions": [decision], "status": Status.APPROVED.value},
                       as_node=APPROVAL_NODE)
    graph.invoke(None, config)
    done = graph.get_state(config).values
    assert done["status"] == Status.COMPLETED.value and done["steps"]["add"]["output"] == 42


def test_a_plan_that_does_not_validate_ends_the_run_failed_with_the_reason() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from graph.engine.build import build_graph

    graph = build_graph(InMemorySaver())
    config = {"configurable": {"thread_id": "bad-plan"}}
    graph.invoke({"goal": "Add", "plan": {"steps": [{"id": "add", "tool": "calculate", "bogus": 1}]}}, config)
    state = graph.get_state(config)
    assert state.next == () and state.values["status"] == "FAILED"
    assert state.values["error"].startswith("invalid plan: steps.0.bogus: Extra inputs are not permitted")
