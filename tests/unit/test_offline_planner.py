"""The offline planner's documented rules, one example each."""

from __future__ import annotations

from agents.offline_planner import plan_offline
from agents.tools import default_registry
from graph.core.schemas import Plan


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


# The newcomer's goals (issue 19): each is planned whole, and the critic flags the plan the
# planner used to make of it. A flag is a warning: the operator looks, nothing is blocked.

def review(plan: Plan) -> list[tuple[str, str | None]]:
    from agents.critic import critique
    from graph.core.settings import Settings

    found = critique(plan, default_registry(), Settings.model_construct())  # no model: settings unread
    assert found.verdict == "approve", "flags do not send the plan back"
    assert found.risk != "high" or "write" in found.risky_steps, "nor make it risky: only write_file does here"
    return [(i.check, i.step_id) for i in found.issues if i.check in ("coverage", "order", "operation")]


def test_a_calculation_that_fails_when_it_runs_is_still_a_calculation() -> None:
    goal = "Calculate 10/0 then summarize it"
    assert shape(goal) == [("calc", "calculate", {"expression": "10/0"}, []),
                           ("summarize", "summarize", {"text": "{{calc}}"}, ["calc"])]
    assert review(plan_offline(goal, default_registry())) == []
    was = Plan.model_validate({"goal": goal, "steps": [
        {"id": "summarize", "tool": "summarize", "description": "Calculate 10/0", "args": {"text": "Calculate 10/0"}},
        {"id": "summarize_2", "tool": "summarize", "description": "summarize it", "args": {"text": "{{summarize}}"},
         "depends_on": ["summarize"]}]})
    assert ("operation", "summarize") in review(was), "described as a calculation, calls summarize"


def test_a_sentence_after_a_url_is_a_step_of_its_own() -> None:
    goal = "Fetch http://127.0.0.1:8000/a. Calculate (2+3)*4"
    assert shape(goal) == [("fetch", "http_request", {"url": "http://127.0.0.1:8000/a"}, []),
                           ("calc", "calculate", {"expression": "(2+3)*4"}, [])]
    plan = plan_offline(goal, default_registry())
    assert [(c.text, c.steps) for c in plan.coverage] == [("Fetch http://127.0.0.1:8000/a", ["fetch"]),
                                                          ("Calculate (2+3)*4", ["calc"])]
    assert review(plan) == []
    was = plan.model_copy(update={"steps": plan.steps[:1], "coverage": [
        plan.coverage[0], plan.coverage[1].model_copy(update={"steps": []})]})
    assert review(was) == [("coverage", None)], "the calculation no step serves"


def test_a_read_of_a_file_waits_for_its_write() -> None:
    for goal in ("1. Write a file notes.txt with the text 'hello'\n2. Read notes.txt",
                 "1. Write a file notes.txt with the text 'hello' 2. Read notes.txt"):
        assert shape(goal) == [("write", "write_file", {"path": "notes.txt", "content": "hello"}, []),
                               ("read", "read_file", {"path": "notes.txt"}, ["write"])], goal
        assert review(plan_offline(goal, default_registry())) == []
    was = plan_offline(goal, default_registry())
    was.steps[1].depends_on = []
    assert review(was) == [("order", "read")], "reads what a step writes, without waiting for it"


def test_a_clause_served_by_a_step_the_plan_lacks_and_a_plan_without_coverage_are_flagged() -> None:
    from agents.goal_checks import coverage_issues

    plan = plan_offline("Calculate 6*7 then summarize it", default_registry())
    renamed = plan.model_copy(update={"coverage": [plan.coverage[0].model_copy(update={"steps": ["gone"]})]})
    assert [(i.severity, i.step_id) for i in coverage_issues(renamed)] == [("warning", "gone")]
    bare = plan.model_copy(update={"coverage": []})
    assert [i.severity for i in coverage_issues(bare)] == ["info"]


def test_a_clause_that_asks_to_check_the_result_adds_a_check_to_the_step_before_it() -> None:
    def checks(goal: str) -> list[tuple[str, list[dict]]]:
        plan = plan_offline(goal, default_registry())
        assert all(clause.steps for clause in plan.coverage), "the check's clause is served by its step"
        return [(s.id, [c.model_dump(mode="json", exclude_none=True) for c in s.checks]) for s in plan.steps]

    assert checks("Calculate 6*7 then check that it is at most 40") == [("calc", [{"kind": "range", "max": 40.0}])]
    assert checks("Calculate 6*7. Make sure the result is between 100 and 1") == [
        ("calc", [{"kind": "range", "min": 1.0, "max": 100.0}])]
    assert checks("Summarize 'Paris is big.' then ensure it mentions 'Paris'. Verify the summary is not empty") == [
        ("summarize", [{"kind": "contains", "text": "Paris"}, {"kind": "not_empty"}])]
    assert checks("Check that it contains 'x'") == [("summarize", [])], "nothing before it to check: a step"
