"""Runs ``prolight`` commands for the tests as real processes forked from a server that
has LangGraph and LangChain imported already.

Why: a command that reads checkpoint state or drives the graph spends about 1.1 s of CPU
importing LangGraph, LangChain and LangSmith before our code runs, and the suite makes
over two hundred such calls: half of its CPU. Forked from this server, each call is a
process of its own (its own pid, exit code, stdin, stdout and stderr, working directory
and environment; ``kill -9`` kills it) that starts with those libraries in memory, as
Python's own ``forkserver`` start method does for multiprocessing.

What a call does not share: none of our modules (``graph``, ``agents``, ``ui``) is
imported here, so each call imports our code and reads its settings as the real
``prolight`` executable does. The server imports no module of ours and starts no thread
before it forks (it checks). A call whose environment changes how Python starts (any
``PYTHON*`` variable, as ``tests/integration/test_cli_imports.py`` sets to make LangGraph
unimportable) and every call when ``TESTS_EXEC_CLI=1`` is set run the executable itself;
so do the long-running processes (``Cli.popen``, ``Cli.background``), the benchmarks and
the import tests.

Protocol, one request per connection on a Unix socket: the client sends one JSON line
(argv, env, cwd and the files for fds 0, 1 and 2); a supervisor process forked for the
connection forks the command, answers its pid, waits for it and answers its exit code.
The server exits when its parent closes its stdin.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

# What every graph-driving command imports, and costs a second: LangGraph and what it pulls in.
PRELOAD = ("langgraph.graph", "langgraph.func", "langgraph.types", "langgraph.config", "langgraph.checkpoint.sqlite",
           "langgraph.checkpoint.postgres", "psycopg", "langchain_core.language_models", "langchain_core.messages",
           "langchain_core.tools", "langchain_core.runnables", "pydantic", "httpx", "tenacity", "jsonschema",
           "opentelemetry.sdk.trace")
OURS = ("graph", "agents", "ui", "tests", "bench")


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str


class ForkServer:
    """The client: one server per test process, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: subprocess.Popen | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="prolight-forks-"))
        self._socket = str(self._dir / "socket")
        self._log = self._dir / "server.log"
        atexit.register(self.close)

    def serves(self, env: dict[str, str]) -> bool:
        """Whether a call with ``env`` may be forked rather than executed (see the module)."""
        if os.environ.get("TESTS_EXEC_CLI") == "1":
            return False
        python = {k: v for k, v in env.items() if k.startswith("PYTHON")}
        return python == {k: v for k, v in os.environ.items() if k.startswith("PYTHON")}

    def _start(self) -> None:
        with self._lock:
            if self._server is not None and self._server.poll() is None:
                return
            if os.path.exists(self._socket):
                os.unlink(self._socket)
            env = {k: v for k, v in os.environ.items() if not k.startswith("PROLIGHT_")}
            with self._log.open("w") as log:  # the server holds its own copy of the file
                self._server = subprocess.Popen([sys.executable, __file__, self._socket], stdin=subprocess.PIPE,
                                                stdout=log, stderr=subprocess.STDOUT, env=env)
            while not os.path.exists(self._socket + ".ready"):
                if self._server.poll() is not None:
                    raise RuntimeError(f"the fork server exited: {self._log.read_text()[-2000:]}")
                select.select([], [], [], 0.05)

    def close(self) -> None:
        """Stop the server (it exits when its stdin closes) and remove its files."""
        if self._server is not None:
            self._server.stdin.close()
            self._server.wait(10)
        shutil.rmtree(self._dir, ignore_errors=True)

    def run(self, argv: list[str], env: dict[str, str], cwd: Path, timeout: float, stdin: str) -> Finished:
        self._start()
        with tempfile.TemporaryDirectory(dir=self._dir) as tmp:
            files = {name: os.path.join(tmp, name) for name in ("stdin", "stdout", "stderr")}
            Path(files["stdin"]).write_text(stdin)
            for name in ("stdout", "stderr"):
                Path(files[name]).touch()
            request = {"argv": argv, "env": env, "cwd": str(cwd), "files": files}
            with socket.socket(socket.AF_UNIX) as conn:
                conn.connect(self._socket)
                conn.sendall(json.dumps(request).encode() + b"\n")
                conn.settimeout(timeout)
                answers = conn.makefile("r")
                pid = int(answers.readline())
                try:
                    code = answers.readline()
                except TimeoutError:
                    os.kill(pid, 9)
                    raise subprocess.TimeoutExpired(argv, timeout) from None
                if not code:
                    raise RuntimeError(f"the fork server lost {argv}: {self._log.read_text()[-2000:]}")
            return Finished(int(code), Path(files["stdout"]).read_text(), Path(files["stderr"]).read_text())


# ---- the server -------------------------------------------------------------------------

def serve(path: str) -> None:
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    assert not [m for m in sys.modules if m.split(".")[0] in OURS], "the fork server must not import our code"
    assert threading.active_count() == 1, "a fork server with threads could fork a held lock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(128)
    Path(path + ".ready").touch()
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [], 1.0)
        _reap()
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1024):
            return  # the test process is gone
        if listener in readable:
            conn, _ = listener.accept()
            sys.stdout.flush()
            if os.fork() == 0:
                listener.close()
                _supervise(conn)
            conn.close()


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _supervise(conn: socket.socket) -> None:
    """In the supervisor (one per call): fork the command, report its pid and exit code."""
    try:
        request = json.loads(conn.makefile("r").readline())
        pid = os.fork()
        if pid == 0:
            conn.close()
            _run(request)
        conn.sendall(f"{pid}\n".encode())
        _, status = os.waitpid(pid, 0)
        conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    finally:
        os._exit(0)


def _run(request: dict) -> None:
    """In the command's process: what the ``prolight`` executable does, then exit as an
    interpreter does (non-daemon threads joined, atexit handlers run, streams flushed)."""
    import traceback

    code: object = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for fd, name, flags in ((0, "stdin", os.O_RDONLY), (1, "stdout", os.O_WRONLY), (2, "stderr", os.O_WRONLY)):
            opened = os.open(request["files"][name], flags)
            os.dup2(opened, fd)
            os.close(opened)
        sys.argv = list(request["argv"])
        sys.path[0] = os.path.dirname(sys.argv[0])  # as for the console script, not this file's folder
        from ui.cli import main

        code = main()
    except SystemExit as exc:
        code = exc.code
    except BaseException:  # noqa: BLE001 (as the interpreter does with an uncaught error)
        traceback.print_exc()
        code = 1
    try:
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    finally:
        if isinstance(code, str):
            print(code, file=sys.stderr)
            code = 1
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed or broken stream, as at exit
                stream.flush()
        os._exit(0 if code is None else code if isinstance(code, int) else 1)


if __name__ == "__main__":
    serve(sys.argv[1])
