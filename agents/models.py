"""Model selection. ``PROLIGHT_MODEL`` is ``offline`` (the embedded deterministic model) or
``provider:model`` handed to LangChain's own ``init_chat_model``. What a provider needs is
checked first, so that a missing package or key is one line naming the extra to install
or the variable to set, not the provider library's traceback."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from agents.offline_model import OfflineChatModel
from graph.core.settings import SettingsError, environment_has, importable

# provider (as init_chat_model names it) → (its package's module, our extra, the key it needs)
PROVIDERS: dict[str, tuple[str, str, str | None]] = {
    "openai": ("langchain_openai", "openai", "OPENAI_API_KEY"),
    "anthropic": ("langchain_anthropic", "anthropic", "ANTHROPIC_API_KEY"),
    "ollama": ("langchain_ollama", "ollama", None),  # a local server: no key
    "google_genai": ("langchain_google_genai", "google", "GOOGLE_API_KEY"),
}
ALIASES = {"google": "google_genai"}


class ModelConfigError(SettingsError):
    """PROLIGHT_MODEL names no usable model."""


def chat_model(name: str) -> BaseChatModel:
    """The chat model the settings' ``model`` names."""
    if name == "offline":
        return OfflineChatModel()
    provider, _, model = name.partition(":")
    if not provider or not model:
        raise ModelConfigError(f"PROLIGHT_MODEL={name!r}: use 'offline' or 'provider:model'")
    provider = ALIASES.get(provider, provider)
    if provider not in PROVIDERS:
        known = ", ".join(sorted([*PROVIDERS, *ALIASES]))
        raise ModelConfigError(f"PROLIGHT_MODEL={name!r}: unknown provider {provider!r} (known: {known})")
    module, extra, key = PROVIDERS[provider]
    if not importable(module):
        raise ModelConfigError(f"PROLIGHT_MODEL={name!r} needs the {extra} extra: pip install -e '.[{extra}]'")
    if key and not environment_has(key):
        raise ModelConfigError(f"PROLIGHT_MODEL={name!r} needs {key}: set it in the environment")
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(model, model_provider=provider)
    except (ImportError, ValueError) as exc:
        raise ModelConfigError(f"PROLIGHT_MODEL={name!r}: {str(exc).splitlines()[0]}") from exc
