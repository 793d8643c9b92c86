"""The operations API of a remote ``prolight serve``, for the CLI's ``--url``: the same
``OperationsApi`` as the local one, with the same answers (the API's pydantic models) and
the same refusals (``RequestError`` with the server's one line). Each command's method and
path come from the command table. The server queues every command; a command
the CLI runs to its end (no ``--detach``) follows the thread's event stream until it
settles, printing progress as a local run would. A dropped stream is reconnected with
the one back-off (exponential, with jitter) and resumes after the last event received. A
stream on which neither an event nor a heartbeat has arrived for three heartbeat intervals
is taken for dead (a connection that died silently sends nothing, so a read without a
limit would wait forever): it is dropped and reconnected the same way, saying
"reconnecting (attempt n)…" on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from httpx_sse import connect_sse
from pydantic import TypeAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from graph.operations import BadInput, RequestError, ThreadNotFound
from graph.operations.commands import COMMANDS, CommandRequest
from graph.operations.reconnect import END_EVENT, HEARTBEAT_HEADER, backoff
from graph.operations.models import (FOLLOW_UNTIL, AuditReport, BranchView, BreakerView, StorageView, CheckpointState,
                                     CheckpointView, EventPage, FollowUntil, Metrics, PendingApproval, RetryConfig,
                                     StatusCounts, StoredEvent, ThreadPage, ThreadQuery, ThreadView, ToolView)

T = TypeVar("T")


class StreamEndedEarly(RequestError):
    """The server closed a thread's event stream before the thread stopped where asked."""
RECONNECT = RetryConfig(max_attempts=8, initial_delay_s=0.2, max_delay_s=5.0)


