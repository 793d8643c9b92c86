"""Tools of MCP servers (the ``[mcp.NAME]`` tables of the settings file), loaded through
``langchain-mcp-adapters`` and wrapped as our own tools named ``NAME_TOOL``.

The adapter's tools are async and open a session per call (stateless: a stdio server is
started for the call and stopped after it). Our executor calls tools from a step's own
thread, so the wrapper is synchronous and runs the call in an event loop of that thread.
What the executor needs of a failure is its kind: a server that cannot be reached is a
``McpServerUnavailable`` (a ``ConnectionError``: retried, counted by the tool's breaker,
like any tool's network failure); an error the tool itself reports is a ``ToolError``
(not retried: the same call would fail the same way). The wrapper keeps the server's own
JSON schema as the tool's, and the critic validates plans against it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException

from graph.core.errors import ToolError
from graph.core.settings import McpServer

log = logging.getLogger("prolight.mcp")
LOAD_TIMEOUT_S = 30.0


class McpServerUnavailable(ToolError, ConnectionError):
    """The server could not be started or reached, or it went away during the call."""


def connection(server: McpServer) -> dict[str, Any]:
    """The adapter's connection dict for one of our server settings."""
    if server.command is not None:
        conn: dict[str, Any] = {"transport": "stdio", "command": server.command[0], "args": list(server.command[1:])}
        if server.cwd:
            conn["cwd"] = server.cwd
        if server.env:
            conn["env"] = dict(server.env)
        return conn
    return {"transport": "streamable_http", "url": server.url}


def load_server_tools(name: str, server: McpServer) -> list[BaseTool]:
    """The server's tools, wrapped; raises McpServerUnavailable if it cannot be listed."""
    from langchain_mcp_adapters.tools import load_mcp_tools

    async def load() -> list[BaseTool]:
        return await asyncio.wait_for(
            load_mcp_tools(None, connection=connection(server), server_name=name, tool_name_prefix=True,
                           handle_tool_errors=False),
            LOAD_TIMEOUT_S)

    try:
        adapted = asyncio.run(load())
    except Exception as exc:
        raise McpServerUnavailable(f"MCP server {name!r} could not be listed: {_innermost(exc)}") from None
    return [_wrap(name, tool) for tool in adapted]


def load_all(servers: Mapping[str, McpServer]) -> list[tuple[BaseTool, bool]]:
    """(tool, risky) for every tool of every server that answers. A server that does not is
    logged and left out: plans naming its tools are refused as unknown tools until it is up
    when the process starts."""
    tools: list[tuple[BaseTool, bool]] = []
    for name, server in servers.items():
        try:
            tools += [(tool, server.risky) for tool in load_server_tools(name, server)]
        except McpServerUnavailable as exc:
            log.warning("%s; its tools are not available", exc)
    return tools


def _wrap(server: str, adapted: StructuredTool) -> BaseTool:
    coroutine = adapted.coroutine

    def call(**arguments: Any) -> Any:
        try:
            content, artifact = asyncio.run(coroutine(**arguments))  # type: ignore[misc]
        except ToolException as exc:  # the tool ran and said it failed
            raise ToolError(f"MCP tool {adapted.name!r} failed: {_text(exc.args[0] if exc.args else exc)}") from None
        except Exception as exc:
            raise McpServerUnavailable(f"MCP server {server!r} is unavailable: {_innermost(exc)}") from None
        return _result(content, artifact)

    return StructuredTool(name=adapted.name, description=adapted.description or f"{adapted.name} (MCP server {server})",
                          args_schema=adapted.args_schema, func=call)


def _result(content: Any, artifact: dict[str, Any] | None) -> Any:
    """Structured content when the server gives it (a JSON value), else the text blocks."""
    structured = artifact.get("structured_content") if artifact else None  # a TypedDict
    if isinstance(structured, dict) and set(structured) == {"result"}:
        return structured["result"]  # FastMCP wraps a plain return value so
    if structured is not None:
        return structured
    return _text(content)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(block.get("text", "") if isinstance(block, dict) else str(block) for block in content)
    return str(content)


def _innermost(exc: BaseException) -> str:
    """One line from the error that started it (anyio wraps them in exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    while exc.__cause__ is not None and not str(exc).strip():
        exc = exc.__cause__
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
