"""The HTTP API: every read and command of the operations API, answered with the API's own
pydantic models (so the OpenAPI schema is theirs). The command routes are made from the
command table (``ui/api/commands.py``): each takes its request model as the body, less the
fields its path carries, plus ``operator``. Commands are queued and answered at once with
202 and the thread as it stands; the server's run manager carries them out. Every refusal
is a 4xx with one line, ``{"error": "..."}``, and writes nothing."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from graph.operations.models import FollowUntil, Status
from graph.operations.config import Settings
from graph.operations import BadInput, Operations, RequestError, ThreadNotFound
from graph.operations.commands import COMMANDS
from graph.operations.plans import describe_error
from graph.operations.models import (AuditReport, BranchView, BreakerView, CheckpointState, CheckpointView, EventPage,
                                     Metrics, PendingApproval, SortKey, StatusCounts, ThreadPage, ThreadQuery,
                                     ThreadView, ToolView)
from ui.api.access import READ, Caller
from ui.api.commands import command_endpoint
from ui.api.stream import event_stream


def create_app(ops: Operations, settings: Settings, open_access: bool = False) -> FastAPI:
    app = FastAPI(title="ProLight Flow", version="1", description=__doc__)
    app.state.settings, app.state.open_access = settings, open_access

    @app.exception_handler(RequestError)
    async def refused(_: Request, exc: RequestError) -> JSONResponse:
        code = 404 if isinstance(exc, ThreadNotFound) else 422 if isinstance(exc, BadInput) else 409
        return JSONResponse({"error": str(exc)}, status_code=code)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        if first.get("type") == "json_invalid":
            return JSONResponse({"error": "bad request: the body is not valid JSON"}, status_code=422)
        loc = tuple(first.get("loc", ()))
        if loc[:2] == ("body", "plan") and isinstance(exc.body, dict):
            problem = describe_error({**first, "loc": loc[2:]}, exc.body.get("plan"))
            return JSONResponse({"error": f"the plan is not a valid plan: {problem}"}, status_code=422)
        where = ".".join(str(p) for p in loc if p != "body") or "body"
        return JSONResponse({"error": f"bad request: {where}: {first.get('msg', 'invalid')}"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/threads", response_model=ThreadPage)
    def threads(status: list[Status] = Query(default=[]), search: str | None = None, sort: SortKey = "updated",
                descending: bool = True, offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=10_000),
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
    def events(thread_id: str, after: int = Query(0, ge=0), limit: int = Query(1000, ge=1, le=100_000),
               _: Caller = READ) -> EventPage:
        return ops.events(thread_id, after, limit)

    @app.get("/threads/{thread_id}/stream", response_class=PlainTextResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}})
    def stream(thread_id: str, after: int = Query(0, ge=0), last_event_id: str | None = Header(None),
               until: FollowUntil = Query("finished", description="where the stream ends: 'finished' "
                                          "(an end state) or 'settled' (also at the approval gate)"),
               _: Caller = READ):
        ops.thread(thread_id)  # an unknown id is a 404 before the stream opens
        start_after = int(last_event_id) if last_event_id and last_event_id.isdigit() else after
        return event_stream(ops, thread_id, start_after, until, settings.sse_heartbeat_s)

    @app.get("/metrics", response_class=PlainTextResponse, include_in_schema=False)
    def prometheus(_: Caller = READ) -> PlainTextResponse:
        return PlainTextResponse(generate_latest(ops.prometheus_registry()), media_type=CONTENT_TYPE_LATEST)

    @app.get("/metrics/summary", response_model=Metrics)
    def metrics(since: datetime | None = None, until: datetime | None = None, _: Caller = READ) -> Metrics:
        return ops.metrics(since, until)

    @app.get("/breakers", response_model=list[BreakerView])
    def breakers(_: Caller = READ) -> list[BreakerView]:
        return ops.breakers()

    @app.get("/tools", response_model=list[ToolView])
    def tools(_: Caller = READ) -> list[ToolView]:
        return ops.tools()

    return app
