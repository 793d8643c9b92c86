"""The graph as LangGraph's Agent Server loads it (``langgraph.json``): built at import with
no checkpointer, since the server brings its own. This module is an entry point: it loads
the settings once, and its context is the default of runs whose client sends none (a client
of LangGraph's API cannot send a chat model). Its gate asks with an
interrupt (``static_gate=False``), so LangGraph's clients see what they decide and answer
with ``Command(resume=...)``. Kept apart from ``build.py`` so that importing the builder
never builds a graph."""

from graph.core.settings import Settings
from graph.engine.build import build_graph
from graph.engine.context import RunContext

graph = build_graph(default=RunContext.of(Settings.from_env()), static_gate=False)
