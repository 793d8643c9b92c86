"""``http_request``: http and https only, a timeout, the egress policy on every connection,
and a cap on the response size (after decompression) so a huge or compressed-bomb answer
cannot fill memory or the database.

The policy is checked where the socket is opened, on the address actually connected to:
a redirect is a new connection and is checked again, and the address that was checked is
the one used (a name is resolved once, so it cannot resolve to another address between
the check and the connect)."""

from __future__ import annotations

import socket
import zlib
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlparse

import httpcore
import httpx
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from agents.tools.context import tool_context
from graph.core.egress import EgressPolicy
from graph.core.errors import HttpStatusError, ToolError, ToolRefused

MAX_REDIRECTS = 5


class _PolicedBackend(httpcore.SyncBackend):
    """httpcore's socket opener with the policy in front: resolve, check every address,
    connect to a checked one. TLS still verifies the URL's host name (httpcore passes it
    to ``start_tls``), so pinning the address changes nothing else."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        self.policy.check(host, port, addresses)
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


@lru_cache(maxsize=8)
def client_for(policy: EgressPolicy) -> httpx.Client:
    """One pooled client per policy and process: building one (its TLS context) costs
    milliseconds per call, which a chain of short steps would pay at every link. httpx's
    transport takes no network backend, so its pool is replaced by one that has ours."""
    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False),
                                              network_backend=_PolicedBackend(policy))
    return httpx.Client(transport=transport, follow_redirects=True, max_redirects=MAX_REDIRECTS, trust_env=False)


@tool
def http_request(
    url: str,
    config: RunnableConfig,
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    timeout_s: float = 30.0,
) -> str:
    """Fetch a URL over HTTP or HTTPS (download a web page or call a web API) and return the response body."""
    scheme = urlparse(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise ToolRefused(f"only http and https URLs are allowed, not {scheme or 'no scheme'!r}")
    settings = tool_context(config).settings
    cap = settings.http_max_bytes
    sent = {"Accept-Encoding": "gzip, deflate", **(headers or {})}
    try:
        with client_for(settings.egress).stream(method, url, headers=sent, content=body,
                                                timeout=timeout_s) as response:
            data = _read_capped(response, cap, url)
    except httpx.TimeoutException as exc:
        raise TimeoutError(f"{method} {url} timed out after {timeout_s}s") from exc
    except httpx.UnsupportedProtocol as exc:  # a redirect to ftp:, file:, ...
        raise ToolRefused(f"{method} {url} redirected to a URL that is not http or https: {exc}") from exc
    except httpx.TooManyRedirects as exc:
        raise ToolError(f"{method} {url} redirected more than {MAX_REDIRECTS} times") from exc
    except httpx.TransportError as exc:
        raise ConnectionError(f"{method} {url} failed: {exc}") from exc
    text = data.decode(response.charset_encoding or "utf-8", errors="replace")
    if response.status_code >= 400:
        raise HttpStatusError(response.status_code, f"{method} {url} answered {response.status_code}")
    if response.status_code >= 300:
        raise ToolError(f"{method} {url} answered {response.status_code}")
    return text


def _read_capped(response: httpx.Response, cap: int, url: str) -> bytes:
    """The body, decompressed here with a bound on each call: httpx's own decoder inflates
    a whole chunk at once, and 64 KiB of gzip can hold 64 MiB of zeros."""
    too_big = ToolRefused(f"response from {url} exceeds the {cap}-byte cap")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_big
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        inflater: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflater = zlib.decompressobj()
    elif encoding in ("identity", ""):
        inflater = None
    else:
        raise ToolRefused(f"response from {url} uses content encoding {encoding!r}; only gzip and deflate are read")
    chunks: list[bytes] = []
    size = received = 0
    for raw in response.iter_raw():
        received += len(raw)
        if received > cap:
            raise too_big
        try:
            chunk = raw if inflater is None else inflater.decompress(raw, cap - size + 1)
        except zlib.error as exc:
            raise ToolError(f"response from {url} is not valid {encoding}: {exc}") from exc
        size += len(chunk)
        if size > cap:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)
