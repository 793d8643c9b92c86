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
so do the benchmarks and the import tests.

Long-running commands (``Cli.popen``, ``Cli.background``: workers, ``serve``, the
processes the crash tests ``kill -9``) are forked too and come back as a ``Forked``, which
has the ``subprocess.Popen`` methods the tests use (``pid``, ``poll``, ``wait``,
``send_signal``, ``terminate``, ``kill``, ``stdout``, ``stderr``).

Protocol, one command per connection on a Unix socket: the client sends one JSON line
(argv, env, cwd) with the command's stdin, stdout and stderr as file descriptors
(SCM_RIGHTS); a supervisor process forked for the connection forks the command, answers its
pid, waits for it and answers its exit code (``-N`` for a signal, as Popen says it). As a
parent does for Popen, the supervisor reaps the command only once the client has read its
exit code and hung up, so its pid cannot be reused by another process while the test may
still signal it; it hangs up in turn once it has reaped, and the client's ``wait`` returns
then. The server exits when its parent closes its stdin.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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

    def spawn(self, argv: list[str], env: dict[str, str], cwd: Path, fds: tuple[int, int, int]) -> Forked:
        """Start ``argv`` with ``fds`` as its stdin, stdout and stderr (the caller keeps
        and closes its own copies)."""
        self._start()
        conn = socket.socket(socket.AF_UNIX)
        try:
            conn.connect(self._socket)
            request = json.dumps({"argv": argv, "env": env, "cwd": str(cwd)}).encode() + b"\n"
            socket.send_fds(conn, [request], list(fds))
            forked = Forked(argv, conn, self._log)
        except BaseException:
            conn.close()
            raise
        return forked

    def run(self, argv: list[str], env: dict[str, str], cwd: Path, timeout: float, stdin: str) -> Finished:
        with tempfile.TemporaryDirectory(dir=self._dir) as tmp:
            paths = [os.path.join(tmp, name) for name in ("stdin", "stdout", "stderr")]
            Path(paths[0]).write_text(stdin)
            with open(paths[0], "rb") as fd0, open(paths[1], "wb") as fd1, open(paths[2], "wb") as fd2:
                forked = self.spawn(argv, env, cwd, (fd0.fileno(), fd1.fileno(), fd2.fileno()))
            try:
                code = forked.wait(timeout)
            except subprocess.TimeoutExpired:
                forked.kill()
                forked.wait()
                raise
            return Finished(code, Path(paths[1]).read_text(), Path(paths[2]).read_text())


class Forked:
    """A command forked by the server: what the tests use of ``subprocess.Popen``."""

    stdout: IO[str] | None = None
    stderr: IO[str] | None = None

    def __init__(self, args: list[str], conn: socket.socket, log: Path) -> None:
        self.args = args
        self.returncode: int | None = None
        self._conn, self._log, self._received = conn, log, b""
        self.pid = int(self._line(None))

    def _line(self, timeout: float | None) -> str:
        """The supervisor's next answer; TimeoutError if none comes within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._received:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self._conn], [], [], left)[0]:
                raise TimeoutError
            chunk = self._conn.recv(64)
            if not chunk:
                raise RuntimeError(f"the fork server lost {self.args}: {self._log.read_text()[-2000:]}")
            self._received += chunk
        line, self._received = self._received.split(b"\n", 1)
        return line.decode()

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self.returncode = int(self._line(timeout))
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout) from None
            # The supervisor reaps the command once we hang up, and hangs up itself once it
            # has: wait for that, so the pid is gone when wait() returns, as with Popen (a
            # zombie's pid still answers kill(pid, 0), and the claim of a kill -9'd worker
            # looked alive to the process that was to take its thread over).
            with contextlib.suppress(OSError):
                self._conn.shutdown(socket.SHUT_WR)
                if select.select([self._conn], [], [], 30)[0]:
                    while self._conn.recv(64):
                        pass
            self._conn.close()
        return self.returncode

    def poll(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.wait(0)
        return None

    def communicate(self, timeout: float | None = None) -> tuple[str | None, str | None]:
        """The rest of stdout and stderr, once the command has exited. Both pipes are read on
        threads while it runs, so that neither can fill and block it."""
        read: dict[str, str] = {}
        readers = [threading.Thread(target=lambda n=name, f=pipe: read.setdefault(n, f.read()), daemon=True)
                   for name, pipe in (("stdout", self.stdout), ("stderr", self.stderr)) if pipe is not None]
        for reader in readers:
            reader.start()
        self.wait(timeout)
        for reader in readers:
            reader.join()
        return read.get("stdout"), read.get("stderr")

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # not yet reaped (see the module), so the pid is still the command's
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


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
        first, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
        received = first
        while not received.endswith(b"\n"):
            chunk = conn.recv(1 << 16)
            if not chunk:
                return
            received += chunk
        pid = os.fork()
        if pid == 0:
            conn.close()
            _run(json.loads(received), fds)
        for fd in fds:
            os.close(fd)
        conn.sendall(f"{pid}\n".encode())
        status = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped
        code = status.si_status if status.si_code == os.CLD_EXITED else -status.si_status
        conn.sendall(f"{code}\n".encode())
        with contextlib.suppress(OSError):
            conn.recv(1)  # until the client hangs up: till then the pid stays the command's
        os.waitpid(pid, 0)  # then our exit closes the connection: the client's wait() returns
    finally:
        os._exit(0)


def _run(request: dict, fds: list[int]) -> None:
    """In the command's process: what the ``prolight`` executable does, then exit as an
    interpreter does (non-daemon threads joined, atexit handlers run, streams flushed)."""
    import traceback

    code: object = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in set(fds) - {0, 1, 2}:
            os.close(fd)
        sys.argv = list(request["argv"])
        sys.path[0] = os.path.dirname(sys.argv[0])  # as for the console script, not this file's folder
        from ui.cli import entry

        code = entry()
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
