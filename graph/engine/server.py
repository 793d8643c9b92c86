"""The graph as LangGraph's Agent Server loads it (``langgraph.json``): built at import with
the environment's settings and no checkpointer, since the server brings its own. Kept apart
from ``build.py`` so that importing the builder never builds a graph."""

from graph.engine.build import build_graph

graph = build_graph()
