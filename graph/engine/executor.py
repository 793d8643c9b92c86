"""The executor node: greedy, crash-safe DAG scheduling on LangGraph tasks.

Every step that still has to run becomes one ``@task`` call, all made up front in
``execution_order`` (deterministic: LangGraph names a task by its call index, so a resume
must call the same steps in the same order or one step could receive another's cached
result; each result also names its step, and one that names another is refused, so a
mismatch could never pass silently). The task is one module-level function, which
LangGraph prepares once; a function per step cost 40 µs a step to prepare again.
Each task waits for its dependencies, takes a slot of the run's limiter (ready steps are
queued by the scheduler the moment they become ready, and a freed slot goes to the first
of them in execution order), then runs its tool through
``resilient_call`` (retries, breaker, deadline, cancel). LangGraph stores each finished
task's return value as a pending write, so after a crash ``stream(None)`` re-enters this
node, the finished steps resolve at once from their writes, and only the others run.

A tool's failure never escapes a task: it becomes a FAILED result, durable too, and the
dependents of a failed step are SKIPPED while independent branches go on. A cancel stops
new steps from starting and gives running ones a grace period.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from langgraph.func import task

from agents.critic import cache_refusal
from agents.result_checks import failed_checks, model_judge, verify
from agents.tools import ToolRegistry
from agents.tools.context import ToolContext
from graph.core.breaker import BOARD
from graph.core.concurrency import Latch, OrderedLimiter
from graph.core.dag import REFERENCE, execution_order
from graph.core.errors import CheckFailed
from graph.core.events import CURRENT_STEP, STEP_ENDS, emit
from graph.core.nodes import EXECUTOR
from graph.core.resilience import CallFailed, CallLimits, Cancelled, one_line, resilient_call
from graph.core.schemas import Attempt, CachePolicy, Plan, Status, Step, StepResult, StepStatus, dump_result, utc_now
from graph.core.secrets import redact, resolve
from graph.core.tracing import fail, tool_span
from opentelemetry.trace import Span
from graph.core.settings import Settings
from graph.core.daemons import DAEMONS
from graph.core.walk import as_text, map_strings
from graph.store.cache import ResultCache, cache_key

CANCEL_POLL_S = 0.2
# LangGraph's own work in the pool, and a margin: the executor node no longer takes one of these,
# since our driver streams no mode and LangGraph runs the node on the driving thread.
SPARE_THREADS = 4
OUTPUT_PREVIEW_CHARS = 1000
SUCCEEDED = StepStatus.SUCCEEDED.value


class StepRun:
    """What the tasks of one executor invocation share: results so far, the limit, the cancel.

    Results are kept in their JSON form (what the state stores), not as models: a run of a
    thousand short steps kept a StepResult, its attempt log and their dicts alive per step,
    and the garbage collector's full passes, which those objects brought on, cost more than
    our whole layer does otherwise."""

    def __init__(self, plan: Plan, previous: dict[str, dict[str, Any]], registry: ToolRegistry,
                 context: ToolContext, keep_finished: bool = False, cache: ResultCache | None = None,
                 read_cache: bool = True) -> None:
        """``previous``: the results in the state (JSON form); succeeded ones are kept, and
        with ``keep_finished`` (going on after a review) every finished one: only the steps
        that waited, and the one a reviewer sent back, run. ``read_cache`` False (a run
        asked for with ``--no-cache``): nothing is taken from the result cache, and what
        runs refreshes it."""
        self.registry = registry
        self.cache, self.read_cache = cache, read_cache
        self.settings = settings = context.settings
        self.context = context
        self.tool_config = context.config()  # every tool call gets the run's settings and model
        self.judge = model_judge(context.model, settings) if context.model is not None else None
        self.limiter = OrderedLimiter(settings.step_concurrency)
        self.cancelled = threading.Event()
        self.order = execution_order(plan)
        self.steps = {s.id: s for s in plan.steps}
        self.tickets = {s.id: i for i, s in enumerate(self.order)}
        self.dependents: dict[str, list[str]] = {s.id: [] for s in plan.steps}
        for s in self.order:  # in execution order, so that of the steps one finish makes
            for dep in s.depends_on:  # ready, the first in that order is handed a free slot
                self.dependents[dep].append(s.id)
        self.results: dict[str, dict[str, Any]] = {}  # step id -> its result as the state stores it
        # Only steps that others wait for get a latch; the end of the run is one more.
        self.finished: dict[str, Latch] = {s: Latch() for s, children in self.dependents.items() if children}
        self.all_finished = Latch()
        self._lock = threading.Lock()
        self.earlier: dict[str, list[dict[str, Any]]] = {}  # attempts of steps about to run again
        self.reviews: dict[str, str] = {}  # a reviewer's word on a step sent back to run again
        for step_id, stored in previous.items():
            if step_id not in self.steps:
                continue
            if stored.get("status") == SUCCEEDED or (keep_finished and stored.get("status") not in UNFINISHED):
                self.results[step_id] = stored
                if step_id in self.finished:
                    self.finished[step_id].open()
            else:
                if stored.get("attempt_log"):
                    self.earlier[step_id] = stored["attempt_log"]
                if stored.get("review"):
                    self.reviews[step_id] = stored["review"]
        if len(self.results) == len(self.steps):
            self.all_finished.open()
        for step in self.order:
            if step.id not in self.results and self._ready(step.id):
                self.limiter.enqueue(self.tickets[step.id])

    def cache_policy(self, step: Step) -> CachePolicy | None:
        """The step's own cache policy, else its tool's default; none for a step whose
        results are never cached (a risky tool, a request other than GET)."""
        if self.cache is None:
            return None
        policy = step.cache or self.settings.cache_tools.get(step.tool)
        return None if policy is None or cache_refusal(step, self.registry) else policy

    def succeeded(self, step_id: str) -> bool:
        return self.results[step_id]["status"] == SUCCEEDED

    def _ready(self, step_id: str) -> bool:
        return all(d in self.results and self.succeeded(d) for d in self.steps[step_id].depends_on)

    def record(self, step_id: str, stored: dict[str, Any]) -> None:
        """Store a finished step (JSON form) and queue the dependents it made ready, before
        waking them."""
        with self._lock:
            self.results[step_id] = stored
            self.limiter.discard(self.tickets[step_id])  # a cached result never took its slot
            for child in self.dependents[step_id]:
                if child not in self.results and self._ready(child):
                    self.limiter.enqueue(self.tickets[child])
            if step_id in self.finished:
                self.finished[step_id].open()
            if len(self.results) == len(self.steps):
                self.all_finished.open()

    def on_done(self, step_id: str, future: Future) -> None:
        try:
            value = future.result()
            owner = value.get("step")
            if owner != step_id:
                raise RuntimeError(f"the stored result of this task belongs to step {owner!r}")
            self.record(step_id, {k: v for k, v in value.items() if k != "step"})
        except BaseException as exc:  # the task itself broke; never leave dependents waiting
            self.record(step_id, dump_result(StepResult(status=StepStatus.FAILED, error=one_line(exc))))

    def wait_for(self, step: Step) -> None:
        for dep in step.depends_on:
            while not self.finished[dep].wait(CANCEL_POLL_S):
                if self.cancelled.is_set():
                    raise Cancelled("cancelled before it started")


def execute_step(run: StepRun, step_id: str) -> dict[str, Any]:
    """One step's task. The run is an argument like any other: LangGraph keeps a task's
    return value, never its arguments."""
    return {"step": step_id, **dump_result(run_step(run, step_id))}


step_task = task(execute_step)  # the function stays importable by its name, so LangGraph caches its wrapper


def run_step(run: StepRun, step_id: str) -> StepResult:
    """Wait for dependencies, take a slot, call the tool."""
    step = run.steps[step_id]
    try:
        run.wait_for(step)
        blocked = [d for d in step.depends_on if not run.succeeded(d)]
        held = [d for d in blocked if run.results[d]["status"] in HELD]
        if held:  # a dependency awaits review (or waits on one): this step waits too, it is not skipped
            first = run.results[held[0]]
            reason = (first.get("error") if first["status"] == StepStatus.PENDING.value
                      else f"waits for the review of {held[0]!r}")
            return StepResult(status=StepStatus.PENDING, error=reason)
        if blocked:
            reason = f"dependency {blocked[0]!r} {run.results[blocked[0]]['status'].lower()}"
            emit("step_skipped", node=EXECUTOR, step_id=step.id, payload={"reason": reason})
            return StepResult(status=StepStatus.SKIPPED, error=reason)
        with run.limiter.slot(run.tickets[step.id], run.cancelled):
            return call_tool(run, step)
    except Cancelled as exc:
        emit("step_skipped", node=EXECUTOR, step_id=step.id, payload={"reason": str(exc)})
        return StepResult(status=StepStatus.SKIPPED, error=str(exc))


def breaker_name(step: Step, scope: str) -> str:
    """The breaker a step's call goes through: per host for an HTTP call (``http:HOST``)
    when breakers are scoped by destination, else per tool. A tool-wide breaker let one bad
    endpoint refuse calls to healthy hosts. An MCP tool is named for its server and tool
    already (``SERVER_TOOL``), so its breaker is per server and tool either way."""
    if scope == "destination" and step.tool == "http_request":
        host = urlsplit(str(step.args.get("url", ""))).hostname
        if host:
            return f"http:{host}"
    return f"tool:{step.tool}"


def call_tool(run: StepRun, step: Step) -> StepResult:
    with tool_span(step.tool, step.id, run.registry.description(step.tool)) as span:
        return _call_tool(run, step, span)


def _call_tool(run: StepRun, step: Step, span: Span) -> StepResult:
    """Attempts number on from the step's earlier runs (a retry or resume adds to its
    history instead of starting it again). A step with a cache policy is first looked up
    in the result cache."""
    policy = run.cache_policy(step)
    key = None
    if policy is not None:
        key = cache_key(step.tool, run.registry.version(step.tool), resolve_references(step.args, run.results))
        if run.read_cache and (hit := _cached(run, step, key)) is not None:
            return hit
    started = utc_now()
    earlier = [Attempt.model_validate(a) for a in run.earlier.get(step.id, ())]
    offset = max((a.attempt for a in earlier), default=0)
    emit("step_started", node=EXECUTOR, step_id=step.id, attempt=offset + 1, payload={"tool": step.tool})
    secrets: dict[str, str] = {}
    call = run.registry.caller(step.tool)
    takes_timeout = run.registry.takes(step.tool, "timeout_s")
    takes_feedback = bool(step.checks) and run.registry.takes(step.tool, "feedback")
    timeout_s = step.timeout_s or run.settings.step_timeout_s

    attempt_no = [offset]
    feedback: list[str] = []  # why the last output failed its checks, for the next try

    def invoke(seconds_left: float | None) -> Any:
        attempt_no[0] += 1
        CURRENT_STEP.set((step.id, attempt_no[0]))  # this runs in the call's own context copy
        args = resolve(resolve_references(step.args, run.results), secrets, run.settings.secrets)
        if takes_timeout and seconds_left is not None:
            args["timeout_s"] = min(float(args.get("timeout_s", seconds_left)), seconds_left)
        if feedback and takes_feedback:  # a tool that declares it (an MCP server's model-backed tool) is told why
            args["feedback"] = feedback[-1]
        config = replace(run.context, feedback=feedback[-1]).config() if feedback else run.tool_config
        output = call(args, config)
        if step.checks:
            _check_output(run, step, redact(to_json(output), secrets), feedback, attempt_no[0])
        return output

    def on_retry(attempt: Attempt) -> None:
        emit("step_retry", node=EXECUTOR, step_id=step.id, attempt=attempt.attempt + offset,
             payload={"tool": step.tool, "error": redact(attempt.error, secrets), "category": attempt.category,
                      "delay_s": attempt.delay_s})

    def history(log: list[Attempt]) -> list[Attempt]:
        return earlier + [a.model_copy(update={"attempt": a.attempt + offset}) for a in log]

    try:
        output, attempts = resilient_call(
            invoke, retry=run.settings.retry_for_tool(step.tool, step.retry),
            limits=CallLimits(timeout_s, run.cancelled, run.settings.cancel_grace_s,
                              bounded=run.registry.is_bounded(step.tool)),
            breaker=BOARD.get(breaker_name(step, run.settings.breaker_scope)), on_retry=on_retry, caller=step.id)
    except CallFailed as failed:
        fail(span, failed.__cause__ or failed)  # error.type: the class of what failed last
        log = history([a.model_copy(update={"error": redact(a.error, secrets)}) for a in failed.attempts])
        last = log[-1].category if log else None
        status = _failed_status(failed.attempts)
        error = redact(_failure(failed, status), secrets)
        calls = _calls(log)
        emit(STEP_ENDS[status], node=EXECUTOR, step_id=step.id, attempt=calls,
             payload={"tool": step.tool, "error": error, "seconds": (utc_now() - started).total_seconds(),
                      "category": last})
        output = failed.__cause__.output if status == StepStatus.NEEDS_REVIEW else None  # type: ignore[union-attr]
        return StepResult(status=status, attempts=calls, started_at=started, finished_at=utc_now(),
                          error=error, attempt_log=log, output=output, review=run.reviews.get(step.id))
    finished = utc_now()
    output = redact(to_json(output), secrets)
    log = history(attempts) if earlier else attempts
    calls = _calls(log)
    seconds = (finished - started).total_seconds()
    payload = {"tool": step.tool, "seconds": seconds, "output": as_text(output)[:OUTPUT_PREVIEW_CHARS]}
    if key is not None:
        assert policy is not None and run.cache is not None
        run.cache.put(key, step.tool, output, seconds, policy.ttl_s)
        payload["cache"] = "miss" if run.read_cache else "refresh"
    emit(STEP_ENDS[StepStatus.SUCCEEDED], node=EXECUTOR, step_id=step.id, attempt=calls,
         payload=payload)  # live views show the output before the node returns
    return StepResult(status=StepStatus.SUCCEEDED, attempts=calls, started_at=started,
                      finished_at=finished, output=output, attempt_log=log, review=run.reviews.get(step.id))


def _check_output(run: StepRun, step: Step, output: Any, feedback: list[str], attempt: int) -> None:
    """Raise CheckFailed if the output fails a check, keeping why in ``feedback`` for the
    next try. Every evaluation is a ``step_checked`` event: the metrics count the checks
    that passed and failed per tool and kind."""
    tally: dict[str, list[str]] | None = None
    try:
        tally = verify(step.checks, output, run.judge)
    except CheckFailed as failed:
        feedback.append(str(failed))
        tally = failed.tally
        raise
    finally:
        if tally is not None:
            emit("step_checked", node=EXECUTOR, step_id=step.id, attempt=attempt, payload={"tool": step.tool, **tally})


def _cached(run: StepRun, step: Step, key: str) -> StepResult | None:
    """A result from the cache, unless there is none younger than the policy allows or it
    fails the step's checks as they are now (they are not part of the key)."""
    assert run.cache is not None
    hit = run.cache.get(key)
    if hit is None or (step.checks and failed_checks(step.checks, hit.output, run.judge)):
        return None
    now = utc_now()
    emit("step_cached", node=EXECUTOR, step_id=step.id, payload={
        "tool": step.tool, "seconds_saved": hit.seconds, "cached_at": hit.created_at,
        "output": as_text(hit.output)[:OUTPUT_PREVIEW_CHARS]})
    return StepResult(status=StepStatus.SUCCEEDED, started_at=now, finished_at=now, output=hit.output, cached=True)


