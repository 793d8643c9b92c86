"""The operations API, read by read and command by command, in-process on a real SQLite file."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from graph.core.schemas import Plan, Status, StepResult, StepStatus
from graph.operations import Operations, PlanInputError, RequestError, parse_plan
from graph.core.settings import Settings
from graph.operations.models import ThreadQuery
from tests.support.http_server import ToolServer
from tests.support.plans import fetch

pytestmark = pytest.mark.both_backends


@pytest.fixture
def ops(settings: Settings):
    api = Operations.open(settings)
    yield api
    api.close()


def plan_of(*steps: dict) -> Plan:
    return Plan.model_validate({"goal": "ops test", "steps": list(steps)})


def test_a_queued_fork_returns_at_once_and_a_run_manager_executes_it(ops: Operations) -> None:
    thread = ops.start("Calculate 6*7").thread_id
    done = ops.approve(thread)
    assert done.status == Status.COMPLETED
    before_exec = next(c for c in ops.checkpoints(thread) if c.next == ["executor"])

    forked = ops.fork(thread, before_exec.checkpoint_id, queue=True)
    assert forked.queued and forked.status == Status.EXECUTING, "recorded, not executed in the caller"
    ops.start_run_manager(workers=1, poll_s=0.05)
    settled = ops.wait(thread, timeout=30)
    assert settled.status == Status.COMPLETED and not settled.queued
    assert [(d.action, d.forked_from) for d in settled.decisions] == [
        ("approve", None), ("fork", before_exec.checkpoint_id)], "the fork is on the branch's trail"
    assert settled.audit.verified


def test_a_view_taken_mid_run_shows_one_step_running_and_an_earlier_one_succeeded(
        ops: Operations, server: ToolServer) -> None:
    thread = ops.start(plan=plan_of(fetch(server, "first"), fetch(server, "second", ["first"], hold="gate"))).thread_id
    ops.start_run_manager(workers=1, poll_s=0.05)
    ops.approve(thread, queue=True)
    server.wait_started("/second")
    deadline = time.monotonic() + 30
    while (view := ops.thread(thread)).steps["second"].status != StepStatus.RUNNING:  # events land in batches
        assert time.monotonic() < deadline, view.steps
        time.sleep(0.05)
    server.release("gate")
    assert view.status == Status.EXECUTING
    assert view.steps["first"].status == StepStatus.SUCCEEDED
    assert view.steps["first"].output.startswith("ok /first") and view.steps["first"].duration_s is not None
    assert view.steps["second"].attempts == 1 and view.steps["second"].started_at is not None
    assert ops.wait(thread, timeout=30).steps["second"].status == StepStatus.SUCCEEDED


def test_search_finds_a_thread_by_full_id_prefix_and_goal_words(ops: Operations) -> None:
    wanted = ops.start("Calculate 12*12 for the quarterly report").thread_id
    other = ops.start("Calculate 3+3").thread_id
    for search in (wanted, wanted[:5], "quarterly report", "REPORT calculate"):
        found = [r.thread_id for r in ops.threads(ThreadQuery(search=search)).items]
        assert found == [wanted], (search, found)
    assert {r.thread_id for r in ops.threads(ThreadQuery(search="calculate")).items} == {wanted, other}
    assert ops.threads(ThreadQuery(search="100%_")).total == 0, "LIKE wildcards are taken literally"


def test_paging_returns_the_right_total_with_10000_threads(ops: Operations) -> None:
    now = datetime.now(timezone.utc)
    with ops.db.cursor() as cur:
        cur.executemany(
            "INSERT INTO runs (thread_id, goal, status, model, operator, created_at, updated_at) "
            "VALUES (?, ?, ?, 'offline', 'op', ?, ?)",
            [(uuid.uuid4().hex, f"goal {i}", "FAILED" if i % 4 == 0 else "COMPLETED",
              (now + timedelta(seconds=i)).isoformat(), (now + timedelta(seconds=i)).isoformat())
             for i in range(10_000)])
    page = ops.threads(ThreadQuery(offset=9_990, limit=50))
    assert page.total == 10_000 and len(page.items) == 10
    assert page.items[-1].goal == "goal 0", "newest first: the last page ends with the oldest"
    failed = ops.threads(ThreadQuery(statuses=(Status.FAILED,), limit=10))
    assert failed.total == 2_500 and all(r.status == Status.FAILED for r in failed.items)
    assert ops.status_counts().counts == {Status.COMPLETED: 7_500, Status.FAILED: 2_500}


def test_the_state_at_a_checkpoint_and_what_changed_from_the_one_before(ops: Operations) -> None:
    thread = ops.start("Calculate 2+2").thread_id
    ops.approve(thread, operator="ann")
    approved = next(c for c in ops.checkpoints(thread) if c.node == "operator")
    state = ops.checkpoint_state(thread, approved.checkpoint_id)
    changed = {c.field: c for c in state.changes}
    assert changed["status"].before == "AWAITING_APPROVAL" and changed["status"].after == "APPROVED"
    assert changed["decisions"].after[-1]["operator"] == "ann"
    executed = next(c for c in ops.checkpoints(thread) if c.node == "executor")
    after_run = ops.checkpoint_state(thread, executed.checkpoint_id)
    assert after_run.checkpoint.node == "executor"
    # Stored without its empty fields (dump_result), read back with all of them.
    assert set(after_run.values["steps"]["calc"]) == set(StepResult.model_fields)
    assert after_run.values["steps"]["calc"]["error"] is None and after_run.values["steps"]["calc"]["cached"] is False
    with pytest.raises(RequestError, match="no checkpoint"):
        ops.checkpoint_state(thread, "1f0-nope")


def test_inbox_counts_and_who_decided_last(ops: Operations) -> None:
    older = ops.start("Calculate 1+1", operator="bo").thread_id
    newer = ops.start("Calculate 2+2").thread_id
    assert [p.thread_id for p in ops.awaiting_approval()] == [older, newer]
    assert ops.awaiting_approval()[0].steps == 1 and ops.awaiting_approval()[0].operator == "bo"
    ops.reject(older, final=True, operator="cy")
    row = next(r for r in ops.threads().items if r.thread_id == older)
    assert (row.operator, row.decided_by, row.status) == ("bo", "cy", Status.REJECTED)
    assert ops.thread(older).actions == ["fork"]
    assert ops.thread(newer).actions == ["approve", "edit", "reject", "cancel", "fork"]


def test_retry_runs_only_the_failed_and_skipped_steps_of_a_failed_thread(ops: Operations, server: ToolServer) -> None:
    thread = ops.start(plan=plan_of(fetch(server, "ok"), fetch(server, "flaky", fail_first=3),
                                    fetch(server, "after", ["flaky"]))).thread_id
    failed = ops.approve(thread)
    assert failed.status == Status.FAILED and "retry" in failed.actions
    assert failed.steps["after"].status == StepStatus.SKIPPED
    done = ops.retry(thread, operator="dee")
    assert done.status == Status.COMPLETED
    assert server.hits["/ok"] == 1 and server.hits["/after"] == 1
    assert done.decisions[-1].action == "retry"
    with pytest.raises(RequestError, match="retry is for a FAILED thread"):
        ops.retry(thread)


def test_metrics_are_counted_over_a_time_window(ops: Operations) -> None:
    ops.approve(ops.start("Calculate 5*5").thread_id)
    everything = ops.metrics()
    assert everything.runs.by_status == {"COMPLETED": 1} and everything.tools["calculate"].calls == 1
    later = ops.metrics(since=datetime.now(timezone.utc) + timedelta(hours=1))
    assert later.runs.total == 0 and later.tools == {} and later.approval_wait_s.count == 0
    ops.start("Calculate 6*6")
    now = datetime.now(timezone.utc)
    today = ops.metrics(since=now - timedelta(hours=1))
    assert today.bucket == "hour" and {(c.status, c.count) for c in today.runs_over_time} == {
        ("COMPLETED", 1), ("AWAITING_APPROVAL", 1)}
    assert all(c.start == now.replace(minute=0, second=0, microsecond=0) for c in today.runs_over_time) or \
        now.minute == 0, "bucketed by the hour they were created in"
    assert ops.metrics().bucket == "day" and sum(c.count for c in ops.metrics().runs_over_time) == 2


def test_tools_and_breakers_are_typed_answers(ops: Operations) -> None:
    assert {"calculate", "http_request"} <= {t.name for t in ops.tools()}
    assert next(t for t in ops.tools() if t.name == "write_file").risky
    assert ops.breakers() == []


def test_the_plan_parser_names_the_step_and_field(ops: Operations) -> None:
    with pytest.raises(PlanInputError, match=r"^upload is not a valid plan: step 'b' \(#2\) timeout_s: "):
        parse_plan(b'{"steps": [{"id": "a", "tool": "calculate"}, {"id": "b", "tool": "calculate", "timeout_s": -1}]}',
                   "upload")
    with pytest.raises(PlanInputError, match="not UTF-8"):
        parse_plan(b"\xff\xfe", "upload")
    with pytest.raises(PlanInputError, match="not valid JSON"):
        parse_plan("{", "pasted plan")
    with pytest.raises(PlanInputError, match="expected an object"):
        parse_plan("[]", "pasted plan")
    assert parse_plan('{"steps": [{"id": "a", "tool": "calculate"}]}', default_goal="g").goal == "g"


def test_an_unknown_thread_is_refused_by_every_read(ops: Operations) -> None:
    for read in (ops.thread, ops.checkpoints, ops.events):
        with pytest.raises(RequestError, match="unknown thread"):
            read("no-such-thread")


def test_a_queued_cancel_returns_at_once_and_a_worker_stops_the_thread(ops: Operations, server: ToolServer) -> None:
    waiting = ops.start("Calculate 6*7").thread_id
    asked = ops.cancel(waiting, operator="ana", queue=True)
    assert asked.status == Status.AWAITING_APPROVAL and asked.queued, "recorded, not done in the caller"

    running = ops.start(plan=plan_of(fetch(server, "slow", hold="gate"), fetch(server, "after", ["slow"]))).thread_id
    ops.start_run_manager(workers=2, poll_s=0.05)
    ops.approve(running, queue=True)
    server.wait_started("/slow")
    ops.cancel(running, operator="bo", queue=True)

    stopped = ops.wait(waiting, timeout=30)
    assert stopped.status == Status.CANCELLED and not stopped.queued
    assert stopped.decisions[-1].action == "cancel" and stopped.decisions[-1].operator == "ana"
    ended = ops.wait(running, timeout=30)  # the held step is given up after the grace period
    server.release("gate")
    assert ended.status == Status.CANCELLED and ended.steps["after"].status == StepStatus.SKIPPED
    assert server.started["/after"] == 0
    with pytest.raises(RequestError, match="nothing to cancel"):
        ops.cancel(running, queue=True)
