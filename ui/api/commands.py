"""The HTTP routes of the command table: one endpoint per command, made from its row.

This module keeps its annotations evaluated (no ``from __future__ import annotations``):
FastAPI reads each endpoint's signature to learn its body model, and that model is made
here per command, so it exists only at run time."""

import inspect
from typing import Any

from fastapi import HTTPException
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from graph.operations import BadInput, NotFound, Operations, ThreadNotFound
from graph.operations.commands import BLANK, Command, refuse_unstorable
from graph.operations.models import ThreadView
from ui.api.access import CALLER, Caller


def body_model(command: Command) -> type[BaseModel]:
    """The command's request less the fields its path carries, plus ``operator``."""
    fields: dict[str, Any] = {name: (info.annotation, info) for name, info in command.request.model_fields.items()
                              if name in command.body_fields}
    fields["operator"] = (str | None, Field(None, max_length=64, description=(
        "Who asks. With a token it must be the token's account (or left out); on an open server it is "
        "recorded as given (default: api).")))
    name = f"{command.request.__name__.removesuffix('Request')}Body"
    shape = create_model(f"{name}Shape", __config__=ConfigDict(
        extra="forbid", json_schema_extra=command.request.model_config.get("json_schema_extra")), **fields)
    schema: list[Draft202012Validator] = []  # built on first use: most servers never see most commands

    def as_declared(cls: type[BaseModel], given: Any) -> Any:
        """The body checked against the JSON Schema the spec publishes for it, at every depth,
        before pydantic reads it in lax mode (where ``false`` would pass for 0 and ``"1"`` for
        1); and text the store cannot keep is refused (``refuse_unstorable``)."""
        refuse_unstorable(given)
        if not schema:
            schema.append(Draft202012Validator(shape.model_json_schema()))
        errors = list(schema[0].iter_errors(given))
        if errors:
            raise ValueError(_in_words(errors, command))
        return given

    return create_model(name, __base__=shape, __validators__={
        "as_declared": model_validator(mode="before")(classmethod(as_declared))})


def _in_words(errors: list[ValidationError], command: Command) -> str:
    """One line for a body that does not fit its schema, naming the field."""
    rule = [e for e in errors if e.validator == "anyOf" and not e.absolute_path]
    if rule and len(rule) == len(errors) and command.request.needs:
        return f"the body needs {command.request.needs}"
    error = best_match(e for e in errors if e not in rule)
    where = ".".join(str(part) for part in error.absolute_path)
    message = "must not be blank" if error.validator == "pattern" and error.validator_value == BLANK else error.message
    return f"{where}: {message}" if where else message


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
    required = (any(info.is_required() for info in body_type.model_fields.values())
                or "anyOf" in (command.request.model_config.get("json_schema_extra") or {}))

    def endpoint(who: Caller, body: BaseModel | None = None, **path: str) -> ThreadView:
        given = {name: getattr(body, name) for name in command.body_fields} if body is not None else {}
        request = command.request.model_validate({**given, **path})
        try:
            return ops.send(request, operator=acting_as(who, getattr(body, "operator", None)), queue=True)
        except NotFound as exc:
            if isinstance(exc, ThreadNotFound):  # the path names no thread
                raise
            # The thread is there; the body names a checkpoint or step it lacks.
            raise BadInput(str(exc)) from None

    parameters = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=str)
                  for name in command.path_fields]
    parameters.append(inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=body_type,
                                        default=inspect.Parameter.empty if required else None))
    parameters.append(inspect.Parameter("who", inspect.Parameter.KEYWORD_ONLY, annotation=Caller,
                                        default=CALLER))
    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=ThreadView)  # type: ignore[attr-defined]
    endpoint.__name__ = command.action.value
    return endpoint
