"""Browser journeys of the Runs page's selection and bulk commands, and of starting a run
from an uploaded plan file."""

from __future__ import annotations

import json
import re
import time

import pytest

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Setup
from tests.e2e.test_dashboard import WAIT_MS, no_exception, shot
from tests.support.browser import wait_for_tables
from tests.support.http_server import ToolServer
from tests.support.plans import fetch

pytestmark = pytest.mark.own_dashboard  # the whole Runs table and its counts


def settled(setup: Setup, thread: str, status: str, timeout: float = 30) -> None:
    """Until the thread reaches ``status`` (the dashboard's run manager works on its own)."""
    deadline = time.monotonic() + timeout
    while (now := setup.status(thread)["status"]) != status:
        assert time.monotonic() < deadline, f"{thread} is {now}, not {status}"
        time.sleep(0.1)


def tick(page: Page, row: int, label: str) -> None:
    """Tick a row's box in the Runs table (its canvas: 35 px rows under a 35 px header, the
    box in the first 30 px) and wait for the bulk buttons to count it."""
    page.get_by_test_id("stDataFrame").first.click(position={"x": 15, "y": 35 + 35 * row + 17})
    expect(page.get_by_role("button", name=label)).to_be_visible(timeout=WAIT_MS)


def test_runs_keeps_the_selection_across_a_refresh_and_resumes_and_cancels_together(
        dashboard: str, page: Page, setup: Setup, server: ToolServer) -> None:
    failed = []
    for name in ("a", "b"):
        plan = {"goal": f"Fetch {name}", "steps": [fetch(server, f"flaky-{name}", fail_first=3)]}
        thread = setup.run(plan=plan)
        assert setup.approve(thread)["status"] == "FAILED"  # 3 attempts fail; the 4th call works
        failed.append(thread)
    waiting = [setup.run("Calculate 1+1 waiting"), setup.run("Calculate 2+2 waiting")]
    page.goto(dashboard)
    wait_for_tables(page, 1)
    tick(page, 2, "Resume 1 selected")  # newest first: the two waiting, then b, then a
    tick(page, 3, "Resume 2 selected")

    newest = setup.run("Calculate 9+9")  # the table refreshes itself: a row comes in on top
    expect(page.get_by_text("1–5 of 5", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Resume 2 selected")).to_be_visible()  # kept, by thread id
    wait_for_tables(page, 1)
    shot(page, setup.home, "runs-selected")
    page.get_by_role("button", name="Resume 2 selected").click()
    for thread in failed:  # the ticked threads, though their rows moved down one
        settled(setup, thread, "COMPLETED")
    assert server.hits["/flaky-a"] == server.hits["/flaky-b"] == 4

    search = page.get_by_role("textbox", name="Search")
    search.fill("waiting")
    search.press("Enter")
    expect(page.get_by_text("1–2 of 2", exact=True)).to_be_visible(timeout=WAIT_MS)
    tick(page, 0, "Cancel 1 selected")
    tick(page, 1, "Cancel 2 selected")
    page.get_by_role("button", name="Cancel 2 selected").click()
    for thread in waiting:
        settled(setup, thread, "CANCELLED")
    assert setup.status(newest)["status"] == "AWAITING_APPROVAL"
    no_exception(page)


def test_start_a_run_from_an_uploaded_plan_file(dashboard: str, page: Page, setup: Setup) -> None:
    bad = setup.home / "bad.json"
    bad.write_text('{"steps": [')
    good = setup.home / "plan.json"
    good.write_text(json.dumps({"goal": "Add from an uploaded plan", "steps": [
        {"id": "uploaded_add", "tool": "calculate", "args": {"expression": "40 + 2"}}]}))
    page.goto(f"{dashboard}/new_run")
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.set_input_files(str(bad))
    expect(page.get_by_text("bad.json")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_text(re.compile(r"the uploaded file bad\.json"))).to_be_visible(timeout=WAIT_MS)
    shot(page, setup.home, "new-run-bad-upload")
    assert setup.ops.status_counts()["total"] == 0, "a bad upload starts nothing"

    uploader.set_input_files(str(good))
    expect(page.get_by_text("plan.json", exact=True)).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/thread\?thread_id=[0-9a-f]{32}$"), timeout=WAIT_MS)
    thread = page.url.rsplit("=", 1)[1]
    approve = page.get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_visible(timeout=WAIT_MS)
    approve.click()
    expect(page.get_by_text("COMPLETED", exact=True).first).to_be_visible(timeout=WAIT_MS)
    done = setup.status(thread)
    assert done["goal"] == "Add from an uploaded plan"
    assert {k: v["output"] for k, v in done["steps"].items()} == {"uploaded_add": 42}
    no_exception(page)
