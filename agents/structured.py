"""Ask a chat model for a pydantic object, repairing bad answers: a malformed or
schema-breaking answer is sent back with the validation error (pydantic-ai's way), a bounded
number of times, then a ``ModelOutputError`` says what went wrong. Each model call goes
through ``resilient_call`` (the agent's retry config, the provider's breaker, the model
timeout); a call that keeps failing raises ``ModelCallError``."""

from __future__ import annotations

import json
import re
from typing import TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ValidationError

from agents.prompts import REPAIR
from graph.core.breaker import BOARD
from graph.core.errors import ModelError
from graph.core.events import emit
from graph.core.resilience import CallFailed, CallLimits, resilient_call
from graph.core.settings import Settings
from graph.core.tracing import chat_span, record_usage

T = TypeVar("T", bound=BaseModel)
MAX_REPAIRS = 2
_JSON_BLOCK = re.compile(r"\{.*\}", re.S)


class ModelOutputError(ModelError):
    """The model did not produce a usable answer after the repair attempts."""


class ModelCallError(ModelError):
    """The model could not be reached (after retries), timed out, or its breaker is open."""


def provider_name(model: BaseChatModel) -> str:
    """The model's provider as LangChain names it (its breaker and its spans carry it)."""
    return getattr(model, "_llm_type", type(model).__name__)


# LangChain's names for its providers, as the GenAI conventions name them (gen_ai.provider.name).
_CONVENTION = {"openai-chat": "openai", "azure-openai-chat": "azure.ai.openai", "anthropic-chat": "anthropic",
               "chat-ollama": "ollama", "chat-google-generative-ai": "gcp.gemini"}


def span_provider(model: BaseChatModel) -> str:
    name = provider_name(model)
    return _CONVENTION.get(name, name)


def model_name(model: BaseChatModel) -> str:
    """The model as its provider names it (``gpt-4o``), for spans and token counts."""
    return str(getattr(model, "model_name", None) or getattr(model, "model", None) or provider_name(model))


def breaker_name(model: BaseChatModel) -> str:
    return f"model:{provider_name(model)}"


def ask_structured(
    model: BaseChatModel, schema: type[T], system: str, request: str, *, agent: str,
    settings: Settings, max_repairs: int = MAX_REPAIRS,
) -> T:
    messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(request)]
    runnable = model.with_structured_output(schema, include_raw=True)
    breaker = BOARD.get(breaker_name(model))
    error = "no answer"
    for _ in range(max_repairs + 1):
        try:
            answer, _attempts = resilient_call(
                lambda _left: _chat(runnable, list(messages), model, agent), retry=settings.retry_for_agent(agent),
                limits=CallLimits(settings.model_timeout_s), breaker=breaker)
        except CallFailed as exc:
            raise ModelCallError(f"the {agent}'s model call failed: {exc}") from exc
        raw: AIMessage = answer["raw"]
        parsed = answer["parsed"]
        if isinstance(parsed, schema):
            return parsed
        parsed, error = _from_text(raw, schema, answer.get("parsing_error"))
        if parsed is not None:
            return parsed
        messages += _repair_messages(raw, schema, error)
    raise ModelOutputError(
        f"the model's {schema.__name__} was unusable after {max_repairs + 1} attempts: {error}"
    )


def _chat(runnable: Runnable, messages: list[BaseMessage], model: BaseChatModel, agent: str) -> dict:
    """One call to the chat model, in a ``chat <model>`` span with the tokens the provider
    reports (``usage_metadata``), which also go to the run's events for the metrics."""
    name = model_name(model)
    with chat_span(name, span_provider(model)) as span:
        answer = runnable.invoke(messages)
        usage = getattr(answer.get("raw"), "usage_metadata", None) or {}
        if usage:
            record_usage(span, usage.get("input_tokens"), usage.get("output_tokens"))
            emit("model_usage", payload={"agent": agent, "model": name, "input_tokens": usage.get("input_tokens", 0),
                                         "output_tokens": usage.get("output_tokens", 0)})
        return answer


def _from_text(raw: AIMessage, schema: type[T], parsing_error: BaseException | None) -> tuple[T | None, str]:
    """Models without tool calling often answer with JSON in the text; accept that too."""
    if parsing_error is not None:
        return None, _short(parsing_error)
    if raw.tool_calls:
        return None, "the tool call did not match the schema"
    match = _JSON_BLOCK.search(raw.text if hasattr(raw, "text") else str(raw.content))
    if not match:
        return None, f"no {schema.__name__} tool call and no JSON in the answer"
    try:
        return schema.model_validate(json.loads(match.group(0))), ""
    except (json.JSONDecodeError, ValidationError) as exc:
        return None, _short(exc)


def _repair_messages(raw: AIMessage, schema: type[BaseModel], error: str) -> list[BaseMessage]:
    text = REPAIR.format(error=error, schema=schema.__name__)
    if raw.tool_calls:
        return [raw] + [ToolMessage(text, tool_call_id=c["id"] or "call") for c in raw.tool_calls]
    return [raw, HumanMessage(text)]


def _short(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        return f"{exc.error_count()} validation error(s), first at {where}: {first['msg']}"
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
