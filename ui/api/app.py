"""The HTTP API: every read and command of the operations API, answered with the API's own
pydantic models (so the OpenAPI schema is theirs). The command routes are made from the
command table (``ui/api/commands.py``): each takes its request model as the body, less the
fields its path carries, plus ``operator``. Commands are queued and answered at once with
202 and the thread as it stands; the server's run manager carries them out. Every refusal
is a 4xx with one line, ``{"error": "..."}``, and writes nothing."""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from graph.operations.models import FollowUntil, Status
from graph.operations.config import Settings
from graph.operations import Operations
from graph.operations.commands import COMMANDS
from graph.operations.models import (AuditReport, BranchView, BreakerView, StorageView, CheckpointState, CheckpointView, EventPage,
                                     Metrics, PendingApproval, SortKey, StatusCounts, ThreadPage, ThreadQuery,
                                     ThreadView, ToolView)
from graph.operations.storable import INT_MAX, storable_text
from ui.api.access import READ, ROLE_KEY, TICKET_KEY, Caller, GuardedRoute
from ui.api.commands import command_endpoint
from ui.api.errors import add_error_schema, declare_errors, install_handlers
from ui.api.stream import EventHub, event_stream
from ui.api.tickets import StreamTicket, issue

# RFC 3339, as the schema's "date-time" format says: a date, a time with seconds, an offset.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: Any) -> Any:
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with an offset, such as 2026-01-31T09:00:00Z")
    return value


Time = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
Search = Annotated[str, AfterValidator(storable_text)]


def _seq() -> Any:
    """A position: an offset or an event's seq, bounded by what the database holds (a new
    ``Query`` each time: FastAPI names the one it is given after its parameter)."""
    return Query(0, ge=0, le=INT_MAX)


