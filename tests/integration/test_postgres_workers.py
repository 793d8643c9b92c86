"""Scale-out on PostgreSQL: several `prolight worker` processes share one database, take
queued and orphaned threads through their claims, and never drive a thread or run a step
twice. Each test has a database of its own in the session's throw-away cluster."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter

import pytest

from graph.core.schemas import Plan
from graph.operations import Operations
from graph.operations.models import ThreadQuery
from tests.support.checkpoints import wait_durable
from tests.support.cli import Background, Cli
from tests.support.http_server import ToolServer
from tests.support.plans import fetch


@pytest.fixture
def pg_cli(home, postgres, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("PROLIGHT_DB", postgres.new_database())
    monkeypatch.setenv("PROLIGHT_AUDIT_KEY_FILE", str(home / "audit.key"))
    return Cli(home, PROLIGHT_LOG_FORMAT="json")


def executor_drives(worker: Background) -> Counter[str]:
    """Threads whose executor node this worker started, from its JSON event log."""
    drives: Counter[str] = Counter()
    for line in worker.log.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("message") == "node_started" and record.get("node") == "executor":
                drives[record["thread_id"]] += 1
    return drives


def wait_all(ops: Operations, threads: list[str], wanted: str, workers: list[Background],
             timeout: float = 240) -> None:
    """Until every thread has settled at ``wanted``; fails early if a worker died."""
    deadline = time.monotonic() + timeout
    left = set(threads)
    while left and time.monotonic() < deadline:
        rows = {r.thread_id: r for r in ops.threads(ThreadQuery(limit=1000)).items}
        left = {t for t in left if rows[t].status != wanted or rows[t].queued}
        assert all(w.proc.poll() is None for w in workers), "\n".join(w.report() for w in workers)
        time.sleep(0.5)
    assert not left, f"{len(left)} threads not {wanted}\n" + "\n".join(w.report() for w in workers)


def test_two_workers_execute_fifty_queued_runs_each_once(pg_cli: Cli, server: ToolServer,
                                                         workers: list[Background]) -> None:
    """The runs reach the gate in this process; their approvals are queued, then two
    worker processes start together on the 50 waiting requests."""
    ops = Operations.open(pg_cli.settings())
    threads = []
    for i in range(50):
        plan = {"goal": f"run {i}", "steps": [fetch(server, f"r{i}a", delay=0.05), fetch(server, f"r{i}b", [f"r{i}a"])]}
        threads.append(ops.start(plan=Plan.model_validate(plan)).thread_id)
    for thread in threads:
        assert ops.approve(thread, queue=True).queued
    workers.extend([pg_cli.background("worker", "--workers", "4"), pg_cli.background("worker", "--workers", "4")])
    wait_all(ops, threads, "COMPLETED", workers)
    ops.close()

    assert len(server.started) == 100 and set(server.started.values()) == {1}, "every step ran exactly once"
    first, second = (executor_drives(w) for w in workers)
    assert set(first) | set(second) == set(threads)
    assert not set(first) & set(second), "no thread was driven by both workers"
    assert set(first.values()) | set(second.values()) == {1}, "no thread was driven twice"
    assert first and second, "both workers took a share"


def test_a_worker_killed_mid_run_leaves_its_thread_to_the_other(pg_cli: Cli, server: ToolServer,
                                                                workers: list[Background]) -> None:
    plan = {"steps": [fetch(server, "a"), fetch(server, "slow", delay_first=60), fetch(server, "b", ["a"]),
                      fetch(server, "after", ["slow"])]}
    thread = pg_cli.ok("run", "--plan", pg_cli.write_plan("p.json", plan))["thread_id"]
    workers.extend([pg_cli.background("worker"), pg_cli.background("worker")])
    pg_cli.ok("approve", "--detach", thread)
    server.wait_started("/slow")
    wait_durable(pg_cli.env["PROLIGHT_DB"], thread, {"ok /a call 1", "ok /b call 1"})  # then the kill
    holder = pg_cli.ok("status", thread)["held_by"]
    victim = next(w for w in workers if holder.startswith(f"{w.proc.pid}@"))
    survivor = next(w for w in workers if w is not victim)
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(timeout=10)
    workers.remove(victim)

    deadline = time.monotonic() + 120
    while (status := pg_cli.ok("status", thread))["status"] != "COMPLETED" and time.monotonic() < deadline:
        assert survivor.proc.poll() is None, survivor.report()
        time.sleep(0.3)
    assert status["status"] == "COMPLETED", survivor.report()
    assert (server.hits["/a"], server.hits["/b"], server.hits["/after"]) == (1, 1, 1), "finished steps ran once"
    assert server.started["/slow"] == 2, "only the step the kill interrupted ran again"
    assert executor_drives(survivor)[thread] == 1
