"""The dashboard in a real browser: it lists the threads of its database and shows one."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.e2e.conftest import wait_for_tables
from tests.support.cli import Cli


def test_dashboard_lists_threads_and_shows_the_selected_one(cli: Cli, dashboard: str, page) -> None:
    waiting = cli.ok("run", "Calculate 6*7 then summarize it")["thread_id"]
    page.goto(dashboard)
    expect(page.get_by_role("heading", name="ProLight Flow")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(f"prolight approve {waiting}")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("AWAITING_APPROVAL · Calculate 6*7 then summarize it")).to_be_visible()
    wait_for_tables(page, 3)  # threads, steps, events
    page.screenshot(path=str(cli.home / "dashboard.png"))


def test_dashboard_with_no_threads_says_how_to_start(dashboard: str, page) -> None:
    page.goto(dashboard)
    expect(page.get_by_text("No threads yet")).to_be_visible(timeout=30_000)


def test_dashboard_executes_a_detached_run_and_tails_its_events(cli: Cli, dashboard: str, page) -> None:
    queued = cli.ok("run", "--detach", "Calculate 2*21")
    page.goto(dashboard)
    expect(page.get_by_role("heading", name="ProLight Flow")).to_be_visible(timeout=30_000)
    thread = queued["thread_id"]
    deadline = time.monotonic() + 30
    while cli.ok("status", thread)["status"] != "AWAITING_APPROVAL":
        assert time.monotonic() < deadline, "the dashboard's run manager did not plan it"
        time.sleep(0.3)
    cli.ok("approve", "--detach", thread)
    page.reload()
    expect(page.get_by_text("COMPLETED · Calculate 2*21")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Events (")).to_be_visible()