HELD = (StepStatus.NEEDS_REVIEW.value, StepStatus.PENDING.value)  # a dependent of these waits
UNFINISHED = (StepStatus.PENDING.value, StepStatus.RUNNING.value)


def _failed_status(attempts: list[Attempt]) -> StepStatus:
    """CANCELLED: stopped by the operator, not by its tool; NOT_ATTEMPTED: this run never
    called the tool, an open breaker refused it (not the step's own failure); NEEDS_REVIEW:
    the tool answered, but the output kept failing its checks."""
    if attempts and attempts[-1].category == "cancelled":
        return StepStatus.CANCELLED
    if attempts and attempts[-1].category == "check_failed":
        return StepStatus.NEEDS_REVIEW
    if attempts and all(a.category == "circuit_open" for a in attempts):
        return StepStatus.NOT_ATTEMPTED
    return StepStatus.FAILED


def _failure(failed: CallFailed, status: StepStatus) -> str:
    """The step's error, by the status ``_failed_status`` gave it. A refusal reads as the
    breaker's own words; a step whose calls failed until the breaker refused its next try
    names its last real failure first; an output that kept failing its checks names them."""
    attempts = failed.attempts
    if status == StepStatus.NEEDS_REVIEW:
        return f"checks failed after {len(attempts)} attempt(s): {failed.__cause__}"
    if status == StepStatus.NOT_ATTEMPTED:
        return str(failed.__cause__)
    if attempts and attempts[-1].category == "circuit_open":
        return f"{[a for a in attempts if a.category != 'circuit_open'][-1].error}; then {failed.__cause__}"
    return str(failed)


