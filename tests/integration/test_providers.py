"""A real provider package end to end: ``langchain-openai`` (the ``openai`` extra) pointed at
a small OpenAI-compatible server of the tests on 127.0.0.1 plans and reviews through
structured output; and the one-line errors for a missing package, a missing key and an
unknown provider."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.fake_openai import FakeOpenAI

GOAL = "Calculate 6*7"


@pytest.fixture
def provider() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI({
        "Plan": lambda _: {"goal": GOAL, "steps": [{"id": "multiply", "tool": "calculate",
                                                    "args": {"expression": "6*7"}}]},
        "ModelReview": lambda _: {"verdict": "approve", "issues": ["reviewed by the fake provider"]},
    }).start()
    yield fake
    fake.stop()


def test_a_provider_package_plans_and_reviews_through_structured_output(home: Path, provider: FakeOpenAI) -> None:
    pytest.importorskip("langchain_openai")
    cli = Cli(home, PROLIGHT_MODEL="openai:gpt-test", OPENAI_API_KEY="test-key", OPENAI_BASE_URL=provider.url,
              OPENAI_API_BASE=provider.url)
    waiting = cli.ok("run", GOAL)
    assert waiting["status"] == "AWAITING_APPROVAL" and waiting["model"] == "openai:gpt-test"
    assert [s["id"] for s in waiting["plan"]["steps"]] == ["multiply"]
    assert "reviewed by the fake provider" in [i["message"] for i in waiting["critique"]["issues"]]
    done = cli.ok("approve", waiting["thread_id"])
    assert done["status"] == "COMPLETED" and done["steps"]["multiply"]["output"] == 42
    schemas = [body.get("tools", [{}])[0].get("function", {}).get("name")
               or body["response_format"]["json_schema"]["name"] for _, body in provider.requests]
    assert schemas == ["Plan", "ModelReview"]
    assert {headers.get("authorization") for headers, _ in provider.requests} == {"Bearer test-key"}
    assert {body["model"] for _, body in provider.requests} == {"gpt-test"}


def test_a_provider_models_calls_are_chat_spans_with_the_tokens_it_reports(
        home: Path, provider: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Token usage as the provider reports it (``usage_metadata``): on each ``chat <model>``
    span, on the thread's view per agent, and in the metrics per agent and per run; the
    planning and the execution after the gate are one trace."""
    pytest.importorskip("langchain_openai")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from graph.core import tracing
    from tests.support.ops import JsonOps
    from tests.support.settings import home_settings

    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", provider.url)
    exporter, traces = InMemorySpanExporter(), TracerProvider()
    traces.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(traces)
    try:
        settings = home_settings(home, os.environ["PROLIGHT_DB"]).model_copy(update={"model": "openai:gpt-test"})
        flow = JsonOps(settings)
        thread = flow.start(GOAL)["thread_id"]
        done = flow.approve(thread)
    finally:
        tracing.use_provider(None)
    assert done["status"] == "COMPLETED"
    (plan_in, plan_out), (review_in, review_out) = provider.reported
    assert done["tokens"] == {"critic": {"calls": 1, "input_tokens": review_in, "output_tokens": review_out},
                              "planner": {"calls": 1, "input_tokens": plan_in, "output_tokens": plan_out}}
    spans = exporter.get_finished_spans()
    chats = [s for s in spans if s.name == "chat gpt-test"]
    assert [(c.attributes["gen_ai.usage.input_tokens"], c.attributes["gen_ai.usage.output_tokens"])
            for c in chats] == provider.reported
    assert all(c.attributes["gen_ai.operation.name"] == "chat" and c.attributes["gen_ai.request.model"] == "gpt-test"
               and c.attributes["gen_ai.provider.name"] == "openai" for c in chats)
    planner = next(s for s in spans if s.name == "invoke_agent planner")
    assert planner.attributes["gen_ai.request.model"] == "gpt-test"
    assert chats[0].parent.span_id == planner.context.span_id, "a model call sits inside its agent's span"
    assert len({s.context.trace_id for s in spans}) == 1, "planning and execution: one trace for the thread"
    metrics = flow.metrics()
    assert metrics["tokens"]["planner"] == done["tokens"]["planner"]
    assert metrics["tokens_per_run"]["count"] == 1
    assert metrics["tokens_per_run"]["p50"] == plan_in + plan_out + review_in + review_out


@pytest.mark.parametrize("model, env, says", [
    ("openai:gpt-test", {"OPENAI_API_KEY": ""}, "PROLIGHT_MODEL='openai:gpt-test' needs OPENAI_API_KEY: set it in the environment"),
    ("nosuch:model", {}, "PROLIGHT_MODEL='nosuch:model': unknown provider 'nosuch' "
                         "(known: anthropic, google, google_genai, ollama, openai)"),
    ("gpt-4o", {}, "PROLIGHT_MODEL='gpt-4o': use 'offline' or 'provider:model'"),
])
def test_a_model_that_cannot_be_used_is_one_line(home: Path, model: str, env: dict[str, str], says: str) -> None:
    result = Cli(home, PROLIGHT_MODEL=model, **env)("run", "add 2 and 3")
    assert result.code == 2 and result.stderr.splitlines() == [f"prolight: error: {says}"], result.stderr


def test_a_provider_without_its_package_names_the_extra(home: Path) -> None:
    import importlib.util

    missing = next((p for p, m in (("anthropic", "langchain_anthropic"), ("google", "langchain_google_genai"),
                                   ("ollama", "langchain_ollama")) if importlib.util.find_spec(m) is None), None)
    if missing is None:
        pytest.skip("every provider package is installed here")
    result = Cli(home, PROLIGHT_MODEL=f"{missing}:some-model", ANTHROPIC_API_KEY="k", GOOGLE_API_KEY="k")("run", "add 2 and 3")
    assert result.code == 2 and result.stderr.splitlines() == [
        f"prolight: error: PROLIGHT_MODEL='{missing}:some-model' needs the {missing} extra: "
        f"pip install -e '.[{missing}]'"]
