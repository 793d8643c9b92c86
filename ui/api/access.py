"""Who is calling the HTTP API: a bearer token of an operator account (its digest in the
settings file), checked against the role a command needs (the command table says which).
A server started open (``prolight serve --open``) takes every call as the account "api"
with every role, and says so when it starts."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request

from graph.operations.access import Role, account_for_token
from graph.operations.config import Settings


@dataclass(frozen=True)
class Caller:
    name: str
    roles: frozenset[str]
    open: bool = False  # an open server: no account stands behind the call


OPEN_CALLER = Caller("api", frozenset({"viewer", "operator", "approver"}), open=True)


def caller(request: Request, role: Role | None = None, what: str = "") -> Caller:
    """The calling account, or 401 (no or unknown token) / 403 (it lacks ``role``)."""
    settings: Settings = request.app.state.settings
    if request.app.state.open_access:
        return OPEN_CALLER
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "a bearer token is required (Authorization: Bearer TOKEN; `prolight token` "
                                 "makes one)", headers={"WWW-Authenticate": "Bearer"})
    account = account_for_token(settings.accounts, token.strip())
    if account is None:
        raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
    if role is not None and role not in account.roles:
        raise HTTPException(403, f"account {account.name!r} ({account.role_label}) may not {what or role}")
    return Caller(account.name, account.roles)


def _reader(request: Request) -> Caller:
    return caller(request)


READ = Depends(_reader)  # any account may read
