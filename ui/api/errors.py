"""How the HTTP API refuses, in one place: every refusal is ``{"error": "one line"}`` with
its status, and the OpenAPI schema declares exactly those statuses on every route that can
answer them, so a client generated from the spec (or a fuzzer reading it) knows them all.

- 401: no token, or an unknown one (servers with accounts only);
- 403: the account lacks the command's role, or acts as another account;
- 404: an unknown thread, checkpoint or step (``NotFound``);
- 409: the thread is not at the moment the command needs (``RequestError``);
- 422: the request itself is wrong (``BadInput`` and every schema violation, a body that
  is not UTF-8 JSON included)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from graph.operations import BadInput, NotFound, RequestError
from graph.operations.models import Model
from graph.operations.plans import describe_error
from ui.api.access import ROLE_KEY

DESCRIPTIONS = {401: "No bearer token, or an unknown one", 403: "The account may not do this",
                404: "No such thread (or checkpoint, or step)",
                409: "The thread is not at the moment this needs", 422: "The request is not valid"}


class ApiError(Model):
    """Every refusal's body."""

    error: str = Field(description="What was wrong, in one line.")


def status_for(exc: RequestError) -> int:
    return 404 if isinstance(exc, NotFound) else 422 if isinstance(exc, BadInput) else 409


def declare_errors(app: FastAPI, open_access: bool) -> None:
    """Add to each route the refusals it can answer (before the schema is first built)."""
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        codes = [] if open_access else [401]
        command = ROLE_KEY in (route.openapi_extra or {})
        if command and not open_access:
            codes.append(403)
        if "{thread_id}" in route.path:
            codes.append(404)
        if command:
            codes.append(409)
        if route.dependant.query_params or route.dependant.header_params or route.body_field:
            codes.append(422)
        for code in codes:  # the body's schema by reference: FastAPI reads "model" only when a route is made
            route.responses.setdefault(code, {"description": DESCRIPTIONS[code], "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}})


def add_error_schema(schema: dict[str, Any]) -> None:
    """The refusals' body in the schema's components, where the routes refer to it."""
    schema.setdefault("components", {}).setdefault("schemas", {})["ApiError"] = ApiError.model_json_schema()


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def refused(_: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _invalid_message(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not read the body: not UTF-8, or not JSON
            return JSONResponse({"error": "bad request: the body is not JSON in UTF-8"}, status_code=422)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed(app, request))
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=headers)


def _invalid_message(exc: RequestValidationError) -> str:
    first: dict[str, Any] = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return "bad request: the body is not valid JSON"
    loc = tuple(first.get("loc", ()))
    if loc[:2] == ("body", "plan") and isinstance(exc.body, dict):
        return f"the plan is not a valid plan: {describe_error({**first, 'loc': loc[2:]}, exc.body.get('plan'))}"
    where = ".".join(str(p) for p in loc if p != "body")
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"bad request: {where}: {message}" if where else f"bad request: {message}"


def _allowed(app: FastAPI, request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in app.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)
