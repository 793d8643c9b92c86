"""The real dashboard (``streamlit run ui/app.py``) on a free 127.0.0.1 port, and Debian's
headless Chromium driven by Playwright. In CI a missing browser fails the tests; on a
developer machine without it they are skipped with the reason."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, loopback_context, served_without_tracebacks

VIEWPORT = {"width": 1400, "height": 1800}  # tall: Streamlit scrolls inside


@pytest.fixture
def dashboard(home: Path) -> Iterator[str]:
    with served_without_tracebacks(home, PROLIGHT_CANCEL_GRACE_S="0.5") as url:
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

    def __init__(self, home: Path) -> None:
        from tests.support.ops import JsonOps
        from tests.support.settings import home_settings

        self.home = home
        self.ops = JsonOps(home_settings(home, os.environ.get("PROLIGHT_DB")))

    def run(self, goal: str | None = None, plan: dict | None = None) -> str:
        from graph.operations import parse_plan

        return self.ops.start(goal, parse_plan(json.dumps(plan)) if plan else None)["thread_id"]

    def approve(self, thread_id: str, detach: bool = False) -> dict:
        """``detach``: queued for the dashboard's run manager, as ``prolight approve --detach``."""
        return self.ops.approve(thread_id, queue=detach)

    def status(self, thread_id: str) -> dict:
        return self.ops.thread(thread_id)

    def history(self, thread_id: str) -> list[dict]:
        return self.ops.checkpoints(thread_id)


@pytest.fixture
def setup(home: Path) -> Iterator[Setup]:
    made = Setup(home)
    yield made
    made.ops.api.close()
