"""The append-only event log: one row per event, numbered per thread (``seq`` is taken
inside the INSERT, so two writers can never give the same number twice). The UI tails it,
``prolight events`` prints it, and the metrics are computed from it."""

from __future__ import annotations

import json
from collections.abc import Iterable

from graph.core.events import Event, StoredEvent
from graph.store.database import Database
from graph.core.schemas import utc_now

_COLUMNS = "thread_id, seq, ts, kind, node, step_id, attempt, payload"
_to_json = json.JSONEncoder(default=str).encode  # one encoder, not one per call
_INSERT = (
    f"INSERT INTO events ({_COLUMNS}) "
    "VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE thread_id = ?), ?, ?, ?, ?, ?, ?)"
)


EventRow = tuple[str, str, str | None, str | None, int | None, str]  # ts, kind, node, step_id, attempt, payload JSON


def event_row(event: Event) -> EventRow:
    """An event as its columns, made as it arrives. A batch waiting for its flush then holds
    strings and numbers, which the garbage collector stops tracking, instead of models and
    dicts: a run of short steps keeps a thousand events waiting, and those objects made the
    collector run (and scan the whole heap) about twice as often."""
    return (event.ts.isoformat(), event.kind, event.node, event.step_id, event.attempt,
            _to_json(event.payload))


def append_events(db: Database, thread_id: str, events: Iterable[Event],
                  status: tuple[str, str | None] | None = None) -> None:
    """Append events and, in the same transaction, set the run's (status, error)."""
    append_rows(db, thread_id, [event_row(e) for e in events], status)


def append_rows(db: Database, thread_id: str, rows: list[EventRow],
                status: tuple[str, str | None] | None = None) -> None:
    if not rows and not status:
        return
    with db.cursor() as cur:
        db.lock_events(cur, thread_id)
        cur.executemany(_INSERT, [(thread_id, thread_id, *row) for row in rows])
        if status:
            cur.execute("UPDATE runs SET status = ?, error = ?, updated_at = ? WHERE thread_id = ?",
                        (*status, utc_now().isoformat(), thread_id))
        last: tuple[str, str] | None = None  # (operator, ts) of the batch's last decision
        for ts, kind, *_, payload in rows:
            if kind == "decision" and (operator := json.loads(payload).get("operator")):
                last = (operator, ts)
        if last:  # the list shows who decided last without reading the checkpoint
            cur.execute("UPDATE runs SET decided_by = ?, decided_at = ? WHERE thread_id = ?", (*last, thread_id))


def read_events(db: Database, thread_id: str, after_seq: int = 0, limit: int = 100_000) -> list[StoredEvent]:
    with db.cursor() as cur:
        rows = cur.execute(
            f"SELECT {_COLUMNS} FROM events WHERE thread_id = ? AND seq > ? ORDER BY seq LIMIT ?", (thread_id, after_seq, limit)).fetchall()
    return [_stored(row) for row in rows]


def latest_seqs(db: Database, thread_ids: list[str]) -> dict[str, int]:
    """Each thread's newest seq, in one query (the primary key's index answers it)."""
    if not thread_ids:
        return {}
    marks = ",".join("?" * len(thread_ids))
    with db.cursor() as cur:
        return dict(cur.execute(f"SELECT thread_id, MAX(seq) FROM events WHERE thread_id IN ({marks}) "
                                "GROUP BY thread_id", thread_ids).fetchall())


def current_execution(db: Database, thread_id: str) -> list[StoredEvent]:
    """The step events of the thread's latest executor run (since its last ``node_started``),
    from which a view shows live step status before the executor node returns."""
    with db.cursor() as cur:
        rows = cur.execute(
            f"SELECT {_COLUMNS} FROM events WHERE thread_id = ? AND kind LIKE 'step^_%' ESCAPE '^' AND seq > "
            "(SELECT COALESCE(MAX(seq), 0) FROM events WHERE thread_id = ? AND kind = 'node_started' "
            "AND node = 'executor') ORDER BY seq", (thread_id, thread_id)).fetchall()
    return [_stored(row) for row in rows]


def latest_payloads(db: Database, thread_ids: list[str], kind: str) -> dict[str, dict]:
    """Each thread's newest ``kind`` event payload, in one query: what the inbox shows of a
    thread at the gate (``awaiting_approval`` carries its steps, risk and estimate)."""
    if not thread_ids:
        return {}
    marks = ",".join("?" * len(thread_ids))
    with db.cursor() as cur:
        rows = cur.execute(
            f"SELECT thread_id, payload FROM events e WHERE kind = ? AND thread_id IN ({marks}) AND seq = "
            "(SELECT MAX(seq) FROM events WHERE thread_id = e.thread_id AND kind = ?)",
            (kind, *thread_ids, kind)).fetchall()
    return {thread_id: json.loads(payload) for thread_id, payload in rows}


def step_durations_after(db: Database, after_ts: str, limit: int) -> list[tuple[str, object, object]]:
    """(ts, tool, seconds) of the newest ``limit`` successful steps stamped after ``after_ts``,
    newest first, read in SQL (no row parsing); the (kind, ts) index finds them."""
    d = db.dialect
    with db.cursor() as cur:
        return cur.execute(
            f"SELECT ts, {d.json_text('payload', 'tool')}, {d.json_number('payload', 'seconds')} FROM events "
            "WHERE kind = 'step_succeeded' AND ts > ? ORDER BY ts DESC LIMIT ?", (after_ts, limit)).fetchall()


def _stored(row: tuple) -> StoredEvent:
    thread_id, seq, ts, kind, node, step_id, attempt, payload = row
    return StoredEvent(thread_id=thread_id, seq=seq, ts=ts, kind=kind, node=node, step_id=step_id,
                       attempt=attempt, payload=json.loads(payload))
