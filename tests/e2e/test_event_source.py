"""Chromium's own ``EventSource``, a client we did not write, on a thread's stream: through
a server with accounts (a stream ticket in the URL, never the token), open through the
approval gate, every event once and in order, the final ``end`` event, and after it one
reconnect answered 204, after which the browser stops (readyState CLOSED) instead of
reconnecting every 3 s forever."""

from __future__ import annotations

import json
from typing import get_args

from graph.core.events import EventKind
from tests.support.api_server import Api, api  # noqa: F401  (the fixture)
from tests.support.browser import loopback_context

LISTEN = """({path, kinds}) => {
    window.seen = [];
    const source = new EventSource(path);
    window.source = source;
    for (const kind of kinds) {
        source.addEventListener(kind, (e) => window.seen.push({type: kind, id: e.lastEventId, data: e.data}));
    }
}"""


def test_a_browsers_event_source_streams_through_the_gate_then_stops_for_good(api: Api, browser) -> None:
    ana = api.client("ana")
    thread = ana.post("/threads", json={"goal": "Calculate 1+1"}).json()["thread_id"]
    api.wait(thread, "AWAITING_APPROVAL")
    ticket = api.client("vera").post(f"/threads/{thread}/stream-ticket").json()["ticket"]
    context, offsite = loopback_context(browser)
    page = context.new_page()
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if "/stream?" in r.url else None)
    page.goto(f"{api.url}/health")
    page.evaluate(LISTEN, {"path": f"/threads/{thread}/stream?ticket={ticket}", "kinds": [*get_args(EventKind), "end"]})
    page.wait_for_function("window.seen.some(e => e.type === 'awaiting_approval')", timeout=30_000)
    assert page.evaluate("window.source.readyState") == 1, "open while the thread waits for a person"
    assert ana.post(f"/threads/{thread}/approve").status_code == 202
    page.wait_for_function("window.seen.some(e => e.type === 'end') && window.source.readyState === 2",
                           timeout=60_000)
    seen = page.evaluate("window.seen")
    stored = [e["seq"] for e in api.client("vera").get(f"/threads/{thread}/events").json()["events"]]
    assert [int(e["id"]) for e in seen if e["type"] != "end"] == stored, "every event once, in order"
    assert seen[-1]["type"] == "end" and json.loads(seen[-1]["data"]) == {"status": "COMPLETED"}
    assert answers == [200, 204], "one reconnect after the end, answered 204: the browser stopped there"
    context.close()
    assert not offsite, offsite
