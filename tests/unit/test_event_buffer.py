"""The event buffer of a drive: batches go out on a timer without further events, the run's
status rides with the events before it, and a failed write keeps the batch."""

from __future__ import annotations

import threading

from graph.core.events import Event
from graph.store.event_buffer import EventBuffer
from graph.store.event_log import EventRow, event_row

Batch = tuple[list[str], tuple[str, str | None] | None]


class Sink:
    def __init__(self, failures: int = 0) -> None:
        self.batches: list[Batch] = []
        self.failures = failures
        self.written = threading.Event()

    def __call__(self, rows: list[EventRow], status: tuple[str, str | None] | None) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database is busy")
        self.batches.append(([kind for _, kind, *_ in rows], status))
        self.written.set()


def test_a_lone_event_is_written_by_the_timer_without_another_event_or_flush() -> None:
    sink = Sink()
    buffer = EventBuffer(sink)
    buffer.add(event_row(Event(kind="step_started", step_id="slow")))
    assert sink.batches == []
    assert sink.written.wait(timeout=10), "a slow step's start must reach the log while it runs"
    assert sink.batches == [(["step_started"], None)]


def test_status_and_events_go_out_together_at_flush() -> None:
    sink = Sink()
    buffer = EventBuffer(sink)
    buffer.add(event_row(Event(kind="node_started", node="executor")))
    buffer.set_status("EXECUTING", None)
    buffer.add(event_row(Event(kind="step_started", step_id="a")))
    buffer.set_status("COMPLETED", None)
    buffer.flush()
    buffer.flush()  # nothing pending: no empty write
    assert sink.batches == [(["node_started", "step_started"], ("COMPLETED", None))]


def test_a_failed_timer_write_keeps_the_batch_and_tries_again() -> None:
    sink = Sink(failures=1)
    buffer = EventBuffer(sink)
    buffer.add(event_row(Event(kind="run_completed")))
    assert sink.written.wait(timeout=10)
    assert sink.batches == [(["run_completed"], None)]


def test_events_are_taken_while_a_batch_is_being_written() -> None:
    entered, release = threading.Event(), threading.Event()
    batches: list[list[str]] = []

    def slow_write(rows: list[EventRow], status: tuple[str, str | None] | None) -> None:
        entered.set()
        release.wait(30)
        batches.append([kind for _, kind, *_ in rows])

    buffer = EventBuffer(slow_write)
    buffer.add(event_row(Event(kind="step_started", step_id="a")))
    writer = threading.Thread(target=buffer.flush)
    writer.start()
    assert entered.wait(30)
    adder = threading.Thread(target=buffer.add, args=(event_row(Event(kind="step_succeeded", step_id="a")),))
    adder.start()
    adder.join(30)
    still_writing = not release.is_set() and writer.is_alive()
    release.set()
    writer.join(30)
    buffer.flush()
    assert not adder.is_alive() and still_writing, "an event must not wait for the batch before it to be written"
    assert batches[0] == ["step_started"] and ["step_succeeded"] in batches


def test_a_failed_batch_goes_back_in_front_of_newer_events() -> None:
    sink = Sink(failures=1)
    buffer = EventBuffer(sink)
    buffer.add(event_row(Event(kind="step_started", step_id="a")))
    try:
        buffer.flush()
    except RuntimeError:
        pass
    buffer.add(event_row(Event(kind="step_succeeded", step_id="a")))
    buffer.flush()
    assert sink.batches == [(["step_started", "step_succeeded"], None)]
