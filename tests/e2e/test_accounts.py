"""Operator accounts in a real browser: a dashboard started with accounts in its settings
file asks for a sign-in on every page; a viewer sees no decision or command buttons; a
sign-in survives a refresh; an approver's decision is recorded under the signed-in name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from graph.core.accounts import hash_password
from tests.e2e.conftest import Setup
from tests.e2e.test_dashboard import WAIT_MS, no_exception, shot
from tests.support.browser import served_without_tracebacks, wait_for_tables

PASSWORD = "correct horse battery"

pytestmark = pytest.mark.own_dashboard  # its own accounts


@pytest.fixture
def guarded(home: Path) -> Iterator[str]:
    """The dashboard with a viewer (vera) and an operator-approver (ana)."""
    settings = home / "prolight.toml"
    digest = hash_password(PASSWORD)
    settings.write_text(f'[accounts.vera]\nroles = ["viewer"]\npassword_hash = "{digest}"\n'
                        f'[accounts.ana]\nroles = ["operator", "approver"]\npassword_hash = "{digest}"\n')
    with served_without_tracebacks(home, PROLIGHT_SETTINGS=str(settings)) as url:
        yield url


def sign_in(page: Page, name: str, password: str = PASSWORD) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("Account").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_viewer_account_sees_no_decision_buttons(guarded: str, page: Page, setup: Setup) -> None:
    thread = setup.run("Calculate 6*7")
    page.goto(f"{guarded}/thread?thread_id={thread}")
    expect(page.get_by_text("Calculate 6*7", exact=True)).to_have_count(0)
    sign_in(page, "vera", "not her password")
    expect(page.get_by_text("Wrong account name or password.")).to_be_visible(timeout=WAIT_MS)
    shot(page, setup.home, "sign-in")
    sign_in(page, "vera")
    expect(page.get_by_text("Signed in as vera (viewer)")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Calculate 6*7", exact=True)).to_be_visible(timeout=WAIT_MS)  # the same thread
    expect(page.get_by_text("Waiting for a decision by an approver.", exact=False)).to_be_visible()
    for name in ("Approve", "Reject", "Cancel"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_text("Edit the plan before approving")).to_have_count(0)
    wait_for_tables(page, 4)
    shot(page, setup.home, "thread-viewer")
    page.reload()  # the sign-in rides in a cookie: a refresh stays signed in
    expect(page.get_by_text("Signed in as vera (viewer)")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Calculate 6*7", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    no_exception(page)
    assert setup.status(thread)["status"] == "AWAITING_APPROVAL"


def test_an_approvers_decision_carries_the_signed_in_name(guarded: str, page: Page, setup: Setup) -> None:
    thread = setup.run("Calculate 6*7")
    page.goto(f"{guarded}/thread?thread_id={thread}")
    sign_in(page, "ana")
    approve = page.get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_visible(timeout=WAIT_MS)
    approve.click()
    expect(page.get_by_text("COMPLETED", exact=True).first).to_be_visible(timeout=WAIT_MS)
    assert setup.status(thread)["decisions"][-1]["operator"] == "ana"
    expect(page.get_by_text("Last decision: approve by ana", exact=False)).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT_MS)
    page.reload()  # the old cookie's token was ended with the sign-out
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT_MS)
    no_exception(page)
