"""The event log, metrics, Prometheus exposition, spans, JSON logs and the time estimate,
each checked against runs whose outcome is known."""

from __future__ import annotations

import os
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from graph.core import tracing
from graph.store.event_log import read_events
from graph.store.metrics import compute_metrics
from graph.store.prometheus import prometheus_registry
from graph.core.schemas import Plan
from tests.support.ops import JsonOps
from tests.support.settings import home_settings
from tests.support.cli import Cli
from tests.support.http_server import ToolServer
from tests.support.plans import fetch

pytestmark = pytest.mark.both_backends


def flow_at(home: Path) -> JsonOps:
    return JsonOps(home_settings(home, os.environ["PROLIGHT_DB"]))


def plan(*steps: dict) -> Plan:
    return Plan.model_validate({"goal": "observed", "steps": list(steps)})


def kinds(flow: JsonOps, thread: str, *, steps_only: bool = False) -> list[str]:
    events = read_events(flow.db, thread)
    assert [e.seq for e in events] == list(range(1, len(events) + 1)), "numbered without gaps"
    assert [e.ts for e in events] == sorted(e.ts for e in events), "in time order"
    return [f"{e.kind}:{e.step_id}" if steps_only else e.kind for e in events
            if not steps_only or e.step_id]


def test_events_of_a_successful_run_are_complete_and_ordered(home: Path) -> None:
    flow = flow_at(home)
    thread = flow.start("Calculate 6*7 then summarize it", operator="ann")["thread_id"]
    flow.approve(thread, operator="ann")
    assert kinds(flow, thread) == [
        "run_created",
        "node_started", "plan_created", "node_finished",
        "node_started", "critique", "node_finished",
        "node_started", "estimate", "awaiting_approval", "node_finished",
        "decision",
        "node_started", "node_finished",
        "node_started", "step_started", "step_succeeded", "step_started", "step_succeeded", "node_finished",
        "node_started", "run_completed", "node_finished",
    ]
    decision = next(e for e in read_events(flow.db, thread) if e.kind == "decision")
    assert decision.payload["operator"] == "ann" and decision.payload["action"] == "approve"


def test_events_of_failure_retry_and_skip(home: Path, server: ToolServer) -> None:
    flow = flow_at(home)
    thread = flow.start(plan=plan(fetch(server, "flaky", fail_first=1), fetch(server, "down", status=500),
                                  fetch(server, "after", ["down"])))["thread_id"]
    flow.approve(thread)
    by_step = kinds(flow, thread, steps_only=True)
    assert [k for k in by_step if k.endswith(":flaky")] == [
        "step_started:flaky", "step_retry:flaky", "step_succeeded:flaky"]
    assert [k for k in by_step if k.endswith(":down")] == [
        "step_started:down", "step_retry:down", "step_retry:down", "step_failed:down"]
    assert [k for k in by_step if k.endswith(":after")] == ["step_skipped:after"]
    assert kinds(flow, thread)[-3:] == ["node_started", "run_failed", "node_finished"]
    retry = next(e for e in read_events(flow.db, thread) if e.kind == "step_retry" and e.step_id == "flaky")
    assert retry.attempt == 1 and retry.payload["delay_s"] > 0 and "503" in retry.payload["error"]


def test_events_of_a_cancelled_run(home: Path, server: ToolServer) -> None:
    cli = Cli(home, PROLIGHT_CANCEL_GRACE_S="0.2")
    flow = flow_at(home)
    thread = flow.start(plan=plan(fetch(server, "slow", delay_first=30), fetch(server, "next", ["slow"])))["thread_id"]
    proc = cli.popen("approve", thread)
    server.wait_started("/slow")
    assert cli.ok("cancel", thread)["status"] == "CANCELLED"
    proc.wait(timeout=30)
    names = kinds(flow, thread)
    assert sorted(names[-7:-5]) == ["step_cancelled", "step_skipped"]  # either may come first
    assert names[-5:] == ["node_finished", "node_started", "run_cancelled", "node_finished", "decision"]


