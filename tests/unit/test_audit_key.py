"""Where the key that seals decisions comes from."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from graph.core.settings import Settings, SettingsError


def settings(tmp_path: Path, db: str, **values: object) -> Settings:
    return Settings(db=db, model="offline", workspace=tmp_path, allow_commands=frozenset(), **values)


def test_sqlite_keeps_its_key_beside_the_database(tmp_path: Path) -> None:
    key = settings(tmp_path, str(tmp_path / "a.db")).audit_secret()
    made = tmp_path / "a.db.audit-key"
    assert made.read_text().strip().encode() == key and len(key) == 64
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert settings(tmp_path, str(tmp_path / "a.db")).audit_secret() == key, "read back, not made again"
    assert settings(tmp_path, str(tmp_path / "b.db")).audit_secret() != key, "each database its own"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db.audit-key", "b.db.audit-key"]


def test_the_settings_key_wins_and_postgresql_needs_one(tmp_path: Path) -> None:
    assert settings(tmp_path, str(tmp_path / "a.db"), audit_key="s" * 32).audit_secret() == b"s" * 32
    (tmp_path / "shared.key").write_text("f" * 64 + "\n")
    assert settings(tmp_path, str(tmp_path / "a.db"), audit_key_file=tmp_path / "shared.key").audit_secret() == b"f" * 64
    pg = settings(tmp_path, "postgresql://u@127.0.0.1:1/db")
    with pytest.raises(SettingsError, match="audit key: PostgreSQL needs an audit key every process shares"):
        pg.audit_secret()
    (tmp_path / "short.key").write_text("abc")
    with pytest.raises(SettingsError, match="holds fewer than 32 characters"):
        settings(tmp_path, "x.db", audit_key_file=tmp_path / "short.key").audit_secret()
    assert not (tmp_path / "a.db.audit-key").exists()
