"""A process that executes ``runs`` plans at once against a shared database, for the
multi-process SQLite test: ``python -m tests.support.load_worker DB BASE_URL RUNS``."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

from graph.core.schemas import Plan
from graph.core.settings import Settings
from tests.support.ops import JsonOps


def plan(base: str, tag: str) -> Plan:
    return Plan.model_validate({"goal": f"load {tag}", "steps": [
        {"id": "a", "tool": "http_request", "args": {"url": f"{base}/{tag}/a"}},
        {"id": "b", "tool": "http_request", "args": {"url": f"{base}/{tag}/b"}},
        {"id": "c", "tool": "calculate", "args": {"expression": "6*7"}, "depends_on": ["a", "b"]},
    ]})


def execute(flow: JsonOps, base: str, tag: str) -> str:
    thread = flow.start(plan=plan(base, tag))["thread_id"]
    return flow.approve(thread)["status"]


def main(db_path: str, base: str, runs: int, prefix: str) -> int:
    flow = JsonOps(Settings.from_env(db=db_path))  # this script is an entry point: it reads the environment
    with ThreadPoolExecutor(runs) as pool:
        statuses = list(pool.map(lambda i: execute(flow, base, f"{prefix}-{i}"), range(runs)))
    print(" ".join(statuses))
    return 0 if all(s == "COMPLETED" for s in statuses) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
