"""Settings for code a test calls in-process, built as an object (what an entry point passes
down) rather than by writing the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graph.core.egress import EgressPolicy
from graph.core.schemas import RetryConfig
from graph.core.settings import Settings


def home_settings(home: Path, db: str | None = None, **update: Any) -> Settings:
    """The settings of a test's home: its database (a SQLite file there by default), its
    workspace, the offline model, short retry delays, and egress to the tests' servers on
    127.0.0.1. A PostgreSQL database shares its audit key through a file in the home."""
    db = db or str(home / "prolight.db")
    values: dict[str, Any] = {
        "db": db, "model": "offline", "workspace": (home / "workspace").resolve(), "allow_commands": frozenset(),
        "retry": RetryConfig(initial_delay_s=0.01), "egress": EgressPolicy(allow=("127.0.0.1",)),
    }
    if db.startswith("postgresql"):
        values["audit_key_file"] = home / "audit.key"
    return Settings(**(values | update))
