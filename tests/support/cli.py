"""Runs the real ``prolight`` command against a test's own database, as a process of its own
(forked with LangGraph imported: tests/support/forkserver.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.core.settings import Settings
from tests.support.forkserver import Forked, ForkServer
from tests.support.settings import home_settings

PROLIGHT = str(Path(sys.executable).with_name("prolight"))
FORKS = ForkServer()  # short commands start with LangGraph imported (tests/support/forkserver.py)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Background:
    proc: subprocess.Popen | Forked
    log: Path

    def report(self) -> str:
        state = "running" if self.proc.poll() is None else f"exited {self.proc.returncode}"
        return f"{' '.join(self.proc.args[1:])} ({state}), last output:\n{self.log.read_text()[-3000:]}"


class Cli:
    def __init__(self, home: Path, **env: str) -> None:
        self.home = home
        self.env = {
            **os.environ,
            # The ``home`` fixture's database (SQLite or PostgreSQL) unless told otherwise.
            "PROLIGHT_DB": os.environ.get("PROLIGHT_DB") or str(home / "prolight.db"),
            "PROLIGHT_WORKSPACE": str(home / "workspace"),
            "PROLIGHT_MODEL": "offline",
            "PROLIGHT_RETRY_INITIAL_DELAY_S": "0.01",
            **env,
        }

    def settings(self) -> Settings:
        """The settings this CLI's environment gives, as an object for in-process calls."""
        return home_settings(self.home, self.env["PROLIGHT_DB"])

    def __call__(self, *args: str, timeout: float = 120, stdin: str = "") -> Result:
        if FORKS.serves(self.env):
            done = FORKS.run([PROLIGHT, *args], self.env, self.home, timeout, stdin)
            return Result(done.code, done.stdout, done.stderr)
        ran = subprocess.run([PROLIGHT, *args], capture_output=True, text=True, env=self.env,
                             cwd=self.home, timeout=timeout, input=stdin)
        return Result(ran.returncode, ran.stdout, ran.stderr)

    def ok(self, *args: str) -> Any:
        """Run with --json, expect exit 0, return the parsed output."""
        result = self(*args, "--json")
        assert result.code == 0, f"prolight {' '.join(args)} exited {result.code}: {result.stderr}"
        return result.json()

    def _launch(self, args: tuple[str, ...], stdout: int, stderr: int) -> subprocess.Popen | Forked:
        """``prolight args`` running on (stdin from /dev/null, the given stdout and stderr
        descriptors): forked unless the environment needs the executable (see forkserver)."""
        with open(os.devnull, "rb") as null:
            if FORKS.serves(self.env):
                return FORKS.spawn([PROLIGHT, *args], self.env, self.home, (null.fileno(), stdout, stderr))
            return subprocess.Popen([PROLIGHT, *args], stdin=null, stdout=stdout, stderr=stderr,
                                    env=self.env, cwd=self.home)

    def popen(self, *args: str) -> subprocess.Popen | Forked:
        """A command that runs while the test goes on, its stdout and stderr as text pipes."""
        out, err = os.pipe(), os.pipe()
        try:
            proc = self._launch(args, out[1], err[1])
        except BaseException:
            os.close(out[0])
            os.close(err[0])
            raise
        finally:
            os.close(out[1])
            os.close(err[1])
        proc.stdout, proc.stderr = open(out[0]), open(err[0])
        return proc

    def background(self, *args: str) -> Background:
        """A long-running process (a worker) whose output goes to a file: an unread pipe
        would fill and block it, and the file tells a failing test what the process did."""
        log = self.home / f"{args[0]}-{len(list(self.home.glob(f'{args[0]}-*.log')))}.log"
        with log.open("w") as out:
            return Background(self._launch(args, out.fileno(), out.fileno()), log)

    def write_plan(self, name: str, plan: dict[str, Any]) -> str:
        path = self.home / name
        path.write_text(json.dumps(plan))
        return str(path)
