"""Operator journeys in a real browser against ``streamlit run ui/app.py``: each is done in
the browser alone (the operations API, in-process on the same database, only prepares or
checks). Screenshots go to the test's home."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.conftest import VIEWPORT, Setup, listening_addresses
from tests.support.browser import loopback_context, wait_for_tables
from tests.support.http_server import ToolServer
from tests.support.plans import fetch

WAIT_MS = 30_000


def no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shot(page: Page, home: Path, name: str) -> None:
    """Into the test's home; with PROLIGHT_DOCS_SCREENSHOTS=1 also into docs/screenshots/,
    which the README shows (refreshed by running the browser tests that way)."""
    page.screenshot(path=str(home / f"{name}.png"), full_page=True)
    if os.environ.get("PROLIGHT_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


@pytest.mark.own_dashboard  # an empty database
def test_an_empty_dashboard_points_to_the_new_run_page(dashboard: str, page: Page, setup: Setup) -> None:
    page.goto(dashboard)
    expect(page.get_by_text("No threads yet.")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("link", name="Start a run on the New run page").click()
    expect(page.get_by_role("heading", name="New run")).to_be_visible(timeout=WAIT_MS)
    no_exception(page)


@pytest.mark.own_dashboard  # both back ends
@pytest.mark.both_backends  # on PostgreSQL: the dashboard is one more process on the shared database
def test_start_a_run_from_a_goal_and_approve_it_to_completed(dashboard: str, page: Page, setup: Setup,
                                                             db_url: str) -> None:
    suffix = "-postgres" if db_url.startswith("postgresql") else ""
    page.goto(f"{dashboard}/new_run")
    page.get_by_label("Goal").fill("Calculate 6*7 then summarize it")
    shot(page, setup.home, f"new-run{suffix}")
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/thread\?thread_id=[0-9a-f]{32}$"), timeout=WAIT_MS)
    thread = page.url.rsplit("=", 1)[1]
    approve = page.get_by_role("button", name="Approve")
    expect(approve).to_be_visible(timeout=WAIT_MS)  # the run manager planned it in the background
    wait_for_tables(page, 4)  # the decision card's, the steps', the events' and the history's
    expect(page.get_by_test_id("stVegaLiteChart").locator("canvas, svg").first).to_be_visible(timeout=WAIT_MS)
    shot(page, setup.home, f"thread-awaiting{suffix}")
    approve.click()
    expect(page.get_by_text("COMPLETED", exact=True).first).to_be_visible(timeout=WAIT_MS)
    assert setup.status(thread)["status"] == "COMPLETED"
    assert setup.status(thread)["decisions"][-1]["action"] == "approve"
    wait_for_tables(page, 3)
    no_exception(page)
    shot(page, setup.home, f"thread-completed{suffix}")


def test_open_a_waiting_thread_by_link_and_by_pasting_its_id(dashboard: str, page: Page, setup: Setup) -> None:
    waiting = setup.run("Calculate 6*7 :red[alarm] **bold** $x$")
    page.goto(f"{dashboard}/thread?thread_id={waiting}")
    expect(page.get_by_text("Calculate 6*7 :red[alarm] **bold** $x$", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    page.goto(dashboard)
    wait_for_tables(page, 1)
    shot(page, setup.home, "runs")
    box = page.get_by_label("Open a thread")
    box.fill(waiting)
    box.press("Enter")
    expect(page).to_have_url(re.compile(f"thread_id={waiting}$"), timeout=WAIT_MS)
    expect(page.get_by_role("heading", name=f"Thread {waiting}")).to_be_visible(timeout=WAIT_MS)
    no_exception(page)


def plan_editor(page: Page):
    """The plan editor's grid (the decision card's table stands above it)."""
    return page.locator(".st-key-plan_editor").get_by_test_id("stDataFrame")


def click_approve(page: Page) -> None:
    """Click the one Approve button, once a page drawn again has dropped the one of its run
    before (Streamlit clears stale elements when a run ends)."""
    approve = page.get_by_role("button", name="Approve", exact=True)
    expect(approve).to_have_count(1, timeout=WAIT_MS)
    approve.click()


def until_shown(act: Callable[[], None], shown, tries: int = 3) -> None:
    """``act`` until ``shown`` is visible: a page still settling (drawn again, a row moved)
    can undo a click, and then it is made again (progress decides, not a time window)."""
    for attempt in range(tries):
        act()
        try:
            expect(shown).to_be_visible(timeout=10_000)
            return
        except AssertionError:
            if attempt == tries - 1:
                raise


def pick_history_row(page: Page, grid, ids: list[str], index: int, tries: int = 4) -> None:
    """Click row ``index``'s box in the history grid until the page shows that checkpoint
    picked. The page says which checkpoint a click took, so a click that landed on a
    neighbouring row (the grid moved between Playwright's aim and the click, seen in CI)
    is corrected by the rows it was off, not repeated blindly. Forced: a grid drawn again
    and again on a busy machine never reads as "stable" to Playwright."""
    said = page.locator("p", has_text="What changed at").locator("code")
    aim, last = index, None
    for _ in range(tries):
        grid.click(position={"x": 15, "y": 35 + 35 * aim + 17}, force=True)
        try:  # progress: the page shows a pick other than the one before this click
            expect(said).to_be_visible(timeout=10_000)
            if last is not None:
                expect(said).not_to_have_text(last, timeout=10_000)
        except AssertionError:
            continue  # the click was lost in a redraw: the same aim again
        last = said.inner_text().strip()
        if last == ids[index]:
            return
        if last in ids:
            aim += index - ids.index(last)
    raise AssertionError(f"the history grid never picked row {index} ({ids[index]}); last shown {last}")


def open_popover(page: Page, label: str, text: re.Pattern[str]) -> None:
    """Open a command's popover until ``text`` shows in it: a page drawn again (the thread
    moved on) closes it under the click."""
    body = page.get_by_test_id("stPopoverBody").get_by_text(text)
    button = page.get_by_role("button", name=label, exact=True)
    until_shown(lambda: None if body.is_visible() else button.click(), body)


def confirm(page: Page, label: str, button: str, reason: str | None = None) -> None:
    """Open a command's popover and confirm it. A page that moves on (the thread's status
    changed, so the page is drawn again) can close the popover under the click: then it is
    opened again (progress decides, not a time window)."""
    for attempt in range(3):
        if not page.get_by_role("button", name=button).is_visible():
            page.get_by_role("button", name=label, exact=True).click()
        try:
            if reason is not None:
                page.get_by_label("Reason (optional)").fill(reason, timeout=10_000)
            page.get_by_role("button", name=button).click(timeout=10_000)
            return
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise


def edit_cell(page: Page, row: int, column: int, text: str) -> None:
    """Type into one cell of a data editor as an operator would. The grid draws on a canvas:
    click the first row's first cell (rows are 35 px under a 35 px header, after the 30 px
    row-marker column), arrow over, open the cell's editor with Enter and type. The edit
    counts once the panel's caption counts it; a grid drawn again by a script run that was
    still finishing can drop a keystroke, so a try whose edit never counted is made again
    (progress, not a time window, decides)."""
    grid = plan_editor(page)
    counted = page.get_by_text(re.compile(r"^\d+ edits? not sent yet"))
    for attempt in range(3):
        expect(grid).to_have_count(1, timeout=WAIT_MS)  # a run drawing it again keeps the old one for a moment
        expect(grid.locator("canvas").first).to_be_visible(timeout=WAIT_MS)
        try:
            grid.click(position={"x": 30 + 15, "y": 35 + 35 * row + 17}, timeout=10_000)
        except PlaywrightTimeoutError:
            continue
        except Exception as exc:  # the old grid came back between the count and the click
            if "strict mode violation" not in str(exc) or attempt == 2:
                raise
            continue
        for _ in range(column):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")
        editor = page.get_by_test_id("portal").locator(".gdg-clip-region").locator("textarea, input").first
        try:
            expect(editor).to_be_visible(timeout=10_000)
            editor.fill(text, timeout=10_000)
            page.keyboard.press("Enter")
            expect(counted).to_be_visible(timeout=10_000)
            return
        except (AssertionError, PlaywrightTimeoutError):  # the grid was drawn again under the keystrokes
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


def test_an_edited_step_runs_with_the_edited_args(dashboard: str, page: Page, setup: Setup) -> None:
    """One decision, exactly the plan on screen: with an edit pending there is no plain
    Approve; a discard brings it back with the table as it was; the edit approved runs."""
    thread = setup.run("Calculate 6*7")
    page.goto(f"{dashboard}/thread?thread_id={thread}")
    page.get_by_text("Edit the plan before approving").click()
    expect(plan_editor(page).locator("canvas").first).to_be_visible(timeout=WAIT_MS)
    edit_cell(page, row=0, column=2, text='{"expression": "6*900"}')
    expect(page.get_by_role("button", name="Approve with 1 edit", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Discard 1 edit", exact=True).click()
    expect(page.get_by_role("button", name="Approve", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Approve with 1 edit", exact=True)).to_have_count(0)
    page.get_by_text("Edit the plan before approving").click()
    edit_cell(page, row=0, column=2, text='{"expression": "6*9"}')
    approve = page.get_by_role("button", name="Approve with 1 edit", exact=True)
    expect(approve).to_be_visible(timeout=WAIT_MS)
    shot(page, setup.home, "thread-editing")
    approve.click()
    expect(page.get_by_text("COMPLETED", exact=True).first).to_be_visible(timeout=WAIT_MS)
    done = setup.status(thread)
    assert [d["action"] for d in done["decisions"]] == ["edit"]
    [step] = done["steps"].values()
    assert step["args"] == {"expression": "6*9"} and step["output"] == 54
    no_exception(page)


def test_the_decision_card_stands_beside_the_buttons_and_a_click_shows_a_step_whole(
        dashboard: str, page: Page, setup: Setup) -> None:
    """Item 2 of the trustworthy gate: the steps with tool, args and dependencies, the risk
    as a badge naming the risky step and why, the estimate and the critic beside Approve;
    the digest in small print; a click on a row or on a node of the graph shows that step."""
    thread = setup.run(plan={"goal": "Write the product down, then read it back", "steps": [
        {"id": "calc", "tool": "calculate", "args": {"expression": "6*7"}},
        {"id": "write", "tool": "write_file", "args": {"path": "notes.txt", "content": "{{calc}}"},
         "depends_on": ["calc"]},
        {"id": "read", "tool": "read_file", "args": {"path": "notes.txt"}, "depends_on": ["write"]}]})
    page.goto(f"{dashboard}/thread?thread_id={thread}")
    card = page.locator(".st-key-decision_card")
    expect(card.get_by_text("risk high", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(card.get_by_text("write: step 'write' uses risky tool 'write_file'")).to_be_visible()
    expect(card.get_by_text(re.compile(r"^Estimated \d+\.\d s on the critical path"))).to_be_visible()
    expect(card.get_by_text("Critic: approve, 2 issues", exact=True)).to_be_visible()  # risky; no coverage given
    approve = page.get_by_role("button", name="Approve", exact=True)
    card_box, approve_box = card.bounding_box(), approve.bounding_box()
    assert approve_box["x"] > card_box["x"] + card_box["width"] and approve_box["y"] < card_box["y"] + 100, \
        "the buttons stand beside the card, at its top"
    expect(page.get_by_text(re.compile(r"^plan sha256:[0-9a-f]{12}…"))).to_be_visible()
    wait_for_tables(page, 5)  # the card's steps and issues, the live steps, the events, the history
    graph = page.get_by_test_id("stVegaLiteChart").first
    expect(graph.locator("svg").first).to_be_visible(timeout=WAIT_MS)
    shot(page, setup.home, "thread-decision-card")

    steps = page.locator(".st-key-steps_table").get_by_test_id("stDataFrame")
    steps.click(position={"x": 15, "y": 35 + 35 * 2 + 17})  # the third row's selection box: read
    detail = page.locator(".st-key-step_detail")
    expect(detail.get_by_text("read_file · PENDING · after write · 0 attempt(s)")).to_be_visible(timeout=WAIT_MS)
    detail.get_by_role("button", name="Close").click()
    expect(detail).to_have_count(0, timeout=WAIT_MS)
    graph.locator('[aria-label="step calc: calculate, PENDING"]').click()
    expect(detail.get_by_text("calculate · PENDING · 0 attempt(s)")).to_be_visible(timeout=WAIT_MS)
    expect(detail.get_by_text('"expression": "6*7"')).to_be_visible()
    no_exception(page)


def cell(page: Page, table_key: str, text: str):
    """A cell of a keyed dataframe, found in the grid's accessible table (its cells are
    painted on a canvas)."""
    return page.locator(f".st-key-{table_key} table td").filter(has_text=re.compile(f"^{re.escape(text)}$"))


def test_the_gate_shows_which_steps_serve_each_clause_and_flags_what_misses_the_goal(
        dashboard: str, page: Page, setup: Setup) -> None:
    """Item 3: a newcomer's goal typed in the browser is planned whole (the read waits for
    the write) and its coverage shown; a plan that misses the goal is flagged at the gate."""
    page.goto(f"{dashboard}/new_run")
    page.get_by_label("Goal").fill("1. Write a file notes.txt with the text 'hello' 2. Read notes.txt")
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/thread\?thread_id=[0-9a-f]{32}$"), timeout=WAIT_MS)
    thread = page.url.rsplit("=", 1)[1]
    expect(cell(page, "card_coverage", "Write a file notes.txt with the text 'hello'")).to_have_count(1, timeout=WAIT_MS)
    expect(cell(page, "card_coverage", "Read notes.txt")).to_have_count(1)
    expect(cell(page, "card_steps", "write")).to_have_count(2)  # the write step, and the read's "after"
    click_approve(page)
    expect(page.get_by_text("COMPLETED", exact=True).first).to_be_visible(timeout=WAIT_MS)
    assert setup.status(thread)["steps"]["read"]["output"] == "hello"

    flawed = setup.run(plan={
        "goal": "Calculate 10/0. Write notes.txt. Read notes.txt. Calculate (2+3)*4", "steps": [
            {"id": "summarize", "tool": "summarize", "description": "Calculate 10/0", "args": {"text": "10/0"}},
            {"id": "write", "tool": "write_file", "args": {"path": "notes.txt", "content": "x"}},
            {"id": "read", "tool": "read_file", "args": {"path": "notes.txt"}}],
        "coverage": [{"text": "Calculate 10/0", "steps": ["summarize"]}, {"text": "Write notes.txt", "steps": ["write"]},
                     {"text": "Read notes.txt", "steps": ["read"]}, {"text": "Calculate (2+3)*4", "steps": []}]})
    page.goto(f"{dashboard}/thread?thread_id={flawed}")
    expect(cell(page, "card_coverage", "no step")).to_have_count(1, timeout=WAIT_MS)
    expect(cell(page, "card_issues", "no step serves 'Calculate (2+3)*4'")).to_have_count(1)
    expect(cell(page, "card_issues", "step 'read' uses notes.txt, which step 'write' writes, but does not wait "
                                     "for it (add 'write' to its depends_on)")).to_have_count(1)
    expect(cell(page, "card_issues", "step 'summarize' is described as 'Calculate 10/0', which names calculate, "
                                     "but it calls summarize")).to_have_count(1)
    expect(page.locator(".st-key-decision_card").get_by_text("Critic: approve, 4 issues", exact=True)).to_be_visible()
    wait_for_tables(page, 6)  # the card's steps, coverage and issues; the live steps, events, history
    shot(page, setup.home, "thread-coverage-flags")
    no_exception(page)


def test_an_invalid_edit_shows_its_error_beside_the_step_and_runs_nothing(
        dashboard: str, page: Page, setup: Setup) -> None:
    thread = setup.run("Calculate 6*7")
    page.goto(f"{dashboard}/thread?thread_id={thread}")
    page.get_by_text("Edit the plan before approving").click()
    expect(plan_editor(page).locator("canvas").first).to_be_visible(timeout=WAIT_MS)
    edit_cell(page, row=0, column=2, text='{"expression": ')
    page.get_by_role("button", name="Approve with 1 edit", exact=True).click()
    expect(page.get_by_text("The edited plan was not sent: 1 step(s) to fix.")).to_be_visible(timeout=WAIT_MS)
    wait_for_tables(page, 2)
    shot(page, setup.home, "thread-invalid-edit")
    status = setup.status(thread)
    assert status["status"] == "AWAITING_APPROVAL" and status["decisions"] == []
    no_exception(page)


def test_fork_from_history_with_an_edited_plan_and_approve_the_branch(dashboard: str, page: Page, setup: Setup) -> None:
    thread = setup.run("Calculate 6*7")
    setup.approve(thread)
    history = setup.history(thread)
    at_gate = next(i for i, c in enumerate(history) if c["next"] == ["human_review"])
    page.goto(f"{dashboard}/thread?thread_id={thread}")
    expect(page.get_by_role("heading", name="History")).to_be_visible(timeout=WAIT_MS)
    # The history grid by its key: ".last" re-resolves at every use, and once a row is picked
    # the last grid is "What changed", so a second click went there (the CI failure).
    grid = page.locator("[class*='st-key-history_table_'] [data-testid='stDataFrame']")
    expect(grid.locator("canvas").first).to_be_visible(timeout=WAIT_MS)
    # Steps, decisions, events, history and the Gantt chart have drawn, so nothing above the
    # history grows between the click's aim and the click (seen once on a busy machine).
    wait_for_tables(page, 4)
    expect(page.get_by_test_id("stVegaLiteChart").locator("canvas, svg").first).to_be_visible(timeout=WAIT_MS)
    pick_history_row(page, grid, [c["checkpoint_id"] for c in history], at_gate)
    expect(page.get_by_role("button", name="Fork from here")).to_be_visible(timeout=WAIT_MS)
    page.get_by_text("with an edited plan").click()
    plan = setup.status(thread)["plan"]
    plan["steps"][0]["args"] = {"expression": "6*8"}
    page.get_by_label("Plan as JSON").fill(json.dumps(plan))
    shot(page, setup.home, "history-fork")
    fork = page.get_by_role("button", name="Fork from here")
    approve = page.get_by_role("button", name="Approve", exact=True)
    # A redraw can swallow the click (seen under load): click again while the form is still
    # there; once the fork is made the pick clears and the button goes, so it is made once.
    until_shown(lambda: fork.click() if fork.is_visible() else None, approve)
    expect(approve).to_be_visible(timeout=WAIT_MS)  # the branch went through the critic to the gate again
    # Item 5: the branch it left is still there, and the pick ended with the fork.
    branches = page.locator(".st-key-branches")
    expect(branches.get_by_text(re.compile(r"branch 1: ended COMPLETED"))).to_be_visible(timeout=WAIT_MS)
    expect(branches.get_by_text(re.compile(
        rf"branch 2 \(current\), forked from checkpoint {history[at_gate]['checkpoint_id']} by operator at "))).to_be_visible()
    expect(page.get_by_role("button", name="Fork from here")).to_have_count(0, timeout=WAIT_MS)  # a redraw clears it
    approve.click()
    expect(page.get_by_text("COMPLETED", exact=True).first).to_be_visible(timeout=WAIT_MS)
    [step] = setup.status(thread)["steps"].values()
    assert step["output"] == 48
    assert any(c["source"] == "update" for c in setup.history(thread))
    expect(branches.get_by_text(re.compile(r"branch 2 \(current\).*: ended COMPLETED"))).to_be_visible(timeout=WAIT_MS)
    option = page.get_by_role("option", name="branch 1")

    def pick() -> None:  # a redraw (the run just ended) can close the list under the click: open it again
        try:
            if not option.is_visible():
                branches.get_by_label("View another branch").click()
            option.click(timeout=10_000)
        except PlaywrightTimeoutError:
            pass

    until_shown(pick, branches.get_by_text("1/1 steps succeeded\ncalc: 42"))
    wait_for_tables(page, 4)
    shot(page, setup.home, "thread-branches")
    no_exception(page)


def test_with_no_accounts_the_dashboard_listens_on_loopback_only(dashboard: str) -> None:
    port = int(dashboard.rsplit(":", 1)[1])
    assert listening_addresses(port) == {"127.0.0.1"}


def thread_page(page: Page, dashboard: str, thread: str) -> None:
    page.goto(f"{dashboard}/thread?thread_id={thread}")
    expect(page.get_by_role("heading", name=f"Thread {thread}")).to_be_visible(timeout=WAIT_MS)


def badge(page: Page, status: str):
    return page.get_by_text(status, exact=True).first


def test_reject_with_feedback_and_approve_the_revised_plan(dashboard: str, page: Page, setup: Setup,
                                                           server: ToolServer) -> None:
    thread = setup.run(f"Fetch {server.url('a')}")
    thread_page(page, dashboard, thread)
    approve = page.get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_visible(timeout=WAIT_MS)  # the panel draws after the heading
    page.get_by_label("Feedback for the planner").fill(f"fetch {server.url('b')} instead")
    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_text("Last decision: reject by operator")).to_be_visible(timeout=WAIT_MS)
    revised = setup.wait(thread, "AWAITING_APPROVAL")  # the planner revised it and it waits again
    assert revised["plan"]["steps"][0]["args"]["url"] == server.url("b")
    expect(page.get_by_text(f"plan {revised['plan_digest'][:19]}…")).to_be_visible(timeout=WAIT_MS)  # drawn
    expect(approve).to_have_count(1, timeout=WAIT_MS)  # the run before's button is gone
    expect(approve).to_be_visible(timeout=WAIT_MS)
    approve.click()
    expect(badge(page, "COMPLETED")).to_be_visible(timeout=WAIT_MS)
    assert server.hits["/b"] == 1 and server.started["/a"] == 0
    no_exception(page)


def test_a_revision_is_read_against_the_rejected_plan_and_the_first_one_brought_back(
        dashboard: str, page: Page, setup: Setup) -> None:
    """Item 4: each version kept, a diff between two, an earlier one brought back as a new
    version (a sealed decision), and the decisions naming the version each was made on."""
    thread = setup.run("Calculate 6*7")
    thread_page(page, dashboard, thread)
    page.get_by_label("Feedback for the planner").fill("Calculate 6*8")
    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_text("Last decision: reject by operator")).to_be_visible(timeout=WAIT_MS)
    revised = setup.wait(thread, "AWAITING_APPROVAL")
    expect(page.get_by_text(f"plan {revised['plan_digest'][:19]}…")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Plan versions (2)")).to_be_visible()
    expect(cell(page, "plan_diff", "args.expression")).to_have_count(1)
    expect(cell(page, "plan_diff", "6*8")).to_have_count(1)
    wait_for_tables(page, 7)
    shot(page, setup.home, "thread-plan-diff")
    page.get_by_role("button", name="Bring back version 1").click()
    expect(page.get_by_text("Plan versions (3)")).to_be_visible(timeout=WAIT_MS)
    back = setup.wait(thread, "AWAITING_APPROVAL")
    assert back["plan_versions"][-1]["source"] == "restore" and back["plan_versions"][-1]["restored_from"] == 1
    expect(page.get_by_text(f"plan {back['plan_digest'][:19]}…")).to_be_visible(timeout=WAIT_MS)
    click_approve(page)
    expect(badge(page, "COMPLETED")).to_be_visible(timeout=WAIT_MS)
    done = setup.status(thread)
    assert done["steps"]["calc"]["output"] == 42, "version 1's plan ran"
    assert [(d["action"], d["plan_version"]) for d in done["decisions"]] == [
        ("reject", 1), ("restore", 2), ("approve", 3)]
    no_exception(page)


def test_reject_for_good(dashboard: str, page: Page, setup: Setup, server: ToolServer) -> None:
    thread = setup.run(f"Fetch {server.url('a')}")
    thread_page(page, dashboard, thread)
    page.get_by_text("Reject for good (no revision)").click()
    page.get_by_role("button", name="Reject").click()
    expect(badge(page, "REJECTED")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Last decision: reject (final) by operator")).to_be_visible()
    assert setup.status(thread)["status"] == "REJECTED" and server.started["/a"] == 0


def test_cancel_a_running_thread(dashboard: str, page: Page, setup: Setup, server: ToolServer) -> None:
    plan = {"steps": [fetch(server, "slow", hold="gate"), fetch(server, "after", ["slow"])]}
    thread = setup.run(plan=plan)
    thread_page(page, dashboard, thread)  # the dashboard's run manager starts with its first page
    setup.approve(thread, detach=True)  # and executes what is queued
    server.wait_started("/slow")
    expect(badge(page, "EXECUTING")).to_be_visible(timeout=WAIT_MS)
    open_popover(page, "Cancel", re.compile(r"^Stop this thread: no new step starts"))  # stops nothing
    assert setup.status(thread)["status"] == "EXECUTING"
    confirm(page, "Cancel", "Cancel this thread", reason="the slow host hangs")
    expect(badge(page, "CANCELLED")).to_be_visible(timeout=WAIT_MS)  # after the running step's grace
    server.release("gate")
    assert server.started["/after"] == 0
    done = setup.status(thread)
    assert done["steps"]["slow"]["status"] == "CANCELLED" and done["steps"]["after"]["status"] == "SKIPPED"
    assert [(d["action"], d["operator"], d["reason"]) for d in done["decisions"]][-1] == (
        "cancel", "operator", "the slow host hangs")
    expect(page.get_by_text("Last decision: cancel by operator", exact=False)).to_be_visible(timeout=WAIT_MS)
    wait_for_tables(page, 4)
    shot(page, setup.home, "thread-cancelled")
    no_exception(page)


@pytest.mark.own_dashboard  # fails steps on purpose
def test_resume_a_failed_thread_once_its_cause_is_fixed_and_retry_failed_steps(
        dashboard: str, page: Page, setup: Setup, server: ToolServer) -> None:
    for action, label in (("resume", "Resume"), ("retry", "Retry failed steps")):
        plan = {"steps": [fetch(server, f"{action}-flaky", fail_first=3), fetch(server, f"{action}-after",
                                                                               [f"{action}-flaky"])]}
        thread = setup.run(plan=plan)
        assert setup.approve(thread)["status"] == "FAILED"  # 3 attempts, 3 failures; the 4th call works
        thread_page(page, dashboard, thread)
        confirm(page, label, {"resume": "Resume this thread", "retry": "Retry the failed steps"}[action])
        expect(badge(page, "COMPLETED")).to_be_visible(timeout=WAIT_MS)
        assert server.hits[f"/{action}-after"] == 1
        assert setup.status(thread)["decisions"][-1]["action"] == action
    no_exception(page)


@pytest.mark.own_dashboard  # opens a breaker on purpose
def test_a_breaker_refusal_reads_as_not_attempted_and_a_retry_keeps_every_attempt(
        dashboard: str, page: Page, setup: Setup, server: ToolServer) -> None:
    """Item 7. Run here one step at a time: "bad" fails twice, which opens its host's
    breaker (threshold 2), so its third try and all of "other" are refused. The dashboard's
    own process has no open breaker, so its Retry runs both. Then a step in a long back-off
    says when it tries next."""
    from graph.core.breaker import BOARD
    from graph.core.schemas import Plan
    from tests.support.ops import JsonOps
    from tests.support.settings import home_settings

    ops = JsonOps(home_settings(setup.home, os.environ.get("PROLIGHT_DB"), step_concurrency=1))
    BOARD.configure(ops.settings.breaker.model_copy(update={"failure_threshold": 2, "cooldown_s": 3600}), {})
    plan = Plan.model_validate({"goal": "Fetch two pages from one host",
                                "steps": [fetch(server, "bad", fail_first=2), fetch(server, "other")]})
    thread = ops.start(plan=plan)["thread_id"]
    assert ops.approve(thread)["status"] == "FAILED"
    thread_page(page, dashboard, thread)
    expect(page.get_by_text(re.compile(r"^1 step\(s\) failed \(bad\); 1 not attempted, breaker open \(other\)"))
           ).to_be_visible(timeout=WAIT_MS)
    expect(cell(page, "steps_table", "NOT_ATTEMPTED")).to_have_count(1, timeout=WAIT_MS)
    wait_for_tables(page, 4)
    page.get_by_test_id("stVegaLiteChart").first.locator('[aria-label="step other: http_request, NOT_ATTEMPTED"]'
                                                          ).click()
    detail = page.locator(".st-key-step_detail")
    expect(detail.get_by_text("http_request · NOT_ATTEMPTED · 0 attempt(s)")).to_be_visible(timeout=WAIT_MS)
    expect(detail.get_by_text(re.compile(r'"url": "http://127\.0\.0\.1:\d+/other"'))).to_be_visible()
    expect(detail.get_by_text(re.compile(r"^not attempted: breaker for http:127\.0\.0\.1 open since \d\d:\d\d:\d\d "
                                         r"UTC \(opened by step bad\); next trial at \d\d:\d\d:\d\d UTC$"))
           ).to_be_visible()
    shot(page, setup.home, "thread-breaker-refusal")

    confirm(page, "Retry failed steps", "Retry the failed steps")
    expect(badge(page, "COMPLETED")).to_be_visible(timeout=WAIT_MS)
    expect(cell(page, "failed_attempts", "circuit_open")).to_have_count(2, timeout=WAIT_MS)  # bad's 3rd, other's 1st
    expect(cell(page, "failed_attempts", "http_5xx")).to_have_count(2)
    assert [(a["attempt"], a["category"]) for a in setup.status(thread)["steps"]["bad"]["attempt_log"]] == [
        (1, "http_5xx"), (2, "http_5xx"), (3, "circuit_open"), (4, None)], "the first run's attempts are kept"

    slow = fetch(server, "backoff", fail_first=1, timeout_s=3600)
    slow["retry"] = {"max_attempts": 2, "initial_delay_s": 600, "max_delay_s": 600, "jitter": False}
    waiting = setup.run(plan={"goal": "Fetch a page that fails once", "steps": [slow]})
    setup.approve(waiting, detach=True)  # the dashboard's run manager executes it
    thread_page(page, dashboard, waiting)
    expect(cell(page, "steps_table", "RUNNING")).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator(".st-key-steps_table table td").filter(has_text=re.compile(r"^attempt 2 at \d\d:\d\d:\d\d"))
           ).to_have_count(1, timeout=WAIT_MS)
    expect(cell(page, "failed_attempts", "http_5xx")).to_have_count(1, timeout=WAIT_MS)
    shot(page, setup.home, "thread-backoff")
    ops.cancel(waiting)  # ten minutes of back-off are not worth waiting for
    expect(badge(page, "CANCELLED")).to_be_visible(timeout=WAIT_MS)
    no_exception(page)


def test_refresh_mid_run_and_watch_it_finish(dashboard: str, page: Page, setup: Setup, server: ToolServer) -> None:
    plan = {"steps": [fetch(server, "first"), fetch(server, "slow", ["first"], hold="gate")]}
    thread = setup.run(plan=plan)
    thread_page(page, dashboard, thread)
    setup.approve(thread, detach=True)
    server.wait_started("/slow")
    expect(badge(page, "EXECUTING")).to_be_visible(timeout=WAIT_MS)
    page.reload()
    expect(page.get_by_role("heading", name=f"Thread {thread}")).to_be_visible(timeout=WAIT_MS)
    expect(badge(page, "EXECUTING")).to_be_visible(timeout=WAIT_MS)
    server.release("gate")
    expect(badge(page, "COMPLETED")).to_be_visible(timeout=WAIT_MS)  # no reload: the page follows it
    no_exception(page)


def test_two_browsers_approve_at_once_and_the_step_runs_once(dashboard: str, page: Page, setup: Setup,
                                                            server: ToolServer) -> None:
    thread = setup.run(f"Fetch {server.url('once')}")
    other_context, offsite = loopback_context(page.context.browser, viewport=VIEWPORT)
    other = other_context.new_page()
    for browser_page, name in ((page, "ana"), (other, "bo")):
        browser_page.goto(f"{dashboard}/thread?thread_id={thread}")
        browser_page.get_by_role("textbox", name="Your name").fill(name)
        browser_page.get_by_role("textbox", name="Your name").press("Enter")
        expect(browser_page.get_by_role("button", name="Approve", exact=True)).to_be_visible(timeout=WAIT_MS)
    # Both clicks as bare DOM events, one right after the other: a click that first waits for
    # its button to be stable let the other page redraw past the gate on a busy machine, and
    # its Approve was gone. If bo's page has moved on all the same, it shows ana's decision,
    # which is what a loser must be told (asserted below); the step still runs once.
    page.get_by_role("button", name="Approve", exact=True).dispatch_event("click")
    try:
        other.get_by_role("button", name="Approve", exact=True).dispatch_event("click", timeout=5_000)
    except PlaywrightTimeoutError:
        pass
    expect(badge(page, "COMPLETED")).to_be_visible(timeout=WAIT_MS)
    decided = setup.status(thread)["decisions"]
    assert len(decided) == 1 and server.hits["/once"] == 1
    winner, loser = (page, other) if decided[0]["operator"] == "ana" else (other, page)
    who = decided[0]["operator"]
    told = re.compile(re.escape(f"already decided (approve by {who} at") + "|" + re.escape(f"Last decision: approve by {who} at"))
    expect(loser.get_by_text(told).first).to_be_visible(timeout=WAIT_MS)
    shot(loser, setup.home, "two-browsers-loser")
    no_exception(winner)
    no_exception(loser)
    other_context.close()
    assert not offsite, f"the page asked for a host other than 127.0.0.1, or crashed: {offsite}"


@pytest.mark.own_dashboard  # counts every run
def test_the_metrics_page_shows_the_runs_just_made(dashboard: str, page: Page, setup: Setup) -> None:
    setup.approve(setup.run("Calculate 6*7"))
    setup.run("Calculate 2+2")
    page.goto(f"{dashboard}/metrics")
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("2", timeout=WAIT_MS)
    expect(page.get_by_text("Runs by status, per hour created")).to_be_visible()
    wait_for_tables(page, 4)  # tools, agents, transitions, retention
    shot(page, setup.home, "metrics")
    storage = page.get_by_role("heading", name="Storage and retention")
    storage.scroll_into_view_if_needed()
    expect(page.get_by_text(re.compile("applies the \\[retention\\] policy of the settings every 60 minutes"))
           ).to_be_visible(timeout=WAIT_MS)
    shot(page, setup.home, "metrics-storage")
    no_exception(page)


def test_a_provider_runs_token_usage_shows_on_its_page(dashboard: str, page: Page, setup: Setup,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread planned and reviewed by a provider model (the tests' fake OpenAI server on
    127.0.0.1) shows the tokens the provider reported, per agent, under its status."""
    pytest.importorskip("langchain_openai")
    from tests.support.fake_openai import provider_thread

    thread, reported = provider_thread(setup.ops.api, monkeypatch, approve=True)
    (plan_in, plan_out), (review_in, review_out) = reported
    thread_page(page, dashboard, thread)
    expect(page.get_by_text(f"Tokens: critic {review_in:,} in / {review_out:,} out (1 call) · planner "
                            f"{plan_in:,} in / {plan_out:,} out (1 call)")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("model openai:gpt-test", exact=False)).to_be_visible()
    wait_for_tables(page, 3)  # steps, decisions, events
    shot(page, setup.home, "thread-tokens")
    no_exception(page)


