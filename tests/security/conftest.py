"""The hostile-input suite. Every case is a refusal with its reason, and a check that
nothing was written or reached that should not have been. Packets go to 127.0.0.0/8 only:
private, link-local and metadata addresses are judged as decisions on the address."""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from agents.tools.context import ToolContext
from graph.core.egress import EgressPolicy
from graph.core.settings import Settings
from tests.support.http_server import LoopbackServer


@pytest.fixture(autouse=True)
def default_egress(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite starts from the default policy; a case that needs a loopback server
    allowed says so in its own settings."""
    monkeypatch.delenv("PROLIGHT_EGRESS_ALLOW", raising=False)


@lru_cache(maxsize=4)
def bomb(size: int) -> bytes:
    """``size`` zero bytes, gzipped (made once: a test measuring memory makes it first)."""
    return gzip.compress(b"\0" * size, compresslevel=9)


class HostileServer:
    """A loopback server that counts every request it receives (before answering) and
    answers as the path says: ``/redirect?to=URL``, ``/big?size=N`` (``chunked=1``: no
    Content-Length), ``/bomb?size=N`` (gzip of N zero bytes), ``/page``."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.server = LoopbackServer(self.handle)

    @property
    def port(self) -> int:
        return self.server.httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"{self.server.base}{path}"

    @property
    def total(self) -> int:
        return sum(self.hits.values())

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parsed = urlparse(request.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        self.hits[parsed.path] += 1
        headers: dict[str, str] = {}
        status = 200
        if parsed.path == "/redirect":
            status, body, headers = 302, b"", {"Location": query["to"]}
        elif parsed.path == "/big":
            body = b"x" * int(query["size"])
        elif parsed.path == "/bomb":
            body = bomb(int(query["size"]))
            headers = {"Content-Encoding": "gzip"}
        else:
            body = b"hello"
        try:
            request.send_response(status)
            for name, value in headers.items():
                request.send_header(name, value)
            if query.get("chunked"):
                request.send_header("Connection", "close")
                request.end_headers()
                for start in range(0, len(body), 65536):
                    request.wfile.write(body[start:start + 65536])
            else:
                request.send_header("Content-Length", str(len(body)))
                request.end_headers()
                request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    server.server.start()
    yield server
    server.server.stop()


@pytest.fixture
def make_context(tmp_path: Path):
    """A tool context with the given egress policy and caps, as the executor hands over."""
    def make(allow: tuple[str, ...] = (), **settings: object) -> ToolContext:
        (tmp_path / "workspace").mkdir(exist_ok=True)
        return ToolContext(Settings(db=str(tmp_path / "prolight.db"), model="offline", workspace=tmp_path / "workspace",
                                    allow_commands=frozenset(settings.pop("allow_commands", ())),
                                    egress=EgressPolicy(allow=allow), **settings))
    return make