def _calls(log: list[Attempt]) -> int:
    """Attempts that reached the tool: a breaker's refusal is recorded but was no call."""
    return sum(a.category != "circuit_open" for a in log)


def resolve_references(value: Any, results: dict[str, dict[str, Any]]) -> Any:
    """Replace ``{{id}}`` in string args with that step's output as text."""
    return map_strings(value, lambda text: REFERENCE.sub(lambda m: as_text(results[m.group(1)].get("output")), text))


def to_json(output: Any) -> Any:
    """Tool outputs go into checkpoints: keep JSON values, stringify anything else."""
    if output is None or type(output) in (str, int, float, bool):  # most outputs: nothing to encode
        return output
    try:
        json.dumps(output)
        return output
    except (TypeError, ValueError):
        return str(output)


def threads_needed(plan: dict[str, Any], settings: Settings) -> int:
    """Threads the graph needs for one executor run. Each step's task holds a thread from
    the moment the pool starts it, and the pool starts them in execution order; a task
    waits there for its dependencies, then for a slot, which the limiter hands out in that
    same order. So when a slot is free and a step is ready, the busy threads are at most
    the other slots' steps plus steps that still wait for a dependency:
    ``step_concurrency - 1 + (steps with dependencies)``, one fewer than this. A thread
    per step (a thousand for a wide plan) would cost more than the steps themselves."""
    steps = plan.get("steps") or []
    waiting = sum(1 for s in steps if s.get("depends_on"))
    needed = min(len(steps), settings.step_concurrency + waiting) + SPARE_THREADS
    return min(needed, settings.max_task_threads)  # fewer still finishes, less greedily


