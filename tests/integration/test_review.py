"""A step whose output keeps failing its checks pauses the thread for a human: its
independent steps finish, its dependents wait, and a reviewer accepts the output, sends the
step back (with other args, bound by digest), or fails it. Each decision is sealed."""

from __future__ import annotations

import pytest

from graph.core.schemas import Plan
from graph.core.settings import Settings
from graph.operations import RequestError
from tests.support.ops import JsonOps


def waiting_for_review(flow: JsonOps) -> str:
    """c's output (4) fails its check; d and e wait on it; i is independent."""
    plan = Plan.model_validate({"goal": "review", "steps": [
        {"id": "c", "tool": "calculate", "args": {"expression": "2+2"}, "retry": {"max_attempts": 2},
         "checks": [{"kind": "range", "max": 3}]},
        {"id": "d", "tool": "calculate", "args": {"expression": "{{c}}*2"}, "depends_on": ["c"]},
        {"id": "e", "tool": "calculate", "args": {"expression": "{{d}}+1"}, "depends_on": ["d"]},
        {"id": "i", "tool": "calculate", "args": {"expression": "1+1"}}]})
    thread = flow.start(plan=plan)["thread_id"]
    out = flow.approve(thread)
    assert (out["status"], out["awaiting_review"], out["actions"]) == ("AWAITING_REVIEW", ["c"],
                                                                       ["review", "cancel", "fork"])
    steps = out["steps"]
    assert (steps["c"]["status"], steps["c"]["output"]) == ("NEEDS_REVIEW", 4), "the reviewer sees the output"
    assert steps["c"]["error"] == "checks failed after 2 attempt(s): range ..3: 4 is out of range"
    assert [a["category"] for a in steps["c"]["attempt_log"]] == ["check_failed", "check_failed"]
    assert (steps["d"]["status"], steps["d"]["error"]) == ("PENDING", "waits for the review of 'c'")
    assert (steps["e"]["status"], steps["e"]["error"]) == ("PENDING", "waits for the review of 'c'")
    assert steps["i"]["status"] == "SUCCEEDED", "an independent step finishes"
    return thread


def test_accept_keeps_the_output_and_the_dependents_run_on_it(settings: Settings) -> None:
    flow = JsonOps(settings)
    thread = waiting_for_review(flow)
    [pending] = flow.awaiting_approval()
    assert (pending["thread_id"], pending["kind"], pending["review"], pending["steps"]) == (thread, "review", ["c"], 4)
    done = flow.review(thread, "c", "accept", reason="4 is fine after all", operator="ana")
    assert done["status"] == "COMPLETED", done["error"]
    assert [done["steps"][s]["output"] for s in "cdei"] == [4, 8, 9, 2]
    assert done["steps"]["c"]["review"].startswith("output accepted by ana at ")
    assert done["steps"]["c"]["review"].endswith(": 4 is fine after all")
    review = done["decisions"][-1]
    assert (review["action"], review["step"], review["outcome"], review["operator"]) == ("review", "c", "accept", "ana")
    assert review["seal"] and done["audit"]["verified"] and review["plan_digest"] == done["plan_digest"]
    assert flow.awaiting_approval() == []


def test_retry_with_edited_args_runs_the_reviewed_args_and_keeps_the_attempts(settings: Settings) -> None:
    flow = JsonOps(settings)
    thread = waiting_for_review(flow)
    done = flow.review(thread, "c", "retry", args={"expression": "1+2"})
    assert done["status"] == "COMPLETED", done["error"]
    assert [done["steps"][s]["output"] for s in "cdei"] == [3, 6, 7, 2]
    c = done["steps"]["c"]
    assert [(a["attempt"], a["category"]) for a in c["attempt_log"]] == [(1, "check_failed"), (2, "check_failed"),
                                                                          (3, None)]
    assert c["review"].startswith("sent back with other args by operator at ")
    assert done["plan"]["steps"][0]["args"] == {"expression": "1+2"}
    assert [(v["version"], v["source"]) for v in done["plan_versions"]] == [(1, "operator"), (2, "review")]
    assert done["decisions"][-1]["args"] == {"expression": "1+2"}
    assert done["decisions"][-1]["plan_digest"] == done["plan_versions"][-1]["digest"], "bound by digest"


