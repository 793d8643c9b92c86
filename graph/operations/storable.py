"""What a request may carry so that it is stored exactly as given. JSON can spell text and
numbers that our stores cannot hold: a NUL character (PostgreSQL's text refuses it, and
LangGraph's PostgreSQL checkpointer drops it from what it writes), an unpaired surrogate
(not UTF-8, so no store can encode it), an integer beyond 64 bits (msgpack, in which
checkpoints are written, cannot pack it) and NaN or infinity (not JSON). A request holding
one is refused as bad input, naming the field, before anything is written: altered
silently, the plan that is sealed would not be the plan that was submitted."""

from __future__ import annotations

import math
from typing import Any

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_SHOWN_KEY = 40


def unstorable(value: Any, where: str = "") -> str | None:
    """The first place in ``value`` (a JSON value) that cannot be stored as given, as
    "field: why"; None if every part can."""
    if isinstance(value, str):
        return _text_problem(value, where)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if INT_MIN <= value <= INT_MAX else f"{where or 'value'}: integers are limited to 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where or 'value'}: {value} is not a number JSON can carry"
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            name = name if len(name) <= _SHOWN_KEY else name[:_SHOWN_KEY] + "…"
            problem = _text_problem(str(key), f"{where or 'body'} key {name!r}") or unstorable(item, name)
            if problem:
                return problem
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            problem = unstorable(item, f"{where}[{index}]")
            if problem:
                return problem
    return None


def _text_problem(text: str, where: str) -> str | None:
    if "\x00" in text:
        return f"{where or 'text'}: text with a NUL character cannot be stored as given"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return f"{where or 'text'}: text with an unpaired surrogate is not UTF-8 and cannot be stored as given"
    return None


def storable_text(text: str) -> str:
    """A validator for one text field (a query parameter): refused if it cannot be stored."""
    problem = _text_problem(text, "")
    if problem:
        raise ValueError(problem.removeprefix("text: "))
    return text
