"""kill -9 the process executing a plan while a step is in flight, then resume it: every
step that had finished ran exactly once (counted by the HTTP server), and the rest ran."""

from __future__ import annotations

import pytest

import signal

from tests.support.checkpoints import persisted_outputs, wait_durable
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


@pytest.mark.both_backends
def test_resume_after_kill_runs_only_unfinished_steps(cli: Cli, server: ToolServer) -> None:
    started = cli.ok("run", "--plan", cli.write_plan("plan.json", _plan(server)))
    thread = started["thread_id"]
    assert started["status"] == "AWAITING_APPROVAL"

    proc = cli.popen("approve", thread)
    server.wait_started("/slow")
    server.wait_started("/d")
    wait_durable(cli.env["PROLIGHT_DB"], thread, {f"ok /{p} call 1" for p in ("a", "b", "c", "d")})
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


RANDOM_DAG = {  # step: (delay seconds, dependencies)
    "a": (0.10, []), "b": (0.25, []), "c": (0.05, ["a"]), "d": (0.30, ["a", "b"]),
    "e": (0.10, ["c"]), "g": (0.05, []), "h": (0.20, ["g"]), "f": (0.15, ["d", "e"]),
}
LAST = "f"  # depends on the whole left side; held by the server until the kill has landed


TRIALS, AT_ONCE = 20, 4  # four processes a wave: a process's start is a second of imports


def test_kill_at_random_moments_never_reruns_a_finished_step(cli: Cli, server: ToolServer) -> None:
    """20 trials, four at a time; each killed process is a real `prolight approve`, the rest
    runs in-process.

    Each kill is placed by progress, not by the clock: it lands once the tool server has
    seen k of its plan's steps start (k drawn per trial; each trial's steps have their own
    paths, and a thread per trial waits for its own count), and the last step is held by
    the server until after the kill, so every kill lands mid-run however busy the machine is."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    from graph.core.schemas import Plan
    from tests.support.ops import JsonOps

    flow = JsonOps(cli.settings())

    def start(trial: int) -> str:
        prefix = f"t{trial}/"
        steps = [{"id": s, "tool": "http_request", "depends_on": deps,
                  "args": {"url": server.url(f"{prefix}{s}", delay=delay, **({"hold": f"/{prefix}"} if s == LAST else {}))}}
                 for s, (delay, deps) in RANDOM_DAG.items()]
        return flow.start(plan=Plan.model_validate({"goal": f"trial {trial}", "steps": steps}))["thread_id"]

    def kill_at_progress(trial: int, thread: str) -> None:
        proc = cli.popen("approve", thread)
        server.wait_progress(f"/t{trial}/", random.Random(trial).randint(1, len(RANDOM_DAG) - 1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        server.release(f"/t{trial}/")

    def resume_and_check(trial: int, thread: str) -> None:
        prefix = f"/t{trial}/"
        durable = persisted_outputs(cli.env["PROLIGHT_DB"], thread)
        assert flow.thread(thread)["status"] == "EXECUTING", f"trial {trial}: the kill did not land mid-run"
        final = flow.resume(thread)
        assert final["status"] == "COMPLETED", (trial, final["error"])
        for step_id, result in final["steps"].items():
            path = f"{prefix}{step_id}"
            assert result["output"].startswith(f"ok {path} call "), (trial, step_id, result["output"])
            if any(out.startswith(f"ok {path} ") for out in durable):
                assert server.started[path] == 1, f"trial {trial}: durable step {step_id} ran again"
            assert server.started[path] <= 2

    with ThreadPoolExecutor(AT_ONCE) as pool:
        for first in range(0, TRIALS, AT_ONCE):
            threads = {trial: start(trial) for trial in range(first, min(first + AT_ONCE, TRIALS))}
            for killed in [pool.submit(kill_at_progress, trial, thread) for trial, thread in threads.items()]:
                killed.result()
            for resumed in [pool.submit(resume_and_check, trial, thread) for trial, thread in threads.items()]:
                resumed.result()
