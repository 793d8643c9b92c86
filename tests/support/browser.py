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
        # Read before the server is stopped: its shutdown with websockets open is not what
        # this checks.
        served = log.read_text()
    assert_no_traceback(served)


_CHAINED = ("During handling of the above exception, another exception occurred:",
            "The above exception was the direct cause of the following exception:")


def tracebacks(log: str) -> list[str]:
    """Each Python error report in a log, a chain of tracebacks (``During handling ...``)
    counted as one report, ending at its last exception line."""
    lines, reports, i = log.splitlines(), [], 0
    while i < len(lines):
        if not lines[i].startswith("Traceback (most recent call last):"):
            i += 1
            continue
        start = i
        while True:
            i += 1
            while i < len(lines) and (not lines[i] or lines[i][0].isspace()):
                i += 1  # frames and source lines are indented; the exception line is not
            end = i
            i += 1
            rest = i
            while rest < len(lines) and not lines[rest].strip():
                rest += 1
            if rest < len(lines) and lines[rest] in _CHAINED:
                i = rest + 1
                while i < len(lines) and not lines[i].startswith("Traceback"):
                    i += 1
                continue
            break
        reports.append("\n".join(lines[start:end + 1]))
    return reports


def browser_gone(report: str) -> bool:
    """Streamlit 1.67's websocket loop when a browser leaves while the server sends to it:
    the failed send marks the socket closed, the next receive raises Starlette's
    ``WebSocketDisconnected`` (a RuntimeError), which the loop takes for a text frame and
    answers by closing the socket a second time; the report is that second close. It is a
    Streamlit bug (starlette#2766), harmless to us: the page it served had already gone."""
    return ("streamlit/web/server/starlette/starlette_websocket.py" in report
            and report.rsplit("\n", 1)[-1].startswith("starlette.websockets.WebSocketDisconnected"))


def assert_no_traceback(served: str) -> None:
    """What the dashboard logged while it served a test: a traceback fails the test, except
    Streamlit's report of a browser that went away (``browser_gone``)."""
    excused = sum(report.count("Traceback") for report in tracebacks(served) if browser_gone(report))
    assert served.count("Traceback") == excused, (
        f"the dashboard's log has a traceback:\n{served[-3000:]}")


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
