"""Operator accounts and what each role may do: the one owner of that policy, for the
dashboard and the HTTP API alike. Passwords are kept only as Argon2id hashes in the
settings file and checked with argon2-cffi (the reference binding of the password-hashing
competition's winner): no crypto of ours. Every signed-in account reads; the command table
(``graph/operations/commands.py``) says which role each command needs. An account may
hold several. API tokens (for the HTTP API) are 256 random bits each, so the file
keeps their SHA-256 digests: a slow hash guards guessable passwords, not random tokens."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from functools import cache
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from graph.core.model import Model

if TYPE_CHECKING:
    from argon2 import PasswordHasher

Role = Literal["viewer", "operator", "approver"]  # which role each command needs: graph/operations/commands.py


@cache
def _hasher() -> PasswordHasher:
    """Made on first use: only signing in and `hash-password` hash, and importing argon2 is
    a few milliseconds of every CLI call."""
    from argon2 import PasswordHasher

    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Checked when the name is unknown, so a wrong name costs as long as a wrong password
    and the time of an answer does not tell which names exist. Made on first use: hashing
    takes 0.1 s, which no command that never signs anyone in should pay."""
    return _hasher().hash("no such account")


class Account(Model):
    """One ``[accounts.NAME]`` table of the settings file."""

    name: str = Field(min_length=1, max_length=64)
    roles: frozenset[Role] = Field(description="viewer, operator and/or approver.")
    password_hash: str = Field(description="An Argon2id hash: `prolight hash-password` prints one.")
    token_hashes: frozenset[str] = Field(frozenset(), description="API tokens' digests: `prolight token` prints one.")

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str) -> str:
        if not value.startswith("$argon2"):
            raise ValueError("is not an Argon2 hash (make one with `prolight hash-password`)")
        return value

    @field_validator("token_hashes")
    @classmethod
    def _digests(cls, values: frozenset[str]) -> frozenset[str]:
        for value in values:
            if not re.fullmatch(r"sha256:[0-9a-f]{64}", value):
                raise ValueError("each is sha256: and 64 hex digits (make one with `prolight token`)")
        return values

    @property
    def role_label(self) -> str:
        return ", ".join(sorted(self.roles)) or "viewer"


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify(accounts: dict[str, Account], name: str, password: str) -> Account | None:
    """The account if the password is its own, else None (no hint which part was wrong)."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    account = accounts.get(name.strip())
    try:
        _hasher().verify(account.password_hash if account else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return account


def new_token() -> str:
    return "plf_" + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def account_for_token(accounts: dict[str, Account], token: str) -> Account | None:
    digest = token_digest(token)
    for account in accounts.values():
        if any(hmac.compare_digest(digest, known) for known in account.token_hashes):
            return account
    return None


def is_loopback(address: str | None) -> bool:
    """Whether a listening address is reachable from this machine only. An empty address
    is Streamlit's default: every interface."""
    if not address:
        return False
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def exposure_problem(address: str | None, accounts: dict[str, Account], open_anyway: bool) -> str | None:
    """Why the dashboard must not serve as started, or None. Without accounts anyone who
    reaches the port can approve, so beyond loopback it takes accounts or the explicit
    ``dashboard_open`` setting."""
    if accounts or open_anyway or is_loopback(address):
        return None
    return (f"the dashboard listens on {address or 'every interface'} with no operator accounts, so anyone "
            "who reaches it could approve: add [accounts.NAME] tables to the settings file, listen on "
            "127.0.0.1, or set dashboard_open = true")
