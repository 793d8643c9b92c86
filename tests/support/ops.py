"""The operations API for in-process tests, with each answer as the JSON the CLI's ``--json``
prints (``model_dump(mode="json")``), so a test reads the same shape whichever front end it
imitates."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graph.operations import Operations
from graph.core.settings import Settings
from graph.store.connect import open_database
from graph.store.database import Database


def as_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value


class JsonOps:
    def __init__(self, settings: Settings, db: Database | None = None, **kwargs: Any) -> None:
        """``db``: an open database (default: the one the settings name)."""
        self.api = Operations(db or open_database(settings.db), settings, **kwargs)
        self.db, self.settings, self.workflow = self.api.db, self.api.settings, self.api.workflow

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.api, name)
        return lambda *args, **kwargs: as_json(method(*args, **kwargs))