def execute_plan(state: dict[str, Any], registry: ToolRegistry, context: ToolContext,
                 cancel_requested: Callable[[], bool] | None = None, cache: ResultCache | None = None,
                 ) -> dict[str, Any]:
    """After a review decision the run goes on: what had finished stays as it was."""
    plan = Plan.model_validate(state["plan"])
    reviewed = (state.get("decision") or {}).get("action") == "review"
    run = StepRun(plan, state.get("steps") or {}, registry, context, keep_finished=reviewed, cache=cache,
                  read_cache=not state.get("no_cache"))
    stop_watching = threading.Event()
    if cancel_requested is not None:
        if cancel_requested():
            run.cancelled.set()
        DAEMONS.run(partial(_watch_cancel, cancel_requested, run.cancelled, stop_watching))
    try:
        futures: list[Future] = []
        for step in run.order:
            if step.id in run.results:
                continue
            future = step_task(run, step.id)
            future.add_done_callback(partial(run.on_done, step.id))
            futures.append(future)
        for future in futures:
            future.exception()  # wait; outcomes arrive through on_done
        run.all_finished.wait()  # on_done runs after a future's waiters wake
    finally:
        stop_watching.set()
    results = {s.id: run.results[s.id] for s in plan.steps}
    status, error = _outcome(results, run.cancelled.is_set())
    return {"steps": results, "status": status.value, "error": error}


