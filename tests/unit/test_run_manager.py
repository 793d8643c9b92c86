"""The run manager in-process: a thread whose executions keep failing is backed off, not
given up on, and an operator's new request takes it at once."""

from __future__ import annotations

from typing import Any

from graph.engine.run_manager import MAX_RETRY_AFTER_S, retry_after
from graph.core.settings import Settings
from graph.operations import Operations


def test_retry_after_doubles_and_is_capped() -> None:
    delays = [retry_after(n, 0.5) for n in range(1, 10)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert delays[-1] == MAX_RETRY_AFTER_S
    assert delays == sorted(delays)


def test_a_thread_whose_execution_keeps_failing_is_retried_until_it_goes(settings: Settings) -> None:
    ops = Operations.open(settings)
    real_execute = ops.workflow.execute
    calls: list[str] = []

    def flaky_execute(thread_id: str, *args: Any, **kwargs: Any) -> str:
        calls.append(thread_id)
        if len(calls) <= 4:  # more failures in a row than the manager once tolerated (3)
            raise RuntimeError("injected: the database row is unreadable for now")
        return real_execute(thread_id, *args, **kwargs)

    ops.workflow.execute = flaky_execute  # type: ignore[method-assign]
    ops.start_run_manager(workers=2, poll_s=0.01)
    try:
        thread = ops.start("Calculate 2+2", queue=True).thread_id
        assert ops.wait(thread, timeout=30).status == "AWAITING_APPROVAL"
        assert len(calls) == 5
    finally:
        ops.close()


def test_a_new_request_ends_the_back_off(settings: Settings) -> None:
    ops = Operations.open(settings)
    manager = ops.start_run_manager(workers=1, poll_s=60, background=False)  # a back-off far longer than the test
    thread = ops.workflow.create("Calculate 2+2", queued=True)
    manager._stalled[thread] = (5, float("inf"))
    assert manager.needing_work(10) == []
    ops.resume(thread, queue=True)
    assert manager.needing_work(10) == [thread]
    ops.close()


def test_threads_other_workers_hold_never_hide_queued_ones(settings: Settings) -> None:
    """Found by bench/scale.py: with several workers, the threads the others were executing
    (active, older) filled the candidates' limit, and a free worker saw no queued thread
    until its next poll. Two processes ran 1.65x one; 1.87x with unowned rows first."""
    ops = Operations.open(settings)
    busy = [ops.workflow.create(f"Calculate {i}+1", queued=False) for i in range(3)]
    for thread in busy:  # executing elsewhere: active, held by a live owner, older than the request
        assert ops.db.claim(thread, "4242@another-host:cafe", lease_s=60)
        ops.db.set_queued(thread, False)
    waiting = ops.workflow.create("Calculate 9+9", queued=True)
    manager = ops.start_run_manager(workers=1, poll_s=60, background=False)
    assert manager.needing_work(1) == [waiting]
    ops.close()
