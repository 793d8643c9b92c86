"""What a thread's checkpoint holds, read straight from the saver: the step outputs that
were durable at a given moment (a kill, say), whichever back end the test runs on."""

from __future__ import annotations

import time

from graph.store.connect import open_database


def persisted_outputs(db_url: str, thread: str) -> set[str]:
    """Step outputs that are durable now: in the state, or pending task writes."""
    db = open_database(db_url)
    try:
        saved = db.saver.get_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ""}})
        outputs = {r["output"] for r in (saved.checkpoint["channel_values"].get("steps") or {}).values()
                   if r.get("output")}
        outputs |= {value["output"] for _, channel, value in saved.pending_writes
                    if channel == "__return__" and isinstance(value, dict) and value.get("output")}
        return outputs
    finally:
        db.close()


def wait_durable(db_url: str, thread: str, outputs: set[str], timeout: float = 60) -> None:
    """Until every one of ``outputs`` is durable: a kill meant to land after some steps
    finished waits on that, not on a guessed pause."""
    deadline = time.monotonic() + timeout
    while not outputs <= (durable := persisted_outputs(db_url, thread)):
        assert time.monotonic() < deadline, f"never durable: {sorted(outputs - durable)}"
        time.sleep(0.05)
