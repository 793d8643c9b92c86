"""Runs that outlive the process that asked for them: detached requests executed by
`prolight worker`, a killed worker replaced by another, two workers sharing a database."""

from __future__ import annotations

import signal
import time

from graph.core.schemas import Plan
from tests.support.checkpoints import wait_durable
from tests.support.cli import Background, Cli
from tests.support.ops import JsonOps
from tests.support.http_server import ToolServer
from tests.support.plans import fetch


def wait_status(cli: Cli, thread: str, wanted: str, workers: list[Background], timeout: float = 60) -> dict:
    """Read in-process, on the workers' database: a `prolight status` per poll was a second
    of imports each."""
    flow = JsonOps(cli.settings())
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = flow.thread(thread)
            if status["status"] == wanted and not status["queued"]:
                return status
            assert any(w.proc.poll() is None for w in workers), "\n".join(w.report() for w in workers)
            time.sleep(0.1)
    finally:
        flow.api.close()
    raise AssertionError(f"{thread} did not reach {wanted}: {status['status']} (queued: {status['queued']})\n"
                         + "\n".join(w.report() for w in workers))


def test_a_detached_run_goes_on_after_the_process_that_started_it_returns(cli: Cli, server: ToolServer,
                                                                          workers: list[Background]) -> None:
    workers.append(cli.background("worker"))
    queued = cli.ok("run", "--detach", f"Fetch {server.url('page')} then summarize it")
    assert queued["status"] == "CREATED" and queued["queued"]
    thread = queued["thread_id"]
    gate = wait_status(cli, thread, "AWAITING_APPROVAL", workers)
    assert gate["estimate"]["critical_path_s"] > 0
    approved = cli.ok("approve", "--detach", thread)
    assert approved["status"] == "APPROVED" and approved["queued"] and not approved["awaiting_approval"]
    done = wait_status(cli, thread, "COMPLETED", workers)
    assert done["steps"]["summarize"]["output"] == "ok /page call 1"
    assert server.hits["/page"] == 1


def test_a_killed_worker_is_replaced_and_finished_steps_do_not_run_again(cli: Cli, server: ToolServer,
                                                                         workers: list[Background]) -> None:
    plan = {"steps": [fetch(server, "a"), fetch(server, "b"), fetch(server, "slow", delay_first=30),
                      fetch(server, "c", ["a"]), fetch(server, "after", ["slow"])]}
    thread = cli.ok("run", "--plan", cli.write_plan("p.json", plan))["thread_id"]
    first = cli.background("worker")
    cli.ok("approve", "--detach", thread)
    server.wait_started("/slow")
    wait_durable(cli.env["PROLIGHT_DB"], thread, {"ok /a call 1", "ok /b call 1", "ok /c call 1"})
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    assert cli.ok("status", thread)["status"] == "EXECUTING"

    workers.append(cli.background("worker"))
    done = wait_status(cli, thread, "COMPLETED", workers)
    assert all(r["status"] == "SUCCEEDED" for r in done["steps"].values())
    assert (server.hits["/a"], server.hits["/b"], server.hits["/c"], server.hits["/after"]) == (1, 1, 1, 1)
    assert server.started["/slow"] == 2


def test_two_workers_never_execute_the_same_thread(cli: Cli, server: ToolServer, workers: list[Background]) -> None:
    """The threads are made and approved in-process (a CLI call is a second of imports);
    the two workers are real `prolight worker` processes."""
    flow = JsonOps(cli.settings())
    threads = []
    for i in range(8):
        plan = {"goal": f"race {i}", "steps": [fetch(server, f"r{i}x", delay=0.2), fetch(server, f"r{i}y", [f"r{i}x"])]}
        threads.append(flow.start(plan=Plan.model_validate(plan))["thread_id"])
    for thread in threads:
        assert flow.approve(thread, queue=True)["queued"]
    workers.extend([cli.background("worker", "--workers", "3"), cli.background("worker", "--workers", "3")])
    for thread in threads:
        wait_status(cli, thread, "COMPLETED", workers)
    assert set(server.started.values()) == {1}, server.started
    assert len(server.started) == 16
    for thread in threads:
        starts = [e for e in flow.events(thread)["events"] if e["kind"] == "node_started" and e["node"] == "executor"]
        assert len(starts) == 1, thread
    flow.api.close()
