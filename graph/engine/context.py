"""What a run's nodes need besides the state: the settings, the chat model, the tools, the
audit key and three hooks into the database (cancel requests, the estimate, the result cache). It is LangGraph's run context: the driver
(``Workflow``) hands it to every ``stream`` call (``context=``) and each node reads it from
its ``Runtime``, so nothing reaches a node through a closure or a ``from_env()`` default.
It is made once per entry point, from the ``Settings`` that entry point loaded.

A client of LangGraph's own API (the Agent Server) cannot send a chat model over HTTP: the
graph that ``graph/engine/server.py`` builds for it carries its entry point's context as the
default. The graph declares no ``context_schema``: the Agent Server fills the context of a
run that names none with a copy of its ``configurable`` and LangGraph builds the declared
class from that dict, which would fail on every such run; a context that is not a
``RunContext`` means "use the default"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel

from agents.models import chat_model
from agents.tools import ToolRegistry, registry_for
from graph.core.schemas import Plan
from graph.core.settings import Settings
from graph.store.cache import ResultCache

if TYPE_CHECKING:
    from langgraph.runtime import Runtime


@dataclass(frozen=True)
class RunContext:
    settings: Settings
    model: BaseChatModel
    registry: ToolRegistry
    audit_key: bytes  # seals decisions; see graph/core/audit.py
    cancel_requested: Callable[[str], bool] | None = None  # thread id -> has a cancel been asked for
    estimator: Callable[[Plan], dict[str, Any]] | None = None  # plan -> time estimate from history
    cache: ResultCache | None = None  # the result cache of the run's database

    @classmethod
    def of(cls, settings: Settings, *, model: BaseChatModel | None = None, registry: ToolRegistry | None = None,
           audit_key: bytes | None = None, cancel_requested: Callable[[str], bool] | None = None,
           estimator: Callable[[Plan], dict[str, Any]] | None = None,
           cache: ResultCache | None = None) -> "RunContext":
        """The context the settings call for; a part given here (a test's model) wins.
        ``audit_key``: the key of the database the run writes to (default: the settings'
        database's)."""
        return cls(settings=settings, model=model or chat_model(settings.model),
                   registry=registry or registry_for(settings),
                   audit_key=audit_key if audit_key is not None else settings.audit_secret(),
                   cancel_requested=cancel_requested, estimator=estimator, cache=cache)


def context_of(runtime: Runtime[RunContext], default: RunContext | None) -> RunContext:
    """The run's context: the one the caller passed, else the graph's default."""
    found = runtime.context if isinstance(runtime.context, RunContext) else default
    if found is None:
        raise RuntimeError("the prolight graph was run without its RunContext: pass context=RunContext.of(settings)")
    return found
