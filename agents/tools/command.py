"""``run_command``: starts an allow-listed executable (the run's ``allow_commands``) without a
shell, in the workspace, with a timeout and an output cap."""

from __future__ import annotations

import shlex
import subprocess

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from agents.tools.context import tool_context
from agents.tools.files import workspace_root
from graph.core.errors import ToolError, ToolRefused

MAX_OUTPUT_CHARS = 64_000


@tool
def run_command(command: str, config: RunnableConfig, timeout_s: float = 60.0) -> str:
    """Run or execute a command line program (an allow-listed executable, no shell) and return its output."""
    argv = shlex.split(command)
    if not argv:
        raise ToolRefused("empty command")
    settings = tool_context(config).settings
    allowed = settings.allow_commands
    if argv[0] not in allowed:
        raise ToolRefused(
            f"command {argv[0]!r} is not allowed (PROLIGHT_ALLOW_COMMANDS={','.join(sorted(allowed)) or 'empty'})"
        )
    try:
        done = subprocess.run(
            argv, cwd=workspace_root(settings), capture_output=True, text=True,
            timeout=timeout_s, shell=False, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"command {argv[0]!r} timed out after {timeout_s}s") from exc
    except FileNotFoundError as exc:
        raise ToolRefused(f"command {argv[0]!r} not found") from exc
    output = (done.stdout + done.stderr)[:MAX_OUTPUT_CHARS]
    if done.returncode != 0:
        raise ToolError(f"command {argv[0]!r} exited {done.returncode}: {output.strip()[:300]}")
    return output
