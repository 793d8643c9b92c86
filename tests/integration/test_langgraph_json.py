"""langgraph.json points at a graph that LangGraph's Agent Server can load unmodified: a
compiled graph, no checkpointer of ours (the server brings its own), the approval gate on."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def server_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The graph is built as the Agent Server builds it, from the environment: give it the
    server's key, or it makes a key file beside the default database, in the project folder."""
    monkeypatch.setenv("PROLIGHT_AUDIT_KEY", "k" * 32)


def test_langgraph_json_graph_loads_as_a_compiled_graph() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    path, _, attribute = config["graphs"]["prolight"].partition(":")
    spec = importlib.util.spec_from_file_location("prolight_graph_entry", ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph = getattr(module, attribute)
    assert graph.checkpointer is None
    # The Agent Server's gate asks from inside human_review, with an interrupt whose value
    # LangGraph's clients render (a pause before the node carries none); our own engine
    # pauses before it and writes the decision. Nothing runs without a decision either way.
    assert graph.interrupt_before_nodes == []
    from graph.engine.build import build_graph

    assert build_graph().interrupt_before_nodes == ["human_review"]
    assert set(graph.nodes) >= {"planner", "critic", "request_approval", "human_review", "executor", "reporter"}


def test_a_plan_without_its_goal_runs_through_the_gate_as_langgraphs_api_sends_it() -> None:
    """The Agent Server's natural input: the goal beside the plan, not in it. An approval
    written with update_state (as the SDK's threads.update_state does) continues the run,
    and human_review seals it into the audit trail; one written into the trail by hand is
    not sealed, and the executor refuses to run after it."""
    from langgraph.checkpoint.memory import InMemorySaver

    from graph.core.audit import plan_digest, verify
    from graph.core.schemas import Decision, Status, dump
    from graph.core.nodes import REQUEST_APPROVAL
    from graph.core.settings import Settings
    from graph.engine.build import build_graph
    from graph.engine.context import RunContext

    graph = build_graph(InMemorySaver(), default=RunContext.of(Settings.from_env()))  # as graph/engine/server.py
    plan = {"steps": [{"id": "add", "tool": "calculate", "args": {"expression": "40 + 2"}}]}
    decision = dump(Decision(action="approve", operator="sdk"))
    for thread_id, written in (("by-the-sdk", {"decision": decision}),
                               ("by-hand", {"decision": decision, "decisions": [decision]})):
        config = {"configurable": {"thread_id": thread_id}}
        graph.invoke({"goal": "Add two numbers", "plan": plan}, config)
        waiting = graph.get_state(config)
        assert waiting.next == ("human_review",) and waiting.values["status"] == Status.AWAITING_APPROVAL.value
        assert waiting.values["plan"]["goal"] == "Add two numbers"
        graph.update_state(config, {**written, "status": Status.APPROVED.value}, as_node=REQUEST_APPROVAL)
        graph.invoke(None, config)
    done = graph.get_state({"configurable": {"thread_id": "by-the-sdk"}}).values
    assert done["status"] == Status.COMPLETED.value and done["steps"]["add"]["output"] == 42
    assert done["decisions"][0]["plan_digest"] == plan_digest(done["plan"])
    assert verify(b"k" * 32, "by-the-sdk", done["decisions"]).verified
    refused = graph.get_state({"configurable": {"thread_id": "by-hand"}}).values
    assert refused["status"] == Status.FAILED.value and not refused.get("steps")
    assert refused["error"] == ("refused to execute: the audit trail is broken at decision 1 (approve by sdk) is "
                                "not sealed: it was not recorded by ProLight Flow")


def test_a_plan_that_does_not_validate_ends_the_run_failed_with_the_reason() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from graph.core.settings import Settings
    from graph.engine.build import build_graph
    from graph.engine.context import RunContext

    graph = build_graph(InMemorySaver(), default=RunContext.of(Settings.from_env()))  # as graph/engine/server.py
    config = {"configurable": {"thread_id": "bad-plan"}}
    graph.invoke({"goal": "Add", "plan": {"steps": [{"id": "add", "tool": "calculate", "bogus": 1}]}}, config)
    state = graph.get_state(config)
    assert state.next == () and state.values["status"] == "FAILED"
    assert state.values["error"].startswith("invalid plan: steps.0.bogus: Extra inputs are not permitted")
