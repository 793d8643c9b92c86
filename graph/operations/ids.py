"""Which thread a typed id names: the full id, or a unique prefix of at least
``MIN_PREFIX`` characters (the CLI and the dashboard's "Open a thread" box follow the one
rule). One indexed query of the ``runs`` table, through any ``OperationsApi``."""

from __future__ import annotations

from graph.core.errors import BadInput
from graph.operations.models import ThreadQuery
from graph.operations.protocol import OperationsApi

MIN_PREFIX = 4
SHOWN = 10  # candidates listed when a prefix is ambiguous


def resolve_thread_id(api: OperationsApi, text: str) -> str:
    """The full id ``text`` names. An unknown id is passed on as it is, for the command to
    refuse in its own words; an ambiguous prefix is refused here, listing candidates."""
    text = text.strip()
    if len(text) < MIN_PREFIX:
        return text
    page = api.threads(ThreadQuery(search=text, limit=SHOWN + 1))
    starting = sorted(r.thread_id for r in page.items if r.thread_id.startswith(text))
    if text in starting or not starting:
        return text
    if len(starting) == 1:
        return starting[0]
    more = "…" if len(starting) > SHOWN else ""
    raise BadInput(f"{text!r} is the start of several thread ids: {', '.join(starting[:SHOWN])}{more}; give more of it")
