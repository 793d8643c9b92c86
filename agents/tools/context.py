"""What a tool receives from the run that calls it: the run's settings (workspace, command
allow-list, size caps) and the run's chat model. The executor hands it over in the call's
``RunnableConfig``; a tool declares a ``config: RunnableConfig`` parameter, which LangChain
fills in and keeps out of the tool's argument schema, so the planner never sees it.

A tool invoked by hand is given one the same way
(``tool.invoke(args, config=ToolContext(settings).config())``); without it, a tool that
needs the settings refuses the call rather than guess them from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig

from graph.core.errors import ToolRefused
from graph.core.settings import Settings

CONFIG_KEY = "prolight_tool_context"


@dataclass(frozen=True)
class ToolContext:
    """``feedback``: on a retry after the output failed a check, why it failed; a tool that
    asks a model (``summarize``) hands it to the model, so the next answer can do better."""

    settings: Settings
    model: BaseChatModel | None = None
    feedback: str | None = None

    def config(self) -> RunnableConfig:
        return {"configurable": {CONFIG_KEY: self}}


def tool_context(config: RunnableConfig | None) -> ToolContext:
    found = ((config or {}).get("configurable") or {}).get(CONFIG_KEY)
    if not isinstance(found, ToolContext):
        raise ToolRefused("this tool needs the run's settings: call it with config=ToolContext(settings).config()")
    return found
