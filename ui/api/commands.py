"""The HTTP routes of the command table: one endpoint per command, made from its row.

This module keeps its annotations evaluated (no ``from __future__ import annotations``):
FastAPI reads each endpoint's signature to learn its body model, and that model is made
here per command, so it exists only at run time."""

import inspect
from typing import Any

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, Field, create_model

from graph.operations import Operations
from graph.operations.commands import Command
from graph.operations.models import ThreadView
from ui.api.access import Caller, caller


def body_model(command: Command) -> type[BaseModel]:
    """The command's request less the fields its path carries, plus ``operator``."""
    fields: dict[str, Any] = {name: (info.annotation, info) for name, info in command.request.model_fields.items()
                              if name in command.body_fields}
    fields["operator"] = (str | None, Field(None, max_length=64, description=(
        "Who asks. With a token it must be the token's account (or left out); on an open server it is "
        "recorded as given (default: api).")))
    return create_model(f"{command.request.__name__.removesuffix('Request')}Body",
                        __config__={"extra": "forbid"}, **fields)


def acting_as(who: Caller, operator: str | None) -> str:
    """The name a command is recorded under: the caller's account, never another one's."""
    if operator is None or operator == who.name:
        return who.name
    if who.open:
        return operator
    raise HTTPException(403, f"account {who.name!r} may not act as {operator!r}")


def command_endpoint(ops: Operations, command: Command):
    """``POST`` the command: the body and path make its request; it is queued under the caller."""
    body_type = body_model(command)
    required = any(info.is_required() for info in body_type.model_fields.values())

    def check(request: Request) -> Caller:
        return caller(request, command.role, command.action)

    def endpoint(who: Caller, body: BaseModel | None = None, **path: str) -> ThreadView:
        given = {name: getattr(body, name) for name in command.body_fields} if body is not None else {}
        request = command.request.model_validate({**given, **path})
        return ops.send(request, operator=acting_as(who, getattr(body, "operator", None)), queue=True)

    parameters = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=str)
                  for name in command.path_fields]
    parameters.append(inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=body_type,
                                        default=inspect.Parameter.empty if required else None))
    parameters.append(inspect.Parameter("who", inspect.Parameter.KEYWORD_ONLY, annotation=Caller,
                                        default=Depends(check)))
    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=ThreadView)  # type: ignore[attr-defined]
    endpoint.__name__ = command.action.value
    return endpoint
