"""The retention policy (``[retention]`` of the settings file): how long finished threads keep
everything, and when they are compacted or deleted. Declared here, applied by
``graph/store/retention.py``.

Two actions, per status:

- **compact**: keep only what an audit needs (the ``runs`` row with the goal, the events, and
  the latest checkpoint, whose state holds every plan version, the critique, the sealed
  decisions and each step's result) and drop the intermediate checkpoints and their writes.
  Only for COMPLETED and REJECTED: a FAILED or CANCELLED thread can be resumed, which needs
  its checkpoints, so compacting it is refused as a setting.
- **delete**: the whole thread goes (row, events, checkpoints, writes), for any finished
  status.

Threads waiting for a person, running, queued or claimed are never touched, whatever the
policy says; neither is a thread that has been forked (its branches are its history). The
default keeps everything for 30 days, then compacts COMPLETED and REJECTED threads and
deletes nothing: growth is bounded by the events and one checkpoint per thread, and no
audit record is lost unless an operator asks for deletion."""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from graph.core.model import Model
from graph.core.schemas import Status


class RetentionRule(Model):
    """What happens to threads of one status once they have not changed for a while."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    compact_after_days: float | None = Field(
        None, gt=0, description="Drop the intermediate checkpoints after this many days (the audit record stays).")
    delete_after_days: float | None = Field(None, gt=0, description="Delete the whole thread after this many days.")

    @model_validator(mode="after")
    def _delete_after_compact(self) -> "RetentionRule":
        if (self.compact_after_days is not None and self.delete_after_days is not None
                and self.delete_after_days <= self.compact_after_days):
            raise ValueError("delete_after_days must be more than compact_after_days")
        return self


COMPACTABLE = (Status.COMPLETED, Status.REJECTED)  # nothing can continue them
PRUNABLE = (*COMPACTABLE, Status.FAILED, Status.CANCELLED)  # every FINISHED status; the last two: deleted only
DEFAULT_COMPACT_DAYS = 30.0


class RetentionPolicy(Model):
    """``[retention]``: a rule per finished status (``[retention.completed]``...), how often a
    run manager applies it and how many threads it takes per batch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    completed: RetentionRule = RetentionRule(compact_after_days=DEFAULT_COMPACT_DAYS)
    rejected: RetentionRule = RetentionRule(compact_after_days=DEFAULT_COMPACT_DAYS)
    failed: RetentionRule = RetentionRule()
    cancelled: RetentionRule = RetentionRule()
    every_minutes: float = Field(60.0, ge=0, description="How often a run manager prunes (0: never on its own).")
    batch: int = Field(100, ge=1, le=10_000, description="Threads per transaction-sized batch.")

    @model_validator(mode="after")
    def _resumable_not_compacted(self) -> "RetentionPolicy":
        for status in (Status.FAILED, Status.CANCELLED):
            if self.rule(status).compact_after_days is not None:
                raise ValueError(f"{status.value.lower()}.compact_after_days: a {status.value} thread can be "
                                 "resumed, which needs its checkpoints; use delete_after_days")
        return self

    def rule(self, status: Status) -> RetentionRule:
        return getattr(self, status.value.lower())
