"""The real dashboard (``streamlit run ui/app.py``) on a free 127.0.0.1 port, and Debian's
headless Chromium driven by Playwright. In CI a missing browser fails the tests; on a
developer machine without it they are skipped with the reason."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.browser import (CHROMIUM, CHROMIUM_ARGS, assert_no_traceback, loopback_context,
                                   running_dashboard, served_without_tracebacks)

VIEWPORT = {"width": 1400, "height": 1800}  # tall: Streamlit scrolls inside


DASHBOARD_ENV = {"PROLIGHT_CANCEL_GRACE_S": "0.5"}


@dataclass
class Shared:
    url: str
    setup: "Setup"
    log: Path


@pytest.fixture(scope="module")
def shared_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """One dashboard for the journeys of a module that each work on a thread of their own,
    opened by its link: a server start and its first page's imports are seconds a test.
    A journey that looks at the whole database (counts, the Runs table's order, an empty
    dashboard), fails steps on purpose (a breaker is process-wide) or needs another back
    end is marked ``own_dashboard`` and gets a server of its own."""
    home = tmp_path_factory.mktemp("shared-dashboard")
    (home / "workspace").mkdir()
    db = str(home / "prolight.db")
    env = {"PROLIGHT_DB": db, "PROLIGHT_MODEL": "offline", "PROLIGHT_RETRY_INITIAL_DELAY_S": "0.01"}
    with running_dashboard(home, **env, **DASHBOARD_ENV) as (url, log):
        setup = Setup(home, db)
        try:
            yield Shared(url, setup, log)
        finally:
            setup.ops.api.close()


@pytest.fixture
def shared(request: pytest.FixtureRequest) -> Iterator[Shared | None]:
    """The module's shared dashboard, or None for a test marked ``own_dashboard``. A
    traceback the dashboard logs while a test uses it fails that test."""
    if request.node.get_closest_marker("own_dashboard"):
        yield None
        return
    made: Shared = request.getfixturevalue("shared_dashboard")
    start = made.log.stat().st_size
    yield made
    with made.log.open("rb") as log:
        log.seek(start)
        assert_no_traceback(log.read().decode(errors="replace"))


@pytest.fixture
def dashboard(request: pytest.FixtureRequest, shared: Shared | None) -> Iterator[str]:
    if shared is not None:
        yield shared.url
        return
    with served_without_tracebacks(request.getfixturevalue("home"), **DASHBOARD_ENV) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session (starting it costs a second); each test gets its own
    context, so no cookie or storage carries over."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/install-chromium should have installed it")
        pytest.skip(f"{CHROMIUM} is not installed (run: make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context, offsite = loopback_context(browser, viewport=VIEWPORT)
    yield context.new_page()
    context.close()
    assert not offsite, f"the page asked for a host other than 127.0.0.1, or crashed: {offsite}"


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on ``port``, from the kernel's socket
    table (/proc/net/tcp and tcp6): read, never probed by connecting anywhere."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                words = [raw[i:i + 4][::-1] for i in range(0, len(raw), 4)]  # each 32-bit word is little-endian
                packed = b"".join(words)
                found.add(socket.inet_ntop(socket.AF_INET if width == 8 else socket.AF_INET6, packed))
    return found


class Setup:
    """Prepares and checks threads in-process on the dashboard's database (a CLI subprocess
    costs a second of imports per call); answers are the JSON the CLI prints."""

    def __init__(self, home: Path, db: str | None = None) -> None:
        from tests.support.ops import JsonOps
        from tests.support.settings import home_settings

        self.home = home
        self.ops = JsonOps(home_settings(home, db or os.environ.get("PROLIGHT_DB")))

    def run(self, goal: str | None = None, plan: dict | None = None) -> str:
        from graph.operations import parse_plan

        return self.ops.start(goal, parse_plan(json.dumps(plan)) if plan else None)["thread_id"]

    def approve(self, thread_id: str, detach: bool = False) -> dict:
        """``detach``: queued for the dashboard's run manager, as ``prolight approve --detach``."""
        return self.ops.approve(thread_id, queue=detach)

    def status(self, thread_id: str) -> dict:
        return self.ops.thread(thread_id)

    def wait(self, thread_id: str, status: str) -> dict:
        """Until the thread settles in ``status``: a page can still show the elements of the
        run before (Streamlit clears stale ones when a script run ends), so a button seen is
        not proof the thread moved on."""
        from graph.core.schemas import Status

        return self.ops.wait(thread_id, 60, frozenset({Status(status)}))

    def history(self, thread_id: str) -> list[dict]:
        return self.ops.checkpoints(thread_id)


@pytest.fixture
def setup(request: pytest.FixtureRequest, shared: Shared | None) -> Iterator[Setup]:
    if shared is not None:
        yield shared.setup
        return
    made = Setup(request.getfixturevalue("home"))
    yield made
    made.ops.api.close()
