"""kill -9 the process executing a plan while a step is in flight, then resume it: every
step that had finished ran exactly once (counted by the HTTP server), and the rest ran."""

from __future__ import annotations

import signal
import time

from tests.support.cli import Cli
from tests.support.http_server import ToolServer


def _plan(server: ToolServer) -> dict:
    fetch = lambda i, path, delay=0, deps=(): {  # noqa: E731
        "id": i, "tool": "http_request", "args": {"url": server.url(path, delay_first=delay)},
        "depends_on": list(deps)}
    return {"goal": "crash test", "steps": [
        fetch("a", "a"), fetch("b", "b"), fetch("slow", "slow", delay=30),
        fetch("c", "c", deps=["a"]), fetch("d", "d", deps=["c", "b"]),
        fetch("after_slow", "after_slow", deps=["slow"]),
    ]}


def test_resume_after_kill_runs_only_unfinished_steps(cli: Cli, server: ToolServer) -> None:
    started = cli.ok("run", "--plan", cli.write_plan("plan.json", _plan(server)))
    thread = started["thread_id"]
    assert started["status"] == "AWAITING_APPROVAL"

    proc = cli.popen("approve", thread)
    server.wait_started("/slow")
    server.wait_started("/d")
    deadline = time.monotonic() + 10
    while server.hits["/d"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)  # let the finished steps' writes land
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert server.hits["/slow"] == 0, "the slow step must still have been in flight"

    mid = cli.ok("status", thread)
    assert mid["status"] == "EXECUTING"

    # The fix for the slow step: it is still slow, but the resume must not redo finished work.
    server_hits_before = dict(server.hits)
    resumed = cli.ok("resume", thread)
    assert resumed["status"] == "COMPLETED", resumed["error"]
    for path in ("/a", "/b", "/c", "/d"):
        assert server.hits[path] == 1, f"{path} ran {server.hits[path]} times"
    assert server_hits_before["/d"] == 1
    assert server.hits["/after_slow"] == 1
    assert server.started["/slow"] == 2  # in flight at the kill, run again on resume
    for step_id, result in resumed["steps"].items():
        assert result["status"] == "SUCCEEDED"
        assert result["output"].startswith(f"ok /{step_id} call "), "no step gets another step's result"