def test_events_follow_goes_through_the_gate_and_shows_a_slow_step_while_it_runs(
        cli: Cli, server: ToolServer) -> None:
    """Placed by progress: the follower starts while the thread waits at the gate, shows the
    gate with the commands that decide it, and keeps following once the plan is approved;
    the tool server holds the step until the follower has shown it started."""
    thread = cli.ok("run", "--plan", cli.write_plan("slow.json", {
        "goal": "wait", "steps": [fetch(server, "slow", hold="slow")]}))["thread_id"]
    follower = cli.popen("events", thread, "--follow", "--json")
    approver = None
    try:
        seen: list[dict] = []

        def read_until(kind: str) -> None:
            while not (seen and seen[-1]["kind"] == kind):
                line = follower.stdout.readline()
                assert line, f"follow ended before {kind}: {follower.stderr.read()}"
                seen.append(json.loads(line))

        read_until("awaiting_approval")  # the gate: the follower goes on waiting
        approver = cli.popen("approve", thread, "--json")
        read_until("step_started")
        assert server.hits["/slow"] == 0 and approver.poll() is None, "seen while the step is in flight"
        server.release("slow")
        assert approver.wait(timeout=60) == 0
        out, err = follower.communicate(timeout=30)
    finally:
        server.release("slow")
        follower.kill()
        if approver is not None:
            approver.kill()
    seen += [json.loads(line) for line in out.splitlines()]
    assert follower.returncode == 0, "follow stops by itself once the thread finishes"
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    assert seen[-2]["kind"] == "run_completed"
    assert err.strip() == f"waiting for a decision: prolight approve {thread}  |  prolight reject {thread} --feedback TEXT"


def test_ctrl_c_ends_a_follower_quietly_with_130(cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 6*7")["thread_id"]
    follower = cli.popen("events", thread, "--follow")
    try:
        while not follower.stdout.readline().startswith("waiting for a decision"):
            assert follower.poll() is None, follower.stderr.read()
        follower.send_signal(signal.SIGINT)
        _, err = follower.communicate(timeout=30)
    finally:
        follower.kill()
    assert follower.returncode == 130 and err == "", err


def test_metrics_match_a_known_set_of_runs(home: Path, server: ToolServer) -> None:
    flow = flow_at(home)
    for expression in ("1+1", "2+2"):
        done = flow.start(plan=plan({"id": "c", "tool": "calculate", "args": {"expression": expression}}))
        flow.approve(done["thread_id"])
    failing = flow.start(plan=plan(fetch(server, "down", status=500), fetch(server, "after", ["down"])))
    flow.approve(failing["thread_id"])
    rejected = flow.start("Calculate 3*3")
    flow.reject(rejected["thread_id"], None, final=True)
    flow.start("Calculate 4*4")  # left at the gate

    m = compute_metrics(flow.db).model_dump()
    assert m["runs"]["by_status"] == {"COMPLETED": 2, "FAILED": 1, "REJECTED": 1, "AWAITING_APPROVAL": 1}
    assert m["runs"]["success_rate"] == pytest.approx(2 / 3)
    assert m["runs"]["duration_s"]["count"] == 3
    assert m["tools"]["calculate"] | {"duration_s": None} == {"calls": 2, "failures": 0, "retries": 0,
                                                              "not_attempted": 0, "cache_hits": 0, "cache_misses": 0,
                                                              "cache_seconds_saved": 0.0, "duration_s": None}
    assert m["tools"]["http_request"] | {"duration_s": None} == {"calls": 1, "failures": 1, "retries": 2,
                                                               "not_attempted": 0, "cache_hits": 0, "cache_misses": 0,
                                                              "cache_seconds_saved": 0.0, "duration_s": None}
    assert (m["agents"]["planner"]["calls"], m["agents"]["critic"]["calls"]) == (2, 5)
    assert m["transitions"] == {
        "CREATED->CRITIQUED": 3, "CREATED->PLANNED": 2, "PLANNED->CRITIQUED": 2, "CRITIQUED->AWAITING_APPROVAL": 5,
        "AWAITING_APPROVAL->APPROVED": 3, "AWAITING_APPROVAL->REJECTED": 1, "APPROVED->EXECUTING": 3,
        "EXECUTING->COMPLETED": 2, "EXECUTING->FAILED": 1}
    assert m["approval_wait_s"]["count"] == 4 and m["awaiting_approval"] == 1
    events = read_events(flow.db, failing["thread_id"])
    seconds = [e.payload["seconds"] for e in events if e.kind == "step_failed"]
    assert m["tools"]["http_request"]["duration_s"]["p50"] == pytest.approx(seconds[0])

    text = generate_latest(prometheus_registry(flow.db)).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    runs = {s.labels["status"]: s.value for s in families["prolight_runs"].samples}
    assert runs == {"COMPLETED": 2, "FAILED": 1, "REJECTED": 1, "AWAITING_APPROVAL": 1}
    retries = {s.labels["tool"]: s.value for s in families["prolight_tool_retries"].samples if s.name.endswith("_total")}
    assert retries == {"calculate": 0, "http_request": 2}
    assert families["prolight_run_success_ratio"].samples[0].value == pytest.approx(2 / 3)


def test_metrics_scrape_endpoint_serves_parseable_text(cli: Cli) -> None:
    cli.ok("approve", cli.ok("run", "Calculate 2+2")["thread_id"])
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = cli.popen("metrics", "--serve", str(port))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, server.stderr.read()
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=10)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {s.labels["status"]: s.value for s in families["prolight_runs"].samples} == {"COMPLETED": 1}


