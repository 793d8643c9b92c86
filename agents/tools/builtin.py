"""The built-in tools, declared once: where each lives and how the executor treats it.

The registry imports them as LangChain tools. ``prolight tools`` needs only their names,
descriptions and arguments, and importing LangChain costs over a second, so ``listing`` reads
those from the tools' source instead (``ast``: the function's docstring, which is the tool's
description, and its parameters less the injected ``config``). A test holds the listing to
the registry's tools. This module imports nothing of LangChain; keep it so."""

from __future__ import annotations

import ast  # already imported by pydantic (through inspect): free here
import importlib.util
from dataclasses import dataclass
from functools import lru_cache

from graph.core.settings import Settings

ENTRY_POINT_GROUP = "prolight.tools"


@dataclass(frozen=True)
class Builtin:
    module: str
    name: str
    risky: bool = False
    bounded: bool = False  # see ToolRegistry.register
    # The words a step's description uses for what this tool does: the critic flags a step
    # described as one operation that calls another tool ("Calculate 10/0" as summarize).
    verbs: frozenset[str] = frozenset()


def _verbs(words: str) -> frozenset[str]:
    return frozenset(words.split())


BUILTIN: tuple[Builtin, ...] = (
    Builtin("agents.tools.http", "http_request", verbs=_verbs("fetch download request post put patch")),
    Builtin("agents.tools.files", "read_file", verbs=_verbs("read load")),
    Builtin("agents.tools.files", "write_file", risky=True, verbs=_verbs("write save store append")),
    Builtin("agents.tools.files", "list_files", verbs=_verbs("list")),
    Builtin("agents.tools.files", "search_files", verbs=_verbs("search find grep")),
    Builtin("agents.tools.calculate", "calculate", bounded=True,
            verbs=_verbs("calculate compute evaluate add subtract multiply divide")),
    Builtin("agents.tools.command", "run_command", risky=True, verbs=_verbs("run execute")),
    Builtin("agents.tools.summarize", "summarize", verbs=_verbs("summarize summarise")),
)
OPERATIONS: dict[str, frozenset[str]] = {b.name: b.verbs for b in BUILTIN}


@dataclass(frozen=True)
class ToolInfo:
    name: str
    description: str
    args: tuple[str, ...]
    risky: bool


def only_builtin(settings: Settings) -> bool:
    """No tool of the user's: none in the settings, no MCP server, none installed."""
    from importlib.metadata import entry_points  # here: only `prolight tools` asks (30 ms of imports)

    return not settings.tools and not settings.mcp and not entry_points(group=ENTRY_POINT_GROUP)


@lru_cache(maxsize=1)
def listing() -> tuple[ToolInfo, ...]:
    """The built-in tools as the registry describes them, read from their source."""
    return tuple(_describe(tool) for tool in BUILTIN)


def _describe(tool: Builtin) -> ToolInfo:
    for node in _functions(tool.module):
        if node.name == tool.name:
            params = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            args = tuple(p.arg for p in params
                         if p.annotation is None or ast.unparse(p.annotation) != "RunnableConfig")
            return ToolInfo(tool.name, (ast.get_docstring(node, clean=False) or "").strip(), args, tool.risky)
    raise ImportError(f"{tool.module} defines no {tool.name}")


@lru_cache(maxsize=None)
def _functions(module: str) -> list[ast.FunctionDef]:
    """The module's top-level functions, parsed once (several tools share a module)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"no module {module}")
    with open(spec.origin, encoding="utf-8") as source:
        tree = ast.parse(source.read(), spec.origin)
    return [node for node in tree.body if isinstance(node, ast.FunctionDef)]

