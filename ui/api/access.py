"""Who is calling the HTTP API: a bearer token of an operator account (its digest in the
settings file), checked against the role a command needs (the command table says which).
A server started open (``prolight serve --open``) takes every call as the account "api"
with every role, and says so when it starts.

The check runs before FastAPI reads the request (``GuardedRoute``): a caller without a
token learns 401, and one without the role 403, whatever the body holds."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute

from graph.operations.access import Role, account_for_token
from graph.operations.config import Settings

# The OpenAPI extension naming the role a route needs (the command table's); readers need none.
ROLE_KEY = "x-required-role"


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


class GuardedRoute(APIRoute):
    """A route that knows its caller before FastAPI parses parameters and body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        role = (self.openapi_extra or {}).get(ROLE_KEY)

        async def guarded(request: Request) -> Response:
            request.state.caller = caller(request, role, self.name)
            return await handle(request)

        return guarded


def _known(request: Request) -> Caller:
    return request.state.caller


CALLER = Depends(_known)  # the caller GuardedRoute established
READ = CALLER  # any account may read