def test_the_thread_page_downloads_the_audit_export(dashboard: str, page: Page, setup: Setup) -> None:
    """The same document as `prolight export`, from the browser: it holds the sealed
    decisions, and they verify."""
    thread = setup.run("Calculate 6*7")
    setup.approve(thread)
    thread_page(page, dashboard, thread)
    page.get_by_text("Prepare the audit export").click()
    button = page.get_by_role("button", name="Download the audit export (JSON)")
    expect(button).to_be_visible(timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as download:
        button.click()
    assert download.value.suggested_filename == f"prolight-{thread}.json"
    document = json.loads(Path(download.value.path()).read_text())
    assert document["thread_id"] == thread and document["status"] == "COMPLETED"
    assert [d["action"] for d in document["decisions"]] == ["approve"] and document["decisions"][0]["seal"]
    assert document["audit"]["verified"] and document["events"]
    no_exception(page)


@pytest.mark.own_dashboard  # the tables' order
def test_the_inbox_and_the_runs_table_open_a_thread_with_one_click(dashboard: str, page: Page, setup: Setup) -> None:
    oldest = setup.run("Calculate 1+1")
    newest = setup.run("Calculate 2+2")
    page.goto(f"{dashboard}/approvals")
    wait_for_tables(page, 1)
    shot(page, setup.home, "approvals")
    page.get_by_test_id("stDataFrame").first.click(position={"x": 15, "y": 35 + 17})  # the oldest row's box
    expect(page).to_have_url(re.compile(f"thread_id={oldest}$"), timeout=WAIT_MS)
    page.goto(dashboard)
    wait_for_tables(page, 1)
    page.get_by_test_id("stDataFrame").first.click(position={"x": 30 + 100, "y": 35 + 17})  # newest first: its id
    expect(page).to_have_url(re.compile(f"thread_id={newest}$"), timeout=WAIT_MS)
    no_exception(page)


@pytest.mark.own_dashboard  # fails a step on purpose
def test_markup_from_goals_and_tools_is_shown_as_text(dashboard: str, page: Page, setup: Setup) -> None:
    """A hostile goal, tool output and step error: the characters are on the page, nothing
    is drawn from them, and no request leaves 127.0.0.1 (the page fixture fails the test on
    any). The thread's audit mark is shown beside its status."""
    markup = "**bold** <img src=http://203.0.113.9/i.png> ![x](http://203.0.113.9/t.png)"
    (setup.home / "workspace" / "page.txt").write_text(markup)
    thread = setup.run(plan={"goal": markup, "steps": [
        {"id": "read", "tool": "read_file", "args": {"path": "page.txt"}},
        {"id": "missing", "tool": "read_file", "args": {"path": "![y](http://203.0.113.9/e.png)"}}]})
    assert setup.approve(thread)["status"] == "FAILED"
    thread_page(page, dashboard, thread)
    expect(page.get_by_text("Audit trail verified: 1 decision(s)")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text(markup, exact=True).first).to_be_visible()
    expect(page.get_by_text("no file '![y](http://203.0.113.9/e.png)' in the workspace")).to_be_visible()
    links = page.locator("a[href*='203.0.113.9']")
    assert page.locator("img[src*='203.0.113.9']").count() == 0 and links.count() == 0, [
        links.nth(i).evaluate("a => a.parentElement.outerHTML") for i in range(links.count())]
    wait_for_tables(page, 3)
    no_exception(page)
    shot(page, setup.home, "thread-markup-as-text")


@pytest.mark.own_dashboard  # the inbox must list only this thread
def test_a_step_awaiting_review_is_found_in_the_inbox_and_sent_back_with_edited_args(
        dashboard: str, page: Page, setup: Setup) -> None:
    """Issue 20: c's output (4) fails its range check; d waits on it, i runs. The reviewer
    finds it in the inbox, reads the output and the failed check, edits the args and sends
    it back; the reviewed args run and the decision is sealed."""
    thread = setup.run(plan={"goal": "Check a sum", "steps": [
        {"id": "c", "tool": "calculate", "args": {"expression": "2+2"}, "retry": {"max_attempts": 2},
         "checks": [{"kind": "range", "max": 3}]},
        {"id": "d", "tool": "calculate", "args": {"expression": "{{c}}*2"}, "depends_on": ["c"]},
        {"id": "i", "tool": "calculate", "args": {"expression": "1+1"}}]})
    assert setup.approve(thread)["status"] == "AWAITING_REVIEW"
    page.goto(f"{dashboard}/approvals")
    expect(cell(page, "approvals_table", "review of c")).to_have_count(1, timeout=WAIT_MS)
    page.get_by_test_id("stDataFrame").first.click(position={"x": 15, "y": 35 + 17})
    expect(page).to_have_url(re.compile(f"thread_id={thread}$"), timeout=WAIT_MS)
    panel = page.locator(".st-key-review_c")
    expect(panel.get_by_text("checks failed after 2 attempt(s): range ..3: 4 is out of range")).to_be_visible(
        timeout=WAIT_MS)
    expect(panel.get_by_text("calculate · 2 attempt(s) · checks: range ..3")).to_be_visible()
    expect(cell(page, "steps_table", "NEEDS_REVIEW")).to_have_count(1, timeout=WAIT_MS)
    expect(cell(page, "steps_table", "waits for the review of 'c'")).to_have_count(1)
    wait_for_tables(page, 4)
    shot(page, setup.home, "thread-review")
    args = panel.get_by_role("textbox", name="Args for a retry (JSON)")
    args.fill('{"expression": "1+2"}')
    args.press("Control+Enter")  # a text area applies its value on blur or Ctrl+Enter
    panel.get_by_role("textbox", name="Reason (optional)").fill("the limit is 3")
    panel.get_by_role("button", name="Retry the step").click()
    expect(badge(page, "COMPLETED")).to_be_visible(timeout=WAIT_MS)
    done = setup.status(thread)
    assert [done["steps"][s]["output"] for s in "cdi"] == [3, 6, 2], "the reviewed args ran"
    review = done["decisions"][-1]
    assert (review["action"], review["step"], review["outcome"], review["args"], review["reason"]) == (
        "review", "c", "retry", {"expression": "1+2"}, "the limit is 3")
    assert done["audit"]["verified"]
    expect(cell(page, "decisions_table", "review of c: retry with other args")).to_have_count(1, timeout=WAIT_MS)
    no_exception(page)


def test_a_compacted_thread_reads_as_before_and_says_its_history_was_compacted(
        dashboard: str, page: Page, setup: Setup) -> None:
    """Issue 22: retention kept only the latest checkpoint; the operator still sees the
    report, the steps and the sealed decision, and is told why history has one row."""
    thread = setup.run("Calculate 6*7")
    setup.approve(thread)
    with setup.ops.db.cursor() as cur:  # older than the default policy's 30 days
        cur.execute("UPDATE runs SET updated_at = '2020-01-01T00:00:00+00:00' WHERE thread_id = ?", (thread,))
    assert thread in setup.ops.prune()["compacted"]
    page.goto(f"{dashboard}/thread?thread_id={thread}")
    expect(page.get_by_text(re.compile("Compacted by the retention policy at"))).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("1/1 steps succeeded\ncalc: 42")).to_be_visible(timeout=WAIT_MS)
    wait_for_tables(page, 4)
    page.get_by_role("heading", name="History").scroll_into_view_if_needed()
    shot(page, setup.home, "thread-compacted")
    assert len(setup.history(thread)) == 1
    no_exception(page)
