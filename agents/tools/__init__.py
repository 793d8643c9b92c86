"""LangChain tools the planner may use, and the registry that names them."""

from agents.tools.registry import RegisteredTool, ToolRegistry, UnknownToolError, default_registry, registry_for

__all__ = ["RegisteredTool", "ToolRegistry", "UnknownToolError", "default_registry", "registry_for"]
