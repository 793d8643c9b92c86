"""Text that must read as itself inside Streamlit's markdown elements (``st.error`` and
its siblings render markdown). Without this, an error quoting a tool's answer or a plan
argument could draw a link, or an image the browser fetches from anywhere.

The text goes in a code span, the one markdown construct whose content is never parsed.
Backslash escapes were tried first and are not enough: Streamlit also turns every
``http://…`` in a text node into a link, escaped or not (the browser tests found it)."""

from __future__ import annotations

import re


def plain(text: object) -> str:
    """A code span holding ``text``: its fence is one backtick longer than any run inside,
    and the spaces around the content are the ones CommonMark strips."""
    value = " ".join(str(text).splitlines())
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {value} {fence}"
