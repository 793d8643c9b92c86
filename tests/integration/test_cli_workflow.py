"""The whole workflow through the real CLI in subprocesses: plan, critique, approve, edit,
reject and replan, failure and resume, time travel, and the read-only views."""

from __future__ import annotations

import pytest

from graph.operations import Operations
from tests.support.cli import Cli
from tests.support.http_server import ToolServer

pytestmark = pytest.mark.both_backends


def fetch(step_id: str, url: str, deps: list[str] | None = None) -> dict:
    return {"id": step_id, "tool": "http_request", "args": {"url": url}, "depends_on": deps or []}


def test_goal_is_planned_critiqued_and_waits_for_approval(cli: Cli, server: ToolServer) -> None:
    out = cli.ok("run", f"Fetch {server.url('page')} then summarize it. Calculate (2+3)*4")
    assert out["status"] == "AWAITING_APPROVAL"
    assert [(s["id"], s["tool"], s["depends_on"]) for s in out["plan"]["steps"]] == [
        ("fetch", "http_request", []), ("summarize", "summarize", ["fetch"]), ("calc", "calculate", [])]
    assert out["critique"]["verdict"] == "approve"
    assert server.started["/page"] == 0, "nothing runs before approval"


def test_approve_executes_every_step_once_and_completes(cli: Cli, server: ToolServer) -> None:
    thread = cli.ok("run", f"Fetch {server.url('page')} then summarize it. Calculate (2+3)*4")["thread_id"]
    done = cli.ok("approve", thread, "--operator", "alice")
    assert done["status"] == "COMPLETED"
    assert done["steps"]["calc"]["output"] == 20
    assert done["steps"]["summarize"]["output"] == "ok /page call 1"
    assert server.hits["/page"] == 1
    assert [d["action"] for d in done["decisions"]] == ["approve"]
    assert done["decisions"][0]["operator"] == "alice"
    for result in done["steps"].values():
        assert result["status"] == "SUCCEEDED" and result["attempts"] == 1
        assert result["started_at"] <= result["finished_at"]


