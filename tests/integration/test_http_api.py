"""The HTTP API through a real ``prolight serve`` process on 127.0.0.1: every command, the
tokens and roles, bad input (a 4xx with one line, nothing written), and the event stream
(resumed with Last-Event-ID with every event exactly once; heartbeats on an idle stream)."""

from __future__ import annotations

import json

import httpx
from httpx_sse import connect_sse

from tests.support.api_server import Api, api  # noqa: F401  (the fixture)
from tests.support.cli import Cli
from tests.support.http_server import ToolServer
from tests.support.plans import fetch


def failing_plan(server: ToolServer, name: str) -> dict:
    return {"goal": f"Fetch {name}", "steps": [fetch(server, name, fail_first=3)]}


def test_every_command_through_the_api(api: Api, server: ToolServer) -> None:
    otto, ana = api.client("otto"), api.client("ana")
    started = otto.post("/threads", json={"goal": "Calculate 6*7"})
    assert started.status_code == 202 and started.json()["operator"] == "otto"
    thread = started.json()["thread_id"]
    assert api.wait(thread, "AWAITING_APPROVAL")["plan"]["steps"]
    assert [p["thread_id"] for p in ana.get("/approvals").json()] == [thread]

    assert ana.post(f"/threads/{thread}/reject", json={"feedback": "say why"}).status_code == 202
    revised = api.wait(thread, "AWAITING_APPROVAL")
    stale = ana.post(f"/threads/{thread}/approve", json={"plan_digest": "sha256:" + "0" * 64})
    assert stale.status_code == 409 and "not the one you were shown" in stale.json()["error"]
    assert ana.post(f"/threads/{thread}/approve", json={"plan_digest": revised["plan_digest"]}).status_code == 202
    done = api.wait(thread, "COMPLETED")
    assert [(d["action"], d["operator"]) for d in done["decisions"]] == [("reject", "ana"), ("approve", "ana")]

    history = ana.get(f"/threads/{thread}/history").json()
    first_gate = next(c for c in reversed(history) if c["next"] == ["human_review"])
    state = ana.get(f"/threads/{thread}/checkpoints/{first_gate['checkpoint_id']}").json()
    assert state["values"]["goal"] == "Calculate 6*7"
    forked = otto.post(f"/threads/{thread}/fork", json={"checkpoint_id": first_gate["checkpoint_id"]})
    assert forked.status_code == 202, forked.text
    api.wait(thread, "AWAITING_APPROVAL")  # the thread goes on from there: back at the gate
    assert len(ana.get(f"/threads/{thread}/history").json()) > len(history)

    failing = otto.post("/threads", json={"plan": failing_plan(server, "flaky")}).json()["thread_id"]
    api.wait(failing, "AWAITING_APPROVAL")
    ana.post(f"/threads/{failing}/approve")
    api.wait(failing, "FAILED")
    assert otto.post(f"/threads/{failing}/retry").status_code == 202
    assert api.wait(failing, "COMPLETED")["decisions"][-1]["action"] == "retry"
    audit = ana.get(f"/threads/{failing}/audit").json()
    assert audit["verified"] and [e["action"] for e in audit["entries"]] == ["approve", "retry"]
    assert ana.get(f"/threads/{'0' * 32}/audit").status_code == 404

    waiting = otto.post("/threads", json={"goal": "Calculate 1+1"}).json()["thread_id"]
    api.wait(waiting, "AWAITING_APPROVAL")
    assert otto.post(f"/threads/{waiting}/cancel").status_code == 202
    api.wait(waiting, "CANCELLED")

    page = ana.get("/threads", params={"status": ["COMPLETED", "AWAITING_APPROVAL"], "limit": 10}).json()
    assert {item["thread_id"] for item in page["items"]} == {thread, failing}
    assert ana.get("/threads", params={"search": thread[:8]}).json()["items"][0]["thread_id"] == thread
    assert ana.get("/threads/counts").json()["total"] == 3
    events = ana.get(f"/threads/{thread}/events").json()["events"]
    assert events[0]["kind"] == "run_created" and [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert ana.get("/metrics/summary").json()["runs"]["total"] >= 3
    assert "prolight_" in ana.get("/metrics").text
    assert isinstance(ana.get("/breakers").json(), list)
    assert "calculate" in {t["name"] for t in ana.get("/tools").json()}
    schema = httpx.get(f"{api.url}/openapi.json").json()
    assert {"/threads", "/threads/{thread_id}/approve", "/threads/{thread_id}/stream"} <= set(schema["paths"])


def test_a_missing_unknown_or_weak_token_is_refused_and_writes_nothing(api: Api) -> None:
    body = {"goal": "Calculate 1+1"}
    with api.client(None) as anonymous:
        missing = anonymous.post("/threads", json=body)
        unknown = anonymous.post("/threads", json=body, headers={"Authorization": "Bearer plf_nope"})
    assert missing.status_code == 401 and missing.json()["error"].startswith("a bearer token is required")
    assert unknown.status_code == 401 and unknown.json() == {"error": "unknown token"}
    viewer = api.client("vera").post("/threads", json=body)
    assert viewer.status_code == 403 and viewer.json() == {"error": "account 'vera' (viewer) may not start"}
    thread = api.client("otto").post("/threads", json=body).json()["thread_id"]
    api.wait(thread, "AWAITING_APPROVAL")
    weak = api.client("otto").post(f"/threads/{thread}/approve")
    assert weak.status_code == 403 and weak.json() == {"error": "account 'otto' (operator) may not approve"}
    assert api.wait(thread, "AWAITING_APPROVAL")["decisions"] == []
    assert api.client("vera").get("/threads/counts").json()["total"] == 1


def test_bad_input_is_a_4xx_with_one_line_and_writes_nothing(api: Api) -> None:
    ana = api.client("ana")
    bad_json = ana.post("/threads", content=b'{"goal": ', headers={"content-type": "application/json"})
    assert bad_json.status_code == 422 and bad_json.json() == {"error": "bad request: the body is not valid JSON"}
    bad_plan = ana.post("/threads", json={"plan": {"goal": "x", "steps": [{"id": "a", "tool": "calculate",
                                                                          "depends_on": ["missing"]}]}})
    assert bad_plan.status_code == 422 and "missing" in bad_plan.json()["error"], bad_plan.text
    wrong_type = ana.post("/threads", json={"goal": 5})
    assert wrong_type.status_code == 422 and wrong_type.json()["error"].startswith("bad request: goal:")
    unknown = ana.post(f"/threads/{'0' * 32}/approve")
    assert unknown.status_code == 404 and unknown.json() == {"error": f"unknown thread {'0' * 32!r}"}
    assert ana.get(f"/threads/{'0' * 32}/stream").status_code == 404
    assert ana.get("/threads/counts").json()["total"] == 0, "nothing written"
    thread = ana.post("/threads", json={"goal": "Calculate 1+1"}).json()["thread_id"]
    api.wait(thread, "AWAITING_APPROVAL")
    at_gate = ana.get(f"/threads/{thread}/stream", params={"until": "settled"})  # ends at the gate
    assert at_gate.status_code == 200 and "event: awaiting_approval" in at_gate.text, at_gate.text
    bad_until = ana.get(f"/threads/{thread}/stream", params={"until": "soon"})
    assert bad_until.status_code == 422 and "until" in bad_until.json()["error"], bad_until.text
    ana.post(f"/threads/{thread}/approve")
    api.wait(thread, "COMPLETED")
    again = ana.post(f"/threads/{thread}/approve")
    assert again.status_code == 409 and len(again.json()["error"].splitlines()) == 1, again.text


def test_what_a_fuzzer_found_is_refused_as_the_spec_says_and_writes_nothing(api: Api) -> None:
    """Each of Schemathesis's findings (issue 21), pinned: the status the spec declares, a
    one-line error naming the API's field, and nothing written."""
    ana, json_type = api.client("ana"), {"content-type": "application/json"}

    def refused(response: httpx.Response, status: int, says: str) -> None:
        assert response.status_code == status and response.json()["error"].count("\n") == 0, response.text
        assert says in response.json()["error"], response.text

    refused(ana.post("/threads", json={"goal": "add \x00 numbers"}), 422, "goal: text with a NUL character")
    lone = '{"plan": {"steps": [{"id": "a", "tool": "calculate", "args": {"expression": "\\ud800"}}]}}'
    refused(ana.post("/threads", content=lone.encode(), headers=json_type), 422,
            "plan.steps[0].args.expression: text with an unpaired surrogate")
    refused(ana.post("/threads", content=b'{"goal": "caf\xe9"}', headers=json_type), 422, "not JSON in UTF-8")
    refused(ana.post("/threads", json={}), 422, "the body needs a goal, a plan or both")
    refused(ana.post("/threads", json={"goal": "   "}), 422, "goal: must not be blank")
    refused(ana.post("/threads", json={"goal": "x", "no_cache": 0}), 422, "no_cache: 0 is not of type 'boolean'")
    with api.client(None) as anonymous:  # who asks is settled before the body is read
        refused(anonymous.post("/threads", content=b"{", headers=json_type), 401, "a bearer token is required")
    refused(ana.get("/threads", params={"offset": 2**64}), 422, "offset")
    refused(ana.get("/metrics/summary", params={"until": "0.5"}), 422, "RFC 3339")
    refused(ana.get("/threads", params={"search": "a\x00"}), 422, "NUL")
    assert ana.get("/threads/counts").json()["total"] == 0, "nothing written"

    thread = ana.post("/threads", json={"goal": "Calculate 1+1"}).json()["thread_id"]
    api.wait(thread, "AWAITING_APPROVAL")
    refused(ana.get(f"/threads/{thread}/checkpoints/nope"), 404, "has no checkpoint")
    refused(ana.post(f"/threads/{thread}/fork", json={"checkpoint_id": "nope"}), 422, "has no checkpoint")
    refused(ana.post(f"/threads/{thread}/reject", json={}), 422, "the body needs feedback for the planner, or final")
    refused(ana.post(f"/threads/{thread}/restore", json={"version": 7}), 409, "has no plan version 7")
    refused(ana.get(f"/threads/{thread}/events", params={"after": 2**63}), 422, "after")
    refused(ana.get(f"/threads/{thread}/stream", headers={"Last-Event-ID": "9" * 30}), 422, "last-event-id")
    assert api.wait(thread, "AWAITING_APPROVAL")["decisions"] == []
    wrong_method = ana.delete("/threads")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET, POST"


def test_the_published_schema_declares_every_refusal_and_the_bearer_scheme(api: Api) -> None:
    spec = httpx.get(f"{api.url}/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"] == {**spec["components"]["securitySchemes"]["bearer"],
                                                               "type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearer": []}]
    approve = spec["paths"]["/threads/{thread_id}/approve"]["post"]
    assert sorted(approve["responses"]) == ["202", "401", "403", "404", "409", "422"]
    assert approve["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiError"}
    assert approve["x-required-role"] == "approver"
    assert sorted(spec["paths"]["/threads/counts"]["get"]["responses"]) == ["200", "401"]
    start = spec["components"]["schemas"]["StartBody"]
    assert start["properties"]["plan"]["anyOf"][0]["title"] == "PlanInput"  # the plan's own schema, typed
    assert "goal" not in start["properties"]["plan"]["anyOf"][0]["required"]


