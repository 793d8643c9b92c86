"""``summarize``: the run's own chat model condenses a text. The text usually comes from a
fetched page or another tool, so the prompt hands it over as data inside a <text> block."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from agents.prompts import summarize_request
from agents.tools.context import tool_context
from graph.core.errors import ToolRefused


@tool
def summarize(text: str, config: RunnableConfig, max_sentences: int = 3) -> str:
    """Summarize a text into a few sentences."""
    model = tool_context(config).model
    if model is None:
        raise ToolRefused("summarize needs the run's chat model; it is given one when a run executes it")
    reply = model.invoke(summarize_request(text, max_sentences))
    return str(reply.text)
