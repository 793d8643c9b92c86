"""The ProLight Flow engine, in layers that import only downwards:

core/        base types and mechanisms (schemas, statuses, settings, DAG, events,
             breaker, retries); imports nothing else of the project
store/       the database: the one place that opens it, the runs/events/breakers tables,
             claims, metrics; imports core
engine/      the LangGraph workflow (state, nodes, executor, build) and what drives it
             (Workflow, RunManager); imports core, store and agents
operations/  the one typed API the front ends call; imports everything below
"""
