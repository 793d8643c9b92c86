"""The real dashboard (``streamlit run ui/app.py``) on a free 127.0.0.1 port, and Debian's
headless Chromium driven by Playwright. In CI a missing browser fails the tests; on a
developer machine without it they are skipped with the reason."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dashboard(home: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PROLIGHT_DB": str(home / "prolight.db"), "PROLIGHT_WORKSPACE": str(home / "workspace"),
           "PROLIGHT_CANCEL_GRACE_S": "0.5"}
    log = home / "dashboard.log"  # a file, not a pipe: a pipe nobody reads fills and stalls the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "ui" / "app.py"), "--server.port", str(port),
         "--server.headless", "true"],  # the address comes from .streamlit/config.toml, as for `make run`
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"dashboard did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    assert "Traceback" not in log.read_text(), f"the dashboard's log has a traceback:\n{log.read_text()[-3000:]}"


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
    context = browser.new_context(viewport={"width": 1400, "height": 1800})  # tall: Streamlit scrolls inside
    yield context.new_page()
    context.close()


_TABLES_PAINTED = """(count) => {
  const grids = [...document.querySelectorAll('canvas[data-testid="data-grid-canvas"]')];
  return grids.length >= count && grids.every((canvas) => {
    if (!canvas.width || !canvas.height) return false;
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] > 0 && pixels[i] < 120) return true;
    return false;
  });
}"""


def wait_for_tables(page, count: int, timeout_ms: int = 30_000) -> None:
    """Until ``count`` dataframes have drawn their cells. Streamlit's grid paints on a canvas
    after the page is otherwise ready (its cells are not in the DOM), so a screenshot taken
    without this shows empty boxes; dark pixels on every grid canvas are the progress to wait on."""
    page.wait_for_function(_TABLES_PAINTED, arg=count, timeout=timeout_ms)


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
        from graph.store.database import open_database

        self.home = home
        self.ops = JsonOps(open_database(str(home / "prolight.db")))

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
