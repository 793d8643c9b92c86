"""The CLI driving a remote ``prolight serve`` (``--url`` / ``PROLIGHT_URL``, the token in
``PROLIGHT_TOKEN``): the same commands and answers as against a database, and ``events
--follow`` surviving the server's death: it reconnects with back-off and resumes after the
last event it printed, so every event is printed exactly once."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tests.support.api_server import Api, api, serve, write_accounts  # noqa: F401  (the fixture)
from tests.support.browser import free_port
from tests.support.cli import Cli
from tests.support.http_server import ToolServer
from tests.support.plans import fetch


def remote(home: Path, api: Api, account: str | None = "ana") -> Cli:
    env = {"PROLIGHT_URL": api.url, "PROLIGHT_TOKEN": api.tokens[account] if account else ""}
    return Cli(home / "elsewhere", **env)  # no database here: everything goes through the server


def test_the_cli_drives_a_remote_server(home: Path, api: Api) -> None:
    (home / "elsewhere").mkdir()
    cli = remote(home, api)
    waiting = cli.ok("run", "Calculate 6*7")  # followed to the gate over the event stream
    assert waiting["status"] == "AWAITING_APPROVAL" and waiting["operator"] == "ana"
    thread = waiting["thread_id"]
    done = cli.ok("approve", thread)
    assert done["status"] == "COMPLETED" and done["decisions"][-1]["operator"] == "ana"
    assert cli.ok("status", thread)["status"] == "COMPLETED"
    assert cli.ok("threads", "--search", thread[:8])["items"][0]["thread_id"] == thread
    assert cli.ok("counts")["total"] == 1
    history = cli.ok("history", thread)
    state = cli.ok("state", thread, "--checkpoint", history[-1]["checkpoint_id"])
    assert state["checkpoint"]["checkpoint_id"] == history[-1]["checkpoint_id"]
    printed = cli("events", thread, "--json")
    assert printed.code == 0 and json.loads(printed.stdout.splitlines()[0])["kind"] == "run_created"
    assert cli.ok("metrics")["runs"]["total"] == 1
    assert "prolight_" in cli("metrics", "--prometheus").stdout
    assert "calculate" in {t["name"] for t in cli.ok("tools")}
    queued = cli.ok("run", "--detach", "Calculate 1+1")
    assert queued["queued"] is True
    api.wait(queued["thread_id"], "AWAITING_APPROVAL")
    assert cli.ok("inbox")[0]["thread_id"] == queued["thread_id"]
    cli.ok("cancel", queued["thread_id"])
    api.wait(queued["thread_id"], "CANCELLED")

    unknown = cli("status", "0" * 32)
    assert unknown.code == 2 and unknown.stderr.strip() == f"prolight: error: unknown thread {'0' * 32!r}"
    unknown_follow = cli("events", "0" * 32, "--follow")
    assert unknown_follow.code == 2 and unknown_follow.stderr.strip() == f"prolight: error: unknown thread {'0' * 32!r}"
    anonymous = remote(home, api, None)("counts")
    assert anonymous.code == 2 and "a bearer token is required" in anonymous.stderr
    weak = remote(home, api, "vera")("approve", thread)
    assert weak.code == 2 and weak.stderr.strip() == "prolight: error: account 'vera' (viewer) may not approve"
    local_only = cli("worker", "--once")
    assert local_only.code == 2 and "worker runs where the database is" in local_only.stderr
    assert not (home / "elsewhere" / ".prolight").exists(), "no database was opened here"


def test_a_remote_follower_waits_at_the_gate_and_follows_the_approved_run(home: Path, api: Api) -> None:
    """``events --follow`` asks the server's stream to end only when the thread finishes;
    ``run`` (which hands back at the gate) asks it to end once the thread settles."""
    (home / "elsewhere").mkdir()
    cli = remote(home, api)
    thread = cli.ok("run", "Calculate 6*7")["thread_id"]  # this follow ended at the gate
    follower = cli.popen("events", thread, "--follow")
    try:
        lines: list[str] = []
        while not lines or not lines[-1].startswith("waiting for a decision"):
            line = follower.stdout.readline()
            assert line, f"follow ended at the gate: {follower.stderr.read()}"
            lines.append(line.strip())
        assert lines[-1] == f"waiting for a decision: prolight approve {thread}  |  prolight reject {thread} --feedback TEXT"
        assert cli.ok("approve", thread)["status"] == "COMPLETED"
        out, err = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    assert "run_completed" in out and "step_succeeded" in out


def test_events_follow_outlives_the_server_and_prints_every_event_once(home: Path, server: ToolServer) -> None:
    settings, tokens = write_accounts(home)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    lease = {"PROLIGHT_LEASE_S": "1"}  # the second server takes the orphaned thread over quickly
    first = serve(home, settings, port, **lease)
    api = Api(url, tokens)
    plan = {"goal": "Fetch twice", "steps": [fetch(server, "first"), fetch(server, "held", ["first"], hold="gate")]}
    thread = api.client("otto").post("/threads", json={"plan": plan}).json()["thread_id"]
    api.wait(thread, "AWAITING_APPROVAL")
    api.client("ana").post(f"/threads/{thread}/approve")
    server.wait_started("/held")
    (home / "elsewhere").mkdir()
    follower = remote(home, api).background("events", thread, "--follow", "--json")
    deadline = time.monotonic() + 30
    while not follower.log.read_text().startswith("{"):  # it is streaming: events are printed
        assert follower.proc.poll() is None and time.monotonic() < deadline, follower.report()
        time.sleep(0.05)

    os.kill(first.proc.pid, signal.SIGKILL)  # the server dies mid-run, the follower's stream with it
    first.proc.wait()
    second = serve(home, settings, port, **lease)  # the same address, the same database
    server.wait_started("/held", count=2)  # the new server resumed the orphaned thread
    server.release("gate")
    assert follower.proc.wait(timeout=60) == 0, follower.report()
    printed = [json.loads(line)["seq"] for line in follower.log.read_text().splitlines() if line.startswith("{")]
    stored = [e["seq"] for e in api.client("vera").get(f"/threads/{thread}/events").json()["events"]]
    assert printed == stored, "every event printed once, in order, across the reconnect"
    assert api.wait(thread, "COMPLETED")
    second.proc.terminate()
    second.proc.wait(timeout=15)


def test_the_follower_skips_heartbeats_between_events_and_checks_where_the_stream_ended() -> None:
    """httpx-sse hands a heartbeat that follows an event with an id over as an empty
    message; the follower must skip it, not parse it. A stream that ends is taken as the
    end only when the thread has stopped there (here: COMPLETED); otherwise it is resumed."""
    from datetime import datetime, timezone

    from graph.core.events import StoredEvent
    from graph.operations.models import Status, ThreadView
    from tests.support.http_server import LoopbackServer, respond

    T0 = datetime(2026, 12, 3, tzinfo=timezone.utc)
    from ui.remote import RemoteOperations

    def event(seq: int) -> str:
        return StoredEvent(kind="progress", thread_id="t", seq=seq).model_dump_json()

    body = (f"id: 1\r\nevent: progress\r\ndata: {event(1)}\r\n\r\n: ping\r\n\r\n"
            f"id: 2\r\nevent: progress\r\ndata: {event(2)}\r\n\r\n: ping\r\n\r\n").encode()

    done = ThreadView(thread_id="t", status=Status.COMPLETED, awaiting_approval=False, goal="g", operator="o",
                      model="offline", created_at=T0, updated_at=T0).model_dump_json().encode()

    def answer(request):
        if "/stream" in request.path:
            return respond(request, body, "text/event-stream")
        return respond(request, done, "application/json")  # where the follower checks the stream ended rightly

    server = LoopbackServer(answer).start()
    try:
        seen: list[int] = []
        remote = RemoteOperations(server.base, None)
        assert remote.follow("t", 0, lambda e: seen.append(e.seq)) == 2
        assert seen == [1, 2]
    finally:
        server.stop()


def test_a_stream_that_ends_before_the_thread_does_is_resumed_after_its_last_event() -> None:
    from datetime import datetime, timezone

    from graph.core.events import StoredEvent
    from graph.operations.models import Status, ThreadView
    from tests.support.http_server import LoopbackServer, respond
    from ui.remote import RECONNECT, RemoteOperations

    T0 = datetime(2026, 12, 3, tzinfo=timezone.utc)
    asked: list[str] = []

    def answer(request):
        if "/stream" in request.path:
            asked.append(request.headers["Last-Event-ID"])
            seqs = (1, 2) if len(asked) == 1 else (3,)
            body = "".join(f"id: {s}\r\nevent: progress\r\ndata: "
                           f"{StoredEvent(kind='progress', thread_id='t', seq=s).model_dump_json()}\r\n\r\n" for s in seqs)
            return respond(request, body.encode(), "text/event-stream")
        status = Status.EXECUTING if len(asked) == 1 else Status.COMPLETED
        view = ThreadView(thread_id="t", status=status, awaiting_approval=False, goal="g", operator="o",
                          model="offline", created_at=T0, updated_at=T0)
        return respond(request, view.model_dump_json().encode(), "application/json")

    server = LoopbackServer(answer).start()
    try:
        seen: list[int] = []
        remote = RemoteOperations(server.base, None, reconnect=RECONNECT.model_copy(update={"initial_delay_s": 0.01}))
        assert remote.follow("t", 0, lambda e: seen.append(e.seq)) == 3
        assert seen == [1, 2, 3] and asked == ["0", "2"], "resumed after the last event it had"
    finally:
        server.stop()


def test_a_stream_gone_silent_is_taken_for_dead_after_three_heartbeats_and_resumed(capsys) -> None:
    """The first connection sends one event, then nothing at all, not even a heartbeat (a
    connection that died without a word); the follower drops it after three heartbeat
    intervals, says so, and resumes after its last event on a new one."""
    import threading
    from datetime import datetime, timezone

    from graph.core.events import StoredEvent
    from graph.operations.models import Status, ThreadView
    from tests.support.http_server import LoopbackServer, respond
    from ui.remote import RECONNECT, RemoteOperations

    T0 = datetime(2026, 12, 3, tzinfo=timezone.utc)
    asked: list[str] = []
    release = threading.Event()

    def frame(seq: int) -> bytes:
        return (f"id: {seq}\r\nevent: progress\r\ndata: "
                f"{StoredEvent(kind='progress', thread_id='t', seq=seq).model_dump_json()}\r\n\r\n").encode()

    def answer(request):
        if "/stream" not in request.path:
            view = ThreadView(thread_id="t", status=Status.COMPLETED, awaiting_approval=False, goal="g",
                              operator="o", model="offline", created_at=T0, updated_at=T0)
            return respond(request, view.model_dump_json().encode(), "application/json")
        asked.append(request.headers["Last-Event-ID"])
        if len(asked) > 1:
            return respond(request, frame(2), "text/event-stream")
        request.send_response(200)
        request.send_header("content-type", "text/event-stream")
        request.end_headers()
        request.wfile.write(frame(1))
        request.wfile.flush()
        release.wait(60)  # silent: the client must give up on its own

    server = LoopbackServer(answer).start()
    try:
        seen: list[int] = []
        remote = RemoteOperations(server.base, None, reconnect=RECONNECT.model_copy(update={"initial_delay_s": 0.01}),
                                  heartbeat_s=0.1)
        assert remote.follow("t", 0, lambda e: seen.append(e.seq)) == 2
        assert seen == [1, 2] and asked == ["0", "1"], "every event once, resumed after the last one"
        assert capsys.readouterr().err == "reconnecting (attempt 2)…\n"
        remote._heard("2")  # a server that announces a slower heartbeat is given three of its own
        assert remote.silence_s == 6.0
        remote._heard("junk")
        assert remote.silence_s == 6.0
    finally:
        release.set()
        server.stop()
