"""A thread as one JSON document a reviewer can read without the database (``prolight
export``, and the thread page's download): the goal, every plan version, the critique, the
decisions with who, when and their seals, every step's attempts and result, and the events.
Secrets never reach it: outputs and errors are redacted when they are stored, plans cite
secrets by name, and the document is redacted once more against the secrets this process
knows. The seals are checked again with the audit key by ``prolight verify-export FILE``
(``verify_export``): a changed, removed or inserted decision breaks the chain there."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from graph.core.audit import AuditReport, verify
from graph.core.events import StoredEvent
from graph.core.model import Model
from graph.core.schemas import Critique, PlanVersion, Status, utc_now
from graph.operations.models import StepView

FORMAT = "prolight-thread-export/1"


class ThreadExport(Model):
    format: Literal["prolight-thread-export/1"] = FORMAT
    exported_at: datetime = Field(default_factory=utc_now)
    thread_id: str
    goal: str
    status: Status
    operator: str = Field(description="Who started it.")
    model: str
    created_at: datetime
    plan_versions: list[PlanVersion]
    critique: Critique | None = Field(None, description="The critic's review of the plan at the gate last.")
    decisions: list[dict[str, Any]] = Field(description="As recorded (sealed): who, when, the plan digest, the "
                                                        "previous seal and the seal of each.")
    audit: AuditReport = Field(description="The seals as checked when exported.")
    steps: dict[str, StepView] = Field(description="Each step's attempts and result (redacted).")
    report: str | None = None
    error: str | None = None
    events: list[StoredEvent]


def verify_export(key: bytes, document: dict[str, Any]) -> AuditReport:
    """The export's decisions checked against the audit key, as ``prolight audit`` checks
    the database's."""
    return verify(key, str(document.get("thread_id", "")), document.get("decisions") or [])
