"""Plan versions: every plan a thread's gate has shown is kept (``plan_versions`` in the
state, appended by the node or decision that made it), so an operator can compare any two
and bring an earlier one back, and each decision names the version it was made on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graph.core.audit import plan_digest
from graph.core.schemas import Plan, PlanVersion, dump


def latest_version(values: Mapping[str, Any]) -> int | None:
    versions = values.get("plan_versions") or []
    return versions[-1]["version"] if versions else None


def new_version(values: Mapping[str, Any], plan: dict[str, Any], source: str, by: str | None = None,
                restored_from: int | None = None) -> list[dict[str, Any]]:
    """The state update that keeps ``plan`` as the next version; none if it is the latest
    version already (the critic re-reads the planner's plan), unless it is brought back."""
    versions = values.get("plan_versions") or []
    digest = plan_digest(plan)
    if versions and versions[-1]["digest"] == digest and source != "restore":
        return []
    kept = PlanVersion(version=len(versions) + 1, source=source, plan=Plan.model_validate(plan), digest=digest,
                       by=by, restored_from=restored_from)
    return [dump(kept)]


def find_version(values: Mapping[str, Any], version: int) -> dict[str, Any] | None:
    return next((v for v in values.get("plan_versions") or [] if v["version"] == version), None)
