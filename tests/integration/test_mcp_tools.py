"""MCP tools through the real CLI: a stdio MCP server written with the ``mcp`` SDK
(``tests/support/mcp_server.py``), listed in the settings file, whose tool a plan uses,
approved and executed; the critic checks args against the server's own schema; a server
that is down fails the step with a clear error, retried and broken like any tool."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.browser import free_port
from tests.support.cli import Cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def mcp_cli(home: Path) -> Cli:
    command = json.dumps([sys.executable, "-m", "tests.support.mcp_server", str(home / "calls")])
    (home / "prolight.toml").write_text(f"[mcp.notes]\ncommand = {command}\ncwd = {json.dumps(str(ROOT))}\n")
    return Cli(home, PROLIGHT_BREAKER_FAILURES="2")


def calls(home: Path) -> list[str]:
    path = home / "calls"
    return path.read_text().splitlines() if path.exists() else []


def plan(cli: Cli, **args: object) -> str:
    return cli.write_plan("plan.json", {"goal": "Count words", "steps": [
        {"id": "count", "tool": "notes_word_count", "args": args}]})


def test_a_plan_uses_an_mcp_tool_approved_and_executed(mcp_cli: Cli, home: Path) -> None:
    tools = {t["name"]: t for t in mcp_cli.ok("tools")}
    assert {"notes_word_count", "notes_shout"} <= set(tools)
    waiting = mcp_cli.ok("run", "--plan", plan(mcp_cli, text="one two three"))
    assert waiting["status"] == "AWAITING_APPROVAL"
    assert any("risky tool 'notes_word_count'" in i["message"] for i in waiting["critique"]["issues"])
    assert calls(home) == [], "nothing runs before the approval"
    done = mcp_cli.ok("approve", waiting["thread_id"])
    assert done["status"] == "COMPLETED", done["error"]
    assert done["steps"]["count"]["output"] == 3
    assert calls(home) == ["word_count 'one two three'"]


def test_the_critic_checks_args_against_the_servers_schema(mcp_cli: Cli, home: Path) -> None:
    result = mcp_cli("run", "--plan", plan(mcp_cli, txt="one"))
    assert result.code == 2
    assert "args do not fit tool 'notes_word_count': args: 'text' is a required property" in result.stderr
    result = mcp_cli("run", "--plan", plan(mcp_cli, text=7))
    assert result.code == 2 and "text: 7 is not of type 'string'" in result.stderr
    assert calls(home) == []


def test_a_server_that_is_down_fails_the_step_retried_and_broken(mcp_cli: Cli, home: Path) -> None:
    waiting = mcp_cli.ok("run", "--plan", plan(mcp_cli, text="one two"))
    (home / "calls.crash").touch()  # the server now dies when the tool is called
    failed = mcp_cli("approve", waiting["thread_id"], "--json").json()
    step = failed["steps"]["count"]
    assert failed["status"] == "FAILED" and step["status"] == "FAILED"
    assert "MCP server 'notes' is unavailable" in step["attempt_log"][0]["error"], step
    assert [a["category"] for a in step["attempt_log"]] == ["connection", "connection", "circuit_open"], \
        "a connection failure is retried; the breaker opened after two failures and refused the third try"
    assert step["attempts"] == 2, "the refused try was no call"
    assert "; then not attempted: breaker for tool:notes_word_count open since" in step["error"]
    assert [(b["name"], b["state"]) for b in mcp_cli.ok("breakers")] == [("tool:notes_word_count", "open")]
    assert calls(home) == []


def test_a_server_down_at_start_leaves_its_tools_unknown(mcp_cli: Cli, home: Path) -> None:
    (home / "calls.dead").touch()  # exits as soon as it starts
    result = mcp_cli("run", "--plan", plan(mcp_cli, text="one"))
    assert result.code == 2 and "unknown tool 'notes_word_count'" in result.stderr


def test_an_http_mcp_server_serves_a_plan_too(home: Path) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tests.support.mcp_server", str(home / "calls"), str(port)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not listening(port):  # wait on the server, not on a guess
            assert server.poll() is None and time.monotonic() < deadline, "the MCP server did not start"
            time.sleep(0.1)
        (home / "prolight.toml").write_text(f'[mcp.remote]\nurl = "http://127.0.0.1:{port}/mcp"\nrisky = false\n')
        cli = Cli(home)
        waiting = cli.ok("run", "--plan", cli.write_plan("plan.json", {"goal": "Shout", "steps": [
            {"id": "loud", "tool": "remote_shout", "args": {"text": "hey", "times": 2}}]}))
        assert [i for i in waiting["critique"]["issues"] if i["severity"] != "info"] == [], "risky = false: no warning"
        assert waiting["critique"]["risk"] == "low"
        done = cli.ok("approve", waiting["thread_id"])
        assert done["status"] == "COMPLETED" and done["steps"]["loud"]["output"] == "HEY HEY"
        assert calls(home) == ["shout 'hey'"]
    finally:
        server.terminate()
        server.wait(15)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_a_bad_mcp_table_is_one_line(home: Path) -> None:
    (home / "prolight.toml").write_text('[mcp.notes]\nurl = "ftp://example.invalid/"\n')
    result = Cli(home)("tools")
    assert result.code == 2
    assert result.stderr.strip() == "prolight: error: bad setting mcp.notes: Value error, url must be http:// or https://"


def test_an_mcp_tool_that_takes_feedback_is_told_why_its_output_failed_a_check(mcp_cli: Cli, home: Path) -> None:
    """notes_draft stands for a model-backed MCP tool: it declares a feedback argument,
    which the retry after a failed check fills with the reason."""
    checked = mcp_cli.write_plan("draft.json", {"goal": "Draft", "steps": [
        {"id": "d", "tool": "notes_draft", "args": {"topic": "cats"}, "checks": [{"kind": "contains",
                                                                                   "text": "revised"}]}]})
    done = mcp_cli.ok("approve", mcp_cli.ok("run", "--plan", checked)["thread_id"])
    assert done["status"] == "COMPLETED", done["error"]
    assert (done["steps"]["d"]["output"], done["steps"]["d"]["attempts"]) == ("revised draft about cats", 2)
    assert calls(home) == ["draft 'cats' feedback=''", "draft 'cats' feedback=\"contains 'revised': the output "
                                                      "does not contain 'revised'\""]
