"""Shared fixtures: a temporary home with its own database and workspace, the real CLI
against it, and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.core.breaker import BOARD

from tests.support.cli import Cli
from tests.support.http_server import ToolServer


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "workspace").mkdir()
    monkeypatch.setenv("PROLIGHT_DB", str(tmp_path / "prolight.db"))
    monkeypatch.setenv("PROLIGHT_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setenv("PROLIGHT_MODEL", "offline")
    monkeypatch.setenv("PROLIGHT_RETRY_INITIAL_DELAY_S", "0.01")
    return tmp_path


@pytest.fixture(autouse=True)
def fresh_breakers() -> Iterator[None]:
    """Breakers are process-wide by design; each in-process test starts with none."""
    BOARD.reset()
    yield
    BOARD.reset()


@pytest.fixture
def cli(home: Path) -> Cli:
    return Cli(home)


@pytest.fixture
def server() -> Iterator[ToolServer]:
    s = ToolServer().start()
    yield s
    s.stop()
