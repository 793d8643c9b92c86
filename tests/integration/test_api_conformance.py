"""Schemathesis, a client we did not write, against a real ``prolight serve`` and the
OpenAPI schema it publishes: every check it has (``--checks all``: no server error, only
declared statuses, content types and headers, bodies that fit the declared schemas, schema-
violating input refused, schema-valid input accepted, 401 without a token, created threads
found...), over its coverage, fuzzing and stateful phases, with a fixed seed and a bounded
number of examples per operation so that a failure reproduces. Once on an open server, once
with a viewer's token and once with an operator's.

The thread's event stream is left out of these runs: it stays open while its thread has not
finished, and a fuzzer reads whole responses. Its parameters are covered in
``test_http_api.py``; its behaviour with a browser's own ``EventSource`` in the e2e suite.
What the schema cannot say is in ``schemathesis/schemathesis.toml``, with why."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.api_server import serve, write_accounts
from tests.support.browser import free_port

CONFIG = Path(__file__).parent / "schemathesis" / "schemathesis.toml"
SEED, EXAMPLES = 20261203, 8


def schemathesis_cli() -> str:
    """The CLI in its own venv (``make tools``; the Makefile says why), or on the PATH."""
    own = Path(sys.executable).parent.parent / "schemathesis" / "bin" / "schemathesis"
    found = str(own) if own.exists() else shutil.which("schemathesis")
    if found is None:
        pytest.fail("schemathesis is not installed: run `make tools`")
    return found


def schemathesis(url: str, report: Path, *headers: str) -> subprocess.CompletedProcess[str]:
    command = [schemathesis_cli(), "--config-file", str(CONFIG), "run",
               f"{url}/openapi.json", "--checks", "all", "--seed", str(SEED), "--max-examples", str(EXAMPLES),
               "--workers", "1", "--no-color", "--exclude-path", "/threads/{thread_id}/stream",
               "--generation-database", "none",  # no examples kept between runs: the seed decides them all
               "--report", "junit", "--report-junit-path", str(report)]
    for header in headers:
        command += ["-H", header]
    return subprocess.run(command, capture_output=True, text=True, timeout=280, cwd=report.parent)


@pytest.mark.parametrize("caller", ["open", "vera", "otto"])
def test_schemathesis_finds_nothing_against_the_published_schema(home: Path, caller: str) -> None:
    settings, tokens = write_accounts(home)
    port = free_port()
    server = serve(home, settings, port, *(["--open"] if caller == "open" else []))
    url = f"http://127.0.0.1:{port}"
    try:
        headers = [] if caller == "open" else [f"Authorization: Bearer {tokens[caller]}"]
        run = schemathesis(url, home / "junit.xml", *headers)
        summary = run.stdout[-3000:]
        assert run.returncode == 0, summary
        generated = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
        assert generated and int(generated.group(1)) > 500, summary  # it really ran
        print(f"schemathesis ({caller}): {generated.group(0)}")
        if caller == "vera":  # a viewer may read, never write: every command was refused
            assert httpx.get(f"{url}/threads/counts", headers={"Authorization": f"Bearer {tokens['vera']}"}
                             ).json()["total"] == 0
    finally:
        server.proc.terminate()
        server.proc.wait(timeout=15)
    assert "Traceback" not in server.log.read_text(), server.report()
