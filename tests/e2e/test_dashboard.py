"""Operator journeys in a real browser against ``streamlit run ui/app.py``: each is done in
the browser alone (the CLI only prepares or checks). Screenshots go to the test's home."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import wait_for_tables
from tests.support.cli import Cli

WAIT_MS = 30_000


def no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def shot(page: Page, home: Path, name: str) -> None:
    page.screenshot(path=str(home / f"{name}.png"), full_page=True)


def test_an_empty_dashboard_points_to_the_new_run_page(dashboard: str, page: Page, cli: Cli) -> None:
    page.goto(dashboard)
    expect(page.get_by_text("No threads yet.")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("link", name="Start a run on the New run page").click()
    expect(page.get_by_role("heading", name="New run")).to_be_visible(timeout=WAIT_MS)
    no_exception(page)


def test_start_a_run_from_a_goal_and_approve_it_to_completed(dashboard: str, page: Page, cli: Cli) -> None:
    page.goto(f"{dashboard}/new_run")
    page.get_by_label("Goal").fill("Calculate 6*7 then summarize it")
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/thread\?thread_id=[0-9a-f]{32}$"), timeout=WAIT_MS)
    thread = page.url.rsplit("=", 1)[1]
    approve = page.get_by_role("button", name="Approve")
    expect(approve).to_be_visible(timeout=WAIT_MS)  # the run manager planned it in the background
    shot(page, cli.home, "thread-awaiting")
    approve.click()
    expect(page.get_by_text("COMPLETED", exact=True).first).to_be_visible(timeout=WAIT_MS)
    assert cli.ok("status", thread)["status"] == "COMPLETED"
    assert cli.ok("status", thread)["decisions"][-1]["action"] == "approve"
    wait_for_tables(page, 3)
    no_exception(page)
    shot(page, cli.home, "thread-completed")


def test_open_a_waiting_thread_by_link_and_by_pasting_its_id(dashboard: str, page: Page, cli: Cli) -> None:
    waiting = cli.ok("run", "Calculate 6*7 :red[alarm] **bold** $x$")["thread_id"]
    page.goto(f"{dashboard}/thread?thread_id={waiting}")
    expect(page.get_by_text("Calculate 6*7 :red[alarm] **bold** $x$", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    page.goto(dashboard)
    wait_for_tables(page, 1)
    shot(page, cli.home, "runs")
    box = page.get_by_label("Open a thread")
    box.fill(waiting)
    box.press("Enter")
    expect(page).to_have_url(re.compile(f"thread_id={waiting}$"), timeout=WAIT_MS)
    expect(page.get_by_role("heading", name=f"Thread {waiting}")).to_be_visible(timeout=WAIT_MS)
    no_exception(page)


def edit_cell(page: Page, grid_index: int, row: int, column: int, text: str) -> None:
    """Type into one cell of a data editor as an operator would. The grid draws on a canvas:
    click the first row's first cell (rows are 35 px under a 35 px header, after the 30 px
    row-marker column), arrow over, open the cell's editor with Enter and type."""
    grid = page.get_by_test_id("stDataFrame").nth(grid_index)
    expect(grid.locator("canvas").first).to_be_visible(timeout=WAIT_MS)
    grid.click(position={"x": 30 + 15, "y": 35 + 35 * row + 17})
    for _ in range(column):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    editor = page.get_by_test_id("portal").locator(".gdg-clip-region").locator("textarea, input").first
    expect(editor).to_be_visible(timeout=WAIT_MS)
    editor.fill(text)
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"^\d+ change\(s\), not sent"))).to_be_visible(timeout=WAIT_MS)


def test_an_edited_step_runs_with_the_edited_args(dashboard: str, page: Page, cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 6*7")["thread_id"]
    page.goto(f"{dashboard}/thread?thread_id={thread}")
    page.get_by_text("Edit the plan before approving").click()
    expect(page.get_by_role("button", name="Approve the edited plan")).to_be_visible(timeout=WAIT_MS)
    edit_cell(page, 0, row=0, column=2, text='{"expression": "6*9"}')
    shot(page, cli.home, "thread-editing")
    page.get_by_role("button", name="Approve the edited plan").click()
    expect(page.get_by_text("COMPLETED", exact=True).first).to_be_visible(timeout=WAIT_MS)
    done = cli.ok("status", thread)
    assert done["decisions"][-1]["action"] == "edit"
    [step] = done["steps"].values()
    assert step["args"] == {"expression": "6*9"} and step["output"] == 54
    no_exception(page)


def test_an_invalid_edit_shows_its_error_beside_the_step_and_runs_nothing(
        dashboard: str, page: Page, cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 6*7")["thread_id"]
    page.goto(f"{dashboard}/thread?thread_id={thread}")
    page.get_by_text("Edit the plan before approving").click()
    expect(page.get_by_role("button", name="Approve the edited plan")).to_be_visible(timeout=WAIT_MS)
    edit_cell(page, 0, row=0, column=2, text='{"expression": ')
    page.get_by_role("button", name="Approve the edited plan").click()
    expect(page.get_by_text("The edited plan was not sent: 1 step(s) to fix.")).to_be_visible(timeout=WAIT_MS)
    wait_for_tables(page, 2)
    shot(page, cli.home, "thread-invalid-edit")
    status = cli.ok("status", thread)
    assert status["status"] == "AWAITING_APPROVAL" and status["decisions"] == []
    no_exception(page)


def test_fork_from_history_with_an_edited_plan_and_approve_the_branch(dashboard: str, page: Page, cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 6*7")["thread_id"]
    cli.ok("approve", thread)
    history = cli.ok("history", thread)
    at_gate = next(i for i, c in enumerate(history) if c["next"] == ["human_review"])
    page.goto(f"{dashboard}/thread?thread_id={thread}")
    expect(page.get_by_role("heading", name="History")).to_be_visible(timeout=WAIT_MS)
    grid = page.get_by_test_id("stDataFrame").last
    expect(grid.locator("canvas").first).to_be_visible(timeout=WAIT_MS)
    grid.click(position={"x": 15, "y": 35 + 35 * at_gate + 17})  # the row's selection box
    expect(page.get_by_role("button", name="Fork from here")).to_be_visible(timeout=WAIT_MS)
    page.get_by_text("with an edited plan").click()
    plan = cli.ok("status", thread)["plan"]
    plan["steps"][0]["args"] = {"expression": "6*8"}
    page.get_by_label("Plan as JSON").fill(json.dumps(plan))
    shot(page, cli.home, "history-fork")
    page.get_by_role("button", name="Fork from here").click()
    approve = page.get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_visible(timeout=WAIT_MS)  # the branch went through the critic to the gate again
    approve.click()
    expect(page.get_by_text("COMPLETED", exact=True).first).to_be_visible(timeout=WAIT_MS)
    [step] = cli.ok("status", thread)["steps"].values()
    assert step["output"] == 48
    assert any(c["source"] == "update" for c in cli.ok("history", thread))
    no_exception(page)
