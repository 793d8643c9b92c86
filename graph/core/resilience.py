"""One guarded call: retries (tenacity, from a ``RetryConfig``), a circuit breaker, a
wall-clock deadline and cancellation, with every attempt recorded. Tool steps and model
calls both go through ``resilient_call``, so they fail, retry and report alike.

Timeouts: the call runs on a worker thread and the caller stops waiting at the deadline.
Python cannot kill a thread, so the call is also handed the seconds left (tools that take
``timeout_s`` pass it to their socket or subprocess, which releases the hung resource);
a call that ignores it is abandoned on its daemon thread (``graph/core/daemons.py``).
A call declared bounded (``CallLimits.bounded``) runs on the caller's thread instead."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from graph.core.errors import CheckFailed, ExecutionError, HttpStatusError, ToolRefused
from graph.core.breaker import CircuitBreaker, CircuitOpenError
from graph.core.schemas import Attempt, ErrorCategory, RetryConfig, utc_now
from graph.core.daemons import DAEMONS

T = TypeVar("T")
BREAKER_COUNTS: frozenset[ErrorCategory] = frozenset({"timeout", "connection", "http_429", "http_5xx"})


class StepTimeout(ExecutionError, TimeoutError):
    """The step ran past its ``timeout_s``."""


class Cancelled(ExecutionError):
    """The operator cancelled the run."""


class CallFailed(ExecutionError):
    """Every allowed attempt failed; ``attempts`` holds the record, ``__cause__`` the last error."""

    def __init__(self, message: str, attempts: list[Attempt]) -> None:
        super().__init__(message)
        self.attempts = attempts


def classify(exc: BaseException) -> ErrorCategory:
    """Which kind of failure this is; RetryConfig.retry_on and the breakers read it."""
    if isinstance(exc, CircuitOpenError):
        return "circuit_open"
    if isinstance(exc, Cancelled):
        return "cancelled"
    if isinstance(exc, ToolRefused):
        return "refused"
    if isinstance(exc, CheckFailed):
        return "check_failed"
    status = getattr(exc, "status", None) if isinstance(exc, HttpStatusError) else getattr(exc, "status_code", None)
    if isinstance(status, int):
        return "http_429" if status == 429 else "http_5xx" if status >= 500 else "http_4xx" if status >= 400 else "error"
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) or "Timeout" in name:
        return "timeout"
    if isinstance(exc, ConnectionError) or "Connection" in name:
        return "connection"
    if isinstance(exc, (ValidationError, ValueError, TypeError)):
        return "validation"
    return "error"


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


@dataclass
class CallLimits:
    """``bounded``: the call cannot block or run long (a pure computation with limits on its
    input and result, like ``calculate``). It runs on the caller's thread, with the cancel
    checked before it: handing it to a deadline thread and back would cost more than the
    call (about 70 µs)."""

    timeout_s: float | None = None
    cancelled: threading.Event | None = None
    grace_s: float = 2.0
    bounded: bool = False
    deadline: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.timeout_s is not None:
            self.deadline = time.monotonic() + self.timeout_s

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(self.deadline - time.monotonic(), 0.0)

    def check_cancelled(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise Cancelled("cancelled by the operator")


def call_within(fn: Callable[[], T], limits: CallLimits) -> T:
    """Run ``fn`` on a worker thread; stop waiting at the deadline or after a cancel's grace."""
    limits.check_cancelled()
    if limits.bounded:
        return contextvars.copy_context().run(fn)  # its own context, as on a worker thread
    box: dict[str, Any] = {}
    done = threading.Lock()  # held until the call ends: a bare lock is the cheapest wait
    done.acquire()
    context = contextvars.copy_context()  # the stream writer and config travel with the call

    def target() -> None:
        try:
            box["value"] = context.run(fn)
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc
        finally:
            done.release()

    DAEMONS.run(target)
    while not done.acquire(timeout=0.05):
        if limits.cancelled is not None and limits.cancelled.is_set():
            if done.acquire(timeout=limits.grace_s):
                break
            raise Cancelled(f"cancelled while running (abandoned after {limits.grace_s:g}s grace)")
        if limits.deadline is not None and time.monotonic() >= limits.deadline:
            raise StepTimeout(f"timed out after {limits.timeout_s:g}s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def backoff(retry: RetryConfig) -> wait_exponential_jitter:
    """The one back-off: exponential from initial_delay_s, capped, with jitter."""
    return wait_exponential_jitter(multiplier=retry.initial_delay_s, max=retry.max_delay_s,
                                   exp_base=retry.exponential_base, jitter=retry.initial_delay_s if retry.jitter else 0)


def resilient_call(
    fn: Callable[[float | None], T],
    *,
    retry: RetryConfig,
    limits: CallLimits,
    breaker: CircuitBreaker | None = None,
    on_retry: Callable[[Attempt], None] | None = None,
    caller: str | None = None,
) -> tuple[T, list[Attempt]]:
    """Call ``fn(seconds_left)`` until it succeeds, the error is not retryable, the attempts
    run out or the deadline would pass during the next wait. Raises CallFailed."""
    log: list[Attempt] = []

    def attempt() -> T:
        started = utc_now()
        number = len(log) + 1
        try:
            with breaker.guard(lambda e: classify(e) in BREAKER_COUNTS, caller) if breaker else nullcontext():
                value = call_within(lambda: fn(limits.remaining()), limits)
        except BaseException as exc:
            log.append(Attempt(attempt=number, started_at=started, error=one_line(exc), category=classify(exc)))
            raise
        log.append(Attempt(attempt=number, started_at=started))
        return value

    def out_of_time(state: RetryCallState) -> bool:
        left = limits.remaining()
        return left is not None and left <= state.upcoming_sleep

    def before_sleep(state: RetryCallState) -> None:
        log[-1].delay_s = round(state.upcoming_sleep, 4)
        if on_retry:
            on_retry(log[-1])

    def sleep(seconds: float) -> None:
        if limits.cancelled is not None:
            limits.cancelled.wait(seconds)
            limits.check_cancelled()
        else:
            time.sleep(seconds)

    try:
        return attempt(), log  # most calls succeed at once, and pay for no retry machinery
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        first = exc
    replayed = [False]

    def replay_then_attempt() -> T:
        """Tenacity's first attempt is the one already made: it re-raises its error (so the
        waits and the stop count from it), then every later attempt is a real call."""
        if not replayed[0]:
            replayed[0] = True
            raise first
        return attempt()

    retrying = Retrying(
        stop=stop_after_attempt(retry.max_attempts) | out_of_time,
        wait=backoff(retry),
        retry=retry_if_exception(lambda e: classify(e) in retry.retry_on),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    try:
        return retrying(replay_then_attempt), log
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise CallFailed(one_line(exc), log) from exc
