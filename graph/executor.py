"""The executor node: greedy, crash-safe DAG scheduling on LangGraph tasks.

Every step that still has to run becomes one ``@task`` call, all made up front in
``execution_order`` (deterministic: LangGraph names a task by its call index, so a resume
must call the same steps in the same order or one step could receive another's cached
result; the task is also named after its step, so a mismatch could never pass silently).
Each task waits for its dependencies (events set by done-callbacks), takes a slot of the
priority limiter, then runs its tool. LangGraph stores each finished task's return value
as a pending write, so after a crash ``stream(None)`` re-enters this node, the finished
steps resolve at once from their writes, and only the unfinished ones run again.

A tool's exception never escapes a task: it becomes a FAILED result, which is durable too,
and dependents of a failed step are SKIPPED while independent branches go on.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from functools import partial
from typing import Any

from langgraph.func import task

from agents.tools import ToolRegistry
from graph.concurrency import PriorityLimiter
from graph.dag import REFERENCE, execution_order
from graph.events import emit
from graph.schemas import Plan, Status, Step, StepResult, StepStatus, dump, utc_now


class StepRun:
    """What the tasks of one executor invocation share: results so far and the limit."""

    def __init__(self, plan: Plan, previous: dict[str, StepResult], registry: ToolRegistry, slots: int) -> None:
        self.registry = registry
        self.limiter = PriorityLimiter(slots)
        self.order = execution_order(plan)
        self.steps = {s.id: s for s in plan.steps}
        self.tickets = {s.id: PriorityLimiter.ticket(s.priority, i) for i, s in enumerate(self.order)}
        self.dependents: dict[str, list[str]] = {s.id: [] for s in plan.steps}
        for s in plan.steps:
            for dep in s.depends_on:
                self.dependents[dep].append(s.id)
        self.results: dict[str, StepResult] = {}
        self.finished: dict[str, threading.Event] = {s.id: threading.Event() for s in plan.steps}
        self._lock = threading.Lock()
        for step_id, result in previous.items():
            if result.status == StepStatus.SUCCEEDED and step_id in self.steps:
                self.results[step_id] = result
                self.finished[step_id].set()
        for step in self.order:
            if step.id not in self.results and self._ready(step.id):
                self.limiter.enqueue(self.tickets[step.id])

    def _ready(self, step_id: str) -> bool:
        deps = self.steps[step_id].depends_on
        return all(d in self.results and self.results[d].status == StepStatus.SUCCEEDED for d in deps)

    def record(self, step_id: str, result: StepResult) -> None:
        """Store a finished step and queue the dependents it made ready, before waking them."""
        with self._lock:
            self.results[step_id] = result
            self.limiter.discard(self.tickets[step_id])  # a cached result never took its slot
            for child in self.dependents[step_id]:
                if child not in self.results and self._ready(child):
                    self.limiter.enqueue(self.tickets[child])
        self.finished[step_id].set()

    def on_done(self, step_id: str, future: Future) -> None:
        try:
            self.record(step_id, StepResult.model_validate(future.result()))
        except BaseException as exc:  # the task itself broke; never leave dependents waiting
            self.record(step_id, StepResult(status=StepStatus.FAILED, error=one_line(exc)))


def run_step(run: StepRun, step_json: dict[str, Any]) -> dict[str, Any]:
    """Body of one step's task: wait for dependencies, take a slot, run the tool once."""
    step = Step.model_validate(step_json)
    for dep in step.depends_on:
        run.finished[dep].wait()
    blocked = [d for d in step.depends_on if run.results[d].status != StepStatus.SUCCEEDED]
    if blocked:
        reason = f"dependency {blocked[0]!r} {run.results[blocked[0]].status.value.lower()}"
        emit("step_skipped", node="executor", step_id=step.id, payload={"reason": reason})
        return dump(StepResult(status=StepStatus.SKIPPED, error=reason))
    with run.limiter.slot(run.tickets[step.id]):
        started = utc_now()
        emit("step_started", node="executor", step_id=step.id, attempt=1, payload={"tool": step.tool})
        try:
            args = resolve_references(step.args, run.results)
            output = to_json(run.registry.get(step.tool).invoke(args))
        except Exception as exc:
            error = one_line(exc)
            emit("step_failed", node="executor", step_id=step.id, attempt=1, payload={"error": error})
            return dump(StepResult(status=StepStatus.FAILED, attempts=1, started_at=started,
                                   finished_at=utc_now(), error=error))
        finished = utc_now()
        emit("step_succeeded", node="executor", step_id=step.id, attempt=1,
             payload={"seconds": (finished - started).total_seconds()})
        return dump(StepResult(status=StepStatus.SUCCEEDED, attempts=1, started_at=started,
                               finished_at=finished, output=output))


def resolve_references(value: Any, results: dict[str, StepResult]) -> Any:
    """Replace ``{{id}}`` in string args with that step's output as text."""
    if isinstance(value, str):
        return REFERENCE.sub(lambda m: as_text(results[m.group(1)].output), value)
    if isinstance(value, dict):
        return {k: resolve_references(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_references(v, results) for v in value]
    return value


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def as_text(output: Any) -> str:
    return output if isinstance(output, str) else json.dumps(output)


def to_json(output: Any) -> Any:
    """Tool outputs go into checkpoints: keep JSON values, stringify anything else."""
    try:
        json.dumps(output)
        return output
    except (TypeError, ValueError):
        return str(output)


def execute_plan(state: dict[str, Any], registry: ToolRegistry, slots: int) -> dict[str, Any]:
    plan = Plan.model_validate(state["plan"])
    previous = {k: StepResult.model_validate(v) for k, v in (state.get("steps") or {}).items()}
    run = StepRun(plan, previous, registry, slots)
    futures: list[Future] = []
    for step in run.order:
        if step.id in run.results:
            continue
        step_task = task(name=f"step_{step.id}")(partial(run_step, run))
        future = step_task(dump(step))
        future.add_done_callback(partial(run.on_done, step.id))
        futures.append(future)
    for future in futures:
        future.exception()  # wait; outcomes arrive through on_done
    for event in run.finished.values():
        event.wait()
    results = {s.id: run.results[s.id] for s in plan.steps}
    failed = [i for i, r in results.items() if r.status == StepStatus.FAILED]
    skipped = [i for i, r in results.items() if r.status == StepStatus.SKIPPED]
    if failed:
        first = results[failed[0]].error
        error = f"{len(failed)} step(s) failed ({', '.join(failed)}): {failed[0]}: {first}"
        if skipped:
            error += f"; skipped: {', '.join(skipped)}"
        status = Status.FAILED
    else:
        error, status = None, Status.COMPLETED
    return {"steps": {k: dump(v) for k, v in results.items()}, "status": status.value, "error": error}
