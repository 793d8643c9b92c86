"""Secrets stay out of plans, state, events and logs. A plan cites a secret as
``${secret:NAME}``; the value (``PROLIGHT_SECRET_NAME`` in the environment, held by the
settings as a ``SecretStr``) is filled in only when the tool is called, and anything the tool returns or raises is redacted before it is stored. A plan
holding a literal credential (an Authorization-type header, a bearer token, an API key)
is refused by the critic."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from graph.core.errors import ToolRefused
from graph.core.walk import map_strings

SECRET_REF = re.compile(r"\$\{secret:([A-Za-z0-9_]{1,64})\}")
ENV_PREFIX = "PROLIGHT_SECRET_"
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie",
                               "x-auth-token", "x-goog-api-key"})
_LITERAL = re.compile(r"\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}|\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}|\bAKIA[0-9A-Z]{16}\b")
MASK = "***"


def resolve(value: Any, used: dict[str, str], secrets: Mapping[str, SecretStr]) -> Any:
    """``value`` with secret citations filled in from ``secrets``; fills ``used``."""
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        secret = secrets[name].get_secret_value() if name in secrets else ""
        if not secret:
            raise ToolRefused(f"secret {name} is not set ({ENV_PREFIX}{name})")
        used[name] = secret
        return secret

    return map_strings(value, lambda text: SECRET_REF.sub(fill, text))


def redact(value: Any, secrets: dict[str, str]) -> Any:
    ordered = sorted(secrets.values(), key=len, reverse=True)  # longest first: a secret holding another is masked whole

    def mask(text: str) -> str:
        for secret in ordered:
            text = text.replace(secret, MASK)
        return _LITERAL.sub(MASK, text)

    return map_strings(value, mask)


def literal_secrets(args: dict[str, Any], where: str = "args") -> list[str]:
    """Where in ``args`` a credential is written out instead of cited."""
    found: list[str] = []
    for key, value in args.items():
        path = f"{where}.{key}"
        if isinstance(value, dict):
            found += literal_secrets(value, path)
        elif isinstance(value, str):
            if key.lower() in SENSITIVE_HEADERS and not SECRET_REF.fullmatch(value.split(" ")[-1]):
                found.append(path)
            elif _LITERAL.search(SECRET_REF.sub("", value)):
                found.append(path)
    return found
