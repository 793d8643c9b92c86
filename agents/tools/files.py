"""File tools, all confined to the run's workspace (``PROLIGHT_WORKSPACE``): a path is
refused if it is absolute, contains ``..``, or resolves (through symlinks) outside it."""

from __future__ import annotations

import os
import re
from pathlib import Path

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from agents.tools.context import tool_context
from graph.core.errors import ToolRefused
from graph.core.settings import Settings

MAX_READ_BYTES = 1_000_000
MAX_MATCHES = 200


def workspace_root(settings: Settings) -> Path:
    root = settings.workspace
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


def resolve_in_workspace(path: str, root: Path) -> Path:
    """The real path of ``path`` inside the workspace ``root``, or ToolRefused."""
    if not path or os.path.isabs(path) or path.startswith("~"):
        raise ToolRefused(f"path {path!r} must be relative to the workspace")
    if ".." in Path(path).parts:
        raise ToolRefused(f"path {path!r} may not contain '..'")
    candidate = (root / path).resolve()
    if candidate != root and not candidate.is_relative_to(root):
        raise ToolRefused(f"path {path!r} leaves the workspace")
    return candidate


@tool
def read_file(path: str, config: RunnableConfig) -> str:
    """Read or open a text file from the workspace and return its content."""
    target = resolve_in_workspace(path, workspace_root(tool_context(config).settings))
    if not target.is_file():
        raise ToolRefused(f"no file {path!r} in the workspace")
    data = target.read_bytes()[:MAX_READ_BYTES]
    return data.decode("utf-8", errors="replace")


@tool
def write_file(path: str, content: str, config: RunnableConfig) -> str:
    """Write or save text to a file in the workspace (creates or replaces it)."""
    target = resolve_in_workspace(path, workspace_root(tool_context(config).settings))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".prolight-tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, target)
    return f"wrote {len(content.encode('utf-8'))} bytes to {path}"


@tool
def list_files(config: RunnableConfig, path: str = ".") -> list[str]:
    """List the files and folders in a workspace folder (folders end with '/')."""
    target = resolve_in_workspace(path, workspace_root(tool_context(config).settings))
    if not target.is_dir():
        raise ToolRefused(f"no folder {path!r} in the workspace")
    return sorted(p.name + ("/" if p.is_dir() else "") for p in target.iterdir())


@tool
def search_files(pattern: str, config: RunnableConfig, path: str = ".") -> list[str]:
    """Search or find text (a regular expression) in the workspace's files; returns 'file:line: text' matches."""
    root = workspace_root(tool_context(config).settings)
    target = resolve_in_workspace(path, root)
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ToolRefused(f"bad search pattern {pattern!r}: {exc}") from exc
    matches: list[str] = []
    files = [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file())
    for file in files:
        if not file.resolve().is_relative_to(root):
            continue
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            if regex.search(line):
                matches.append(f"{file.relative_to(root)}:{number}: {line.strip()[:200]}")
                if len(matches) >= MAX_MATCHES:
                    return matches
    return matches
