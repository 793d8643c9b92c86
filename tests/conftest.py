"""Shared fixtures: a temporary home with its own database and workspace, the real CLI
against it, and a real HTTP server on 127.0.0.1.

A test marked ``both_backends`` runs twice: on a SQLite file and on a database of its own
in a real PostgreSQL server (one throw-away cluster per session, started on first use)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import os

import pytest

from graph.core.breaker import BOARD

from graph.core.settings import Settings
from tests.support.cli import Cli
from tests.support.settings import home_settings
from tests.support.http_server import ToolServer
from tests.support.postgres import PostgresServer, server_binaries

BACKENDS = ("sqlite", "postgres")

# The tests' tool servers listen on 127.0.0.1, which the egress policy refuses by default:
# allow it explicitly, for this process and every one it starts. tests/security clears it.
os.environ["PROLIGHT_EGRESS_ALLOW"] = "127.0.0.1"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marked = metafunc.definition.get_closest_marker("both_backends")
    if marked and not metafunc.definition.get_closest_marker("sqlite_only") and "db_url" in metafunc.fixturenames:
        metafunc.parametrize("db_url", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if server_binaries() is None and not os.environ.get("CI"):
        pytest.skip("PostgreSQL's server is not installed here (.ci/run installs it)")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's database: a SQLite file by default, or a fresh PostgreSQL database (whose
    processes share the audit key through a file the settings name)."""
    if getattr(request, "param", "sqlite") == "postgres":
        monkeypatch.setenv("PROLIGHT_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
        return request.getfixturevalue("postgres").new_database()
    return str(tmp_path / "prolight.db")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Path:
    """The test's home. Its environment is for the entry points the test starts (the CLI in
    a subprocess, the dashboard under AppTest), which read their settings there as they do
    in production; code called in-process gets the ``settings`` fixture instead."""
    (tmp_path / "workspace").mkdir()
    monkeypatch.setenv("PROLIGHT_DB", db_url)
    monkeypatch.setenv("PROLIGHT_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setenv("PROLIGHT_MODEL", "offline")
    monkeypatch.setenv("PROLIGHT_RETRY_INITIAL_DELAY_S", "0.01")
    return tmp_path


@pytest.fixture
def settings(home: Path, db_url: str) -> Settings:
    """The same settings as ``home``'s environment, built as an object: what an entry point
    would pass down."""
    return home_settings(home, db_url)


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
