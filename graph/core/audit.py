"""The decisions of a thread as a tamper-evident chain, and the digest that ties an
approval to the exact plan approved.

Each decision is sealed when it is recorded: an HMAC-SHA256, under the deployment's audit
key, of the thread id, the previous decision's seal and the decision itself (its plan
digest included). Changing, removing, reordering or inserting a decision breaks the chain
at that point, and a writer without the key (a client of LangGraph's API writing the
state, someone editing the database) cannot seal a forgery. The executor runs a plan only
if its digest is the one the last approval in an intact chain recorded.

The key: ``PROLIGHT_AUDIT_KEY`` (or ``audit_key`` in the settings file), else the file
``PROLIGHT_AUDIT_KEY_FILE`` names, else for SQLite a file beside the database
(``prolight.db.audit-key``, made on first use, mode 0600). PostgreSQL is shared by
processes on several machines, so it needs one of the first two, the same everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any


from graph.core.model import Model

APPROVALS = ("approve", "edit", "review")  # each binds the plan that runs next by its digest


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def plan_digest(plan: Mapping[str, Any]) -> str:
    """The digest of a plan as the state stores it (``model_dump(mode="json")``)."""
    return "sha256:" + hashlib.sha256(canonical(plan)).hexdigest()


def _mac(key: bytes, thread_id: str, record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "seal"}
    return hmac.new(key, thread_id.encode() + b"\n" + canonical(body), hashlib.sha256).hexdigest()


def seal(key: bytes, thread_id: str, decision: Mapping[str, Any], trail: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``decision`` (a dumped Decision) linked to the end of ``trail`` and sealed."""
    record = {**decision, "prev": (trail[-1].get("seal") or "") if trail else ""}
    record["seal"] = _mac(key, thread_id, record)
    return record


class AuditEntry(Model):
    index: int  # 1-based, as the operator counts
    action: str
    operator: str
    at: str
    plan_digest: str | None = None
    verified: bool


class AuditReport(Model):
    """``prolight audit``'s answer and the dashboard's mark."""

    thread_id: str
    verified: bool
    decisions: int
    broken_at: int | None = None  # 1-based index of the first decision that fails
    reason: str | None = None
    entries: list[AuditEntry]


def verify(key: bytes, thread_id: str, trail: Sequence[Mapping[str, Any]]) -> AuditReport:
    """Checks every link; everything from the first bad one on is unverified."""
    broken_at: int | None = None
    reason: str | None = None
    prev = ""
    for number, record in enumerate(trail, 1):
        name = f"decision {number} ({record.get('action')} by {record.get('operator')})"
        if not record.get("seal"):
            reason = f"{name} is not sealed: it was not recorded by ProLight Flow"
        elif record.get("prev") != prev:
            reason = f"{name} does not follow decision {number - 1}: a decision was removed, reordered or inserted"
        elif not hmac.compare_digest(str(record["seal"]), _mac(key, thread_id, record)):
            reason = f"{name} was changed after it was recorded (or sealed with another key)"
        if reason is not None:
            broken_at = number
            break
        prev = record["seal"]
    entries = [AuditEntry(index=n, action=str(r.get("action")), operator=str(r.get("operator")), at=str(r.get("at")),
                          plan_digest=r.get("plan_digest"), verified=broken_at is None or n < broken_at)
               for n, r in enumerate(trail, 1)]
    return AuditReport(thread_id=thread_id, verified=broken_at is None, decisions=len(trail), broken_at=broken_at,
                       reason=reason, entries=entries)


def execution_refusal(key: bytes, thread_id: str, state: Mapping[str, Any]) -> str | None:
    """Why the executor must not run the state's plan, or None: the trail must be intact and
    its last approval must have approved exactly this plan, whoever wrote the state."""
    trail = state.get("decisions") or []
    report = verify(key, thread_id, trail)
    if not report.verified:
        return f"refused to execute: the audit trail is broken at {report.reason}"
    approvals = [d for d in trail if d.get("action") in APPROVALS]
    if not approvals:
        return "refused to execute: no approval of this plan is on record"
    approved = approvals[-1].get("plan_digest")
    found = plan_digest(state.get("plan") or {})
    if approved != found:
        return (f"refused to execute: the plan is not the one approved (approved {str(approved)[:19]}…, "
                f"found {found[:19]}…): it was changed after the approval")
    return None


def audit_key(db: str, key: str | None, key_file: Path | None) -> bytes:
    """The deployment's key (see the module docstring). ``db`` is the settings' database."""
    if key:
        return key.encode("utf-8")
    if key_file is None:
        if db.startswith("postgresql://"):
            raise ValueError("PostgreSQL needs an audit key every process shares: set PROLIGHT_AUDIT_KEY_FILE "
                             "(or PROLIGHT_AUDIT_KEY)")
        if db == ":memory:":
            return _process_key()
        key_file = Path(db + ".audit-key")
    return _key_from_file(str(Path(key_file).resolve()))


@lru_cache(maxsize=1)
def _process_key() -> bytes:
    return secrets.token_bytes(32)


@lru_cache(maxsize=16)
def _key_from_file(path: str) -> bytes:
    """Read, or make once: written to a private temporary name and linked into place, so two
    processes starting together end up with the same key and never read half of one."""
    target = Path(path)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temporary, target)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            temporary.unlink()
    text = target.read_text(encoding="utf-8").strip()
    if len(text) < 32:
        raise ValueError(f"audit key file {target} holds fewer than 32 characters")
    return text.encode("utf-8")
