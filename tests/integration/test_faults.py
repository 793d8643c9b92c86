"""Faults injected for real against the local HTTP server: flaky, always failing, client
errors, hanging, a tripping breaker, and secrets that must never be stored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from graph.core.schemas import Plan
from tests.support.settings import home_settings
from tests.support.ops import JsonOps
from tests.support.http_server import ToolServer
from tests.support.plans import fetch


def workflow(home: Path, **settings: object) -> JsonOps:
    return JsonOps(home_settings(home, **settings))


def run(flow: JsonOps, steps: list[dict]) -> dict:
    thread = flow.start(plan=Plan.model_validate({"goal": "faults", "steps": steps}))["thread_id"]
    return flow.approve(thread)


def test_flaky_step_succeeds_after_n_failures_with_growing_backoff(home: Path, server: ToolServer) -> None:
    out = run(workflow(home), [fetch(server, "flaky", fail_first=2)])
    result = out["steps"]["flaky"]
    assert result["status"] == "SUCCEEDED" and result["attempts"] == 3
    assert server.started["/flaky"] == 3
    log = result["attempt_log"]
    assert [a["category"] for a in log] == ["http_5xx", "http_5xx", None]
    assert 0 < log[0]["delay_s"] < log[1]["delay_s"], "backoff grows"
    assert "503" in log[0]["error"]


def test_always_failing_step_fails_its_dependents_skip_and_the_rest_succeeds(home: Path, server: ToolServer) -> None:
    out = run(workflow(home), [fetch(server, "down", status=500), fetch(server, "after", ["down"]),
                               fetch(server, "fine"), fetch(server, "after_fine", ["fine"])])
    assert out["status"] == "FAILED"
    assert {k: v["status"] for k, v in out["steps"].items()} == {
        "down": "FAILED", "after": "SKIPPED", "fine": "SUCCEEDED", "after_fine": "SUCCEEDED"}
    assert out["steps"]["down"]["attempts"] == 3 and server.started["/down"] == 3
    assert server.started["/after"] == 0
    assert "down" in out["error"] and "skipped: after" in out["error"]


@pytest.mark.parametrize("status, attempts", [(404, 1), (400, 1), (429, 3), (502, 3)])
def test_only_transient_http_errors_retry(home: Path, server: ToolServer, status: int, attempts: int) -> None:
    out = run(workflow(home), [fetch(server, "x", status=status)])
    assert out["steps"]["x"]["attempts"] == attempts == server.started["/x"]


def test_sandbox_refusals_do_not_retry(home: Path) -> None:
    out = run(workflow(home), [{"id": "esc", "tool": "read_file", "args": {"path": "../../etc/passwd"}}])
    assert out["steps"]["esc"]["attempts"] == 1
    assert "may not contain '..'" in out["steps"]["esc"]["error"]


def test_hanging_step_fails_by_its_timeout_and_the_run_ends_promptly(home: Path, server: ToolServer) -> None:
    """The server holds the call until the run has ended: a run that waited for it would
    never end (the hold is released only afterwards), so ending at all is the proof."""
    try:
        out = run(workflow(home), [fetch(server, "hang", timeout_s=1, hold="hang"), fetch(server, "quick")])
        assert server.hits["/hang"] == 0, "the run ended while the call was still held"
    finally:
        server.release("hang")
    hang = out["steps"]["hang"]
    assert hang["status"] == "FAILED" and "timed out" in hang["error"].lower()
    assert out["steps"]["quick"]["status"] == "SUCCEEDED"


def test_breaker_opens_limits_calls_then_half_opens_after_cooldown(home: Path, server: ToolServer) -> None:
    """The cool-down is long while the run fails (so the breaker stays open however slow the
    machine is); it is then cut to zero, standing for the time that has passed."""
    flow = workflow(home, step_concurrency=2)
    from graph.core.breaker import BOARD
    from graph.store.breakers import breaker_views

    BOARD.configure(flow.settings.breaker.model_copy(update={"cooldown_s": 60}), {})
    out = run(flow, [fetch(server, f"d{i}", status=503) for i in range(8)])
    assert out["status"] == "FAILED"
    assert server.started.total() < 8 * 3 / 2, f"{server.started.total()} calls reached the server"
    refused = [r["error"] for r in out["steps"].values() if r["status"] == "NOT_ATTEMPTED"]
    assert len(refused) >= 3
    assert re.search(r"^not attempted: breaker for http:127\.0\.0\.1 open since \d\d:\d\d:\d\d UTC "
                     r"\(opened by step d\d\); next trial at \d\d:\d\d:\d\d UTC", refused[0]), refused[0]
    assert [(b["name"], b["state"]) for b in flow.breakers()] == [("http:127.0.0.1", "open")]

    opened_at = flow.breakers()[0]["opened_at"]
    assert [v.state for v in breaker_views(flow.db, now=opened_at + 60)] == ["half_open"], "every reader agrees"
    BOARD.configure(flow.settings.breaker.model_copy(update={"cooldown_s": 0}), {})
    healthy = run(flow, [fetch(server, "healthy")])
    assert healthy["status"] == "COMPLETED" and healthy["steps"]["healthy"]["attempts"] == 1
    assert flow.breakers()[0]["state"] == "closed"


def test_one_bad_endpoint_does_not_refuse_a_healthy_host(home: Path, server: ToolServer) -> None:
    """Breakers are per destination: calls to "localhost" fail until its breaker opens;
    a step to 127.0.0.1 (the same server under another host name) still runs."""
    flow = workflow(home, step_concurrency=1)
    from graph.core.breaker import BOARD

    BOARD.configure(flow.settings.breaker.model_copy(update={"failure_threshold": 2, "cooldown_s": 60}), {})
    bad = [fetch(server, f"bad{i}", status=503) for i in range(3)]
    for step in bad:
        step["args"]["url"] = step["args"]["url"].replace("127.0.0.1", "localhost")
    out = run(flow, bad)
    assert out["status"] == "FAILED"
    assert [(b["name"], b["state"]) for b in flow.breakers()] == [("http:localhost", "open")]
    healthy = run(flow, [fetch(server, "healthy")])
    assert healthy["status"] == "COMPLETED", healthy["error"]


def test_secret_is_sent_but_never_stored(home: Path, server: ToolServer) -> None:
    step = fetch(server, "api", echo_auth=1)
    step["args"]["headers"] = {"Authorization": "Bearer ${secret:API_TOKEN}"}
    out = run(workflow(home, secrets={"API_TOKEN": SecretStr("s3cr3t-token-value")}), [step])
    assert out["status"] == "COMPLETED"
    assert out["steps"]["api"]["output"] == "ok /api call 1 auth=Bearer ***", "the server got it, the state did not"
    for file in home.glob("prolight.db*"):
        assert b"s3cr3t-token-value" not in file.read_bytes(), file


def test_literal_secret_in_a_plan_is_refused(home: Path, server: ToolServer) -> None:
    step = fetch(server, "api")
    step["args"]["headers"] = {"Authorization": "Bearer abcdefghijklmnop"}
    from graph.operations import RequestError

    with pytest.raises(RequestError, match=r"literal secret in args.headers.Authorization"):
        workflow(home).start(plan=Plan.model_validate({"goal": "g", "steps": [step]}))


def test_a_refused_step_is_not_its_own_failure_and_retry_keeps_every_attempt(home: Path, server: ToolServer) -> None:
    """One step at a time: "bad" fails twice, which opens its host's breaker, so its third
    try and the whole of "other" are refused. After the cool-down, retry runs both; their
    attempt logs hold both runs, numbered on."""
    from graph.core.breaker import BOARD
    from graph.store.metrics import compute_metrics

    flow = workflow(home, step_concurrency=1)
    BOARD.configure(flow.settings.breaker.model_copy(update={"failure_threshold": 2, "cooldown_s": 60}), {})
    out = run(flow, [fetch(server, "bad", fail_first=2), fetch(server, "other")])
    bad, other = out["steps"]["bad"], out["steps"]["other"]
    assert (bad["status"], bad["attempts"]) == ("FAILED", 2), "its own two calls failed"
    assert [a["category"] for a in bad["attempt_log"]] == ["http_5xx", "http_5xx", "circuit_open"]
    assert (other["status"], other["attempts"], server.started["/other"]) == ("NOT_ATTEMPTED", 0, 0)
    assert other["error"].startswith("not attempted: breaker for http:127.0.0.1 open since ")
    assert "(opened by step bad)" in other["error"]
    assert out["status"] == "FAILED"
    assert out["error"].startswith("1 step(s) failed (bad); 1 not attempted, breaker open (other): bad: "
                                   "HttpStatusError: GET ")
    assert re.search(r"answered 503; then not attempted: breaker for http:127\.0\.0\.1 open since", bad["error"])
    tools = compute_metrics(flow.db).tools["http_request"]
    assert (tools.calls, tools.failures, tools.not_attempted) == (1, 1, 1), "the refusal is no failure of its own"

    BOARD.configure(flow.settings.breaker.model_copy(update={"failure_threshold": 2, "cooldown_s": 0}), {})
    again = flow.retry(out["thread_id"])
    assert again["status"] == "COMPLETED", again["error"]
    bad, other = again["steps"]["bad"], again["steps"]["other"]
    assert [(a["attempt"], a["category"]) for a in bad["attempt_log"]] == [
        (1, "http_5xx"), (2, "http_5xx"), (3, "circuit_open"), (4, None)]
    assert bad["attempts"] == 3 == server.started["/bad"]
    assert [(a["attempt"], a["category"]) for a in other["attempt_log"]] == [(1, "circuit_open"), (2, None)]
    assert other["attempts"] == 1
