"""``summarize``: the run's own chat model condenses a text. The text usually comes from a
fetched page or another tool, so the prompt hands it over as data inside a <text> block."""

from __future__ import annotations

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from agents.prompts import feedback_note, summarize_request
from agents.tools.context import tool_context
from graph.core.errors import ToolRefused


@tool
def summarize(text: str, config: RunnableConfig, max_sentences: int = 3) -> str:
    """Summarize a text into a few sentences."""
    context = tool_context(config)
    if context.model is None:
        raise ToolRefused("summarize needs the run's chat model; it is given one when a run executes it")
    messages = [HumanMessage(summarize_request(text, max_sentences))]
    if context.feedback:  # a retry after the last summary failed a check: say why
        messages.append(HumanMessage(feedback_note(context.feedback)))
    return str(context.model.invoke(messages).text)
