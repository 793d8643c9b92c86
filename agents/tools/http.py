"""``http_request``: http and https only, a timeout, and a cap on the response size so a
huge answer cannot fill memory or the database."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlparse

import httpx
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from agents.tools.context import tool_context
from graph.core.errors import HttpStatusError, ToolError, ToolRefused

# One pooled client per process: building a client (its TLS context) costs milliseconds
# per call, which a chain of short steps would pay at every link.
_client = httpx.Client(follow_redirects=True, trust_env=False)


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
    cap = tool_context(config).settings.http_max_bytes
    try:
        with _client.stream(method, url, headers=headers, content=body, timeout=timeout_s) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise ToolRefused(f"response from {url} exceeds the {cap}-byte cap")
                chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise TimeoutError(f"{method} {url} timed out after {timeout_s}s") from exc
    except httpx.TransportError as exc:
        raise ConnectionError(f"{method} {url} failed: {exc}") from exc
    text = b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")
    if response.status_code >= 400:
        raise HttpStatusError(response.status_code, f"{method} {url} answered {response.status_code}")
    if response.status_code >= 300:
        raise ToolError(f"{method} {url} answered {response.status_code}")
    return text
