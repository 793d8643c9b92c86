"""Plan versions (issue 19, item 4): the planner's plan, each revision after feedback, each
edit and each version brought back are kept; each decision names the version it was made
on; a diff reads one version against another; a restore is a sealed decision on the trail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graph.core.errors import RequestError
from graph.core.settings import Settings
from graph.operations import Operations
from graph.operations.models import Plan
from graph.operations.plan_diff import plan_diff


@pytest.fixture
def ops(settings: Settings) -> Iterator[Operations]:
    api = Operations.open(settings)
    yield api
    api.close()


def test_versions_are_kept_compared_and_an_earlier_one_brought_back(ops: Operations) -> None:
    thread = ops.start("Calculate 6*7").thread_id
    revised = ops.reject(thread, "Calculate 6*8", operator="ana")
    assert [(v.version, v.source) for v in revised.plan_versions] == [(1, "planner"), (2, "revision")]
    first, second = revised.plan_versions
    assert [(c.step, c.change, c.field, c.before, c.after) for c in plan_diff(first.plan, second.plan)] == [
        ("calc", "changed", "description", "Calculate 6*7", "Calculate 6*8"),
        ("calc", "changed", "args.expression", "6*7", "6*8")]
    assert revised.decisions[0].plan_version == 1, "the reject was made on version 1"
    assert "restore" in revised.actions

    with pytest.raises(RequestError, match="has no plan version 9"):
        ops.restore(thread, 9)
    with pytest.raises(RequestError, match="version 2 is the plan at the gate already"):
        ops.restore(thread, 2)
    back = ops.restore(thread, 1, operator="bo")
    assert back.awaiting_approval and back.plan.steps[0].args == {"expression": "6*7"}
    third = back.plan_versions[-1]
    assert (third.version, third.source, third.by, third.restored_from) == (3, "restore", "bo", 1)
    restore = back.decisions[-1]
    assert (restore.action, restore.operator, restore.plan_version, restore.restores) == ("restore", "bo", 2, 1)
    assert plan_diff(second.plan, third.plan)[1].after == "6*7"

    done = ops.approve(thread, plan_digest=back.plan_digest)
    assert done.status == "COMPLETED" and done.steps["calc"].output == 42
    assert [(d.action, d.plan_version) for d in done.decisions] == [("reject", 1), ("restore", 2), ("approve", 3)]
    assert ops.audit(thread).verified, "the restore is sealed on the trail like any decision"


def test_an_edit_is_a_version_and_a_diff_names_added_and_removed_steps(ops: Operations) -> None:
    thread = ops.start("Calculate 6*7").thread_id
    plan = ops.thread(thread).plan
    edited = Plan.model_validate({"goal": plan.goal, "steps": [
        {"id": "sum", "tool": "calculate", "args": {"expression": "1+1"}}]})
    done = ops.approve(thread, plan=edited, operator="ana")
    assert [(v.version, v.source, v.by) for v in done.plan_versions] == [(1, "planner", None), (2, "edit", "ana")]
    assert done.decisions[-1].plan_version == 1, "the edit was made on version 1"
    diff = plan_diff(done.plan_versions[0].plan, done.plan_versions[1].plan)
    assert [(c.step, c.change) for c in diff] == [("sum", "added"), ("calc", "removed")]


def test_an_operators_plan_is_version_one(ops: Operations) -> None:
    plan = Plan.model_validate({"goal": "mine", "steps": [{"id": "a", "tool": "calculate", "args": {"expression": "2"}}]})
    view = ops.start(plan=plan)
    assert [(v.version, v.source) for v in view.plan_versions] == [(1, "operator")]
    assert "restore" not in view.actions, "nothing earlier to bring back"


def test_a_fork_keeps_the_branch_it_left(ops: Operations) -> None:
    """Issue 19, item 5: forking a COMPLETED thread starts branch 2 at the gate; branch 1
    still reads COMPLETED with its report and its verified trail."""
    thread = ops.start("Calculate 6*7").thread_id
    done = ops.approve(thread, operator="ana")
    assert [(b.branch, b.status, b.current) for b in ops.branches(thread)] == [(1, "COMPLETED", True)]
    at_gate = next(c for c in ops.checkpoints(thread) if c.next == ["human_review"])
    forked = ops.fork(thread, at_gate.checkpoint_id, operator="bo")
    assert forked.status == "AWAITING_APPROVAL"
    first, second = ops.branches(thread)
    assert (first.branch, first.status, first.current, first.report) == (1, "COMPLETED", False, done.report)
    assert first.decisions == 1 and first.audit_verified and first.forked_from is None
    assert (second.branch, second.status, second.current) == (2, "AWAITING_APPROVAL", True)
    assert (second.forked_from, second.forked_by) == (at_gate.checkpoint_id, "bo") and second.forked_at is not None

    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "x", "tool": "calculate", "args": {"expression": "1"}}]})
    ops.fork(thread, at_gate.checkpoint_id, plan, operator="cy")  # from the same checkpoint, with a plan
    third = ops.branches(thread)
    assert [(b.branch, b.current, b.forked_by) for b in third] == [(1, False, None), (2, False, "bo"), (3, True, "cy")]
    assert third[1].status == "AWAITING_APPROVAL", "branch 2 stays where it was left"
