"""Circuit breakers, one per destination (``http:<host>`` for HTTP calls) or per tool
(``tool:<name>``), and one per model provider (``model:<provider>``), shared by every run
in the process.

closed → open after ``failure_threshold`` consecutive failures → half-open once
``cooldown_s`` has passed, which lets exactly one trial call through: success closes the
breaker, failure opens it again. While open (or while the trial is out), calls fail at once
with ``CircuitOpenError``, which is never retried.

A small class of our own rather than ``pybreaker``: pybreaker holds one lock for the whole
duration of every call, which would serialise all parallel calls to a tool."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field

from graph.core.errors import ExecutionError
from graph.core.events import emit
from graph.core.model import Model

BreakerState = Literal["closed", "open", "half_open"]


class CircuitOpenError(ExecutionError):
    """The dependency's breaker is open; the call was not attempted."""


class BreakerConfig(Model):
    model_config = ConfigDict(extra="forbid")

    failure_threshold: int = Field(5, ge=1)
    cooldown_s: float = Field(30.0, ge=0)


@dataclass(frozen=True)
class BreakerSnapshot:
    name: str
    state: BreakerState
    failures: int
    opened_at: float | None  # wall clock (epoch seconds), for display across processes
    last_error: str | None


ChangeListener = Callable[[BreakerSnapshot, BreakerState], None]


class CircuitBreaker:
    def __init__(self, name: str, config: BreakerConfig, on_change: ChangeListener | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.config = config
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at: float | None = None
        self._opened_wall: float | None = None
        self._trial_out = False
        self._last_error: str | None = None
        self._opened_by: str | None = None  # the call (a step id) whose failure opened it

    @property
    def state(self) -> BreakerState:
        return self._state

    def snapshot(self) -> BreakerSnapshot:
        with self._lock:
            return BreakerSnapshot(self.name, self._state, self._failures, self._opened_wall, self._last_error)

    def before_call(self) -> None:
        """Admit the call or raise CircuitOpenError."""
        with self._lock:
            if self._state == "open":
                assert self._opened_at is not None
                remaining = self._opened_at + self.config.cooldown_s - self._clock()
                if remaining > 0:
                    raise CircuitOpenError(self._refusal(remaining))
                self._move("half_open")
            if self._state == "half_open":
                if self._trial_out:
                    raise CircuitOpenError(f"not attempted: breaker for {self.name} half-open, its trial call is out")
                self._trial_out = True

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._trial_out = False
            if self._state != "closed":
                self._move("closed")

    def _refusal(self, remaining: float) -> str:
        """Why a call was not attempted, for the operator: which breaker, since when, opened
        by which step, and when it lets a trial call through."""
        since = time.strftime("%H:%M:%S", time.gmtime(self._opened_wall)) if self._opened_wall else "?"
        trial = time.strftime("%H:%M:%S", time.gmtime(time.time() + remaining))
        by = f" (opened by step {self._opened_by})" if self._opened_by else ""
        return (f"not attempted: breaker for {self.name} open since {since} UTC{by}; "
                f"next trial at {trial} UTC")

    def record_failure(self, error: str, by: str | None = None) -> None:
        with self._lock:
            self._last_error = error
            self._trial_out = False
            self._failures += 1
            if self._state == "half_open" or (self._state == "closed" and self._failures >= self.config.failure_threshold):
                self._opened_at = self._clock()
                self._opened_wall = time.time()
                self._opened_by = by
                self._move("open")

    def release_trial(self) -> None:
        """A call that ended without telling us about the dependency (e.g. a bad request)."""
        with self._lock:
            self._trial_out = False

    @contextmanager
    def guard(self, counts: Callable[[BaseException], bool], by: str | None = None) -> Iterator[None]:
        """Run the block through the breaker; ``counts`` says which errors are the dependency's
        fault; ``by``: who calls (a step id), named if its failure opens the breaker."""
        self.before_call()
        try:
            yield
        except BaseException as exc:
            if counts(exc):
                self.record_failure(f"{type(exc).__name__}: {exc}"[:300], by)
            else:
                self.release_trial()
            raise
        self.record_success()

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if new == "closed":
            self._opened_at = self._opened_wall = None
        if self._on_change:
            self._on_change(BreakerSnapshot(self.name, new, self._failures, self._opened_wall, self._last_error), old)


class BreakerBoard:
    """The process's breakers by name, created on first use with the configured settings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._listeners: dict[str, ChangeListener] = {}
        self.default = BreakerConfig()
        self.overrides: dict[str, BreakerConfig] = {}

    def configure(self, default: BreakerConfig, overrides: dict[str, BreakerConfig]) -> None:
        with self._lock:
            self.default, self.overrides = default, overrides
            for name, breaker in self._breakers.items():
                breaker.config = overrides.get(name, default)

    def listen(self, key: str, listener: ChangeListener) -> None:
        """Register (or replace) the listener known as ``key``."""
        with self._lock:
            self._listeners[key] = listener

    def get(self, name: str) -> CircuitBreaker:
        with self._lock:
            if name not in self._breakers:
                self._breakers[name] = CircuitBreaker(name, self.overrides.get(name, self.default), self._notify)
            return self._breakers[name]

    def reset(self) -> None:
        with self._lock:
            self._breakers.clear()

    def _notify(self, snapshot: BreakerSnapshot, old: BreakerState) -> None:
        for listener in list(self._listeners.values()):
            try:
                listener(snapshot, old)
            except Exception:  # a broken listener must not break the call being guarded
                pass


def _emit_change(snapshot: BreakerSnapshot, old: BreakerState) -> None:
    if snapshot.state == "open":
        emit("breaker_opened", payload={"breaker": snapshot.name, "from": old, "error": snapshot.last_error})
    elif snapshot.state == "closed":
        emit("breaker_closed", payload={"breaker": snapshot.name, "from": old})


BOARD = BreakerBoard()
BOARD.listen("events", _emit_change)
