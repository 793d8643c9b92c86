"""The ``prolight`` command line. Every command has ``--json`` (machine-readable, on stdout)
and a readable default. Exit codes: 0 done, 1 a command that executes a run saw it end
FAILED or CANCELLED, 2 a bad request (one line on stderr, nothing written)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from prometheus_client import generate_latest

from graph.store.event_log import read_events
from graph.core.events import Event
from graph.core.logs import configure_logging
from graph.store.metrics import compute_metrics, prometheus_registry
from graph.store.database import open_database
from graph.engine.run_manager import RunManager, is_settled
from graph.core.schemas import Plan, Status
from graph.core.settings import Settings, SettingsError
from graph.engine.workflow import Workflow, WorkflowError
from ui import render


EXECUTING_COMMANDS = {"run", "approve", "reject", "resume", "fork"}


class UsageError(Exception):
    """Bad input from the command line; exit 2 with one line."""


def read_text(path: str, what: str) -> str:
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {path} is not UTF-8 (byte {exc.start})") from None


def load_plan(path: str, default_goal: str | None = None) -> Plan:
    text = read_text(path, "plan file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"plan file {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if isinstance(data, dict) and "goal" not in data:
        data = {"goal": default_goal or "operator plan", **data}
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "plan"
        raise UsageError(f"plan file {path} is not a valid plan: {where}: {first['msg']}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prolight", description="Human-approved agent plans.")
    parser.add_argument("--db", help="SQLite file (default: PROLIGHT_DB or .prolight/prolight.db)")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    p = command("run", "plan and critique a goal; stops at the approval gate")
    p.add_argument("goal", nargs="?")
    p.add_argument("--detach", action="store_true", help="return at once; a worker plans it")
    p.add_argument("--goal-file", help="read the goal from a UTF-8 file ('-': standard input)")
    p.add_argument("--plan", help="a plan JSON file to use instead of the planner")
    p.add_argument("--operator", default="operator")
    p = command("approve", "approve (or edit) a plan and execute it")
    p.add_argument("thread")
    p.add_argument("--plan", help="an edited plan JSON file")
    p.add_argument("--operator", default="operator")
    p.add_argument("--detach", action="store_true", help="return at once; a worker executes it")
    p = command("reject", "reject a plan: replan with feedback, or end it with --final")
    p.add_argument("thread")
    p.add_argument("--feedback")
    p.add_argument("--final", action="store_true")
    p.add_argument("--operator", default="operator")
    p = command("resume", "continue a thread that stopped (crash, failure, cancel)")
    p.add_argument("thread")
    p.add_argument("--operator", default="operator")
    p.add_argument("--detach", action="store_true", help="return at once; a worker executes it")
    p = command("cancel", "stop a thread: no new step starts, running steps get a grace period")
    p.add_argument("thread")
    p.add_argument("--wait", type=float, default=10.0, help="seconds to wait for the executing process")
    p.add_argument("--operator", default="operator")
    p = command("status", "show a thread")
    p.add_argument("thread")
    p = command("threads", "list threads, newest first")
    p.add_argument("--status", choices=[s.value for s in Status])
    p.add_argument("--limit", type=int, default=50)
    p = command("history", "a thread's checkpoints, newest first")
    p.add_argument("thread")
    p = command("fork", "time travel: continue a thread from an earlier checkpoint")
    p.add_argument("thread")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--plan", help="a changed plan JSON file (goes through critic and approval)")
    p = command("events", "a thread's events in order")
    p.add_argument("thread")
    p.add_argument("--follow", action="store_true", help="keep printing until the thread settles")
    p = command("metrics", "run, agent and tool metrics from the database")
    p.add_argument("--prometheus", action="store_true", help="Prometheus text exposition")
    p.add_argument("--serve", type=int, metavar="PORT", help="serve /metrics for scraping on PORT")
    p.add_argument("--host", default="127.0.0.1", help="address for --serve")
    p = command("worker", "execute queued and orphaned threads until stopped")
    p.add_argument("--workers", type=int, help="default: PROLIGHT_WORKERS (4)")
    p.add_argument("--once", action="store_true", help="execute what is waiting, then exit")
    p.add_argument("--no-resume-orphans", action="store_true",
                   help="leave threads of dead processes alone (PROLIGHT_RESUME_ORPHANS=0)")
    command("tools", "list the tools plans may use")
    command("breakers", "circuit breakers that have changed state, with their state")
    return parser


def run_command(args: argparse.Namespace, workflow: Workflow) -> Any:
    progress = None if args.json else print_event
    match args.command:
        case "run":
            if args.goal_file:
                if args.goal:
                    raise UsageError("give a GOAL or --goal-file, not both")
                args.goal = read_text(args.goal_file, "goal file")
            if args.goal is None and not args.plan:
                raise UsageError("give a GOAL, --goal-file FILE or --plan FILE")
            plan = load_plan(args.plan, args.goal) if args.plan else None
            return workflow.start(args.goal, plan, operator=args.operator, on_event=progress, execute=not args.detach)
        case "approve":
            plan = load_plan(args.plan) if args.plan else None
            return workflow.approve(args.thread, plan, operator=args.operator, on_event=progress,
                                    execute=not args.detach)
        case "reject":
            return workflow.reject(args.thread, args.feedback, args.final, operator=args.operator, on_event=progress)
        case "resume":
            return workflow.resume(args.thread, operator=args.operator, on_event=progress, execute=not args.detach)
        case "events":
            return follow_events(workflow, args.thread, args.follow, args.json)
        case "metrics":
            return metrics(workflow, args)
        case "worker":
            return run_worker(workflow, args)
        case "cancel":
            return workflow.cancel(args.thread, operator=args.operator, wait_s=args.wait)
        case "status":
            return workflow.status(args.thread)
        case "breakers":
            return workflow.breakers()
        case "threads":
            if args.limit < 1:
                raise UsageError("--limit must be at least 1")
            return workflow.threads(args.status, args.limit)
        case "history":
            return workflow.history(args.thread)
        case "fork":
            plan = load_plan(args.plan) if args.plan else None
            return workflow.fork(args.thread, args.checkpoint, plan, on_event=progress)
        case "tools":
            return [{"name": t.name, "description": t.description, "args": list(t.args),
                     "risky": workflow.registry.is_risky(t.name)} for t in workflow.registry.tools()]
    raise UsageError(f"unknown command {args.command}")


def follow_events(workflow: Workflow, thread_id: str, follow: bool, as_json: bool) -> None:
    """Print events as they are stored; with ``follow``, until the thread settles."""
    workflow.status(thread_id)  # unknown thread: exit 2 before printing anything
    seq = 0
    while True:
        batch = read_events(workflow.db, thread_id, seq)
        for event in batch:
            print(event.model_dump_json() if as_json else render.stored_event_line(event), flush=True)
            seq = event.seq
        if not follow or (not batch and is_settled(workflow.db, thread_id)):
            return None
        time.sleep(0.2)


def metrics(workflow: Workflow, args: argparse.Namespace) -> Any:
    if args.serve is not None:
        from prometheus_client import start_http_server

        server, thread = start_http_server(args.serve, addr=args.host, registry=prometheus_registry(workflow.db))
        print(f"serving metrics on http://{args.host}:{server.server_port}/metrics", file=sys.stderr, flush=True)
        wait_for_stop()
        server.shutdown()
        return None
    if args.prometheus:
        print(generate_latest(prometheus_registry(workflow.db)).decode(), end="")
        return None
    return compute_metrics(workflow.db)


def run_worker(workflow: Workflow, args: argparse.Namespace) -> None:
    workers = args.workers or workflow.settings.workers
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    resume_orphans = workflow.settings.resume_orphans and not args.no_resume_orphans
    manager = RunManager(workflow, workers=workers, resume_orphans=resume_orphans)
    if args.once:
        manager.drain(timeout=3600)
        manager.close()
        return None
    manager.run_in_background()
    print(f"worker {workflow.owner} running ({workers} workers)", file=sys.stderr, flush=True)
    wait_for_stop()
    manager.close()
    return None


def wait_for_stop() -> None:
    """Block a long-running command (worker, metrics --serve) until SIGTERM or Ctrl-C, so
    it can close what it holds."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass


def print_event(event: Event) -> None:
    line = render.event_line(event)
    if line:
        print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`prolight threads --json | head -1`): that is its choice,
        # not our failure. Point stdout at devnull so the interpreter's final flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging("INFO" if args.command == "worker" else "WARNING")
    try:
        settings = Settings.from_env()
        if args.db:
            settings = settings.model_copy(update={"db": args.db})
        db = open_database(settings.db)
        try:
            result = run_command(args, Workflow(db, settings=settings))
        finally:
            db.close()
    except (UsageError, WorkflowError, SettingsError) as exc:
        print(f"prolight: error: {exc}", file=sys.stderr)
        return 2
    if result is None:
        return 0
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(render.readable(args.command, result))
    unfinished = (Status.FAILED.value, Status.CANCELLED.value)
    if args.command in EXECUTING_COMMANDS and isinstance(result, dict) and result.get("status") in unfinished:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
