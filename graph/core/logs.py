"""Structured logs: stdlib logging with one formatter chosen by ``PROLIGHT_LOG_FORMAT``
(``json``: one JSON object per line; ``console``: one readable line). Every record carries
``thread_id``, ``node``, ``step_id`` and ``attempt`` when they are known, from the record's
extras or from the current context. Every stored event is also logged (logger
``prolight.events``)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from graph.core.events import CONVERSATION, CURRENT_STEP, Event

CONTEXT_FIELDS = ("thread_id", "node", "step_id", "attempt")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
events_logger = logging.getLogger("prolight.events")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "thread_id", None) is None:
            record.thread_id = CONVERSATION.get()
        current = CURRENT_STEP.get()
        if current and getattr(record, "step_id", None) is None:
            record.step_id, record.attempt = current
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, None)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line |= {k: v for k, v in record.__dict__.items() if k not in _STANDARD and v is not None}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        where = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if getattr(record, k, None) is not None)
        return f"{record.levelname.lower():<7} {record.name}: {record.getMessage()}" + (f"  [{where}]" if where else "")


def configure_logging(level: str = "WARNING", fmt: str = "console") -> None:
    """Install the formatter on the ``prolight`` logger (idempotent). The entry point passes
    the settings' ``log_level`` (or its own default) and ``log_format``."""
    root = logging.getLogger("prolight")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    handler.addFilter(ContextFilter())
    root.handlers[:] = [handler]
    root.setLevel(level.strip().upper())
    root.propagate = False


def log_event(thread_id: str, event: Event) -> None:
    if events_logger.isEnabledFor(logging.INFO):
        events_logger.info(event.kind, extra={"thread_id": thread_id, "node": event.node, "step_id": event.step_id,
                                              "attempt": event.attempt, "payload": event.payload})
