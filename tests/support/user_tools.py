"""A user's own tool, registered through PROLIGHT_TOOLS in the tests."""

from langchain_core.tools import tool


@tool
def shout(text: str) -> str:
    """Shout the text in capitals."""
    return text.upper()
