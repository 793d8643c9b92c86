"""A real HTTP server on 127.0.0.1 for tool tests. Behaviour comes from the query string,
so a plan's URLs say what the server does: ``?delay=2`` answers after 2 s (``delay_first``:
only the first call is slow), ``?status=503``
answers that status, ``?fail_first=2`` fails the first two calls to that path with 503,
``?size=N`` sends N bytes, ``?echo_auth=1`` echoes the Authorization header, ``?hold=NAME``
answers only once the test calls ``release(NAME)`` (so a test can stop a run's progress at
a known point instead of guessing a time). Every request is counted per path: ``started``
when it arrives, ``hits`` when its answer was sent."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class LoopbackServer:
    """A threaded HTTP server on a free 127.0.0.1 port that hands every GET and POST to
    ``handle``: the one scaffold of the tests' own servers."""

    def __init__(self, handle: Callable[[BaseHTTPRequestHandler], None]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                handle(self)

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> "LoopbackServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def respond(request: BaseHTTPRequestHandler, body: bytes, content_type: str, status: int = 200) -> None:
    request.send_response(status)
    request.send_header("content-type", content_type)
    request.send_header("content-length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


class ToolServer:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.started: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.gates: dict[str, threading.Event] = {}
        self.server = LoopbackServer(self.handle)

    @property
    def base(self) -> str:
        return self.server.base

    def url(self, path: str, **query: object) -> str:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{self.base}/{path.lstrip('/')}" + (f"?{qs}" if qs else "")

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parsed = urlparse(request.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        with self.lock:
            self.started[parsed.path] += 1
            call = self.started[parsed.path]
        if "hold" in query:
            self.gate(query["hold"]).wait(timeout=60)
        time.sleep(float(query.get("delay", 0)))
        if call == 1:
            time.sleep(float(query.get("delay_first", 0)))
        status = int(query.get("status", 200))
        if call <= int(query.get("fail_first", 0)):
            status = 503
        body = (b"x" * int(query["size"])) if "size" in query else f"ok {parsed.path} call {call}".encode()
        if "echo_auth" in query:
            body += f" auth={request.headers.get('Authorization')}".encode()
        try:
            request.send_response(status)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return
        with self.lock:
            self.hits[parsed.path] += 1

    def gate(self, name: str) -> threading.Event:
        with self.lock:
            return self.gates.setdefault(name, threading.Event())

    def release(self, name: str) -> None:
        self.gate(name).set()

    def started_under(self, prefix: str) -> int:
        """How many requests to paths below ``prefix`` have arrived."""
        return sum(n for path, n in list(self.started.items()) if path.startswith(prefix))

    def start(self) -> "ToolServer":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def wait_started(self, path: str, count: int = 1, timeout: float = 30.0) -> None:
        self._wait(lambda: self.started[path] >= count, timeout,
                   lambda: f"{path} was not requested {count} time(s) within {timeout}s")

    def wait_progress(self, prefix: str, count: int, timeout: float = 60.0) -> None:
        """Until ``count`` requests to paths below ``prefix`` have arrived."""
        self._wait(lambda: self.started_under(prefix) >= count, timeout,
                   lambda: f"only {self.started_under(prefix)} of {count} requests under {prefix} arrived")

    def _wait(self, done, timeout: float, message) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if done():
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(message())
            time.sleep(0.005)
