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
