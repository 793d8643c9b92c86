"""Cancel from another process, and two operators approving the same thread at once."""

from __future__ import annotations

import pytest

from tests.support.cli import Cli
from tests.support.http_server import ToolServer
from tests.support.plans import fetch


def test_cancel_stops_a_running_thread_and_resume_runs_only_what_had_not_finished(home, server: ToolServer) -> None:
    cli = Cli(home, PROLIGHT_CANCEL_GRACE_S="0.3")
    plan = {"steps": [fetch(server, "quick"), fetch(server, "slow", delay_first=30),
                      fetch(server, "after_slow", ["slow"]), fetch(server, "after_quick", ["quick"], delay_first=30)]}
    thread = cli.ok("run", "--plan", cli.write_plan("p.json", plan))["thread_id"]
    executing = cli.popen("approve", thread, "--json")
    server.wait_started("/slow")
    server.wait_started("/after_quick")

    cancelled = cli.ok("cancel", thread, "--operator", "ana", "--reason", "the slow host is down")
    assert cancelled["status"] == "CANCELLED"
    executing.wait(timeout=30)
    steps = cancelled["steps"]
    assert steps["quick"]["status"] == "SUCCEEDED"
    assert steps["slow"]["status"] == "CANCELLED" and "cancelled while running" in steps["slow"]["error"]
    assert steps["after_slow"]["status"] == "SKIPPED"
    assert server.started["/after_slow"] == 0, "no new step starts after a cancel"
    # The process that was executing it records who cancelled it, and why, on the trail.
    assert [(d["action"], d["operator"], d["reason"]) for d in cancelled["decisions"]] == [
        ("approve", "operator", None), ("cancel", "ana", "the slow host is down")]
    assert cli.ok("audit", thread)["verified"]

    resumed = cli.ok("resume", thread, "--reason", "the host is back")
    assert resumed["status"] == "COMPLETED"
    assert [(d["action"], d["reason"]) for d in resumed["decisions"]][-1] == ("resume", "the host is back")
    assert server.started["/quick"] == 1, "a finished step never runs again"
    assert server.started["/slow"] == 2 and server.started["/after_quick"] == 2
    assert server.hits["/after_slow"] == 1


def test_cancel_at_the_approval_gate_ends_the_thread(cli: Cli, server: ToolServer) -> None:
    thread = cli.ok("run", f"Fetch {server.url('x')}")["thread_id"]
    out = cli.ok("cancel", thread)
    assert out["status"] == "CANCELLED" and not out["awaiting_approval"]
    assert [d["action"] for d in out["decisions"]] == ["cancel"]
    assert cli("approve", thread).code == 2
    assert cli("cancel", thread).code == 2, "nothing left to cancel"
    assert server.started["/x"] == 0


@pytest.mark.both_backends
def test_two_racing_approvals_exactly_one_wins(cli: Cli, server: ToolServer) -> None:
    """The racers are real processes; the threads are made and checked in-process (a CLI
    call is a second of imports)."""
    from graph.core.schemas import Plan
    from tests.support.ops import JsonOps

    flow = JsonOps(cli.settings())
    plan = Plan.model_validate({"goal": "race", "steps": [fetch(server, "work", delay=1)]})
    for _ in range(3):
        thread = flow.start(plan=plan)["thread_id"]
        racers = [cli.popen("approve", thread, "--operator", name) for name in ("alice", "bob")]
        outcomes = [(p.wait(timeout=60), p.stderr.read()) for p in racers]
        codes = sorted(code for code, _ in outcomes)
        assert codes == [0, 2], outcomes
        loser = next(err for code, err in outcomes if code == 2)
        assert "already decided" in loser and len(loser.strip().splitlines()) == 1
        decisions = flow.thread(thread)["decisions"]
        assert len(decisions) == 1
    assert server.started["/work"] == 3, "each thread's plan ran once"


def test_cancel_of_an_unknown_thread(cli: Cli) -> None:
    result = cli("cancel", "nope")
    assert result.code == 2 and "unknown thread" in result.stderr
