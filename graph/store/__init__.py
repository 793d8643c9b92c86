"""The database layer: opens it (one place), owns the runs, events and breakers tables, claims and metrics. Imports core only."""
