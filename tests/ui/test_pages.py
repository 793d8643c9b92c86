"""The dashboard's pages with Streamlit's AppTest: each page script runs for real against a
real SQLite file, and the process's run manager (held by ``st.cache_resource``) executes
what the pages queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.core.schemas import Plan, Status
from graph.operations import Operations
from tests.support.fake_openai import provider_thread
from tests.support.apptest import app, dashboard_ops, settle, texts  # noqa: F401  (dashboard_ops: the ops fixture)


def test_an_empty_database_points_to_the_new_run_page(ops: Operations) -> None:
    at = app()
    assert "No threads yet." in texts(at)
    assert any("New run" in link.label for link in at.get("page_link"))


def test_runs_lists_filters_and_says_when_a_filter_matches_nothing(ops: Operations) -> None:
    waiting = ops.start("Calculate 6*7").thread_id
    done = ops.start("Calculate 2+2").thread_id
    ops.approve(done)
    at = app()
    frame = at.dataframe[0].value
    assert set(frame["thread"]) == {waiting, done} and set(frame["status"]) == {"AWAITING_APPROVAL", "COMPLETED"}
    assert "1–2 of 2" in texts(at)
    at.multiselect(key="runs_statuses").set_value(["COMPLETED"]).run()
    assert list(at.dataframe[0].value["thread"]) == [done]
    at.multiselect(key="runs_statuses").set_value([]).run()
    at.text_input(key="runs_search").set_value(waiting[:6]).run()
    assert list(at.dataframe[0].value["thread"]) == [waiting]
    at.text_input(key="runs_search").set_value("no such words").run()
    assert "No thread matches this filter (2 threads in all)." in texts(at)


def test_new_run_shows_a_bad_plan_beside_its_input_and_starts_nothing(ops: Operations) -> None:
    at = app("screens/new_run.py")
    at.text_area[1].set_value('{"steps": [{"id": "a", "tool": "calculate", "timeout_s": -1}]}')
    at.button[0].click().run()
    assert "the pasted plan is not a valid plan: step 'a' (#1) timeout_s" in texts(at)
    assert ops.threads().total == 0


def test_new_run_queues_the_goal_and_the_run_manager_plans_it(ops: Operations) -> None:
    at = app("screens/new_run.py")
    at.text_area[0].set_value("Calculate 3*3")
    at.button[0].click().run()
    assert not at.exception, at.exception
    [summary] = ops.threads().items
    assert summary.goal == "Calculate 3*3"
    settle(ops, summary.thread_id, Status.AWAITING_APPROVAL)


def test_the_thread_page_approves_and_shows_the_goal_as_text(ops: Operations) -> None:
    goal = "Calculate 6*7 :red[alarm] **bold** $x$ <b>tag</b>"
    thread = ops.start(goal).thread_id
    at = app("screens/thread.py", thread_id=thread)
    assert goal in [t.value for t in at.text], "the goal is shown as text, not markdown"
    assert at.query_params["thread_id"] == [thread] or at.query_params["thread_id"] == thread
    at.button(key="approve").click().run()
    assert not at.exception, at.exception
    settle(ops, thread, Status.COMPLETED)
    assert ops.thread(thread).decisions[-1].action == "approve"


def test_a_second_decision_is_told_who_decided(ops: Operations) -> None:
    thread = ops.start("Calculate 6*7").thread_id
    at = app("screens/thread.py", thread_id=thread)
    ops.reject(thread, "use a smaller number", operator="ana", queue=True)
    at.button(key="approve").click().run()
    assert "already decided (reject by ana" in texts(at)


def test_an_unknown_thread_id_is_a_visible_message(ops: Operations) -> None:
    at = app("screens/thread.py", thread_id="0" * 32)
    assert f"unknown thread {'0' * 32!r}" in texts(at)


def test_metrics_and_approvals_pages_show_the_runs(ops: Operations) -> None:
    ops.approve(ops.start("Calculate 5*5").thread_id)
    waiting = ops.start("Calculate 1+1").thread_id
    at = app("screens/metrics.py")
    assert [m.value for m in at.metric][:2] == ["2", "100%"]
    at = app("screens/approvals.py")
    assert list(at.dataframe[0].value["thread"]) == [waiting]


def test_the_plan_editor_without_edits_leaves_one_plain_approve(ops: Operations) -> None:
    """Edits themselves are made in Chromium (tests/e2e: an edited step runs with the edited
    args); an open editor with nothing changed approves the plan as it is."""
    thread = ops.start("Calculate 6*7").thread_id
    at = app("screens/thread.py", thread_id=thread)
    at.toggle(key=f"editing_{thread}").set_value(True).run()
    assert not at.exception, at.exception
    keys = {b.key for b in at.button}
    assert "approve" in keys and not keys & {"approve_edited", "discard_edits"}, keys
    at.button(key="approve").click().run()
    assert not at.exception, at.exception
    settle(ops, thread, Status.COMPLETED)
    assert ops.thread(thread).decisions[-1].action == "approve"


def test_a_long_output_is_cut_with_the_whole_of_it_one_click_away(ops: Operations) -> None:
    text = "word " * 1000
    thread = ops.start(plan=Plan.model_validate({"goal": "long", "steps": [
        {"id": "say", "tool": "calculate", "args": {"expression": "1"}}]})).thread_id
    ops.approve(thread)
    goal_long = ops.start("Calculate 1+1 " + text).thread_id
    at = app("screens/thread.py", thread_id=goal_long)
    assert any(t.value.endswith("…") and len(t.value) < len(text) for t in at.text), "the goal is cut"
    assert any(e.label.startswith("Show all") for e in at.expander)
    assert any(c.value.startswith("Calculate 1+1 word") for c in at.code), "and whole behind the expander"
    at = app("screens/thread.py", thread_id=thread)
    at.session_state["shown_step"] = "say"  # what a click on its row or node sets (in Chromium)
    at.run()
    assert not at.exception, at.exception
    assert any('"expression": "1"' in c.value for c in at.code)


def test_token_usage_shows_on_the_thread_page_and_per_agent_in_the_metrics(
        ops: Operations, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run on a provider model (the tests' fake OpenAI server): the tokens it reported,
    per agent, on the thread's page and in the metrics' agents table."""
    pytest.importorskip("langchain_openai")
    thread, reported = provider_thread(ops, monkeypatch)
    (plan_in, plan_out), (review_in, review_out) = reported
    at = app("screens/thread.py", thread_id=thread)
    assert (f"Tokens: critic {review_in:,} in / {review_out:,} out (1 call) · planner {plan_in:,} in / "
            f"{plan_out:,} out (1 call)") in texts(at)
    at = app("screens/metrics.py")
    agents = next(d.value for d in at.dataframe if "input_tokens" in d.value.columns).set_index("agent")
    assert agents.loc["planner", "input_tokens"] == plan_in and agents.loc["critic", "output_tokens"] == review_out
    assert "Tokens per run that called a chat model" in texts(at)


