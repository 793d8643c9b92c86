"""Checks on step outputs in real runs: a failed check is a failure of its own category,
retried under the step's retry policy, and a model-backed tool is told why on the retry."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage

from graph.core.schemas import Plan
from graph.core.settings import Settings
from tests.support.fake_models import fake_model, tool_call
from tests.support.ops import JsonOps


def run(flow: JsonOps, *steps: dict) -> dict:
    thread = flow.start(plan=Plan.model_validate({"goal": "checked", "steps": list(steps)}))
    assert thread["status"] == "AWAITING_APPROVAL", thread["critique"]
    return flow.approve(thread["thread_id"])


def test_a_failed_check_is_check_failed_retried_and_names_the_check(settings: Settings) -> None:
    flow = JsonOps(settings)
    out = run(flow, {"id": "sum", "tool": "calculate", "args": {"expression": "2+2"},
                     "checks": [{"kind": "not_empty"}, {"kind": "range", "max": 3}]},
              {"id": "once", "tool": "calculate", "args": {"expression": "2+2"}, "retry": {"max_attempts": 1},
               "checks": [{"kind": "contains", "text": "5"}]},
              {"id": "fine", "tool": "calculate", "args": {"expression": "1+1"}, "checks": [{"kind": "range", "max": 3}]})
    checked = out["steps"]["sum"]
    assert checked["status"] == "NEEDS_REVIEW" and checked["attempts"] == 3, "retried under the default policy"
    assert [a["category"] for a in checked["attempt_log"]] == ["check_failed"] * 3
    assert checked["attempt_log"][0]["error"] == "CheckFailed: range ..3: 4 is out of range"
    assert checked["error"] == "checks failed after 3 attempt(s): range ..3: 4 is out of range"
    assert out["steps"]["once"]["attempts"] == 1, "the step's own retry policy"
    assert out["steps"]["once"]["error"] == "checks failed after 1 attempt(s): contains '5': the output does not "\
                                            "contain '5'"
    assert out["status"] == "AWAITING_REVIEW"
    assert out["steps"]["fine"]["status"] == "SUCCEEDED"
    assert flow.breakers() == [], "a bad output is not the dependency's fault"


def test_a_model_backed_tool_is_told_why_its_output_failed_and_does_better(settings: Settings) -> None:
    model = fake_model(tool_call("ModelReview", {"verdict": "approve"}), "a summary", "a summary naming XYZ")
    flow = JsonOps(settings, model=model)
    out = run(flow, {"id": "s", "tool": "summarize", "args": {"text": "XYZ is a product. It sells."},
                     "checks": [{"kind": "contains", "text": "XYZ"}]})
    step = out["steps"]["s"]
    assert (step["status"], step["attempts"], step["output"]) == ("SUCCEEDED", 2, "a summary naming XYZ")
    first, second = model.received[-2:]
    assert [type(m) for m in first] == [HumanMessage], "the first try is the plain request"
    assert second[-1].content == ("Your previous answer failed a check: contains 'XYZ': the output does not "
                                  "contain 'XYZ'. Answer again so that it passes.")


def test_a_judge_check_asks_the_offline_model_by_its_rule(settings: Settings) -> None:
    flow = JsonOps(settings)
    text = "Paris is the capital of France. It is large."
    out = run(flow, {"id": "yes", "tool": "summarize", "args": {"text": text},
                     "checks": [{"kind": "judge", "criteria": "mentions 'Paris'"}]},
              {"id": "no", "tool": "summarize", "args": {"text": text}, "retry": {"max_attempts": 2},
               "checks": [{"kind": "judge", "criteria": "mentions 'Berlin'"}]})
    assert out["steps"]["yes"]["status"] == "SUCCEEDED"
    assert out["steps"]["no"]["attempts"] == 2
    assert out["steps"]["no"]["error"] == ("checks failed after 2 attempt(s): judge \"mentions 'Berlin'\": the "
                                           "output does not mention 'Berlin'")


def test_a_plan_whose_check_cannot_work_is_refused_in_one_line(settings: Settings) -> None:
    """An operator's plan is checked on the way in, like its args; a planner's plan would
    stop at the gate on the same blocking issue (the critic's)."""
    from graph.operations import RequestError

    flow = JsonOps(settings)
    with pytest.raises(RequestError, match=r"^invalid plan: step 'a': check regex '\[' does not compile: "
                                           r"unterminated character set at position 0$"):
        flow.start(plan=Plan.model_validate({"goal": "g", "steps": [
            {"id": "a", "tool": "calculate", "args": {"expression": "1"}, "checks": [{"kind": "regex", "pattern": "["}]}]}))
    assert flow.threads()["total"] == 0, "nothing half-written"
