"""LangChain tools the planner may use, and the registry that names them.

The names below are loaded on first use: the registry imports LangChain (over a second),
and ``agents.tools.builtin`` (what ``prolight tools`` lists) must be importable without it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.tools.registry import RegisteredTool, ToolRegistry, UnknownToolError, default_registry, registry_for

__all__ = ["RegisteredTool", "ToolRegistry", "UnknownToolError", "default_registry", "registry_for"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'agents.tools' has no attribute {name!r}")
    from agents.tools import registry

    return getattr(registry, name)