def _watch_cancel(requested: Callable[[], bool], cancelled: threading.Event, stop: threading.Event) -> None:
    while not stop.wait(CANCEL_POLL_S):
        try:
            if requested():
                cancelled.set()
                return
        except Exception:  # a busy database must not kill the watcher; ask again next tick
            continue


def _outcome(results: dict[str, dict[str, Any]], cancelled: bool) -> tuple[Status, str | None]:
    """A step an open breaker refused leaves the run FAILED (it did not do its work; retry
    runs it), but it is named apart from the steps that failed on their own."""
    by_status: dict[str, list[str]] = {}
    for step_id, result in results.items():
        by_status.setdefault(result["status"], []).append(step_id)
    failed = by_status.get(StepStatus.FAILED.value, [])
    refused = by_status.get(StepStatus.NOT_ATTEMPTED.value, [])
    skipped = by_status.get(StepStatus.SKIPPED.value, [])
    done = len(by_status.get(SUCCEEDED, []))
    if cancelled and done < len(results):
        return Status.CANCELLED, f"cancelled by the operator ({done}/{len(results)} steps had succeeded)"
    review = by_status.get(StepStatus.NEEDS_REVIEW.value, [])
    if review:
        return Status.AWAITING_REVIEW, (f"{len(review)} step(s) await review ({', '.join(review)}): "
                                        f"{review[0]}: {results[review[0]].get('error')}")
    if failed or refused:
        first = (failed or refused)[0]
        parts = [f"{len(failed)} step(s) failed ({', '.join(failed)})"] if failed else []
        if refused:
            parts.append(f"{len(refused)} not attempted, breaker open ({', '.join(refused)})")
        error = f"{'; '.join(parts)}: {first}: {results[first].get('error')}"
        if skipped:
            error += f"; skipped: {', '.join(skipped)}"
        return Status.FAILED, error
    return Status.COMPLETED, None
