"""The result cache in real runs against the tests' HTTP server: a hit within the ttl does
not call the tool, a miss after it does; risky tools are refused a cache; errors and failed
checks are never cached; a secret never reaches the table; --no-cache refreshes; a fork
after approval and a per-tool default reuse results too."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from graph.core.schemas import CachePolicy, Plan
from graph.operations import RequestError
from graph.store.metrics import compute_metrics
from tests.support.http_server import ToolServer
from tests.support.ops import JsonOps
from tests.support.plans import fetch
from tests.support.settings import home_settings

TTL = {"ttl_s": 300}


def cached(server: ToolServer, step_id: str, **query: object) -> dict:
    return fetch(server, step_id, **query) | {"cache": TTL}


def run(flow: JsonOps, *steps: dict, no_cache: bool = False) -> dict:
    thread = flow.start(plan=Plan.model_validate({"goal": "cache", "steps": list(steps)}), no_cache=no_cache)
    return flow.approve(thread["thread_id"])


@pytest.mark.both_backends
def test_a_hit_within_the_ttl_skips_the_call_and_a_miss_after_it_calls_again(home: Path, server: ToolServer,
                                                                             db_url: str) -> None:
    flow = JsonOps(home_settings(home, db_url))
    first = run(flow, cached(server, "page"))
    assert first["status"] == "COMPLETED" and server.hits["/page"] == 1
    assert first["steps"]["page"]["cached"] is False
    second = run(flow, cached(server, "page"))
    step = second["steps"]["page"]
    assert (step["status"], step["cached"], step["attempts"], step["output"]) == (
        "SUCCEEDED", True, 0, first["steps"]["page"]["output"])
    assert server.hits["/page"] == 1, "the tool was not called"
    events = flow.events(second["thread_id"])["events"]
    assert [e["kind"] for e in events if e["step_id"] == "page"] == ["step_cached"]
    tools = compute_metrics(flow.db).tools["http_request"]
    assert (tools.calls, tools.cache_hits, tools.cache_misses) == (1, 1, 1)
    assert tools.cache_seconds_saved > 0

    with flow.db.cursor() as cur:  # the ttl has passed (time moved on, as far as the cache can tell)
        cur.execute("UPDATE step_cache SET expires_at = 0")
    third = run(flow, cached(server, "page"))
    assert third["steps"]["page"]["cached"] is False and server.hits["/page"] == 2


def test_other_args_miss_and_a_reference_is_keyed_by_what_it_resolved_to(home: Path, server: ToolServer) -> None:
    flow = JsonOps(home_settings(home))
    run(flow, cached(server, "a"))
    other = run(flow, cached(server, "a", n=2))
    assert other["steps"]["a"]["cached"] is False and server.hits["/a"] == 2
    chained = {"id": "sum", "tool": "calculate", "args": {"expression": "{{n}}*2"}, "depends_on": ["n"],
               "cache": TTL}
    one = run(flow, {"id": "n", "tool": "calculate", "args": {"expression": "1"}}, chained)
    two = run(flow, {"id": "n", "tool": "calculate", "args": {"expression": "2"}}, chained)
    assert (one["steps"]["sum"]["output"], two["steps"]["sum"]["output"]) == (2, 4)
    assert two["steps"]["sum"]["cached"] is False


@pytest.mark.parametrize("step, says", [
    ({"id": "w", "tool": "write_file", "args": {"path": "x.txt", "content": "y"}},
     "invalid plan: step 'w': tool 'write_file' is risky: its results are never cached: remove its cache"),
    ({"id": "p", "tool": "http_request", "args": {"url": "http://127.0.0.1:9/x", "method": "POST"}},
     "invalid plan: step 'p': a POST request's results are never cached: remove its cache"),
])
def test_a_risky_step_that_asks_for_the_cache_is_refused_in_one_line(home: Path, step: dict, says: str) -> None:
    flow = JsonOps(home_settings(home))
    with pytest.raises(RequestError) as refused:
        flow.start(plan=Plan.model_validate({"goal": "g", "steps": [step | {"cache": TTL}]}))
    assert str(refused.value) == says
    assert flow.threads()["total"] == 0


def test_errors_and_failed_checks_are_never_cached(home: Path, server: ToolServer) -> None:
    flow = JsonOps(home_settings(home))
    failing = cached(server, "down", status=500) | {"retry": {"max_attempts": 1}}
    checked = cached(server, "odd") | {"retry": {"max_attempts": 1}, "checks": [{"kind": "contains", "text": "zzz"}]}
    out = run(flow, failing, checked)
    assert out["steps"]["down"]["status"] == "FAILED" and out["steps"]["odd"]["status"] == "NEEDS_REVIEW"
    with flow.db.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM step_cache").fetchone()[0] == 0


def test_a_secret_counts_by_name_and_never_reaches_the_cache(home: Path, server: ToolServer) -> None:
    settings = home_settings(home, secrets={"API_TOKEN": SecretStr("s3cr3t-token-value")})
    flow = JsonOps(settings)
    step = cached(server, "api", echo_auth=1)
    step["args"]["headers"] = {"Authorization": "Bearer ${secret:API_TOKEN}"}
    assert run(flow, step)["steps"]["api"]["output"] == "ok /api call 1 auth=Bearer ***"
    assert run(flow, step)["steps"]["api"]["cached"] is True
    with flow.db.cursor() as cur:
        rows = cur.execute("SELECT key, tool, output FROM step_cache").fetchall()
    assert len(rows) == 1 and "s3cr3t" not in repr(rows)
    flow.api.close()
    rotated = JsonOps(home_settings(home, secrets={"API_TOKEN": SecretStr("another-token-value")}))
    assert run(rotated, step)["steps"]["api"]["cached"] is True, "the key holds the secret's name, not its value"
    for file in home.glob("prolight.db*"):
        assert b"s3cr3t-token-value" not in file.read_bytes(), file


def test_no_cache_bypasses_it_and_refreshes_it(home: Path, server: ToolServer) -> None:
    flow = JsonOps(home_settings(home))
    run(flow, cached(server, "fresh"))
    bypassed = run(flow, cached(server, "fresh"), no_cache=True)
    assert bypassed["steps"]["fresh"]["cached"] is False and server.hits["/fresh"] == 2
    assert run(flow, cached(server, "fresh"))["steps"]["fresh"]["output"] == "ok /fresh call 2", "refreshed"
    waiting = flow.start(plan=Plan.model_validate({"goal": "g", "steps": [cached(server, "fresh")]}))
    assert flow.approve(waiting["thread_id"], no_cache=True)["steps"]["fresh"]["cached"] is False
    assert server.hits["/fresh"] == 3


def test_a_tool_default_and_a_fork_after_approval_reuse_results(home: Path, server: ToolServer) -> None:
    flow = JsonOps(home_settings(home, cache_tools={"http_request": CachePolicy(ttl_s=60)}))
    done = run(flow, fetch(server, "one"), fetch(server, "two", ["one"]))
    assert done["status"] == "COMPLETED" and (server.hits["/one"], server.hits["/two"]) == (1, 1)
    gate = next(c for c in flow.checkpoints(done["thread_id"]) if c["next"] == ["human_review"])
    forked = flow.fork(done["thread_id"], gate["checkpoint_id"])
    again = flow.approve(forked["thread_id"])
    assert again["status"] == "COMPLETED"
    assert [again["steps"][s]["cached"] for s in ("one", "two")] == [True, True]
    assert (server.hits["/one"], server.hits["/two"]) == (1, 1), "no step ran again"
