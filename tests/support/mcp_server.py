"""A stdio MCP server for the tests, made with the ``mcp`` SDK's FastMCP:
``python -m tests.support.mcp_server CALLS_FILE [PORT]`` (with a port: streamable HTTP on
127.0.0.1 instead of stdio). Each tool call appends a line to
CALLS_FILE, so a test counts calls across the server processes (one per call). While a
file ``CALLS_FILE.dead`` exists the server exits as soon as it starts (down when a
process lists the tools); while ``CALLS_FILE.crash`` exists it dies on a tool call
(down after the tools were listed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mcp.server.fastmcp import FastMCP

calls = Path(sys.argv[1])
if Path(f"{calls}.dead").exists():
    sys.exit(3)

server = FastMCP("notes", log_level="WARNING")


@server.tool()
def word_count(text: str) -> int:
    """How many words ``text`` has."""
    if Path(f"{calls}.crash").exists():
        os._exit(3)
    with calls.open("a") as out:
        out.write(f"word_count {text!r}\n")
    return len(text.split())


@server.tool()
def shout(text: str, times: int = 1) -> str:
    """``text`` in capitals, ``times`` times; refuses an empty text."""
    with calls.open("a") as out:
        out.write(f"shout {text!r}\n")
    if not text:
        raise ValueError("nothing to shout")
    return " ".join([text.upper()] * times)


@server.tool()
def draft(topic: str, feedback: str = "") -> str:
    """A first draft about ``topic`` (stands for a model-backed tool); given ``feedback``,
    why the last draft failed a check, it writes a revised one."""
    with calls.open("a") as out:
        out.write(f"draft {topic!r} feedback={feedback!r}\n")
    return f"revised draft about {topic}" if feedback else f"draft about {topic}"


if __name__ == "__main__":
    if len(sys.argv) > 2:
        server.settings.host, server.settings.port = "127.0.0.1", int(sys.argv[2])
        server.run("streamable-http")
    else:
        server.run("stdio")
