"""How the executor calls a tool. ``BaseTool.invoke`` re-reads the function's type hints
and builds a callback manager on every call: about 140 µs here, which made it the largest
cost of ours in a run of short steps. For a tool made with ``@tool`` from a plain function
(a ``StructuredTool`` with a pydantic args schema and LangChain's default error and output
handling: all the built-in tools and most user tools) the caller does what ``invoke`` does
for it, once prepared: validate the args against the tool's own schema, keep the fields
that were given (LangChain's rule), hand the run's config to the parameter annotated
``RunnableConfig``, call the function. Every other tool goes through ``invoke``."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel

ToolCall = Callable[[dict[str, Any], RunnableConfig], Any]


def tool_caller(tool: BaseTool) -> ToolCall:
    schema = tool.args_schema
    direct = (isinstance(tool, StructuredTool) and tool.func is not None and tool.coroutine is None
              and isinstance(schema, type) and issubclass(schema, BaseModel)
              and tool.response_format == "content" and not tool.handle_tool_error
              and not tool.handle_validation_error)
    if not direct:
        return lambda args, config: tool.invoke(args, config=config)
    func = tool.func
    fields = set(schema.model_fields)  # type: ignore[union-attr]
    hints = typing.get_type_hints(func)
    config_param = next((name for name, hint in hints.items() if hint is RunnableConfig), None)

    def call(args: dict[str, Any], config: RunnableConfig) -> Any:
        validated = schema.model_validate(args)  # type: ignore[union-attr]
        kwargs = {k: getattr(validated, k) for k in args if k in fields}
        if config_param is not None:
            kwargs[config_param] = config
        return func(**kwargs)  # type: ignore[misc]

    return call