class RemoteOperations:
    def __init__(self, url: str, token: str | None, reconnect: RetryConfig = RECONNECT,
                 heartbeat_s: float = 5.0) -> None:
        """``heartbeat_s``: the server's heartbeat interval; three of them without a byte
        and the stream is dropped and reconnected."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60)
        self.reconnect = reconnect
        self.silence_s = 3 * heartbeat_s

    def close(self) -> None:
        self.http.close()

    def _call(self, answer: type[T] | Any, method: str, path: str, **kwargs: Any) -> T:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise RequestError(f"cannot reach {self.http.base_url}: {exc}") from None
        if response.status_code >= 400:
            try:
                message = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = f"HTTP {response.status_code} from {self.http.base_url}"
            kind = {404: ThreadNotFound, 422: BadInput}.get(response.status_code, RequestError)
            raise kind(message)
        return TypeAdapter(answer).validate_python(response.json())

    def send(self, request: CommandRequest, *, operator: str | None = None, queue: bool = False,
             on_event: Callable[[StoredEvent], None] | None = None) -> ThreadView:
        """The command's route from the table, its request as the body. ``operator`` goes
        along; the server takes it only where the caller's account may act under that name."""
        command = COMMANDS[request.action]
        fields = request.model_dump(mode="json", exclude_none=True)
        path = command.path.format(**{name: fields.pop(name) for name in command.path_fields})
        body = fields | ({"operator": operator} if operator else {})
        thread_id = getattr(request, "thread_id", None)
        seen = self.events(thread_id, 0, 100_000).last_seq if thread_id and not queue else 0
        view = self._call(ThreadView, command.method, path, json=body)
        if queue:
            return view
        self.follow(view.thread_id, seen, on_event, until="settled")
        return self.thread(view.thread_id)

    def follow(self, thread_id: str, after_seq: int, on_event: Callable[[StoredEvent], None] | None,
               until: FollowUntil = "finished") -> int:
        """Pass each event after ``after`` to ``on_event`` until the thread stops where
        ``until`` says; the last seq received. Reconnects resume with Last-Event-ID."""
        last = [after_seq]

        def read() -> None:
            headers = {"Last-Event-ID": str(last[0])}
            with connect_sse(self.http, "GET", f"/threads/{thread_id}/stream", headers=headers,
                             params={"until": until},
                             timeout=httpx.Timeout(60, read=self.silence_s)) as source:
                if source.response.status_code >= 400:
                    source.response.read()
                    raise RequestError(source.response.json().get("error", "the stream was refused"))
                if source.response.status_code == 204:
                    return  # stopped where asked, with nothing after our last event
                self._heard(source.response.headers.get(HEARTBEAT_HEADER))
                for message in source.iter_sse():
                    if message.event == END_EVENT:
                        return  # every event sent, and the thread stopped where asked
                    if not message.data:
                        continue  # a heartbeat: httpx-sse hands it over as an empty message once an id was seen
                    event = StoredEvent.model_validate_json(message.data)
                    last[0] = event.seq
                    if on_event is not None:
                        on_event(event)
            if not self._stopped(thread_id, until):
                raise StreamEndedEarly(f"the event stream of {thread_id} ended before the thread did")

        def say(state: RetryCallState) -> None:
            print(f"reconnecting (attempt {state.attempt_number + 1})…", file=sys.stderr, flush=True)

        for attempt in Retrying(stop=stop_after_attempt(self.reconnect.max_attempts),
                                wait=backoff(self.reconnect), reraise=True, before_sleep=say,
                                retry=retry_if_exception_type((httpx.TransportError, httpx.StreamError,
                                                               StreamEndedEarly))):
            with attempt:
                read()
        return last[0]

    def _heard(self, announced: str | None) -> None:
        """The server's own heartbeat interval, for the next connection's limit (the first
        one assumes ours): a server that pings less often is not taken for dead again."""
        try:
            self.silence_s = max(self.silence_s, 3 * float(announced)) if announced else self.silence_s
        except ValueError:
            pass

    def _stopped(self, thread_id: str, until: FollowUntil) -> bool:
        """Whether the thread is where a stream that ended cleanly says it is: one that
        ended early (seen once on a busy machine, after the approval's event) is resumed
        after its last event like a dropped one."""
        view = self.thread(thread_id)
        return view.status in FOLLOW_UNTIL[until] and not view.queued and view.held_by is None

    def thread(self, thread_id: str) -> ThreadView:
        return self._call(ThreadView, "GET", f"/threads/{thread_id}")

    def threads(self, query: ThreadQuery) -> ThreadPage:
        params = {"status": [s.value for s in query.statuses], "search": query.search, "sort": query.sort,
                  "descending": query.descending, "offset": query.offset, "limit": query.limit}
        return self._call(ThreadPage, "GET", "/threads", params={k: v for k, v in params.items() if v is not None})

    def status_counts(self) -> StatusCounts:
        return self._call(StatusCounts, "GET", "/threads/counts")

    def awaiting_approval(self, limit: int = 200) -> list[PendingApproval]:
        return self._call(list[PendingApproval], "GET", "/approvals")

    def checkpoints(self, thread_id: str) -> list[CheckpointView]:
        return self._call(list[CheckpointView], "GET", f"/threads/{thread_id}/history")

    def branches(self, thread_id: str) -> list[BranchView]:
        return self._call(list[BranchView], "GET", f"/threads/{thread_id}/branches")

    def audit(self, thread_id: str) -> AuditReport:
        return self._call(AuditReport, "GET", f"/threads/{thread_id}/audit")

    def checkpoint_state(self, thread_id: str, checkpoint_id: str) -> CheckpointState:
        return self._call(CheckpointState, "GET", f"/threads/{thread_id}/checkpoints/{checkpoint_id}")

    def events(self, thread_id: str, after_seq: int = 0, limit: int = 1000) -> EventPage:
        return self._call(EventPage, "GET", f"/threads/{thread_id}/events", params={"after": after_seq, "limit": limit})

    def metrics(self, since=None, until=None) -> Metrics:
        params = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v is not None}
        return self._call(Metrics, "GET", "/metrics/summary", params=params)

    def prometheus_text(self) -> str:
        try:
            return self.http.get("/metrics").raise_for_status().text
        except httpx.HTTPError as exc:
            raise RequestError(f"metrics from {self.http.base_url}: {exc}") from None

    def breakers(self) -> list[BreakerView]:
        return self._call(list[BreakerView], "GET", "/breakers")

    def storage(self) -> StorageView:
        return self._call(StorageView, "GET", "/storage")

    def tools(self) -> list[ToolView]:
        return self._call(list[ToolView], "GET", "/tools")
