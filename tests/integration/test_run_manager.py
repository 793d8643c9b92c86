"""Runs that outlive the process that asked for them: detached requests executed by
`prolight worker`, a killed worker replaced by another, two workers sharing a database."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from tests.support.cli import Background, Cli
from tests.support.http_server import ToolServer
from tests.support.plans import fetch


def wait_status(cli: Cli, thread: str, wanted: str, workers: list[Background], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = cli.ok("status", thread)
        if status["status"] == wanted and not status["queued"]:
            return status
        assert any(w.proc.poll() is None for w in workers), "\n".join(w.report() for w in workers)
        time.sleep(0.3)
    raise AssertionError(f"{thread} did not reach {wanted}: {status['status']} (queued: {status['queued']})\n"
                         + "\n".join(w.report() for w in workers))


@pytest.fixture
def worker(cli: Cli) -> Iterator[list[Background]]:
    started: list[Background] = []
    yield started
    for w in started:
        if w.proc.poll() is None:
            w.proc.terminate()
            w.proc.wait(timeout=15)


def test_a_detached_run_goes_on_after_the_process_that_started_it_returns(cli: Cli, server: ToolServer,
                                                                          worker: list[Background]) -> None:
    worker.append(cli.background("worker"))
    queued = cli.ok("run", "--detach", f"Fetch {server.url('page')} then summarize it")
    assert queued["status"] == "CREATED" and queued["queued"]
    thread = queued["thread_id"]
    gate = wait_status(cli, thread, "AWAITING_APPROVAL", worker)
    assert gate["estimate"]["critical_path_s"] > 0
    approved = cli.ok("approve", "--detach", thread)
    assert approved["status"] == "APPROVED" and approved["queued"] and not approved["awaiting_approval"]
    done = wait_status(cli, thread, "COMPLETED", worker)
    assert done["steps"]["summarize"]["output"] == "ok /page call 1"
    assert server.hits["/page"] == 1


def test_a_killed_worker_is_replaced_and_finished_steps_do_not_run_again(cli: Cli, server: ToolServer,
                                                                         worker: list[Background]) -> None:
    plan = {"steps": [fetch(server, "a"), fetch(server, "b"), fetch(server, "slow", delay_first=30),
                      fetch(server, "c", ["a"]), fetch(server, "after", ["slow"])]}
    thread = cli.ok("run", "--plan", cli.write_plan("p.json", plan))["thread_id"]
    first = cli.background("worker")
    cli.ok("approve", "--detach", thread)
    server.wait_started("/slow")
    server.wait_started("/c")
    time.sleep(0.5)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    assert cli.ok("status", thread)["status"] == "EXECUTING"

    worker.append(cli.background("worker"))
    done = wait_status(cli, thread, "COMPLETED", worker)
    assert all(r["status"] == "SUCCEEDED" for r in done["steps"].values())
    assert (server.hits["/a"], server.hits["/b"], server.hits["/c"], server.hits["/after"]) == (1, 1, 1, 1)
    assert server.started["/slow"] == 2


def test_two_workers_never_execute_the_same_thread(cli: Cli, server: ToolServer, worker: list[Background]) -> None:
    threads = []
    for i in range(8):
        plan = {"steps": [fetch(server, f"r{i}x", delay=0.2), fetch(server, f"r{i}y", [f"r{i}x"])]}
        threads.append(cli.ok("run", "--plan", cli.write_plan(f"p{i}.json", plan))["thread_id"])
    for thread in threads:
        cli.ok("approve", "--detach", thread)
    worker.extend([cli.background("worker", "--workers", "3"), cli.background("worker", "--workers", "3")])
    for thread in threads:
        wait_status(cli, thread, "COMPLETED", worker)
    assert set(server.started.values()) == {1}, server.started
    assert len(server.started) == 16
    for thread in threads:
        starts = [line for line in cli("events", thread).stdout.splitlines() if "node_started      executor" in line]
        assert len(starts) == 1, thread
