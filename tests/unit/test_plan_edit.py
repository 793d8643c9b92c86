"""The plan editor's table and back: a round trip keeps the plan, and every problem of an
edited table comes back named by its step."""

from __future__ import annotations

import pandas as pd

from graph.core.schemas import Plan
from ui.dashboard.plan_edit import edited_plan, plan_frame

PLAN = Plan.model_validate({"goal": "g", "steps": [
    {"id": "a", "tool": "calculate", "args": {"expression": "6*7"}, "priority": 2, "retry": {"max_attempts": 5}},
    {"id": "b", "tool": "summarize", "args": {"text": "{{a}}"}, "depends_on": ["a"], "timeout_s": 9.5}]})


def test_an_unedited_table_is_the_same_plan() -> None:
    keep = {"a": {"retry": PLAN.steps[0].retry.model_dump()}}
    plan, problems = edited_plan(plan_frame(PLAN), "g", keep)
    assert problems == [] and plan == PLAN


def test_edits_added_and_removed_rows_become_the_plan() -> None:
    frame = plan_frame(PLAN)
    frame.loc[0, "args"] = '{"expression": "2 + 3"}'
    frame = frame[frame["id"] != "b"]
    frame = pd.concat([frame, pd.DataFrame([{"id": "c", "tool": "calculate", "args": None, "depends_on": "a",
                                              "priority": None, "timeout_s": None, "description": None}])])
    plan, problems = edited_plan(frame, "g")
    assert problems == []
    assert [(s.id, s.args, s.depends_on) for s in plan.steps] == [
        ("a", {"expression": "2 + 3"}, []), ("c", {}, ["a"])]


def test_each_problem_is_named_by_its_step() -> None:
    frame = plan_frame(PLAN)
    frame.loc[0, "args"] = '{"expression": '
    plan, problems = edited_plan(frame, "g")
    assert plan is None and problems == [("a", "args is not valid JSON: Expecting value at column 16")]
    frame = plan_frame(PLAN)
    frame.loc[1, "timeout_s"] = -1.0
    frame.loc[0, "id"] = "bad id!"
    plan, problems = edited_plan(frame, "g")
    assert plan is None and [p[0] for p in problems] == ["bad id!", "b"]
    assert problems[1][1].startswith("timeout_s: Input should be greater than 0")


def test_checks_are_edited_as_a_json_list_and_each_problem_named_by_its_step() -> None:
    data = PLAN.model_dump(mode="json")
    data["steps"][0]["checks"] = [{"kind": "range", "min": 0}]
    checked = Plan.model_validate(data)
    frame = plan_frame(checked)
    assert frame["checks"].tolist() == ['[{"kind": "range", "min": 0.0}]', ""], "no nulls, blank when none"
    keep = {"a": {"retry": PLAN.steps[0].retry.model_dump()}}
    plan, problems = edited_plan(frame, "g", keep)
    assert problems == [] and plan == checked
    frame.loc[1, "checks"] = '[{"kind": "contains", "text": "42"}, {"kind": "not_empty"}]'
    plan, _ = edited_plan(frame, "g", keep)
    assert [c.kind for c in plan.steps[1].checks] == ["contains", "not_empty"]
    frame.loc[0, "checks"] = '{"kind": "not_empty"}'
    frame.loc[1, "checks"] = '[{"kind": "range"}]'
    plan, problems = edited_plan(frame, "g", keep)
    assert plan is None and problems == [("a", 'checks must be a JSON list, like [{"kind": "not_empty"}]')]
    frame.loc[0, "checks"] = ""
    plan, problems = edited_plan(frame, "g", keep)
    assert plan is None and problems == [("b", "checks.0.range: Value error, a range check needs min, max or both")]
