"""A small OpenAI-compatible chat server on 127.0.0.1 for provider tests: it answers
``/v1/chat/completions`` with the object the request's schema asks for (as a tool call when
the request offers tools, as JSON content when it asks for a JSON schema), and keeps every
request so a test can see what the provider package sent."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http_server import LoopbackServer, respond


class FakeOpenAI:
    def __init__(self, answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
        """``answers``: schema name → the object to answer with, given the request."""
        self.answers = answers
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.reported: list[tuple[int, int]] = []  # (prompt, completion) tokens of each answer
        self.server = LoopbackServer(self._answer)

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        body = json.loads(request.rfile.read(int(request.headers.get("content-length", 0))))
        self.requests.append(({k.lower(): v for k, v in request.headers.items()}, body))
        respond(request, json.dumps(self.reply(body)).encode(), "application/json")

    @property
    def url(self) -> str:
        return f"{self.server.base}/v1"

    def start(self) -> "FakeOpenAI":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            arguments = json.dumps(self.answers[name](body))
            message["tool_calls"] = [{"id": f"call_{len(self.requests)}", "type": "function",
                                      "function": {"name": name, "arguments": arguments}}]
            finish = "tool_calls"
        else:
            name = body["response_format"]["json_schema"]["name"]
            message["content"] = json.dumps(self.answers[name](body))
            finish = "stop"
        return {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": self.usage(body, message)}

    def usage(self, body: dict[str, Any], message: dict[str, Any]) -> dict[str, int]:
        """What a provider reports: here a token is four characters, of the request's
        messages and of the answer. Kept per call, so a test knows the totals to expect."""
        prompt = sum(len(str(m.get("content") or "")) for m in body.get("messages", [])) // 4 + 1
        completion = len(json.dumps(message)) // 4 + 1
        self.reported.append((prompt, completion))
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def provider_thread(ops: Any, monkeypatch: Any, approve: bool = False) -> tuple[str, list[tuple[int, int]]]:
    """A thread "Calculate 6*7" planned and reviewed by a provider model (``openai:gpt-test``
    answered by this fake) on ``ops``'s database, approved if asked; with the tokens the
    fake reported, call by call (planner first, then critic)."""
    from graph.operations import Operations

    fake = FakeOpenAI({
        "Plan": lambda _: {"goal": "Calculate 6*7", "steps": [{"id": "multiply", "tool": "calculate",
                                                              "args": {"expression": "6*7"}}]},
        "ModelReview": lambda _: {"verdict": "approve", "issues": []}}).start()
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    try:
        provider = Operations(ops.db, ops.settings.model_copy(update={"model": "openai:gpt-test"}))
        thread = provider.start("Calculate 6*7").thread_id
        if approve:
            provider.approve(thread)
    finally:
        fake.stop()
    return thread, fake.reported
