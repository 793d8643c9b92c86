"""Each kind of check on a step's output, the offline judge's rule, and the critic's refusal
of a check that could never pass."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from agents.critic import check_plan
from agents.result_checks import failed_checks, offline_verdict
from agents.tools import default_registry
from graph.core.checks import Check
from graph.core.schemas import Plan

CHECK = TypeAdapter(Check)


def fails(check: dict, output: object, judge=None) -> list[str]:
    return failed_checks([CHECK.validate_python(check)], output, judge)


@pytest.mark.parametrize("check, good, bad, why", [
    ({"kind": "not_empty"}, "x", "  ", "not_empty: the output is empty"),
    ({"kind": "not_empty"}, [0], [], "not_empty: the output is empty"),
    ({"kind": "contains", "text": "42"}, "it is 42", "it is 24", "contains '42': the output does not contain '42'"),
    ({"kind": "regex", "pattern": r"^\d+$"}, "123", "12a", r"regex '^\\d+$': the output does not match '^\\d+$'"),
    ({"kind": "json_schema", "schema": {"type": "object", "required": ["n"]}}, '{"n": 1}', '{"m": 1}',
     "json_schema: output: 'n' is a required property"),
    ({"kind": "json_schema", "schema": {"type": "number"}}, 3, "three", "json_schema: the output is not JSON"),
    ({"kind": "range", "min": 0, "max": 10}, "7", 11, "range 0..10: 11 is out of range"),
    ({"kind": "range", "min": 0}, 0, "inf?", "range 0..: the output is not a number: 'inf?'"),
])
def test_each_kind_passes_a_good_output_and_names_why_a_bad_one_fails(check, good, bad, why) -> None:
    assert fails(check, good) == []
    assert fails(check, bad) == [why]


def test_a_judge_check_asks_the_judge_with_the_criteria_and_the_output_as_text() -> None:
    asked = []

    def judge(criteria: str, output: str) -> tuple[bool, str]:
        asked.append((criteria, output))
        return output == '{"ok": true}', "not ok"

    assert fails({"kind": "judge", "criteria": "is ok"}, {"ok": True}, judge) == []
    assert fails({"kind": "judge", "criteria": "is ok"}, {"ok": False}, judge) == ["judge 'is ok': not ok"]
    assert asked == [("is ok", '{"ok": true}'), ("is ok", '{"ok": false}')]
    assert fails({"kind": "judge", "criteria": "is ok"}, "x") == ["judge 'is ok': no chat model to judge with"]


def test_the_offline_judge_follows_its_documented_rule() -> None:
    assert offline_verdict("anything", "   ").passed is False
    failed = offline_verdict("a number", "cannot divide: division by zero")
    assert (failed.passed, failed.reason) == (False, "the output reads as an error ('division by zero')")
    assert offline_verdict("mentions 'Paris'", "Lyon is a city").reason == "the output does not mention 'Paris'"
    assert offline_verdict('mentions "paris"', "Paris is a city").passed is True
    assert offline_verdict("a fine summary", "A short summary.").passed is True


@pytest.mark.parametrize("check, message", [
    ({"kind": "range"}, "a range check needs min, max or both"),
    ({"kind": "range", "min": 2, "max": 1}, "a range check's min (2) is above its max (1)"),
    ({"kind": "contains", "text": ""}, "String should have at least 1 character"),
    ({"kind": "sometimes"}, "does not match any of the expected tags"),
    ({"kind": "not_empty", "text": "x"}, "Extra inputs are not permitted"),
])
def test_a_malformed_check_is_refused_with_the_plan(check: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "calculate", "checks": [check]}]})


def test_the_critic_blocks_a_pattern_that_does_not_compile_and_a_schema_that_is_not_one() -> None:
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "calculate", "args": {"expression": "1"},
                                                        "checks": [{"kind": "regex", "pattern": "("},
                                                                   {"kind": "json_schema", "schema": {"type": "nope"}},
                                                                   {"kind": "regex", "pattern": "fine"}]}]})
    issues = [(i.severity, i.step_id, i.message) for i in check_plan(plan, default_registry())]
    assert issues == [
        ("error", "a", "step 'a': check regex '(' does not compile: missing ), unterminated subpattern at position 0"),
        ("error", "a", "step 'a': check json_schema is not a valid JSON Schema: 'nope' is not valid under any of "
                       "the given schemas")]


def test_checks_survive_the_state_round_trip_under_their_json_names() -> None:
    step = {"id": "a", "tool": "calculate", "args": {"expression": "1"},
            "checks": [{"kind": "json_schema", "schema": {"type": "number"}}, {"kind": "range", "max": 5.0}]}
    dumped = Plan.model_validate({"goal": "g", "steps": [step]}).model_dump(mode="json")
    assert dumped["steps"][0]["checks"] == [{"kind": "json_schema", "schema": {"type": "number"}},
                                            {"kind": "range", "min": None, "max": 5.0}]


def test_a_judge_check_asks_a_chat_model_for_a_structured_verdict(settings) -> None:
    """The model sees the criteria and the output as data blocks and answers JudgeVerdict."""
    from agents.result_checks import model_judge
    from tests.support.fake_models import fake_model, tool_call

    model = fake_model(tool_call("JudgeVerdict", {"passed": False, "reason": "it names no city"}))
    assert fails({"kind": "judge", "criteria": "names a city"}, "a summary", model_judge(model, settings)) == [
        "judge 'names a city': it names no city"]
    request = model.received[0][-1].content
    assert "<criteria>\nnames a city\n</criteria>" in request and "<output>\na summary\n</output>" in request
