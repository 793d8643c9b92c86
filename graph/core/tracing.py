"""OpenTelemetry spans after the GenAI semantic conventions: ``invoke_workflow prolight``
around a drive of the graph (``gen_ai.workflow.name``), ``invoke_agent planner|critic``
around agent calls (``gen_ai.request.model``), ``chat <model>`` around each call to a
provider's chat model (with ``gen_ai.usage.input_tokens`` and ``output_tokens``),
``execute_tool <tool>`` around each step (``gen_ai.tool.description``), all carrying
``gen_ai.conversation.id`` = the thread id, with errors recorded (``error.type`` is the
exception's class). Every drive of a thread (planning to the gate, execution after it,
a resume) belongs to one trace: its id is derived from the thread id. The OpenTelemetry API is a no-op until a tracer provider is installed:
``configure_exporter`` installs the SDK's with the exporter the settings name (``OTEL_TRACES_EXPORTER``)
(``console`` or ``otlp``) when the SDK is installed; tests call ``use_provider``.
``traced_agent`` and ``traced_tool`` trace a user's own functions the same way."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, Status, StatusCode, TraceFlags

from graph.core.events import CONVERSATION

F = TypeVar("F", bound=Callable[..., Any])
_provider: trace.TracerProvider | None = None


def use_provider(provider: trace.TracerProvider | None) -> None:
    """Send this project's spans to ``provider`` (None: back to the global one)."""
    global _provider
    _provider = provider


def configure_exporter(exporter_name: str) -> bool:
    """Install an SDK tracer provider if an exporter is named (the settings'
    ``traces_exporter``: console or otlp); True if one is active."""
    exporter_name = exporter_name.strip().lower()
    if _provider is not None or not exporter_name or exporter_name == "none":
        return _provider is not None
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        return False
    if exporter_name == "console":
        exporter: Any = ConsoleSpanExporter()
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            return False
        exporter = OTLPSpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    use_provider(provider)
    return True


_cached: tuple[trace.TracerProvider, trace.Tracer] | None = None  # get_tracer costs 7 us a span


def _tracer() -> trace.Tracer:
    global _cached
    provider = _provider or trace.get_tracer_provider()
    cached = _cached
    if cached is None or cached[0] is not provider:
        cached = _cached = (provider, provider.get_tracer("prolight-flow"))
    return cached[1]


_UNSET_PROVIDERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)


def _tracing_on() -> bool:
    """False while no tracer provider is installed anywhere: then a span is skipped, not
    made a no-op (the no-op still sets and resets the context, a cost on every step)."""
    return _provider is not None or not isinstance(trace.get_tracer_provider(), _UNSET_PROVIDERS)


@contextmanager
def span(name: str, operation: str, parent: Context | None = None, **attributes: Any) -> Iterator[Span]:
    """``parent``: where the span hangs (default: the current span)."""
    if not _tracing_on():
        yield trace.INVALID_SPAN
        return
    attrs = {"gen_ai.operation.name": operation}
    conversation = CONVERSATION.get()
    if conversation:
        attrs["gen_ai.conversation.id"] = conversation
    attrs |= {k.replace("__", "."): v for k, v in attributes.items() if v is not None}
    with _tracer().start_as_current_span(name, context=parent, attributes=attrs, record_exception=False,
                                         set_status_on_exception=False) as current:
        try:
            yield current
        except BaseException as exc:
            fail(current, exc)
            raise


def fail(current: Span, exc: BaseException | str, error_type: str = "_OTHER") -> None:
    """Mark a span failed (for errors that are returned rather than raised, too).
    ``error.type``: the exception's class; for a returned error, ``error_type`` (the
    conventions' ``_OTHER`` when nothing better names it)."""
    if isinstance(exc, BaseException):
        current.record_exception(exc)
        current.set_attribute("error.type", type(exc).__name__)
        current.set_status(Status(StatusCode.ERROR, str(exc)[:200]))
    else:
        current.set_attribute("error.type", error_type)
        current.set_status(Status(StatusCode.ERROR, exc[:200]))


def record_usage(current: Span, input_tokens: int | None, output_tokens: int | None) -> None:
    if input_tokens is not None:
        current.set_attribute("gen_ai.usage.input_tokens", input_tokens)
    if output_tokens is not None:
        current.set_attribute("gen_ai.usage.output_tokens", output_tokens)


@contextmanager
def conversation(thread_id: str) -> Iterator[None]:
    token = CONVERSATION.set(thread_id)
    try:
        yield
    finally:
        CONVERSATION.reset(token)


WORKFLOW = "prolight"  # the graph's name (build.py compiles it so)


def thread_trace(thread_id: str) -> Context:
    """A parent context with the thread's own trace id, so that every drive of the thread
    (planning, then execution after the gate, a resume) lands in one trace. The parent
    span itself is never recorded: it only carries the ids."""
    digest = hashlib.sha256(f"prolight trace {thread_id}".encode()).digest()
    parent = SpanContext(trace_id=int.from_bytes(digest[:16], "big") or 1,
                         span_id=int.from_bytes(digest[16:24], "big") or 1,
                         is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(parent))


def workflow_span(thread_id: str) -> Any:
    return span(f"invoke_workflow {WORKFLOW}", "invoke_workflow", parent=thread_trace(thread_id),
                gen_ai__workflow__name=WORKFLOW, gen_ai__conversation__id=thread_id)


def agent_span(agent: str, provider: str | None = None, model: str | None = None) -> Any:
    return span(f"invoke_agent {agent}", "invoke_agent", gen_ai__agent__name=agent, gen_ai__provider__name=provider,
                gen_ai__request__model=model)


def chat_span(model: str, provider: str | None = None) -> Any:
    return span(f"chat {model}", "chat", gen_ai__request__model=model, gen_ai__provider__name=provider)


def tool_span(tool: str, call_id: str | None = None, description: str | None = None) -> Any:
    return span(f"execute_tool {tool}", "execute_tool", gen_ai__tool__name=tool, gen_ai__tool__call__id=call_id,
                gen_ai__tool__type="function", gen_ai__tool__description=description)


def _traced(make_span: Callable[[str], Any], name: str) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with make_span(name):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


def traced_agent(name: str) -> Callable[[F], F]:
    """Trace a user's own agent function as ``invoke_agent <name>``."""
    return _traced(agent_span, name)


def traced_tool(name: str) -> Callable[[F], F]:
    """Trace a user's own tool function as ``execute_tool <name>``."""
    return _traced(tool_span, name)
