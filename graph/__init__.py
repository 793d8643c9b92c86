"""The ProLight Flow workflow: state, graph, executor, persistence and the thread operations."""
