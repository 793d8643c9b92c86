"""Markup in goals, tool outputs and errors reaches the dashboard as text: a person sees the
characters, and nothing is drawn from them (a markdown image would make the browser fetch
from anywhere). Also the audit mark: verified, or where the trail breaks. The same page in
Chromium, where a fetch anywhere but 127.0.0.1 fails the test, is in tests/e2e."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from graph.core.schemas import Decision, Plan, Status, dump
from graph.core.nodes import HUMAN_REVIEW
from graph.operations import Operations
from tests.support.apptest import app, dashboard_ops  # noqa: F401  (dashboard_ops: the ops fixture)
from ui.dashboard.plain import plain

MARKUP = "**bold** :red[alarm] $x$ <img src=x onerror=alert(1)> ![x](http://203.0.113.9/t.png) [link](http://203.0.113.9/)"


def thread_page(thread_id: str) -> AppTest:
    return app("screens/thread.py", thread_id=thread_id)


def decisions_table(at: AppTest):
    return next(d.value for d in at.dataframe if "sealed" in d.value.columns)


def drawn_as_markdown(at: AppTest) -> list[str]:
    return [e.value for kind in (at.markdown, at.error, at.warning, at.info, at.success, at.caption) for e in kind]


def test_markup_in_goal_output_and_error_is_text(ops: Operations, home: Path) -> None:
    (home / "workspace" / "page.txt").write_text(MARKUP)
    plan = Plan.model_validate({"goal": MARKUP, "steps": [
        {"id": "read", "tool": "read_file", "args": {"path": "page.txt"}},
        {"id": "missing", "tool": "read_file", "args": {"path": MARKUP[:40]}}]})
    thread_id = ops.start(None, plan).thread_id
    view = ops.approve(thread_id)
    assert view.status == Status.FAILED and MARKUP[:40] in view.error
    at = thread_page(thread_id)
    shown = [t.value for t in at.text]
    assert MARKUP in shown, "the goal, as text"
    assert any(MARKUP in t for t in shown if t.startswith("1/2 steps succeeded")), "the output, in the report, as text"
    assert plain(view.error) in [e.value for e in at.error], "the error, escaped inside the error box"
    assert not [v for v in drawn_as_markdown(at) if "**bold**" in v and not re.fullmatch(r"(`+) .* \1", v)]


def test_the_audit_mark(ops: Operations) -> None:
    thread_id = ops.start("Calculate 6*7").thread_id
    ops.approve(thread_id)
    at = thread_page(thread_id)
    assert [e.value for e in at.success] == ["Audit trail verified: 1 decision(s), each sealed and linked to the one "
                                             "before"]
    assert decisions_table(at)["sealed"].tolist() == [True]
    assert decisions_table(at)["plan_digest"].tolist() == [ops.thread(thread_id).plan_digest]

    forged_id = ops.start("Calculate 6*7").thread_id
    forged = dump(Decision(action="approve", operator="**mallory**"))
    ops.workflow.graph.update_state({"configurable": {"thread_id": forged_id}},
                                    {"decisions": [forged], "status": Status.EXECUTING.value}, as_node=HUMAN_REVIEW)
    at = thread_page(forged_id)
    assert not at.success
    assert decisions_table(at)["sealed"].tolist() == [False]
    assert plain("Audit trail broken at decision 1: decision 1 (approve by **mallory**) is not sealed: it was not "
                 "recorded by ProLight Flow") in [e.value for e in at.error]


def test_the_approve_button_approves_only_the_plan_it_showed(ops: Operations) -> None:
    thread_id = ops.start("Calculate 6*7").thread_id
    at = thread_page(thread_id)
    shown = ops.thread(thread_id).plan_digest
    assert f"plan {shown[:19]}…" in [c.value for c in at.caption]
    assert any(f"Approving approves exactly this plan: {shown}." in c.proto.help for c in at.caption), "the whole"
    other = dump(Plan.model_validate({"goal": "Calculate 6*7", "steps": [
        {"id": "other", "tool": "calculate", "args": {"expression": "1+1"}}]}))
    ops.workflow.graph.update_state({"configurable": {"thread_id": thread_id}}, {"plan": other},
                                    as_node="request_approval")
    at.button(key="approve").click().run()
    assert not at.exception, at.exception
    assert any("the plan at the gate is not the one you were shown" in e.value for e in at.error)
    assert ops.thread(thread_id).awaiting_approval and ops.thread(thread_id).decisions == []
