"""Who is calling the HTTP API: a bearer token of an operator account (its digest in the
settings file), checked against the role a command needs (the command table says which).
A server started open (``prolight serve --open``) takes every call as the account "api"
with every role, and says so when it starts.

The check runs before FastAPI reads the request (``GuardedRoute``): a caller without a
token learns 401, and one without the role 403, whatever the body holds. A thread's stream
also opens with a stream ticket (``tickets.py``), for browsers."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute

from graph.operations.access import Role, account_for_token
from graph.operations.config import Settings
from ui.api.tickets import redeem

# The OpenAPI extension naming the role a route needs (the command table's); readers need none.
ROLE_KEY = "x-required-role"
# The extension marking the one route a stream ticket opens (``tickets.py``).
TICKET_KEY = "x-accepts-stream-ticket"


@dataclass(frozen=True)
class Caller:
    name: str
    roles: frozenset[str]
    open: bool = False  # an open server: no account stands behind the call


OPEN_CALLER = Caller("api", frozenset({"viewer", "operator", "approver"}), open=True)


def caller(request: Request, role: Role | None = None, what: str = "", ticket_ok: bool = False) -> Caller:
    """The calling account, or 401 (no or unknown token) / 403 (it lacks ``role``).
    ``ticket_ok``: a thread's stream, which a stream ticket opens instead of a token."""
    settings: Settings = request.app.state.settings
    if request.app.state.open_access:
        return OPEN_CALLER
    if ticket_ok and "ticket" in request.query_params:
        return _ticket_holder(request, settings)
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


def _ticket_holder(request: Request, settings: Settings) -> Caller:
    thread_id = request.path_params.get("thread_id", "")
    name = redeem(request.app.state.audit_key(), request.query_params["ticket"], thread_id)
    if name is None or name not in settings.accounts:
        raise HTTPException(401, f"the stream ticket is not one for thread {thread_id[:40]!r}, or it has lapsed: "
                                 "ask for another (POST /threads/{thread_id}/stream-ticket)",
                            headers={"WWW-Authenticate": "Bearer"})
    return Caller(name, frozenset())  # it opens this stream and nothing else


class GuardedRoute(APIRoute):
    """A route that knows its caller before FastAPI parses parameters and body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        role = (self.openapi_extra or {}).get(ROLE_KEY)
        ticket_ok = bool((self.openapi_extra or {}).get(TICKET_KEY))

        async def guarded(request: Request) -> Response:
            request.state.caller = caller(request, role, self.name, ticket_ok)
            return await handle(request)

        return guarded


def _known(request: Request) -> Caller:
    return request.state.caller


CALLER = Depends(_known)  # the caller GuardedRoute established
READ = CALLER  # any account may read
