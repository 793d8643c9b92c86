"""The LLM planner and critic, driven by LangChain's fake chat model through the same
structured-output interface a provider model uses, malformed answers included."""

from __future__ import annotations

import json

import pytest

from agents.critic import critique
from graph.core.breaker import BreakerConfig
from agents.models import ModelConfigError, chat_model
from agents.offline_model import OfflineChatModel
from agents.planner import draft_plan
from agents.structured import ModelOutputError
from agents.tools import default_registry
from graph.core.settings import Settings
from tests.support.ops import JsonOps
from tests.support.fake_models import FakeToolModel, fake_model, tool_call

GOOD_PLAN = {"goal": "ignored", "steps": [{"id": "add", "tool": "calculate", "args": {"expression": "40+2"}}]}
OTHER_PLAN = {"goal": "ignored", "steps": [{"id": "mul", "tool": "calculate", "args": {"expression": "6*7"}}]}


def test_planner_returns_the_models_structured_plan_with_the_operators_goal(settings: Settings) -> None:
    model = fake_model(tool_call("Plan", GOOD_PLAN))
    plan = draft_plan("add numbers", model, default_registry(), settings)
    assert plan.goal == "add numbers"
    assert [s.id for s in plan.steps] == ["add"]
    assert "calculate(expression)" in str(model.received[0][-1].content), "the model sees the tool catalogue"


def test_schema_breaking_answer_is_sent_back_with_the_error_and_repaired(settings: Settings) -> None:
    broken = tool_call("Plan", {"goal": "x", "steps": [{"id": "a"}]}, "call-bad")  # no tool
    model = fake_model(broken, tool_call("Plan", GOOD_PLAN, "call-good"))
    plan = draft_plan("add numbers", model, default_registry(), settings)
    assert plan.steps[0].id == "add"
    repair = model.received[1][-1]
    assert repair.type == "tool" and "tool" in str(repair.content) and "Field required" in str(repair.content)


def test_json_in_plain_text_is_accepted(settings: Settings) -> None:
    model = fake_model("Here you go:\n```json\n" + json.dumps(GOOD_PLAN) + "\n```")
    assert draft_plan("add", model, default_registry(), settings).steps[0].tool == "calculate"


def test_unparseable_text_is_retried_then_fails_clearly(settings: Settings) -> None:
    model = fake_model("I cannot plan that.", "still no", "{broken json")
    with pytest.raises(ModelOutputError, match="Plan was unusable after 3 attempts"):
        draft_plan("add", model, default_registry(), settings)
    assert len(model.received) == 3


def test_planning_failure_ends_the_thread_failed_with_the_reason(settings: Settings) -> None:
    flow = JsonOps(settings, model=fake_model("no", "no", "no"))
    out = flow.start("add numbers")
    assert out["status"] == "FAILED"
    assert out["error"].startswith("planning failed:")
    assert flow.threads()["items"][0]["status"] == "FAILED"


def test_critic_runs_deterministic_checks_and_the_models_review(settings: Settings) -> None:
    plan = draft_plan("x", fake_model(tool_call("Plan", GOOD_PLAN)), default_registry(), settings)
    model = fake_model(tool_call("ModelReview", {"verdict": "revise", "issues": ["adds the wrong numbers"]}))
    verdict = critique(plan, default_registry(), settings, model)
    assert verdict.verdict == "revise"
    assert [(i.check, i.message) for i in verdict.issues] == [
        ("coverage", "the plan does not say which steps serve which part of the goal"),  # GOOD_PLAN maps none
        ("model", "adds the wrong numbers")]


def test_critic_revision_loop_replans_with_the_critics_feedback(settings: Settings) -> None:
    model = fake_model(
        tool_call("Plan", GOOD_PLAN),
        tool_call("ModelReview", {"verdict": "revise", "issues": ["use multiplication"]}),
        tool_call("Plan", OTHER_PLAN),
        tool_call("ModelReview", {"verdict": "approve", "issues": []}),
    )
    flow = JsonOps(settings, model=model)
    out = flow.start("compute the answer")
    assert out["status"] == "AWAITING_APPROVAL"
    assert out["plan"]["steps"][0]["id"] == "mul"
    assert "use multiplication" in str(model.received[2][-1].content), "the planner saw the critique"
    assert flow.approve(out["thread_id"])["steps"]["mul"]["output"] == 42


def test_revisions_are_bounded(settings: Settings) -> None:
    revise = tool_call("ModelReview", {"verdict": "revise", "issues": ["no"]})
    plans = [tool_call("Plan", GOOD_PLAN)] * 3
    model = fake_model(plans[0], revise, plans[1], revise, plans[2], revise)
    flow = JsonOps(settings.model_copy(update={"max_revisions": 2}), model=model)
    out = flow.start("anything")
    assert out["status"] == "AWAITING_APPROVAL", "after the bound the human decides"
    assert out["critique"]["verdict"] == "revise"
    assert len(model.received) == 6


def test_model_selection() -> None:
    assert isinstance(chat_model("offline"), OfflineChatModel)
    with pytest.raises(ModelConfigError, match="provider:model"):
        chat_model("gpt")
    with pytest.raises(ModelConfigError, match="PROLIGHT_MODEL='nosuchprovider:x'"):
        chat_model("nosuchprovider:x")


class FailingModel(FakeToolModel):
    def _generate(self, messages, *args, **kwargs):  # type: ignore[override]
        self.received.append(list(messages))
        raise ConnectionError("provider unreachable")


def test_a_model_that_keeps_failing_is_retried_then_opens_its_breaker(settings: Settings) -> None:
    model = FailingModel(messages=iter([]), received=[])
    flow = JsonOps(settings.model_copy(update={"breaker": BreakerConfig(failure_threshold=5, cooldown_s=60)}),
                   model=model)
    first = flow.start("anything")
    assert first["status"] == "FAILED"
    assert "planner's model call failed" in first["error"] and "provider unreachable" in first["error"]
    assert len(model.received) == 3, "the agent's retry config: 3 attempts"
    flow.start("again")
    third = flow.start("and again")
    assert "not attempted: breaker for model:generic-fake-chat-model open" in third["error"]
    assert len(model.received) == 5, "once open, the provider is not called"
    assert [(b["name"], b["state"]) for b in flow.breakers()] == [("model:generic-fake-chat-model", "open")]


def test_a_summarize_step_uses_the_runs_own_model(settings: Settings) -> None:
    plan = {"goal": "x", "steps": [{"id": "sum", "tool": "summarize", "args": {"text": "Long text. More text."}}]}
    model = fake_model(tool_call("Plan", plan), tool_call("ModelReview", {"verdict": "approve"}), "the model's summary")
    flow = JsonOps(settings, model=model)
    waiting = flow.start("summarize a text")
    done = flow.approve(waiting["thread_id"])
    assert done["steps"]["sum"]["output"] == "the model's summary"
    assert "<text>\nLong text. More text.\n</text>" in str(model.received[2][-1].content)