def create_app(ops: Operations, settings: Settings, open_access: bool = False) -> FastAPI:
    app = FastAPI(title="ProLight Flow", version="1", description=__doc__)
    app.state.settings, app.state.open_access = settings, open_access
    # Stream tickets are signed with a key derived from the audit key: read on first use.
    app.state.audit_key = functools.cache(lambda: settings.audit_secret(ops.db.url))
    hub = EventHub(ops)  # the one poller that feeds every stream of this process
    install_handlers(app)

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app.add_route("/health", health, include_in_schema=False)  # not guarded: a probe has no token
    app.router.route_class = GuardedRoute  # every route below knows its caller before it reads the request

    @app.get("/threads", response_model=ThreadPage)
    def threads(status: list[Status] = Query(default=[]), search: Search | None = Query(None, max_length=500),
                sort: SortKey = "updated", descending: bool = True, offset: int = _seq(),
                limit: int = Query(50, ge=1, le=10_000),
                _: Caller = READ) -> ThreadPage:
        return ops.threads(ThreadQuery(statuses=tuple(status), search=search, sort=sort, descending=descending,
                                       offset=offset, limit=limit))

    @app.get("/threads/counts", response_model=StatusCounts)
    def counts(_: Caller = READ) -> StatusCounts:
        return ops.status_counts()

    @app.get("/approvals", response_model=list[PendingApproval])
    def approvals(_: Caller = READ) -> list[PendingApproval]:
        return ops.awaiting_approval()

    @app.get("/threads/{thread_id}", response_model=ThreadView)
    def thread(thread_id: str, _: Caller = READ) -> ThreadView:
        return ops.thread(thread_id)

    for command in COMMANDS.values():
        app.add_api_route(command.path, command_endpoint(ops, command), methods=[command.method],
                          response_model=ThreadView, status_code=202, name=command.action.value,
                          openapi_extra={ROLE_KEY: command.role},
                          summary=command.help, description=f"Needs the {command.role} role. Queued: answers "
                          "at once with the thread as it stands; the server's run manager carries it out.")

    @app.get("/threads/{thread_id}/history", response_model=list[CheckpointView])
    def history(thread_id: str, _: Caller = READ) -> list[CheckpointView]:
        return ops.checkpoints(thread_id)

    @app.get("/threads/{thread_id}/branches", response_model=list[BranchView])
    def branches(thread_id: str, _: Caller = READ) -> list[BranchView]:
        return ops.branches(thread_id)

    @app.get("/threads/{thread_id}/audit", response_model=AuditReport)
    def audit(thread_id: str, _: Caller = READ) -> AuditReport:
        return ops.audit(thread_id)

    @app.get("/threads/{thread_id}/checkpoints/{checkpoint_id}", response_model=CheckpointState)
    def state(thread_id: str, checkpoint_id: str, _: Caller = READ) -> CheckpointState:
        return ops.checkpoint_state(thread_id, checkpoint_id)

    @app.get("/threads/{thread_id}/events", response_model=EventPage)
    def events(thread_id: str, after: int = _seq(), limit: int = Query(1000, ge=1, le=100_000),
               _: Caller = READ) -> EventPage:
        return ops.events(thread_id, after, limit)

    @app.post("/threads/{thread_id}/stream-ticket", response_model=StreamTicket)
    def stream_ticket(thread_id: str, who: Caller = READ) -> StreamTicket:
        """A short-lived ticket that opens this thread's stream and nothing else, for a browser
        (its EventSource cannot send a token)."""
        ops.events(thread_id, limit=1)  # an unknown thread is a 404
        return issue(app.state.audit_key(), thread_id, who.name)

    @app.get("/threads/{thread_id}/stream", response_class=PlainTextResponse, openapi_extra={TICKET_KEY: True},
             responses={200: {"content": {"text/event-stream": {}}, "description": (
                 "Server-Sent Events: each event with its seq as id and its kind as event type, heartbeats "
                 "as comments, and last an 'end' event with the thread's status")},
                 204: {"description": "The thread has stopped where 'until' says and nothing is new after "
                                      "Last-Event-ID: an EventSource stops here"}})
    async def stream(thread_id: str, after: int = _seq(),
                     last_event_id: str = Header(None, pattern=r"^[0-9]{1,18}$", description=(
                         "The id of the last event received (what EventSource sends on reconnect): the "
                         "stream goes on after it.")),
                     until: FollowUntil = Query("finished", description=(
                         "where the stream ends: 'finished' (an end state; it stays open while the thread "
                         "waits for a person) or 'settled' (also at a pause for a person)")),
                     ticket: str | None = Query(None, max_length=300, description=(
                         "A stream ticket (POST .../stream-ticket), for a client that cannot send a token")),
                     _: Caller = READ) -> Response:
        start_after = int(last_event_id) if last_event_id is not None else after
        def news() -> bool:
            return bool(ops.events(thread_id, start_after, 1).events)  # an unknown thread: 404

        # Read again once it is seen stopped: a thread seen stopped has written all its events.
        if not await run_in_threadpool(news) and await run_in_threadpool(ops.is_settled, thread_id, until) \
                and not await run_in_threadpool(news):
            return Response(status_code=204)
        return event_stream(hub, thread_id, start_after, until, settings.sse_heartbeat_s)

    @app.get("/metrics", include_in_schema=False)
    def prometheus(request: Request, _: Caller = READ) -> Response:
        body, content_type = ops.prometheus_exposition(request.headers.get("accept"))
        return Response(body, media_type=content_type)

    @app.get("/metrics/summary", response_model=Metrics)
    def metrics(since: Time | None = None, until: Time | None = None, _: Caller = READ) -> Metrics:
        return ops.metrics(since, until)

    @app.get("/breakers", response_model=list[BreakerView])
    def breakers(_: Caller = READ) -> list[BreakerView]:
        return ops.breakers()

    @app.get("/storage", response_model=StorageView)
    def storage(_: Caller = READ) -> StorageView:
        return ops.storage()

    @app.get("/tools", response_model=list[ToolView])
    def tools(_: Caller = READ) -> list[ToolView]:
        return ops.tools()

    declare_errors(app, open_access)
    app.openapi = lambda: _schema(app, open_access)  # type: ignore[method-assign]
    return app


def _schema(app: FastAPI, open_access: bool) -> dict[str, Any]:
    """FastAPI's schema, with the bearer scheme every route takes on a server with accounts."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        add_error_schema(schema)
        if not open_access:
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A token of an operator account "
                           "(`prolight token` makes one)."}}
            schema["security"] = [{"bearer": []}]
            schema["components"]["securitySchemes"]["streamTicket"] = {
                "type": "apiKey", "in": "query", "name": "ticket",
                "description": "A stream ticket (POST /threads/{thread_id}/stream-ticket): opens that thread's "
                               "stream only, for a few minutes."}
            schema["paths"]["/threads/{thread_id}/stream"]["get"]["security"] = [{"bearer": []}, {"streamTicket": []}]
        app.openapi_schema = schema
    return app.openapi_schema
