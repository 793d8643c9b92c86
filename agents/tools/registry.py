"""The tool registry: the built-in tools plus the user's own. A user tool is any LangChain
tool, registered in code (``registry.register``), through the ``prolight.tools`` entry
point group, or named in ``PROLIGHT_TOOLS`` as ``module:attribute`` (comma-separated).
The tools of the settings' MCP servers join them in ``registry_for(settings)``."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points

from langchain_core.tools import BaseTool

from agents.tools.builtin import BUILTIN, ENTRY_POINT_GROUP, ToolInfo
from agents.tools.calling import ToolCall, tool_caller
from agents.tools.mcp import load_all
from graph.core.errors import ToolError
from graph.core.settings import McpServer, Settings


class UnknownToolError(ToolError, KeyError):
    def __str__(self) -> str:
        return f"unknown tool {self.args[0]!r}"


@dataclass(frozen=True)
class RegisteredTool:
    tool: BaseTool
    risky: bool
    call: ToolCall = field(repr=False)
    params: frozenset[str] = frozenset()
    bounded: bool = False


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, RegisteredTool] = {}
        self._versions: dict[str, str] = {}

    def register(self, tool: BaseTool, *, risky: bool = False, bounded: bool = False) -> None:
        """``bounded``: the tool is a pure computation that limits its own input and result
        (it cannot block, wait on I/O or run long), so the executor calls it on the step's
        thread without a deadline thread. Leave it False for anything that does I/O."""
        self._tools[tool.name] = RegisteredTool(tool, risky, tool_caller(tool), frozenset(tool.args), bounded)

    def get(self, name: str) -> BaseTool:
        return self._entry(name).tool

    def caller(self, name: str) -> ToolCall:
        """How the executor calls the tool: ``caller(args, config)``."""
        return self._entry(name).call

    def takes(self, name: str, param: str) -> bool:
        """Whether the tool has the argument (read once: ``BaseTool.args`` builds a JSON schema)."""
        return param in self._entry(name).params

    def _entry(self, name: str) -> RegisteredTool:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownToolError(name) from None

    def description(self, name: str) -> str:
        """The tool's description, first line only (what a span carries)."""
        return self._entry(name).tool.description.strip().split("\n", 1)[0]

    def version(self, name: str) -> str:
        """What a cached result of the tool is keyed on besides its args: a digest of its
        name, description, argument schema and source (so a changed tool misses the
        results of the old one), made on first use."""
        if name not in self._versions:
            tool = self._entry(name).tool
            func = getattr(tool, "func", None) or getattr(tool, "coroutine", None)
            try:
                source = inspect.getsource(func) if func is not None else ""
            except (OSError, TypeError):
                source = ""
            described = json.dumps([tool.name, tool.description, tool.args, source], sort_keys=True, default=str)
            self._versions[name] = hashlib.sha256(described.encode()).hexdigest()[:16]
        return self._versions[name]

    def is_bounded(self, name: str) -> bool:
        return self._entry(name).bounded

    def is_risky(self, name: str) -> bool:
        return name in self._tools and self._tools[name].risky

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def copy(self) -> "ToolRegistry":
        other = ToolRegistry()
        other._tools = dict(self._tools)
        other._versions = dict(self._versions)
        return other

    def names(self) -> list[str]:
        return list(self._tools)

    def tools(self) -> list[BaseTool]:
        return [entry.tool for entry in self._tools.values()]

    def listing(self) -> tuple[ToolInfo, ...]:
        """What ``prolight tools`` shows, as ``agents.tools.builtin.listing`` reads it from source."""
        return tuple(ToolInfo(name, entry.tool.description, tuple(entry.tool.args), entry.risky)
                     for name, entry in self._tools.items())

    def catalogue(self) -> str:
        """One line per tool with its arguments, for prompts and `prolight tools`."""
        lines = []
        for name, entry in self._tools.items():
            args = ", ".join(entry.tool.args)
            risky = " [risky]" if entry.risky else ""
            lines.append(f"- {name}({args}){risky}: {entry.tool.description}")
        return "\n".join(lines)


def _load_user_tools(registry: ToolRegistry, specs: tuple[str, ...]) -> None:
    for point in entry_points(group=ENTRY_POINT_GROUP):
        registry.register(point.load())
    for spec in specs:
        module_name, _, attribute = spec.partition(":")
        registry.register(getattr(importlib.import_module(module_name), attribute))


@lru_cache(maxsize=8)
def default_registry(tools: tuple[str, ...] = ()) -> ToolRegistry:
    """The built-in tools, those installed under the ``prolight.tools`` entry point, and
    ``tools`` (the settings' ``module:attribute`` specs)."""
    registry = ToolRegistry()
    for builtin in BUILTIN:
        tool = getattr(importlib.import_module(builtin.module), builtin.name)
        registry.register(tool, risky=builtin.risky, bounded=builtin.bounded)
    _load_user_tools(registry, tools)
    return registry


def registry_for(settings: Settings) -> ToolRegistry:
    """The default registry, plus the tools of the settings' MCP servers (listed once per
    process and set of servers: each listing starts a stdio server or calls an HTTP one)."""
    if not settings.mcp:
        return default_registry(settings.tools)
    return _with_mcp(json.dumps({name: server.model_dump(mode="json") for name, server in settings.mcp.items()},
                                sort_keys=True), settings.tools)


@lru_cache(maxsize=8)
def _with_mcp(servers_json: str, tools: tuple[str, ...]) -> ToolRegistry:
    registry = default_registry(tools).copy()
    servers = {name: McpServer.model_validate(value) for name, value in json.loads(servers_json).items()}
    for tool, risky in load_all(servers):
        registry.register(tool, risky=risky)
    return registry
