"""The LangGraph workflow and what drives it: state, nodes, executor, graph build, Workflow, RunManager."""