def test_spans_follow_the_genai_conventions(home: Path, server: ToolServer) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        flow = flow_at(home)
        thread = flow.start("Calculate 1+2")["thread_id"]
        flow.approve(thread)
        failing = flow.start(plan=plan(fetch(server, "x", status=404)))["thread_id"]
        flow.approve(failing)

        @tracing.traced_tool("my_tool")
        def my_tool() -> int:
            return 1

        my_tool()
    finally:
        tracing.use_provider(None)
    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert names.count("invoke_workflow prolight") == 4  # two drives of each thread: to the gate, then on
    assert {"invoke_agent planner", "invoke_agent critic", "execute_tool calculate",
            "execute_tool http_request", "execute_tool my_tool"} <= set(names)
    for span in spans:
        if span.name != "execute_tool my_tool":
            assert span.attributes["gen_ai.conversation.id"] in (thread, failing), span.name
    tool = next(s for s in spans if s.name == "execute_tool calculate")
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "calculate" and tool.attributes["gen_ai.tool.call.id"] == "calc"
    assert tool.attributes["gen_ai.tool.description"].startswith("Calculate or compute an arithmetic expression")
    runs = [s for s in spans if s.name == "invoke_workflow prolight"]
    assert all(r.attributes["gen_ai.workflow.name"] == "prolight" for r in runs)
    by_thread = {t: {s.context.trace_id for s in spans if s.attributes.get("gen_ai.conversation.id") == t}
                 for t in (thread, failing)}
    assert all(len(ids) == 1 for ids in by_thread.values()), "each thread's drives are one trace"
    assert by_thread[thread] != by_thread[failing]
    assert next(s for s in spans if s.name == "invoke_agent planner").attributes["gen_ai.request.model"] == "prolight-offline"
    failed = next(s for s in spans if s.name == "execute_tool http_request")
    assert failed.status.status_code == StatusCode.ERROR and failed.attributes["error.type"] == "HttpStatusError"
    ended = [r for r in runs if r.attributes["gen_ai.conversation.id"] == failing]
    assert [r.status.status_code for r in ended] == [StatusCode.UNSET, StatusCode.ERROR], "the FAILED run's span"
    assert ended[-1].attributes["error.type"] == "run_failed"
    assert [r.status.status_code for r in runs if r.attributes["gen_ai.conversation.id"] == thread] == [
        StatusCode.UNSET, StatusCode.UNSET]


def test_json_logs_carry_thread_node_step_and_attempt(cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 1+1")["thread_id"]
    env = dict(cli.env, PROLIGHT_LOG_FORMAT="json", PROLIGHT_LOG_LEVEL="INFO")
    done = subprocess.run([str(Path(sys.executable).with_name("prolight")), "approve", thread, "--json"],
                          capture_output=True, text=True, env=env, cwd=cli.home, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    step = next(line for line in lines if line["message"] == "step_succeeded")
    assert step["thread_id"] == thread and step["node"] == "executor"
    assert step["step_id"] == "calc" and step["attempt"] == 1 and step["level"] == "info"


def test_the_plan_at_the_gate_carries_an_estimate_from_past_durations(home: Path, server: ToolServer) -> None:
    flow = flow_at(home)
    first = flow.start(plan=plan(fetch(server, "a", delay=0.3)))
    assert first["estimate"]["unknown_tools"] == ["http_request"]
    flow.approve(first["thread_id"])
    second = flow.start(plan=plan(fetch(server, "b"), fetch(server, "c", ["b"])))
    estimate = second["estimate"]
    assert estimate["unknown_tools"] == [] and estimate["samples"] == {"http_request": 1}
    assert estimate["critical_path_s"] == pytest.approx(2 * estimate["steps_s"]["b"], abs=0.002)  # both rounded to ms
    assert estimate["steps_s"]["b"] >= 0.3
