"""The real dashboard (``streamlit run ui/app.py``) on a free 127.0.0.1 port and Debian's
headless Chromium: shared by the browser tests and ``bench/ui.py``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # no name is ever looked up: a page asking for another host fails at once,
                 # without a DNS query leaving the machine
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
ROOT = Path(__file__).resolve().parents[2]


def loopback_context(browser, **options):
    """A browser context whose requests go to 127.0.0.1 only: any other is aborted before
    it is sent and listed in the returned list, which a test checks is empty (Streamlit's
    frontend, for one, fetches a page's Material icon as the favicon from a font host
    unless the app sets its own). The frontend's uncaught errors are listed there too: a
    page that crashed in the browser is blank, whatever the server did."""
    offsite: list[str] = []
    context = browser.new_context(**options)
    context.on("weberror", lambda error: offsite.append(f"uncaught error in the page: {error.error}"))

    def guard(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1" or route.request.url.startswith("data:"):
            route.continue_()
        else:
            offsite.append(route.request.url)
            route.abort("blockedbyclient")

    context.route("**/*", guard)
    return context, offsite


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_answering(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until ``url`` answers 200: a server process is up long before it listens (its run
    manager, for one, may start a step first). Fails at once if the process exits."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited {proc.returncode} before {url} answered")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.1)


@contextmanager
def running_dashboard(home: Path, **env: str) -> Iterator[tuple[str, Path]]:
    """(its URL, its log file) while it runs on ``home``'s database (the test's PROLIGHT_DB:
    SQLite or PostgreSQL). The log goes to a file: a pipe nobody reads fills and stalls the server."""
    port = free_port()
    env = {**os.environ, "PROLIGHT_DB": os.environ.get("PROLIGHT_DB") or str(home / "prolight.db"),
           "PROLIGHT_WORKSPACE": str(home / "workspace"), **env}
    log = home / "dashboard.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "ui" / "app.py"), "--server.port", str(port),
         "--server.headless", "true"],  # the address comes from .streamlit/config.toml, as for `make run`
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_answering(f"{url}/_stcore/health", proc)
    except RuntimeError:
        proc.kill()
        raise RuntimeError(f"dashboard did not start: {log.read_text()[-2000:]}") from None
    try:
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def served_without_tracebacks(home: Path, **env: str) -> Iterator[str]:
    """The dashboard's URL; fails the test if its log shows a traceback while it served."""
    with running_dashboard(home, **env) as (url, log):
        yield url
        # Read before the server is stopped: Streamlit 1.67 on Starlette 1.x can log a
        # traceback while it shuts down with a websocket still open (its receive loop takes
        # Starlette's "not connected" RuntimeError for a text frame and closes twice;
        # starlette#2766). That is the server stopping, not normal use, which this checks.
        served = log.read_text()
    assert_no_traceback(served)


def assert_no_traceback(served: str) -> None:
    """What the dashboard logged while it served a test: a traceback fails the test."""
    assert "Traceback" not in served, f"the dashboard's log has a traceback:\n{served[-3000:]}"


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
