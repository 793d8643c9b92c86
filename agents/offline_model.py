"""The embedded offline chat model: a LangChain ``BaseChatModel`` that answers the planner's
structured-output call with the deterministic plan of ``offline_planner``. Because it is a
real chat model, the planner's code path (tool binding, parsing, repair) is the same one a
provider model goes through."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict

from agents.offline_planner import plan_offline
from agents.extractive_summary import extractive_summary
from agents.prompts import read_summarize_request, tag
from agents.result_checks import offline_verdict
from agents.tools import ToolRegistry, default_registry


class OfflineChatModel(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    registry: ToolRegistry | None = None

    @property
    def _llm_type(self) -> str:
        return "prolight-offline"

    def bind_tools(self, tools: Any, **kwargs: Any):  # type: ignore[override]
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        asked = [str(m.content) for m in messages if isinstance(m, HumanMessage)]
        request = asked[-1] if asked else ""
        tools = [t["function"]["name"] for t in kwargs.get("tools", [])]
        if "Plan" in tools:
            message = AIMessage("", tool_calls=[{"name": "Plan", "args": self._plan(request), "id": "offline-plan"}])
        elif "ModelReview" in tools:
            message = AIMessage("", tool_calls=[{"name": "ModelReview", "args": {"verdict": "approve"}, "id": "offline-review"}])
        elif "JudgeVerdict" in tools:
            verdict = offline_verdict(tag(request, "criteria") or "", tag(request, "output") or "")
            message = AIMessage("", tool_calls=[{"name": "JudgeVerdict", "args": verdict.model_dump(),
                                                 "id": "offline-judge"}])
        else:  # a summary; a note after it (a failed check's reason) does not change the offline answer
            found = next((r for r in map(read_summarize_request, asked) if r), None)
            text, sentences = found or (request, 3)
            message = AIMessage(extractive_summary(text, sentences))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _plan(self, request: str) -> dict:
        """Feedback that itself reads as steps replaces the goal; otherwise the goal is replanned."""
        registry = self.registry or default_registry()
        goal = tag(request, "goal") or request
        feedback = tag(request, "feedback")
        plan = plan_offline(goal, registry)
        if feedback:
            amended = plan_offline(feedback, registry)
            if any(not _is_fallback(s) for s in amended.steps):
                plan = amended.model_copy(update={"goal": goal})
        return plan.model_dump(mode="json")


def _is_fallback(step) -> bool:
    return step.tool == "summarize" and not str(step.args.get("text", "")).startswith("{{")
