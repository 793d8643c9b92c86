"""LangChain's fake chat model, taught tool calling so structured output works through the
same ``with_structured_output`` path a provider model takes. It records what it was sent."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage


class FakeToolModel(GenericFakeChatModel):
    received: list[list[BaseMessage]] = []

    def bind_tools(self, tools: Any, **kwargs: Any):  # type: ignore[override]
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any):
        self.received.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def tool_call(name: str, args: dict[str, Any], call_id: str = "call-1") -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id}])


def fake_model(*answers: AIMessage | str) -> FakeToolModel:
    return FakeToolModel(messages=iter(answers), received=[])
