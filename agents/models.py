"""Model selection. ``PROLIGHT_MODEL`` is ``offline`` (the embedded deterministic model) or
``provider:model`` handed to LangChain's own ``init_chat_model`` (install the provider's
extra, e.g. ``pip install -e '.[openai]'``)."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from agents.offline_model import OfflineChatModel
from graph.core.settings import Settings


class ModelConfigError(ValueError):
    """PROLIGHT_MODEL names no usable model."""


def is_offline(name: str | None = None) -> bool:
    return (name or Settings.from_env().model) == "offline"


def chat_model(name: str | None = None) -> BaseChatModel:
    name = name or Settings.from_env().model
    if name == "offline":
        return OfflineChatModel()
    provider, _, model = name.partition(":")
    if not provider or not model:
        raise ModelConfigError(f"PROLIGHT_MODEL={name!r}: use 'offline' or 'provider:model'")
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(model, model_provider=provider)
    except (ImportError, ValueError) as exc:
        raise ModelConfigError(f"PROLIGHT_MODEL={name!r}: {exc}") from exc
