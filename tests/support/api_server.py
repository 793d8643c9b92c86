"""A real ``prolight serve`` process on 127.0.0.1 with three accounts and their tokens:
vera (viewer), otto (operator), ana (operator and approver)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from graph.core.accounts import hash_password, new_token, token_digest
from tests.support.browser import free_port, wait_answering
from tests.support.cli import Background, Cli


@dataclass
class Api:
    url: str
    tokens: dict[str, str]  # account → its token

    def client(self, account: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[account]}"} if account else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def wait(self, thread_id: str, *statuses: str, timeout: float = 30) -> dict:
        """Until the thread is in one of ``statuses`` and no worker holds it."""
        deadline = time.monotonic() + timeout
        with self.client("vera") as http:
            while True:
                view = http.get(f"/threads/{thread_id}").json()
                if view["status"] in statuses and not view["queued"] and not view["held_by"]:
                    return view
                assert time.monotonic() < deadline, view["status"]
                time.sleep(0.05)


def write_accounts(home: Path) -> tuple[Path, dict[str, str]]:
    """The settings file with the three accounts; their tokens."""
    tokens = {name: new_token() for name in ("vera", "otto", "ana")}
    roles = {"vera": '["viewer"]', "otto": '["operator"]', "ana": '["operator", "approver"]'}
    digest = hash_password("correct horse battery")
    settings = home / "prolight.toml"
    settings.write_text("".join(f'[accounts.{name}]\nroles = {roles[name]}\npassword_hash = "{digest}"\n'
                                f'token_hashes = ["{token_digest(tokens[name])}"]\n' for name in tokens))
    return settings, tokens


def serve(home: Path, settings: Path, port: int, *flags: str, **env: str) -> Background:
    """``prolight serve`` on ``port`` (with ``flags``: ``--open``), once it answers."""
    server = Cli(home, PROLIGHT_SETTINGS=str(settings), PROLIGHT_SSE_HEARTBEAT_S="0.3", **env).background(
        "serve", "--port", str(port), *flags)
    try:
        wait_answering(f"http://127.0.0.1:{port}/health", server.proc, timeout=30)
    except RuntimeError as exc:
        raise AssertionError(server.report()) from exc
    return server


@pytest.fixture
def api(home: Path) -> Iterator[Api]:
    settings, tokens = write_accounts(home)
    port = free_port()
    server = serve(home, settings, port)
    yield Api(f"http://127.0.0.1:{port}", tokens)
    server.proc.terminate()
    server.proc.wait(timeout=15)
    assert "Traceback" not in server.log.read_text(), server.report()


