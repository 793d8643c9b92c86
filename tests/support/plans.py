"""Plan steps for tests: a call to the local test server, shaped by its fault query."""

from __future__ import annotations

from tests.support.http_server import ToolServer


def fetch(server: ToolServer, step_id: str, deps: list[str] | None = None, *, timeout_s: float | None = None,
          priority: int | None = None, **query: object) -> dict:
    """An ``http_request`` step to ``/<step_id>`` (``query``: delay, status, fail_first, ...)."""
    step: dict = {"id": step_id, "tool": "http_request", "args": {"url": server.url(step_id, **query)},
                  "depends_on": deps or []}
    if timeout_s:
        step["timeout_s"] = timeout_s
    if priority is not None:
        step["priority"] = priority
    return step
