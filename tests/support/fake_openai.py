"""A small OpenAI-compatible chat server on 127.0.0.1 for provider tests: it answers
``/v1/chat/completions`` with the object the request's schema asks for (as a tool call when
the request offers tools, as JSON content when it asks for a JSON schema), and keeps every
request so a test can see what the provider package sent."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    def __init__(self, answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
        """``answers``: schema name → the object to answer with, given the request."""
        self.answers = answers
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                fake.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                reply = json.dumps(fake.reply(body)).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

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
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
