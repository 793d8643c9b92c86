"""The real dashboard (``streamlit run ui/app.py``) on a free 127.0.0.1 port, and Debian's
headless Chromium driven by Playwright. In CI a missing browser fails the tests; on a
developer machine without it they are skipped with the reason."""

from __future__ import annotations

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
    env = {**os.environ, "PROLIGHT_DB": str(home / "prolight.db"), "PROLIGHT_WORKSPACE": str(home / "workspace")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "ui" / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"dashboard did not start: {proc.stdout.read().decode()[-2000:]}")
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def page(tmp_path: Path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/install-chromium should have installed it")
        pytest.skip(f"{CHROMIUM} is not installed (run: make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})  # tall: Streamlit scrolls inside, so a screenshot shows the viewport
        yield page
        browser.close()


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