def test_fail_skips_the_dependents_and_ends_the_run_failed(settings: Settings) -> None:
    flow = JsonOps(settings)
    thread = waiting_for_review(flow)
    done = flow.review(thread, "c", "fail", reason="wrong formula")
    assert done["status"] == "FAILED"
    assert {s: r["status"] for s, r in done["steps"].items()} == {
        "c": "FAILED", "d": "SKIPPED", "e": "SKIPPED", "i": "SUCCEEDED"}
    assert done["steps"]["c"]["error"].startswith("failed by the reviewer operator: wrong formula; checks failed")
    assert done["error"].startswith("1 step(s) failed (c)")
    assert "retry" in done["actions"], "the operator can still retry it"


def test_two_steps_await_review_and_the_run_goes_on_after_the_last_decision(settings: Settings) -> None:
    flow = JsonOps(settings)
    checked = {"retry": {"max_attempts": 1}, "checks": [{"kind": "contains", "text": "9"}]}
    thread = flow.start(plan=Plan.model_validate({"goal": "two", "steps": [
        {"id": "a", "tool": "calculate", "args": {"expression": "1"}, **checked},
        {"id": "b", "tool": "calculate", "args": {"expression": "2"}, **checked},
        {"id": "after", "tool": "calculate", "args": {"expression": "{{a}}+{{b}}"}, "depends_on": ["a", "b"]}]}))
    out = flow.approve(thread["thread_id"])
    assert out["awaiting_review"] == ["a", "b"]
    out = flow.review(out["thread_id"], "a", "accept")
    assert (out["status"], out["awaiting_review"], out["steps"]["after"]["status"]) == ("AWAITING_REVIEW", ["b"],
                                                                                      "PENDING")
    out = flow.review(out["thread_id"], "b", "accept")
    assert (out["status"], out["steps"]["after"]["output"]) == ("COMPLETED", 3)


@pytest.mark.parametrize("step, outcome, args, message", [
    ("i", "accept", None, "step 'i' does not await review; these do: c"),
    ("nope", "fail", None, "has no step 'nope'"),
    ("c", "accept", {"expression": "1"}, "args go with the outcome retry: only a step run again can take other args"),
    ("c", "retry", {"expr": "1"}, "invalid plan: step 'c': args do not fit tool 'calculate': expression: "
                                  "Field required"),
])
def test_a_review_that_cannot_apply_is_refused_in_one_line_and_writes_nothing(
        settings: Settings, step: str, outcome: str, args: dict | None, message: str) -> None:
    flow = JsonOps(settings)
    thread = waiting_for_review(flow)
    with pytest.raises(RequestError) as refused:
        flow.review(thread, step, outcome, args=args)
    assert str(refused.value).endswith(message)
    after = flow.thread(thread)
    assert after["status"] == "AWAITING_REVIEW" and [d["action"] for d in after["decisions"]] == ["approve"]


def test_a_thread_not_awaiting_review_refuses_one_and_resume_points_to_review(settings: Settings) -> None:
    flow = JsonOps(settings)
    waiting = flow.start(plan=Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "calculate", "args": {"expression": "1"}}]}))["thread_id"]
    with pytest.raises(RequestError, match=r"is not awaiting review \(status AWAITING_APPROVAL\)$"):
        flow.review(waiting, "a", "accept")
    thread = waiting_for_review(flow)
    with pytest.raises(RequestError, match="is awaiting review: accept, retry or fail each step"):
        flow.resume(thread)
    cancelled = flow.cancel(thread, reason="not today")
    assert cancelled["status"] == "CANCELLED" and cancelled["decisions"][-1]["action"] == "cancel"


def test_the_metrics_count_checks_per_tool_and_kind_and_reviews_by_outcome(settings: Settings) -> None:
    from prometheus_client import generate_latest

    from graph.store.metrics import compute_metrics
    from graph.store.prometheus import prometheus_registry

    flow = JsonOps(settings)
    flow.review(waiting_for_review(flow), "c", "accept")
    flow.review(waiting_for_review(flow), "c", "retry", args={"expression": "1+1"})
    m = compute_metrics(flow.db)
    assert [(c.tool, c.kind, c.passed, c.failed) for c in m.checks] == [("calculate", "range", 1, 4)]
    assert m.reviews == {"accept": 1, "retry": 1}
    text = generate_latest(prometheus_registry(flow.db)).decode()
    assert 'prolight_check_results_total{kind="range",result="failed",tool="calculate"} 4.0' in text
    assert 'prolight_reviews_total{outcome="accept"} 1.0' in text
