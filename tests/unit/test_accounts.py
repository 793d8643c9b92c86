"""Accounts and roles (graph/core/accounts.py), their settings-file tables, the address
policy of the dashboard (decisions on addresses, nothing is connected to), and
``prolight hash-password``."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.core.accounts import Account, exposure_problem, hash_password, is_loopback, verify
from graph.core.schemas import Action
from graph.core.settings import Settings, SettingsError
from graph.operations.commands import may
from tests.support.cli import Cli


@pytest.fixture(scope="module")
def digest() -> str:
    return hash_password("correct horse battery")


def test_a_password_is_checked_against_its_argon2_hash_only(digest: str) -> None:
    assert digest.startswith("$argon2id$") and "correct horse" not in digest
    accounts = {"ana": Account(name="ana", roles={"approver"}, password_hash=digest)}
    assert verify(accounts, "ana", "correct horse battery") == accounts["ana"]
    assert verify(accounts, " ana ", "correct horse battery") == accounts["ana"]
    assert verify(accounts, "ana", "correct horse batterY") is None
    assert verify(accounts, "bob", "correct horse battery") is None
    assert hash_password("correct horse battery") != digest, "each hash has its own salt"


def test_roles_decide_actions(digest: str) -> None:
    viewer = Account(name="v", roles={"viewer"}, password_hash=digest)
    operator = Account(name="o", roles={"operator"}, password_hash=digest)
    approver = Account(name="a", roles={"approver"}, password_hash=digest)
    assert not any(may(viewer.roles, action) for action in Action)
    assert {a for a in Action if may(operator.roles, a)} == {"start", "cancel", "resume", "retry", "fork"}
    assert {a for a in Action if may(approver.roles, a)} == {"approve", "edit", "reject", "restore", "review"}


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("", False), (None, False), ("10.0.0.5", False),
    ("192.168.1.2", False), ("169.254.169.254", False), ("dashboard.example.org", False),
])
def test_which_listening_addresses_stay_on_this_machine(address: str | None, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_beyond_loopback_takes_accounts_or_the_explicit_setting(digest: str) -> None:
    accounts = {"ana": Account(name="ana", roles={"approver"}, password_hash=digest)}
    assert "anyone who reaches it could approve" in exposure_problem("0.0.0.0", {}, False)
    assert exposure_problem("0.0.0.0", accounts, False) is None
    assert exposure_problem("0.0.0.0", {}, True) is None
    assert exposure_problem("127.0.0.1", {}, False) is None


def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "prolight.toml"
    path.write_text(text)
    monkeypatch.setenv("PROLIGHT_SETTINGS", str(path))


def test_accounts_come_from_the_settings_file(home: Path, monkeypatch: pytest.MonkeyPatch, digest: str) -> None:
    write(home, monkeypatch, f'[accounts.ana]\nroles = ["operator", "approver"]\npassword_hash = "{digest}"\n')
    settings = Settings.from_env()
    assert settings.accounts["ana"].roles == {"operator", "approver"} and not settings.dashboard_open
    monkeypatch.setenv("PROLIGHT_DASHBOARD_OPEN", "true")
    assert Settings.from_env().dashboard_open


@pytest.mark.parametrize("table, message", [
    ('[accounts.ana]\nroles = ["admin"]\npassword_hash = "HASH"\n', "bad setting accounts.ana.roles"),
    ('[accounts.ana]\nroles = ["viewer"]\npassword_hash = "hunter22"\n', "is not an Argon2 hash"),
    ('[accounts.ana]\nroles = ["viewer"]\n', "bad setting accounts.ana.password_hash: Field required"),
    ('accounts = "ana"\n', "each account is an [accounts.NAME] table"),
])
def test_a_bad_account_table_is_one_clear_error(home: Path, monkeypatch: pytest.MonkeyPatch, digest: str,
                                                table: str, message: str) -> None:
    write(home, monkeypatch, table.replace("HASH", digest))
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace(".", r"\.")):
        Settings.from_env()


def test_hash_password_prints_the_line_to_paste(cli: Cli) -> None:
    result = cli("hash-password", stdin="correct horse battery\n")
    assert result.code == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith('password_hash = "$argon2id$')
    account = Account(name="ana", roles={"viewer"}, password_hash=line.split('"')[1])
    assert verify({"ana": account}, "ana", "correct horse battery") == account
    short = cli("hash-password", stdin="short\n")
    assert short.code == 2 and short.stderr.strip() == "prolight: error: a password needs at least 8 characters"


def test_the_dashboard_will_not_start_beyond_loopback_without_accounts(cli: Cli) -> None:
    refused = cli("dashboard", "--address", "0.0.0.0", "--port", "1")
    assert refused.code == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        "prolight: error: the dashboard listens on 0.0.0.0 with no operator accounts, so anyone who reaches it "
        "could approve: add [accounts.NAME] tables to the settings file, listen on 127.0.0.1, or set "
        "dashboard_open = true"]
