"""Operator accounts in the dashboard, with AppTest against a real settings file and a real
SQLite file: sign-in before any page, roles deciding which buttons a page shows (and the
request backstop behind them), decisions under the signed-in name, and the refusal to
serve beyond loopback with no accounts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from graph.core.accounts import hash_password
from graph.core.schemas import Status
from graph.operations import Operations
from tests.support.apptest import APP, dashboard_ops, settle, texts  # noqa: F401  (dashboard_ops: the ops fixture)

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings = home / "prolight.toml"
    digest = hash_password(PASSWORD)
    settings.write_text(
        f'[accounts.vera]\nroles = ["viewer"]\npassword_hash = "{digest}"\n'
        f'[accounts.otto]\nroles = ["operator"]\npassword_hash = "{digest}"\n'
        f'[accounts.ana]\nroles = ["operator", "approver"]\npassword_hash = "{digest}"\n')
    monkeypatch.setenv("PROLIGHT_SETTINGS", str(settings))
    return settings


def signed_in(name: str, password: str = PASSWORD, page: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    at.button(key="sign_in_submit").click().run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_every_page_waits_for_a_sign_in_and_a_wrong_password_is_told(ops: Operations, accounts: Path) -> None:
    thread = ops.start("Calculate 6*7").thread_id
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["thread_id"] = thread
    at.switch_page("screens/thread.py").run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert "Calculate 6*7" not in texts(at) and "approve" not in {b.key for b in at.button}
    at = signed_in("ana", "wrong password")
    assert "Wrong account name or password." in texts(at)
    at = signed_in("nobody")
    assert "Wrong account name or password." in texts(at)
    at = signed_in("ana")
    assert "Runs" in [t.value for t in at.title]
    assert "Signed in as ana (approver, operator)" in texts(at)


def test_a_viewer_sees_no_decision_or_command_buttons(ops: Operations, accounts: Path) -> None:
    thread = ops.start("Calculate 6*7").thread_id
    at = signed_in("vera", page="screens/thread.py", thread_id=thread)
    keys = {b.key for b in at.button}
    assert not keys & {"approve", "approve_edited", "thread_cancel", "thread_resume", "thread_retry"}, keys
    assert not at.get("form_submit_button") or all(b.label != "Reject" for b in at.button)
    assert "Waiting for a decision by an approver." in texts(at)
    at.switch_page("screens/new_run.py").run()
    assert "may read runs but not start them" in texts(at)
    assert ops.thread(thread).status == Status.AWAITING_APPROVAL


def test_an_operator_may_start_and_cancel_but_not_decide(ops: Operations, accounts: Path) -> None:
    thread = ops.start("Calculate 6*7").thread_id
    at = signed_in("otto", page="screens/thread.py", thread_id=thread)
    keys = {b.key for b in at.button}
    assert "thread_cancel" in keys and "approve" not in keys, keys
    at.switch_page("screens/new_run.py").run()
    assert "may read runs but not start them" not in texts(at)


def test_a_decision_is_recorded_under_the_signed_in_name(ops: Operations, accounts: Path) -> None:
    thread = ops.start("Calculate 6*7").thread_id
    at = signed_in("ana", page="screens/thread.py", thread_id=thread)
    at.button(key="approve").click().run()
    assert not at.exception, at.exception
    settle(ops, thread, Status.COMPLETED)
    assert ops.thread(thread).decisions[-1].operator == "ana"


def test_signing_out_asks_for_the_password_again(ops: Operations, accounts: Path) -> None:
    at = signed_in("ana")
    at.button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in"]


@pytest.fixture
def every_interface() -> Iterator[None]:
    before = st.get_option("server.address")
    streamlit_config.set_option("server.address", "0.0.0.0")
    yield
    streamlit_config.set_option("server.address", before)


def test_with_no_accounts_it_will_not_serve_beyond_loopback(ops: Operations, every_interface: None,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ops.start("Calculate 6*7")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert any("Not serving: the dashboard listens on 0.0.0.0 with no operator accounts" in e.value
               for e in at.error), texts(at)
    assert not at.title
    monkeypatch.setenv("PROLIGHT_DASHBOARD_OPEN", "true")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert [t.value for t in at.title] == ["Runs"]
    assert "It listens beyond this machine (dashboard_open is set)." in texts(at)


def test_an_unusable_settings_file_is_a_visible_message(ops: Operations, home: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    bad = home / "bad.toml"
    bad.write_text('[accounts.ana]\nroles = ["admin"]\npassword_hash = "plain"\n')
    monkeypatch.setenv("PROLIGHT_SETTINGS", str(bad))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert any("The settings are not usable: bad setting accounts.ana" in e.value for e in at.error), texts(at)


def _request_as_otto(thread_id: str) -> None:
    """A script run signed in as otto (operator, not approver) that sends requests directly,
    as a page would if it drew a button the account may not use."""
    import streamlit as st

    from ui.dashboard import session
    from ui.dashboard.sign_in import ACCOUNT_KEY

    st.session_state[ACCOUNT_KEY] = "otto"
    st.text(f"approve: {session.request('approve', thread_id)}")
    st.text(f"cancel: {session.request('cancel', thread_id)}")


def test_a_request_the_account_may_not_send_is_refused(ops: Operations, accounts: Path) -> None:
    thread = ops.start("Calculate 6*7").thread_id
    at = AppTest.from_function(_request_as_otto, args=(thread,), default_timeout=30).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.text] == ["approve: your account may not approve", "cancel: None"]
    deadline = time.monotonic() + 30
    while ops.thread(thread).status != Status.CANCELLED:  # the cancel was queued for the run manager
        assert time.monotonic() < deadline, ops.thread(thread).status
        time.sleep(0.05)
    assert [(d.action, d.operator) for d in ops.thread(thread).decisions] == [("cancel", "otto")]
