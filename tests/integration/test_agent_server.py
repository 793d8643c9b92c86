"""The graph in LangGraph's own Agent Server: ``langgraph dev`` (in-memory) loads
``langgraph.json`` unmodified on 127.0.0.1 and ``langgraph-sdk`` drives a thread through
the approval gate to COMPLETED, with the plan given without its own goal. The server and
its driver run in a network namespace with only loopback (``unshare --net``), so nothing
they might send reaches another address."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def isolated() -> list[str] | None:
    """The command prefix for a namespace with only loopback up, or None where it cannot be made."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True)
    return ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "isolated"] if probe.returncode == 0 else None


def test_langgraph_dev_runs_a_thread_through_the_gate_driven_by_the_sdk(tmp_path: Path) -> None:
    prefix = isolated()
    if prefix is None:
        if os.environ.get("CI"):
            pytest.fail("cannot make a network namespace (unshare --net) for langgraph dev")
        pytest.skip("no network namespace here (unshare --net needs root)")
    env = {**os.environ, "HOME": str(tmp_path)}  # the CLI's own files stay out of the real home
    done = subprocess.run([*prefix, sys.executable, "-m", "tests.support.agent_server_journey", "2024"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-4000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["gate_next"] == ["human_review"] and seen["gate_status"] == "AWAITING_APPROVAL"
    assert seen["gate_goal"] == "Add two numbers", "the plan took the thread's goal"
    assert seen["status"] == "COMPLETED" and seen["next"] == [] and seen["output"] == 42
    [approval] = seen["trail"]  # recorded and sealed by human_review, with the plan's digest
    assert approval["action"] == "approve" and approval["operator"] == "sdk"
    assert approval["plan_digest"].startswith("sha256:") and len(approval["seal"]) == 64
    clients = seen["clients"]
    [asked] = clients["asked"]["interrupts"]  # LangChain's HITL request, as Agent Inbox renders it
    assert clients["asked"]["status"] == "AWAITING_APPROVAL" and clients["asked"]["next"] == ["human_review"]
    [action] = asked["action_requests"]
    assert action["name"] == "approve_plan" and action["args"]["plan"]["steps"][0]["id"] == "add"
    assert "Plan digest sha256:" in action["description"]
    assert asked["review_configs"] == [{"action_name": "approve_plan", "allowed_decisions": ["approve", "edit",
                                                                                              "reject"]}]
    for refused, says in ((clients["bogus"], "'respond' is not allowed"), (clients["garbled"], "not a decision")):
        assert refused["status"] == "AWAITING_APPROVAL" and refused["next"] == ["human_review"], refused
        assert says in refused["error"] and len(refused["interrupts"]) == 1, "it stays, and asks again"
    assert clients["done"]["status"] == "COMPLETED" and clients["output"] == 42
    [edit] = clients["trail"]  # sealed under the caller, bound to the edited plan's digest
    assert edit["action"] == "edit" and edit["operator"] == "langgraph-client"
    assert edit["plan_digest"].startswith("sha256:") and len(edit["seal"]) == 64
    [review] = clients["review_asked"]["interrupts"]
    assert clients["review_asked"]["status"] == "AWAITING_REVIEW"
    assert review["action_requests"][0]["name"] == "review_step"
    assert review["action_requests"][0]["args"]["step_id"] == "odd"
    assert clients["review_done"]["status"] == "COMPLETED"
    assert clients["rejected"]
    assert not (ROOT / ".langgraph_api").exists() or ".langgraph_api/" in (ROOT / ".gitignore").read_text()