def test_a_compacted_threads_page_says_its_history_was_compacted(ops: Operations) -> None:
    thread = ops.start("Calculate 6*7").thread_id
    ops.approve(thread)
    with ops.db.cursor() as cur:  # older than the default policy's 30 days
        cur.execute("UPDATE runs SET updated_at = '2020-01-01T00:00:00+00:00' WHERE thread_id = ?", (thread,))
    assert ops.prune().compacted == [thread]
    at = app("screens/thread.py", thread_id=thread)
    assert "Compacted by the retention policy at" in texts(at)
    assert "calc: 42" in texts(at), "the report is still there"


def test_the_metrics_page_shows_the_storage_and_what_retention_does_next(
        ops: Operations, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The pages' run manager would prune the thread on its own a moment after it starts.
    (tmp_path / "prolight.toml").write_text("[retention]\nevery_minutes = 0\n")
    monkeypatch.setenv("PROLIGHT_SETTINGS", str(tmp_path / "prolight.toml"))
    thread = ops.start("Calculate 6*7").thread_id
    ops.approve(thread)
    with ops.db.cursor() as cur:  # older than the default policy's 30 days
        cur.execute("UPDATE runs SET updated_at = '2020-01-01T00:00:00+00:00' WHERE thread_id = ?", (thread,))
    at = app("screens/metrics.py")
    assert {m.label: m.value for m in at.metric}["Due now"] == "1"
    [table] = [d.value for d in at.dataframe if "due to compact" in d.value.columns]
    assert table.set_index("status").loc["COMPLETED", "due to compact"] == 1
    assert "No process applies the [retention] policy on its own (every_minutes = 0)" in texts(at)
