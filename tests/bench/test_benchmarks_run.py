"""Every benchmark runs to its end at its smallest size, so none of them rots unnoticed
(``bench/overhead.py`` once crashed for months). No figure is checked: a test of speed on
a shared machine would fail on load, not on a regression. Each must print its ratio or
goal line, which is what a person running it reads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SMALLEST = {
    "bench.cli": (["--runs", "1", "--threads", "2"], "cli ratio"),
    "bench.overhead": (["--runs", "1", "--steps", "2", "--step-runs", "1", "--width", "5", "--threads", "20",
                        "--big", "5"], "per-step ratio"),
    "bench.dag": (["--repeats", "1", "--chain", "2", "--short", "0.01", "--slow", "0.05"], "makespan/critical_path"),
    "bench.scale": (["--events", "2", "--runs", "4", "--processes", "2"], "goal p95"),
    "bench.ui": (["--loads", "1", "--events", "2", "--threads", "20"], "goal p95"),
    "bench.cache": (["--steps", "3", "--delay", "0.01"], "cache ratio"),
    "bench.stream": (["--subscribers", "20", "--threads", "5", "--seconds", "2"], "stream ratio"),
    "bench.storage": (["--steps", "5", "--runs", "10"], "storage ratio"),
}


def test_every_benchmark_module_is_smoke_tested() -> None:
    modules = {f"bench.{p.stem}" for p in (ROOT / "bench").glob("*.py")} - {"bench.__init__", "bench.stats"}
    assert modules == set(SMALLEST)


@pytest.mark.parametrize("module", SMALLEST)
def test_the_benchmark_runs_to_its_end_and_prints_its_ratio(module: str, tmp_path: Path) -> None:
    args, says = SMALLEST[module]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROLIGHT_")}
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=tmp_path, env=env | {"PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    assert says in done.stdout and ("PASS" in done.stdout or "MISS" in done.stdout), done.stdout
