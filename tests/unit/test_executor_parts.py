"""The executor's parts on their own: the ordered limiter's hand-off, the thread budget, the
check that a stored task result belongs to its step, the direct tool call, the reusable
daemon threads, and events reaching a client that is not our driver."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import Future
from pathlib import Path

import pytest
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool
from pydantic import ValidationError

from agents.tools import default_registry
from agents.tools.calling import tool_caller
from agents.tools.context import ToolContext
from graph.core.concurrency import Latch, OrderedLimiter
from graph.core.resilience import Cancelled
from graph.core.schemas import Plan, StepStatus
from graph.core.settings import Settings
from graph.core.daemons import DaemonThreads
from graph.engine.build import build_graph
from graph.engine.context import RunContext
from graph.engine.executor import SPARE_THREADS, StepRun, threads_needed
from graph.store.connect import open_database


def test_a_freed_slot_goes_to_the_first_ready_step_in_execution_order() -> None:
    limiter = OrderedLimiter(1)
    limiter.enqueue(5)
    order: list[int] = []
    with limiter.slot(5):
        for ticket in (9, 7, 8):  # made ready while the slot is taken, in any order
            limiter.enqueue(ticket)
        waiters = [threading.Thread(target=lambda t=t: _take(limiter, t, order)) for t in (9, 7, 8)]
        for waiter in waiters:
            waiter.start()
    for waiter in waiters:
        waiter.join(10)
    assert order == [7, 8, 9]


def test_a_latch_releases_every_waiter_when_opened_and_stays_open() -> None:
    latch = Latch()
    assert latch.wait(0.01) is False
    released: list[bool] = []
    waiters = [threading.Thread(target=lambda: released.append(latch.wait(30))) for _ in range(5)]
    for waiter in waiters:
        waiter.start()
    latch.open()
    latch.open()  # opening twice is harmless
    for waiter in waiters:
        waiter.join(30)
    assert released == [True] * 5
    assert latch.wait(0) and latch.is_open()


def _take(limiter: OrderedLimiter, ticket: int, order: list[int]) -> None:
    with limiter.slot(ticket):
        order.append(ticket)


def test_a_slot_handed_to_a_step_that_never_runs_is_passed_on() -> None:
    limiter = OrderedLimiter(1)
    limiter.enqueue(1)  # handed the slot at once
    limiter.enqueue(2)
    limiter.discard(1)  # its result came from the checkpoint
    order: list[int] = []
    waiter = threading.Thread(target=_take, args=(limiter, 2, order))
    waiter.start()
    waiter.join(10)
    assert order == [2], "ticket 2 got the slot ticket 1 never used"


def test_a_cancel_while_waiting_leaves_the_line() -> None:
    limiter, cancelled = OrderedLimiter(1), threading.Event()
    limiter.enqueue(1)
    limiter.enqueue(2)
    cancelled.set()
    with pytest.raises(Cancelled):
        with limiter.slot(2, cancelled):
            pass
    with limiter.slot(1, cancelled):  # already handed its slot: a cancel does not take it back
        pass
    limiter.enqueue(3)
    with limiter.slot(3):
        pass


def test_the_thread_budget_follows_the_plan_not_its_width(settings: Settings) -> None:
    settings = settings.model_copy(update={"step_concurrency": 8, "max_task_threads": 512})
    flat = {"steps": [{"id": f"s{i}"} for i in range(1000)]}
    chain = {"steps": [{"id": f"s{i}", "depends_on": [f"s{i - 1}"] if i else []} for i in range(100)]}
    assert threads_needed(flat, settings) == 8 + SPARE_THREADS
    assert threads_needed({"steps": flat["steps"][:3]}, settings) == 3 + SPARE_THREADS
    assert threads_needed(chain, settings) == 100 + SPARE_THREADS
    assert threads_needed(chain, settings.model_copy(update={"max_task_threads": 20})) == 20


def test_a_stored_result_that_names_another_step_is_refused(settings: Settings) -> None:
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "calculate", "args": {"expression": "1"}},
        {"id": "b", "tool": "calculate", "args": {"expression": "2"}, "depends_on": ["a"]}]})
    run = StepRun(plan, {}, default_registry(), ToolContext(settings))
    cached: Future = Future()
    cached.set_result({"step": "b", "status": "SUCCEEDED", "output": 2})
    run.on_done("a", cached)
    assert run.results["a"]["status"] == StepStatus.FAILED.value
    assert "belongs to step 'b'" in run.results["a"]["error"]


class Shout(BaseTool):
    """A tool that is not made from a function: called through ``invoke``."""

    name: str = "shout"
    description: str = "Shout."

    def _run(self, text: str) -> str:
        return text.upper()


def test_tools_are_called_like_invoke_calls_them(settings: Settings) -> None:
    context = ToolContext(settings).config()
    calculate = default_registry().get("calculate")
    direct = tool_caller(calculate)
    assert direct({"expression": "6*7"}, context) == calculate.invoke({"expression": "6*7"}) == 42
    with pytest.raises(ValidationError):
        direct({"expression": ["not", "text"]}, context)

    @tool
    def echo(text: str, config: RunnableConfig, times: int = 1) -> str:
        """Echo the text with the run's context attached."""
        return f"{text * times}:{type(config['configurable']['prolight_tool_context']).__name__}"

    assert tool_caller(echo)({"text": "a", "times": "2"}, context) == "aa:ToolContext", "args coerced, config given"
    assert tool_caller(Shout())({"text": "hi"}, context) == "HI"


def test_daemon_threads_are_reused_and_a_stuck_job_blocks_no_other() -> None:
    pool = DaemonThreads()
    ran: list[str] = []
    before = threading.active_count()
    for _ in range(20):
        done = threading.Event()
        pool.run(lambda done=done: (ran.append(threading.current_thread().name), done.set()))
        assert done.wait(10)
    assert len(ran) == 20 and threading.active_count() <= before + 1, "one thread did all twenty"
    release, second = threading.Event(), threading.Event()
    pool.run(lambda: release.wait(10))  # stuck until released
    pool.run(second.set)
    assert second.wait(10), "a new thread took the job the stuck one could not"
    release.set()


def test_a_plain_langgraph_client_gets_the_events_through_the_custom_stream(tmp_path: Path,
                                                                         settings: Settings) -> None:
    db = open_database(str(tmp_path / "plain.db"))
    graph = build_graph(db.saver)
    context = RunContext.of(settings, audit_key=settings.audit_secret(db.url))
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    plan = {"goal": "g", "steps": [{"id": "a", "tool": "calculate", "args": {"expression": "1+1"}}]}
    chunks = list(graph.stream({"goal": "g", "plan": plan}, config, context=context, stream_mode="custom"))
    kinds = [c["prolight_event"].kind for c in chunks if isinstance(c, dict) and "prolight_event" in c]
    assert kinds[:2] == ["node_started", "critique"] and "awaiting_approval" in kinds