def read_events(api: Api, thread: str, last_event_id: str | None = None, stop_after: int | None = None) -> list[int]:
    """The seqs the stream sends, until it ends (or ``stop_after`` events: then cut off)."""
    headers = {"Authorization": f"Bearer {api.tokens['vera']}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    seqs: list[int] = []
    with httpx.Client(base_url=api.url, timeout=30) as http, \
            connect_sse(http, "GET", f"/threads/{thread}/stream", headers=headers) as source:
        for event in source.iter_sse():
            if not event.data:
                continue  # a heartbeat
            if event.event == "end":
                assert json.loads(event.data)["status"] in ("COMPLETED", "FAILED", "REJECTED", "CANCELLED")
                break
            seqs.append(int(event.id))
            if stop_after is not None and len(seqs) == stop_after:
                break
    return seqs


def test_a_stream_resumed_with_last_event_id_gets_every_event_exactly_once(api: Api, server: ToolServer) -> None:
    plan = {"goal": "Fetch twice", "steps": [fetch(server, "first"), fetch(server, "held", ["first"], hold="gate")]}
    thread = api.client("otto").post("/threads", json={"plan": plan}).json()["thread_id"]
    api.wait(thread, "AWAITING_APPROVAL")
    api.client("ana").post(f"/threads/{thread}/approve")
    server.wait_started("/held")
    before = read_events(api, thread, stop_after=5)  # cut off mid-run
    server.release("gate")
    after = read_events(api, thread, last_event_id=str(before[-1]))  # until the thread settles
    stored = [e["seq"] for e in api.client("vera").get(f"/threads/{thread}/events").json()["events"]]
    assert before + after == stored, "none lost, none twice"
    assert api.wait(thread, "COMPLETED")


def test_a_stream_stays_open_through_the_gate_ends_with_the_status_and_a_reconnect_after_gets_204(
        api: Api) -> None:
    """What a browser's EventSource needs: no end at a pause for a person, a last event that
    says why the stream ends, and a 204 when it reconnects to a finished thread (it stops)."""
    ana = api.client("ana")
    thread = ana.post("/threads", json={"goal": "Calculate 1+1"}).json()["thread_id"]
    api.wait(thread, "AWAITING_APPROVAL")
    headers = {"Authorization": f"Bearer {api.tokens['vera']}"}
    kinds, ids = [], []
    with httpx.Client(base_url=api.url, timeout=30) as http, \
            connect_sse(http, "GET", f"/threads/{thread}/stream", headers=headers) as source:
        for event in source.iter_sse():
            if not event.data:
                continue
            kinds.append(event.event)
            ids.append(event.id)
            if event.event == "awaiting_approval":  # the stream goes on: the decision arrives on it
                assert ana.post(f"/threads/{thread}/approve").status_code == 202
            if event.event == "end":
                assert json.loads(event.data) == {"status": "COMPLETED"}
    assert kinds[-1] == "end" and "awaiting_approval" in kinds and "decision" in kinds
    assert kinds.index("decision") > kinds.index("awaiting_approval")
    last = ids[-2]
    again = api.client(None).get(f"/threads/{thread}/stream", headers={**headers, "Last-Event-ID": last})
    assert again.status_code == 204 and again.content == b""
    earlier = api.client(None).get(f"/threads/{thread}/stream",
                                   headers={**headers, "Last-Event-ID": str(int(last) - 1)})
    assert earlier.status_code == 200 and earlier.text.count("id: ") == 1 and "event: end" in earlier.text
    at_gate = ana.post("/threads", json={"goal": "Calculate 2+2"}).json()["thread_id"]
    api.wait(at_gate, "AWAITING_APPROVAL")
    gate_seq = ana.get(f"/threads/{at_gate}/events").json()["last_seq"]
    settled = api.client(None).get(f"/threads/{at_gate}/stream", params={"until": "settled"},
                       headers={**headers, "Last-Event-ID": str(gate_seq)})
    assert settled.status_code == 204  # stopped where it was asked to end, nothing new


def test_a_stream_ticket_opens_one_threads_stream_and_nothing_else(api: Api) -> None:
    """A browser cannot send a token: it streams with a short-lived ticket in the URL, which
    opens this thread's stream only, for the account that asked, never another route."""
    ana = api.client("ana")
    thread = ana.post("/threads", json={"goal": "Calculate 1+1"}).json()["thread_id"]
    other = ana.post("/threads", json={"goal": "Calculate 2+2"}).json()["thread_id"]
    api.wait(thread, "AWAITING_APPROVAL")
    api.wait(other, "AWAITING_APPROVAL")
    granted = api.client("vera").post(f"/threads/{thread}/stream-ticket")
    assert granted.status_code == 200, granted.text
    ticket = granted.json()["ticket"]
    assert api.tokens["vera"] not in ticket
    with httpx.Client(base_url=api.url, timeout=30) as http, connect_sse(
            http, "GET", f"/threads/{thread}/stream", params={"ticket": ticket, "until": "settled"}) as source:
        kinds = [event.event for event in source.iter_sse() if event.data]
    assert kinds[0] == "run_created" and kinds[-1] == "end"
    for path, params in ((f"/threads/{other}/stream", {"ticket": ticket}),  # another thread's
                         (f"/threads/{thread}/stream", {"ticket": ticket[:-2] + "xx"}),  # forged
                         (f"/threads/{thread}", {"ticket": ticket}),  # another route
                         (f"/threads/{thread}/events", {"ticket": ticket})):
        refused = api.client(None).get(path, params=params)
        assert refused.status_code == 401, (path, refused.text)
    assert api.client(None).post(f"/threads/{thread}/stream-ticket").status_code == 401
    assert api.client("vera").post(f"/threads/{'0' * 32}/stream-ticket").status_code == 404


def test_an_idle_stream_carries_heartbeats(api: Api, server: ToolServer) -> None:
    plan = {"goal": "Fetch slowly", "steps": [fetch(server, "held", hold="gate")]}
    thread = api.client("otto").post("/threads", json={"plan": plan}).json()["thread_id"]
    api.wait(thread, "AWAITING_APPROVAL")
    api.client("ana").post(f"/threads/{thread}/approve")
    server.wait_started("/held")  # nothing more happens until the gate opens
    headers = {"Authorization": f"Bearer {api.tokens['vera']}"}
    pings = 0
    with httpx.stream("GET", f"{api.url}/threads/{thread}/stream", headers=headers, timeout=30) as response:
        assert response.headers["X-Heartbeat-Interval"] == "0.3", "announced, so a client can tell idle from dead"
        for line in response.iter_lines():
            if line.startswith(":"):  # a comment: the heartbeat (0.3 s here)
                pings += 1
                if pings == 2:
                    break
    server.release("gate")
    assert pings == 2
    api.wait(thread, "COMPLETED")


def test_an_open_server_listens_on_loopback_only(cli: Cli) -> None:
    refused = cli("serve", "--open", "--address", "0.0.0.0", "--port", "1")
    assert refused.code == 2 and refused.stderr.splitlines() == [
        "prolight: error: --open takes calls without a token: only on a loopback address, not 0.0.0.0"]


def test_a_command_is_recorded_under_the_callers_account_and_no_other(api: Api) -> None:
    otto = api.client("otto")
    as_self = otto.post("/threads", json={"goal": "Calculate 6*7", "operator": "otto"})
    assert as_self.status_code == 202 and as_self.json()["operator"] == "otto"
    before = len(otto.get("/threads").json()["items"])
    posing = otto.post("/threads", json={"goal": "Calculate 6*7", "operator": "ana"})
    assert posing.status_code == 403 and posing.json() == {"error": "account 'otto' may not act as 'ana'"}
    assert len(otto.get("/threads").json()["items"]) == before  # nothing written


CHECKED = {"goal": "Check a sum", "steps": [
    {"id": "c", "tool": "calculate", "args": {"expression": "2+2"}, "retry": {"max_attempts": 1},
     "checks": [{"kind": "range", "max": 3}]},
    {"id": "d", "tool": "calculate", "args": {"expression": "{{c}}*2"}, "depends_on": ["c"]}]}


def test_a_step_awaiting_review_is_listed_and_decided_through_the_api(api: Api) -> None:
    otto, ana = api.client("otto"), api.client("ana")
    thread = otto.post("/threads", json={"plan": CHECKED}).json()["thread_id"]
    api.wait(thread, "AWAITING_APPROVAL")
    ana.post(f"/threads/{thread}/approve")
    waiting = api.wait(thread, "AWAITING_REVIEW")
    assert waiting["awaiting_review"] == ["c"] and waiting["steps"]["c"]["output"] == 4
    [pending] = ana.get("/approvals").json()
    assert (pending["kind"], pending["review"]) == ("review", ["c"])
    assert otto.post(f"/threads/{thread}/review", json={"step_id": "c", "outcome": "accept"}).status_code == 403
    bad = ana.post(f"/threads/{thread}/review", json={"step_id": "c", "outcome": "maybe"})
    assert bad.status_code == 422 and "outcome" in bad.json()["error"]
    wrong = ana.post(f"/threads/{thread}/review", json={"step_id": "d", "outcome": "accept"})
    assert wrong.status_code == 409 and wrong.json()["error"] == "step 'd' does not await review; these do: c"
    sent = ana.post(f"/threads/{thread}/review", json={"step_id": "c", "outcome": "retry",
                                                        "args": {"expression": "1+2"}, "reason": "smaller"})
    assert sent.status_code == 202, sent.text
    done = api.wait(thread, "COMPLETED")
    assert done["steps"]["d"]["output"] == 6
    assert (done["decisions"][-1]["operator"], done["decisions"][-1]["reason"]) == ("ana", "smaller")
