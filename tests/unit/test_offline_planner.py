"""The offline planner's documented rules, one example each."""

from __future__ import annotations

from agents.offline_planner import plan_offline
from agents.tools import default_registry


def shape(goal: str) -> list[tuple[str, str, dict, list[str]]]:
    return [(s.id, s.tool, s.args, s.depends_on) for s in plan_offline(goal, default_registry()).steps]


def test_then_orders_steps_and_cites_the_previous_output() -> None:
    assert shape("Fetch https://example.org/a.html then summarize it, then save it to report.md") == [
        ("fetch", "http_request", {"url": "https://example.org/a.html"}, []),
        ("summarize", "summarize", {"text": "{{fetch}}"}, ["fetch"]),
        ("write", "write_file", {"path": "report.md", "content": "{{summarize}}"}, ["summarize"]),
    ]


def test_list_items_are_independent_steps_unless_they_start_with_then() -> None:
    goal = "Please:\n1. fetch http://x.org/a\n2) fetch http://x.org/b\n- then calculate (2+3)*4\n* list files"
    assert shape(goal) == [
        ("fetch", "http_request", {"url": "http://x.org/a"}, []),
        ("fetch_2", "http_request", {"url": "http://x.org/b"}, []),
        ("calc", "calculate", {"expression": "(2+3)*4"}, ["fetch_2"]),
        ("list", "list_files", {"path": "."}, []),
    ]


def test_sentences_are_independent_steps() -> None:
    assert [s[1] for s in shape("Calculate 17 * 3. Read notes.txt. Search for \"TODO\".")] == [
        "calculate", "read_file", "search_files"]


def test_quoted_text_urls_and_dots_inside_them_do_not_split() -> None:
    steps = shape('Write "Done. Then rest." to out/status.txt')
    assert steps == [("write", "write_file", {"path": "out/status.txt", "content": "Done. Then rest."}, [])]


def test_backticks_make_a_command_and_post_is_a_method() -> None:
    assert shape("Run `ls -la`")[0][1:3] == ("run_command", {"command": "ls -la"})
    assert shape("POST to http://h/api")[0][2] == {"url": "http://h/api", "method": "POST"}


def test_unmatched_text_becomes_a_summary_of_itself() -> None:
    assert shape("hello world") == [("summarize", "summarize", {"text": "hello world"}, [])]


def test_every_offline_plan_passes_the_critic() -> None:
    from agents.critic import check_plan

    registry = default_registry()
    for goal in ["Fetch http://a/b then summarize it", "1. calculate 2^10\n2. then write it to x.txt",
                 "list files then search for 'x'", "read a.md. then run `echo hi`"]:
        issues = check_plan(plan_offline(goal, registry), registry)
        assert not [i for i in issues if i.severity == "error"], (goal, issues)
