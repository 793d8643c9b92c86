"""Runs the real ``prolight`` executable in a subprocess against a test's own database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROLIGHT = str(Path(sys.executable).with_name("prolight"))


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Cli:
    def __init__(self, home: Path, **env: str) -> None:
        self.home = home
        self.env = {
            **os.environ,
            "PROLIGHT_DB": str(home / "prolight.db"),
            "PROLIGHT_WORKSPACE": str(home / "workspace"),
            "PROLIGHT_MODEL": "offline",
            "PROLIGHT_RETRY_INITIAL_DELAY_S": "0.01",
            **env,
        }

    def __call__(self, *args: str, timeout: float = 120) -> Result:
        done = subprocess.run([PROLIGHT, *args], capture_output=True, text=True, env=self.env,
                              cwd=self.home, timeout=timeout)
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str) -> Any:
        """Run with --json, expect exit 0, return the parsed output."""
        result = self(*args, "--json")
        assert result.code == 0, f"prolight {' '.join(args)} exited {result.code}: {result.stderr}"
        return result.json()

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([PROLIGHT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env, cwd=self.home)

    def write_plan(self, name: str, plan: dict[str, Any]) -> str:
        path = self.home / name
        path.write_text(json.dumps(plan))
        return str(path)
