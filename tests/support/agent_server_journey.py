"""Drives LangGraph's own Agent Server (``langgraph dev``, in-memory) with ``langgraph-sdk``:
``python -m tests.support.agent_server_journey PORT``. The test runs it inside a network
namespace of its own with only loopback up, so whatever the server or the CLI would send
elsewhere (analytics, tracing) cannot leave the machine; it fails at once instead.

The journey: the natural input (a goal beside a plan that does not repeat it) runs to the
``human_review`` interrupt; an approval written with ``threads.update_state`` as the
``request_approval`` node continues it to COMPLETED. Then as LangGraph's own UIs do it: the
interrupt's value read, and answered with ``Command(resume=...)`` in LangChain's HITL
format (a refused answer, then an edit; a review; Agent Inbox's older "ignore"). Prints one
JSON line of what it saw."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.browser import wait_answering

ROOT = Path(__file__).resolve().parents[2]


def pause(client, thread_id: str) -> dict:
    """The thread at its pause as a LangGraph client reads it: the interrupt's value."""
    state = client.threads.get_state(thread_id)
    values = [i["value"] for task in state.get("tasks") or [] for i in task.get("interrupts") or []]
    return {"next": state["next"], "status": state["values"].get("status"), "error": state["values"].get("error"),
            "interrupts": values}


def decide(client, thread_id: str, answer: object) -> dict:
    """``Command(resume=answer)``, as Agent Inbox and agent-chat-ui send it."""
    client.runs.wait(thread_id, "prolight", command={"resume": answer})
    return pause(client, thread_id)


def clients_journey(client) -> dict:
    """The gate answered in LangChain's HITL format, as LangGraph's own UIs do."""
    from graph.core.schemas import Status

    steps = [{"id": "add", "tool": "calculate", "args": {"expression": "40 + 2"}}]
    thread = client.threads.create()["thread_id"]
    client.runs.wait(thread, "prolight", input={"goal": "Add two numbers", "plan": {"steps": steps}})
    asked = pause(client, thread)
    bogus = decide(client, thread, {"decisions": [{"type": "respond", "message": "hi"}]})
    garbled = decide(client, thread, "yes please")
    edited = {"steps": [{"id": "mul", "tool": "calculate", "args": {"expression": "6 * 7"}}]}
    done = decide(client, thread, {"decisions": [{"type": "edit", "edited_action": {
        "name": "approve_plan", "args": {"plan": edited}}}]})
    values = client.threads.get_state(thread)["values"]
    review_steps = [{"id": "odd", "tool": "calculate", "args": {"expression": "1 + 1"},
                     "checks": [{"kind": "contains", "text": "3"}], "retry": {"max_attempts": 1}}]
    reviewed = client.threads.create()["thread_id"]
    client.runs.wait(reviewed, "prolight", input={"goal": "Add one and one", "plan": {"steps": review_steps}})
    decide(client, reviewed, {"decisions": [{"type": "approve"}]})
    review_asked = pause(client, reviewed)
    review_done = decide(client, reviewed, {"decisions": [{"type": "approve"}]})
    rejected = client.threads.create()["thread_id"]
    client.runs.wait(rejected, "prolight", input={"goal": "Add two numbers", "plan": {"steps": steps}})
    ended = decide(client, rejected, [{"type": "ignore", "args": None}])  # Agent Inbox's older list
    return {"asked": asked, "bogus": bogus, "garbled": garbled, "done": done,
            "output": values["steps"]["mul"]["output"],
            "trail": [{k: d.get(k) for k in ("action", "operator", "plan_digest", "seal")}
                      for d in values.get("decisions") or []],
            "review_asked": review_asked, "review_done": review_done,
            "rejected": ended["status"] == Status.REJECTED.value}


def journey(url: str) -> dict:
    from langgraph_sdk import get_sync_client

    from graph.core.schemas import Decision, Status, dump

    client = get_sync_client(url=url, api_key=None)
    thread = client.threads.create()
    plan = {"steps": [{"id": "add", "tool": "calculate", "args": {"expression": "40 + 2"}}]}
    client.runs.wait(thread["thread_id"], "prolight", input={"goal": "Add two numbers", "plan": plan})
    gate = client.threads.get_state(thread["thread_id"])
    decision = dump(Decision(action="approve", operator="sdk"))
    client.threads.update_state(thread["thread_id"], {"decision": decision, "status": Status.APPROVED.value},
                                as_node="request_approval")
    client.runs.wait(thread["thread_id"], "prolight", input=None)
    done = client.threads.get_state(thread["thread_id"])
    return {"clients": clients_journey(client), "gate_next": gate["next"], "gate_status": gate["values"].get("status"),
            "gate_goal": (gate["values"].get("plan") or {}).get("goal"),
            "status": done["values"].get("status"), "next": done["next"],
            "output": done["values"]["steps"]["add"]["output"],
            "trail": [{k: d.get(k) for k in ("action", "operator", "plan_digest", "seal")}
                      for d in done["values"].get("decisions") or []]}


def main(port: int) -> int:
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_TRACING": "false",
           "LANGCHAIN_TRACING_V2": "false", "PROLIGHT_MODEL": "offline",
           "PROLIGHT_AUDIT_KEY": secrets.token_hex(32)}  # the server's own: no key file in the project folder
    env.pop("LANGSMITH_API_KEY", None)
    cli = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    server = subprocess.Popen([cli, "dev", "--host", "127.0.0.1", "--port", str(port), "--no-browser",
                               "--no-reload"], cwd=ROOT, env=env, stdout=sys.stderr, stderr=sys.stderr)
    try:
        wait_answering(f"{url}/ok", server, timeout=180)
        print(json.dumps(journey(url)))
        return 0
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
