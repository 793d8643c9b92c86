"""The dashboard in a real browser: it lists the threads of its database and shows one."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.support.cli import Cli


def test_dashboard_lists_threads_and_shows_the_selected_one(cli: Cli, dashboard: str, page) -> None:
    waiting = cli.ok("run", "Calculate 6*7 then summarize it")["thread_id"]
    page.goto(dashboard)
    expect(page.get_by_role("heading", name="ProLight Flow")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(f"prolight approve {waiting}")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("AWAITING_APPROVAL · Calculate 6*7 then summarize it")).to_be_visible()
    page.screenshot(path=str(cli.home / "dashboard.png"))


def test_dashboard_with_no_threads_says_how_to_start(dashboard: str, page) -> None:
    page.goto(dashboard)
    expect(page.get_by_text("No threads yet")).to_be_visible(timeout=30_000)
