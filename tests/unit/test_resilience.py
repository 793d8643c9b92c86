"""The resilience parts on their own: the breaker's state machine on a fake clock, retry
settings precedence, error classes, the settings file, secrets."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from graph.core.errors import HttpStatusError, ToolRefused
from graph.core.breaker import BreakerConfig, CircuitBreaker, CircuitOpenError
from graph.core.resilience import CallFailed, CallLimits, Cancelled, StepTimeout, classify, resilient_call
from graph.core.schemas import RetryConfig, RetryOverride
from graph.core.secrets import redact, resolve
from graph.core.settings import Settings, SettingsError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_and_lets_one_trial_through_after_cooldown() -> None:
    clock, changes = Clock(), []
    breaker = CircuitBreaker("tool:x", BreakerConfig(failure_threshold=3, cooldown_s=10),
                             lambda snap, old: changes.append((old, snap.state)), clock)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure("boom")
    breaker.before_call()
    breaker.record_success()  # a success resets the count
    for _ in range(3):
        breaker.before_call()
        breaker.record_failure("boom")
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError, match="breaker for tool:x open"):
        breaker.before_call()
    clock.now = 10
    breaker.before_call()  # the trial
    with pytest.raises(CircuitOpenError, match="trial call is out"):
        breaker.before_call()
    breaker.record_failure("still down")
    assert breaker.state == "open"
    clock.now = 20
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "open"),
                       ("open", "half_open"), ("half_open", "closed")]


def test_breaker_ignores_errors_that_are_not_the_dependencys_fault() -> None:
    breaker = CircuitBreaker("tool:x", BreakerConfig(failure_threshold=1, cooldown_s=10))
    with pytest.raises(ToolRefused), breaker.guard(lambda e: classify(e) == "http_5xx"):
        raise ToolRefused("no")
    assert breaker.state == "closed"


@pytest.mark.parametrize("error, category", [
    (TimeoutError("t"), "timeout"), (StepTimeout("t"), "timeout"), (ConnectionError("c"), "connection"),
    (HttpStatusError(429, "x"), "http_429"), (HttpStatusError(503, "x"), "http_5xx"),
    (HttpStatusError(404, "x"), "http_4xx"), (ToolRefused("x"), "refused"), (ValueError("x"), "validation"),
    (CircuitOpenError("x"), "circuit_open"), (Cancelled("x"), "cancelled"), (RuntimeError("x"), "error"),
])
def test_errors_are_classified(error: BaseException, category: str) -> None:
    assert classify(error) == category


def test_retry_precedence_is_step_then_tool_then_default(settings: Settings) -> None:
    settings = settings.model_copy(update={
        "retry": RetryConfig(max_attempts=3, initial_delay_s=1),
        "tool_retry": {"http_request": RetryOverride(max_attempts=5, jitter=False)}})
    tool = settings.retry_for_tool("http_request")
    assert (tool.max_attempts, tool.initial_delay_s, tool.jitter) == (5, 1, False)
    step = settings.retry_for_tool("http_request", RetryOverride(max_attempts=1))
    assert (step.max_attempts, step.jitter) == (1, False)
    assert settings.retry_for_tool("calculate").max_attempts == 3


def test_settings_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prolight.toml"
    path.write_text('step_timeout_s = 5\n[retry]\nmax_attempts = 4\n[retry.tools.http_request]\nmax_attempts = 6\n'
                    '[retry.agents.planner]\nmax_attempts = 2\n[breaker]\ncooldown_s = 7\n'
                    '[breaker.overrides."tool:http_request"]\nfailure_threshold = 2\n')
    monkeypatch.setenv("PROLIGHT_SETTINGS", str(path))
    monkeypatch.setenv("PROLIGHT_BREAKER_FAILURES", "9")
    settings = Settings.from_env()
    assert settings.step_timeout_s == 5 and settings.retry.max_attempts == 4
    assert settings.retry_for_tool("http_request").max_attempts == 6
    assert settings.retry_for_agent("planner").max_attempts == 2
    assert (settings.breaker.failure_threshold, settings.breaker.cooldown_s) == (9, 7)
    assert settings.breaker_overrides["tool:http_request"].failure_threshold == 2
    assert settings.breaker_scope == "destination", "a breaker per host by default"
    path.write_text('[breaker]\nscope = "tool"\n')
    assert Settings.from_env().breaker_scope == "tool"
    path.write_text('[breaker]\nscope = "everywhere"\n')
    with pytest.raises(SettingsError, match="bad setting breaker_scope"):
        Settings.from_env()
    path.write_text("[retry]\nmax_attempts = 0\n")
    with pytest.raises(SettingsError, match="bad setting retry.max_attempts"):
        Settings.from_env()


def test_deadline_bounds_the_whole_call_including_backoff() -> None:
    calls = []

    def always_times_out(left: float | None) -> None:
        calls.append(left)
        raise TimeoutError("slow")

    with pytest.raises(CallFailed) as failed:
        resilient_call(always_times_out, retry=RetryConfig(max_attempts=10, initial_delay_s=0.2),
                       limits=CallLimits(timeout_s=0.5))
    assert 1 <= len(calls) <= 3, "stops when the next wait would pass the deadline"
    assert all(left is not None and left <= 0.5 for left in calls), "the call is told the time left"
    assert failed.value.attempts[-1].category == "timeout"


def test_cancel_abandons_a_call_after_the_grace_period() -> None:
    cancelled = threading.Event()
    release = threading.Event()
    threading.Timer(0.1, cancelled.set).start()
    with pytest.raises(CallFailed, match="abandoned after 0.2s grace"):
        resilient_call(lambda _: release.wait(5), retry=RetryConfig(),
                       limits=CallLimits(timeout_s=10, cancelled=cancelled, grace_s=0.2))
    release.set()


def test_secrets_resolve_from_the_settings_and_are_redacted(monkeypatch: pytest.MonkeyPatch,
                                                            settings: Settings) -> None:
    monkeypatch.setenv("PROLIGHT_SECRET_KEY", "hunter2hunter2")
    secrets = Settings.from_env().secrets
    assert secrets["KEY"].get_secret_value() == "hunter2hunter2" and "hunter2" not in repr(secrets), "the reader"
    used: dict[str, str] = {}
    assert resolve({"h": ["x ${secret:KEY}"]}, used, secrets) == {"h": ["x hunter2hunter2"]}
    assert redact({"out": "echo hunter2hunter2"}, used) == {"out": "echo ***"}
    with pytest.raises(ToolRefused, match="PROLIGHT_SECRET_MISSING"):
        resolve("${secret:MISSING}", {}, secrets)


def test_a_bounded_call_runs_on_the_callers_thread_and_others_on_a_deadline_thread() -> None:
    where: list[threading.Thread] = []
    for bounded in (True, False):
        resilient_call(lambda _: where.append(threading.current_thread()), retry=RetryConfig(),
                       limits=CallLimits(timeout_s=5, bounded=bounded))
    assert where[0] is threading.current_thread()
    assert where[1] is not threading.current_thread(), "a call that may block must be abandonable"


def test_a_bounded_call_still_sees_a_cancel_before_it_starts() -> None:
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(CallFailed, match="Cancelled"):
        resilient_call(lambda _: pytest.fail("must not run"), retry=RetryConfig(),
                       limits=CallLimits(cancelled=cancelled, bounded=True))


def test_cache_defaults_per_tool_come_from_the_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prolight.toml"
    path.write_text('[cache.tools.http_request]\nttl_s = 300\n')
    monkeypatch.setenv("PROLIGHT_SETTINGS", str(path))
    assert Settings.from_env().cache_tools["http_request"].ttl_s == 300
    path.write_text('[cache.tools.http_request]\nttl_s = 0\n')
    with pytest.raises(SettingsError, match=r"^bad setting cache_tools\.http_request\.ttl_s: Input should be greater "
                                            r"than 0$"):
        Settings.from_env()
