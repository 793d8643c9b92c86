"""Plan args are JSON-like values (strings inside dicts and lists); the step-reference
filler, the secret filler and the redactor each rewrite their strings the same way."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """``value`` with ``fn`` applied to every string inside it (dict keys left alone)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    return value


def as_text(output: Any) -> str:
    """A step's output as text: what ``{{step}}`` cites, and what its checks read."""
    return output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
