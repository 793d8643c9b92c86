"""A real provider package end to end: ``langchain-openai`` (the ``openai`` extra) pointed at
a small OpenAI-compatible server of the tests on 127.0.0.1 plans and reviews through
structured output; and the one-line errors for a missing package, a missing key and an
unknown provider."""

from __future__ import annotations

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
