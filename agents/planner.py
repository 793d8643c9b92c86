"""The planner: asks the chat model for a structured ``Plan`` for the goal (with the
operator's or the critic's feedback when revising). The goal is always the operator's own
text, whatever the model echoes back."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from agents.prompts import PLANNER_SYSTEM, planner_request
from agents.structured import ask_structured
from agents.tools import ToolRegistry
from graph.core.schemas import Plan
from graph.core.settings import Settings


def draft_plan(goal: str, model: BaseChatModel, registry: ToolRegistry, settings: Settings,
               feedback: str | None = None) -> Plan:
    plan = ask_structured(model, Plan, PLANNER_SYSTEM, planner_request(goal, registry.catalogue(), feedback),
                          agent="planner", settings=settings)
    return plan.model_copy(update={"goal": goal})