def test_readable_approve_shows_progress(cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 6*7 then summarize it")["thread_id"]
    result = cli("approve", thread)
    assert result.code == 0, result.stderr
    assert "✓ calc succeeded" in result.stdout
    assert "COMPLETED" in result.stdout


def test_approve_with_edited_plan_runs_the_edit(cli: Cli, server: ToolServer) -> None:
    thread = cli.ok("run", f"Fetch {server.url('original')}")["thread_id"]
    edited = cli.write_plan("edit.json", {"steps": [fetch("first", server.url("edited")),
                                                    fetch("second", server.url("edited2"), ["first"])]})
    done = cli.ok("approve", thread, "--plan", edited)
    assert done["status"] == "COMPLETED"
    assert server.hits["/edited"] == 1 and server.hits["/edited2"] == 1
    assert server.started["/original"] == 0
    assert done["decisions"][0]["action"] == "edit"
    assert done["goal"] == done["plan"]["goal"], "an edit keeps the thread's goal"


def test_reject_with_feedback_replans_and_waits_again(cli: Cli, server: ToolServer) -> None:
    thread = cli.ok("run", f"Fetch {server.url('a')}")["thread_id"]
    again = cli.ok("reject", thread, "--feedback", f"fetch {server.url('b')} instead")
    assert again["status"] == "AWAITING_APPROVAL"
    assert again["plan"]["steps"][0]["args"]["url"] == server.url("b")
    assert [d["action"] for d in again["decisions"]] == ["reject"]
    done = cli.ok("approve", thread)
    assert done["status"] == "COMPLETED"
    assert server.hits["/b"] == 1 and server.started["/a"] == 0


def test_final_reject_ends_rejected_without_running(cli: Cli, server: ToolServer) -> None:
    thread = cli.ok("run", f"Fetch {server.url('a')}")["thread_id"]
    out = cli.ok("reject", thread, "--final", "--feedback", "not today")
    assert out["status"] == "REJECTED"
    assert server.started["/a"] == 0
    assert cli.ok("threads", "--status", "REJECTED")["items"][0]["thread_id"] == thread


def test_failed_step_skips_dependents_and_resume_reruns_only_what_failed(cli: Cli, server: ToolServer) -> None:
    plan = {"steps": [fetch("flaky", server.url("flaky", fail_first=3)),  # outlasts its 3 attempts
                      fetch("after", server.url("after"), ["flaky"]),
                      fetch("independent", server.url("independent"))]}
    thread = cli.ok("run", "--plan", cli.write_plan("p.json", plan))["thread_id"]
    failed = cli("approve", thread, "--json")
    assert failed.code == 1
    out = failed.json()
    assert out["status"] == "FAILED"
    assert {k: v["status"] for k, v in out["steps"].items()} == {
        "flaky": "FAILED", "after": "SKIPPED", "independent": "SUCCEEDED"}
    assert "flaky" in out["error"] and "503" in out["error"]

    resumed = cli.ok("resume", thread)
    assert resumed["status"] == "COMPLETED"
    assert server.started["/flaky"] == 4
    assert server.hits["/independent"] == 1, "a finished step never runs again"
    assert server.hits["/after"] == 1
    assert [d["action"] for d in resumed["decisions"]] == ["approve", "resume"]


def test_fork_from_approval_checkpoint_with_changed_plan(cli: Cli, server: ToolServer) -> None:
    thread = cli.ok("run", f"Fetch {server.url('v1')}")["thread_id"]
    assert cli.ok("approve", thread)["status"] == "COMPLETED"
    gate = next(h for h in cli.ok("history", thread) if h["status"] == "AWAITING_APPROVAL")
    changed = cli.write_plan("v2.json", {"steps": [fetch("v2", server.url("v2"))]})

    forked = cli.ok("fork", thread, "--checkpoint", gate["checkpoint_id"], "--plan", changed)
    assert forked["status"] == "AWAITING_APPROVAL"
    assert forked["plan"]["steps"][0]["id"] == "v2"
    assert all(s["status"] == "PENDING" and s["output"] is None for s in forked["steps"].values()), \
        "results of the old plan do not carry over"
    done = cli.ok("approve", thread)
    assert done["status"] == "COMPLETED"
    assert server.hits["/v1"] == 1 and server.hits["/v2"] == 1
    history = cli.ok("history", thread)
    assert any(h["checkpoint_id"] == gate["checkpoint_id"] for h in history), "the old branch stays in history"


def test_fork_without_plan_reopens_the_approval_gate(cli: Cli, server: ToolServer) -> None:
    thread = cli.ok("run", f"Fetch {server.url('once')}")["thread_id"]
    cli.ok("approve", thread)
    gate = next(h for h in cli.ok("history", thread) if h["status"] == "AWAITING_APPROVAL")
    forked = cli.ok("fork", thread, "--checkpoint", gate["checkpoint_id"])
    assert forked["status"] == "AWAITING_APPROVAL" and forked["awaiting_approval"]
    assert server.hits["/once"] == 1, "forking alone must not execute anything"
    assert cli.ok("approve", thread)["status"] == "COMPLETED"
    assert server.hits["/once"] == 2


def test_history_lists_checkpoints_newest_first(cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 1+1")["thread_id"]
    cli.ok("approve", thread)
    history = cli.ok("history", thread)
    assert [h["status"] for h in history][:4] == ["COMPLETED", "COMPLETED", "EXECUTING", "APPROVED"]
    assert [h["node"] for h in history][:4] == ["reporter", "executor", "human_review", "operator"]
    assert history[-1]["node"] == "input"
    steps = [h["step"] for h in history]
    assert steps == sorted(steps, reverse=True)
    assert set(history[0]) >= {"checkpoint_id", "step", "node", "status", "created_at"}


def test_status_object_has_the_documented_fields(cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 1+1")["thread_id"]
    done = cli.ok("approve", thread)
    assert set(done) >= {"thread_id", "status", "goal", "plan", "steps", "critique", "decisions", "error"}
    assert set(done["plan"]["steps"][0]) >= {"id", "tool", "args", "depends_on", "priority", "timeout_s"}
    assert set(done["steps"]["calc"]) >= {"id", "tool", "args", "depends_on", "status", "attempts", "started_at",
                                          "finished_at", "duration_s", "output", "error", "attempt_log"}
    assert cli.ok("status", thread) == done


@pytest.mark.sqlite_only  # paging on PostgreSQL: test_operations
def test_threads_lists_newest_first_with_filter_and_limit(cli: Cli) -> None:
    first = cli.ok("run", "Calculate 1+1")["thread_id"]
    second = cli.ok("run", "Calculate 2+2")["thread_id"]
    cli.ok("approve", first)
    page = cli.ok("threads")
    assert [r["thread_id"] for r in page["items"]] == [first, second] and page["total"] == 2
    assert [r["thread_id"] for r in cli.ok("threads", "--status", "AWAITING_APPROVAL")["items"]] == [second]
    one = cli.ok("threads", "--limit", "1")
    assert len(one["items"]) == 1 and one["total"] == 2
    assert [r["thread_id"] for r in cli.ok("threads", "--search", second[:6])["items"]] == [second]
    assert "Calculate 2+2" in cli("threads").stdout
    assert "1-2 of 2" in cli("threads").stdout


def test_a_unique_id_prefix_names_its_thread_and_an_ambiguous_one_lists_the_candidates(cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 6*7")["thread_id"]
    assert cli.ok("status", thread[:6])["thread_id"] == thread
    assert cli.ok("approve", thread[:6])["status"] == "COMPLETED"
    ops = Operations.open(cli.settings())  # two rows whose ids share a prefix (no checkpoint needed)
    try:
        for thread_id in ("abcd00001", "abcd00002"):
            ops.db.create_run(thread_id, "twin", "CREATED", "offline", "test")
    finally:
        ops.close()
    refused = cli("status", "abcd")
    assert refused.code == 2 and refused.stderr.splitlines() == [
        "prolight: error: 'abcd' is the start of several thread ids: abcd00001, abcd00002; give more of it"]
    assert "unknown thread 'abc'" in cli("status", "abc").stderr  # under 4 characters: never a prefix


def test_listings_show_a_multi_line_goal_on_one_line(cli: Cli) -> None:
    cli.ok("run", "Calculate 6*7\n\nthen   stop")
    listed = cli("threads").stdout.splitlines()
    assert len(listed) == 2 and listed[0].endswith("Calculate 6*7 then stop")
    inbox = cli("inbox").stdout.splitlines()
    assert len(inbox) == 1 and inbox[0].endswith("Calculate 6*7 then stop")


def test_review_a_step_whose_checks_kept_failing_from_the_cli(cli: Cli) -> None:
    plan = cli.write_plan("checked.json", {"goal": "Check a sum", "steps": [
        {"id": "c", "tool": "calculate", "args": {"expression": "2+2"}, "retry": {"max_attempts": 1},
         "checks": [{"kind": "range", "max": 3}]},
        {"id": "d", "tool": "calculate", "args": {"expression": "{{c}}*2"}, "depends_on": ["c"]}]})
    thread = cli.ok("run", "--plan", plan)["thread_id"]
    shown = cli("approve", thread)
    assert shown.code == 0, shown.stderr
    assert f"waiting for a review of c: prolight review {thread} c --accept | --retry [--args JSON] | --fail" \
        in shown.stdout
    assert "review c" in cli("inbox").stdout
    for args, error in ((("c",), "one of the arguments --accept --retry --fail is required"),
                        (("c", "--accept", "--fail"), "not allowed with argument"),
                        (("c", "--retry", "--args", "{bad"), "--args: not valid JSON: Expecting property name"),
                        (("c", "--retry", "--args", "[1]"), "--args: must be a JSON object")):
        refused = cli("review", thread, *args)
        assert refused.code == 2 and error in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    done = cli.ok("review", thread, "c", "--retry", "--args", '{"expression": "1+1"}', "--operator", "ana")
    assert done["status"] == "COMPLETED" and done["steps"]["d"]["output"] == 4
    assert (done["decisions"][-1]["action"], done["decisions"][-1]["operator"]) == ("review", "ana")
