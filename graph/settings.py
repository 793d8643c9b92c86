"""Run-time settings, read from the environment once per process (the LangGraph templates'
``context.py`` role). Every knob an operator may turn is here, with its default."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


class Settings(BaseModel):
    db: str = Field(description="SQLite file path (PROLIGHT_DB).")
    model: str = Field(description="'offline' or 'provider:model' (PROLIGHT_MODEL).")
    workspace: Path = Field(description="Root that file tools are confined to (PROLIGHT_WORKSPACE).")
    allow_commands: frozenset[str] = Field(description="Executables run_command may start (PROLIGHT_ALLOW_COMMANDS).")
    max_revisions: int = Field(2, description="Planner/critic revision rounds before the human sees it.")
    step_concurrency: int = Field(8, description="Steps of one run that execute tools at once.")
    max_task_threads: int = Field(
        512, description="Thread cap per run; each pending step holds a thread while it waits."
    )
    http_max_bytes: int = Field(1_000_000, description="Response size cap of http_request.")

    @classmethod
    def from_env(cls) -> "Settings":
        allow = _env("PROLIGHT_ALLOW_COMMANDS", "")
        return cls(
            db=_env("PROLIGHT_DB", ".prolight/prolight.db"),
            model=_env("PROLIGHT_MODEL", "offline"),
            workspace=Path(_env("PROLIGHT_WORKSPACE", ".prolight/workspace")).resolve(),
            allow_commands=frozenset(c.strip() for c in allow.split(",") if c.strip()),
            max_revisions=int(_env("PROLIGHT_MAX_REVISIONS", "2")),
            step_concurrency=int(_env("PROLIGHT_STEP_CONCURRENCY", "8")),
            max_task_threads=int(_env("PROLIGHT_MAX_TASK_THREADS", "512")),
            http_max_bytes=int(_env("PROLIGHT_HTTP_MAX_BYTES", "1000000")),
        )
