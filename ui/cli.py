"""The ``prolight`` command line, a front end of the operations API (``graph.operations``)
and of nothing else of the engine. Every command has ``--json``, which prints the API's own
pydantic answer, and a readable default. Exit codes: 0 done, 1 a command that executes a
run saw it end FAILED or CANCELLED, 2 a bad request (one line on stderr, nothing written)."""

from __future__ import annotations

import os

# Pydantic looks for plugins in every installed package's entry points when it builds its
# first model: 20-40 ms of each CLI call, for plugins we do not use. Set before any model
# is built; an operator who does use one sets the variable to another value.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import argparse  # noqa: E402  (after the line above, on purpose)
import gc
import json
import re
import signal
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import BaseModel, ValidationError

from graph.operations import Operations, RequestError, parse_plan, read_plan_file
from graph.operations.commands import COMMANDS, Command, CommandRequest
from graph.operations.config import Remote, Settings, SettingsError, configure_logging
from graph.operations.ids import resolve_thread_id
from graph.operations.models import UNSUCCESSFUL, Action, Event, Plan, Status, StoredEvent, ThreadQuery
from graph.operations.protocol import OperationsApi
from ui import render

if TYPE_CHECKING:
    from ui.remote import RemoteOperations

VERBS: dict[str, Command] = {c.verb: c for c in COMMANDS.values()}
THREAD_READS = {"status", "history", "audit", "state", "events", "export"}  # they take a thread id (or a prefix)
LOCAL_COMMANDS = {"worker", "serve", "backup", "prune", "export", "verify-export"}  # they need the database itself


class UsageError(RequestError):
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


def plan_arg(path: str | None, default_goal: str | None = None) -> Plan | None:
    """``--plan FILE`` (``-``: standard input), through the one plan parser."""
    if path is None:
        return None
    if path == "-":
        return parse_plan(sys.stdin.buffer.read(), "plan from standard input", default_goal)
    return read_plan_file(path, default_goal)


def since(value: str) -> datetime:
    """``--since``: an ISO date-time, or a span back from now (``90s``, ``15m``, ``24h``, ``7d``)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", value.strip())
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return datetime.now(timezone.utc) - timedelta(**{unit: float(match.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is neither an ISO date-time nor a span like 24h") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments are one line on stderr and exit 2, like every other refusal (argparse
    would print the usage first; ``--help`` still shows it). Subcommands inherit the class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="prolight", description="Human-approved agent plans.")
    parser.add_argument("--db", help="SQLite file (default: PROLIGHT_DB or .prolight/prolight.db)")
    parser.add_argument("--url", default=Remote.from_env().url,
                        help="drive a remote `prolight serve` instead of a database (default: PROLIGHT_URL); "
                             "its token comes from PROLIGHT_TOKEN")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    for verb, spec in VERBS.items():
        add_command_arguments(command(verb, spec.help), spec)
    p = command("status", "show a thread")
    p.add_argument("thread", help="its id, or 4 or more of its first characters")
    p = command("threads", "list threads, newest first")
    p.add_argument("--status", choices=[s.value for s in Status], action="append",
                   help="only this status (repeat for several)")
    p.add_argument("--search", help="a full thread id, an id prefix, or words of the goal")
    p.add_argument("--sort", choices=["updated", "created", "status", "goal"], default="updated")
    p.add_argument("--asc", action="store_true", help="ascending (default: descending)")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--limit", type=int, default=50)
    command("counts", "how many threads are in each status")
    command("inbox", "threads awaiting approval, oldest first")
    p = command("history", "a thread's checkpoints, newest first")
    p.add_argument("thread")
    p = command("branches", "a thread's branches (each fork adds one) with the outcome of each")
    p.add_argument("thread")
    p = command("audit", "verify a thread's decisions (a hash chain of seals); exit 1 where it breaks")
    p.add_argument("thread")
    p = command("state", "the state at one checkpoint and what changed from the one before")
    p.add_argument("thread")
    p.add_argument("--checkpoint", required=True)
    p = command("events", "a thread's events in order")
    p.add_argument("thread")
    p.add_argument("--follow", action="store_true",
                   help="keep printing through the approval gate until the thread finishes")
    p = command("metrics", "run, agent and tool metrics from the database")
    p.add_argument("--prometheus", action="store_true", help="Prometheus text exposition")
    p.add_argument("--since", type=since, help="window start: ISO date-time or a span back (24h, 7d)")
    p.add_argument("--until", type=since, help="window end (default: now)")
    p.add_argument("--serve", type=int, metavar="PORT", help="serve /metrics for scraping on PORT")
    p.add_argument("--host", default="127.0.0.1", help="address for --serve")
    p = command("export", "a thread as one JSON document for a reviewer: goal, plan versions, critique, sealed "
                          "decisions, step attempts and results, events (secrets redacted)")
    p.add_argument("thread")
    p.add_argument("--out", help="write it to this new file instead of standard output")
    p = command("verify-export", "check an exported thread's seals against the audit key; exit 1 where the "
                                 "chain breaks")
    p.add_argument("file")
    p = command("backup", "a consistent copy of the SQLite database, safe while workers write; kept only once "
                          "it passes an integrity check")
    p.add_argument("file", help="the copy (a new file)")
    p = command("prune", "apply the [retention] policy of the settings now: compact or delete the finished "
                         "threads it names (never waiting, running, queued or forked ones)")
    p.add_argument("--dry-run", action="store_true", help="report what would go, remove nothing")
    p.add_argument("--vacuum", action="store_true", help="then rewrite the SQLite file (VACUUM): it shrinks, "
                   "and a file made before this release frees space at once from then on; holds writers off meanwhile")
    p.add_argument("--limit", type=int, default=10_000, help="threads at most (default: 10000)")
    p = sub.add_parser("dashboard", help="start the dashboard (Streamlit) from the project folder, whose "
                       ".streamlit/config.toml applies; beyond 127.0.0.1 only with operator accounts or dashboard_open")
    p.add_argument("--address", default="127.0.0.1", help="listening address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8501)
    p = sub.add_parser("serve", help="the HTTP API (OpenAPI at /docs); bearer tokens of operator accounts")
    p.add_argument("--address", default="127.0.0.1", help="listening address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8600)
    p.add_argument("--open", action="store_true",
                   help="take every call without a token, as the account 'api' (loopback addresses only)")
    sub.add_parser("token", help="make an API token: prints the token (give it to the client) and the "
                   "token_hashes line for its [accounts.NAME] table")
    sub.add_parser("hash-password", help="print an Argon2id hash for an [accounts.NAME] table of the settings "
                   "file (the password is read from the terminal, or the first line of standard input)")
    p = command("worker", "execute queued and orphaned threads until stopped")
    p.add_argument("--workers", type=int, help="default: PROLIGHT_WORKERS (4)")
    p.add_argument("--once", action="store_true", help="execute what is waiting, then exit")
    p.add_argument("--no-resume-orphans", action="store_true",
                   help="leave threads of dead processes alone (PROLIGHT_RESUME_ORPHANS=0)")
    command("tools", "list the tools plans may use")
    command("breakers", "circuit breakers that have changed state, with their state")
    command("storage", "the database's size, and what the [retention] policy prunes next")
    return parser


def add_command_arguments(parser: argparse.ArgumentParser, spec: Command) -> None:
    """A command's arguments, one per field of its request model, named by the table."""
    for name, flag in spec.flags.items():
        info = spec.request.model_fields[name]
        help_text = info.description or ""
        if not flag.startswith("-"):
            parser.add_argument(name, metavar=flag, nargs=None if info.is_required() else "?", help=help_text)
        elif "|" in flag:  # one of several flags chooses the field's value: --accept|--retry|--fail
            group = parser.add_mutually_exclusive_group(required=info.is_required())
            for choice in flag.split("|"):
                group.add_argument(choice, dest=name, action="store_const", const=choice.lstrip("-"), help=help_text)
                help_text = ""  # the field's help once, on its first flag
        elif info.annotation is bool:
            parser.add_argument(flag, dest=name, action="store_true", help=help_text)
        elif name == "plan":
            parser.add_argument(flag, dest=name, metavar="FILE", help=help_text + " A JSON file ('-': standard input).")
        elif info.annotation is float:
            parser.add_argument(flag, dest=name, type=float, default=info.default, help=help_text)
        else:
            parser.add_argument(flag, dest=name, required=info.is_required(), help=help_text)
    if spec.action == Action.START:
        parser.add_argument("--goal-file", help="read the goal from a UTF-8 file ('-': standard input)")
    parser.add_argument("--operator", help="who asks (default: operator; a server takes its token's account)")
    parser.add_argument("--detach", action="store_true", help="return at once; a worker carries it out")


def _takes_object(annotation: Any) -> bool:
    """A field whose value is a JSON object (``dict[...] | None``): given as JSON text."""
    return "dict[" in str(annotation)


def json_object(text: str, flag: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{flag}: not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{flag}: must be a JSON object, like '{{\"expression\": \"2 + 3\"}}'")
    return value


def command_request(spec: Command, args: argparse.Namespace, ops: OperationsApi) -> CommandRequest:
    """The table's request from the command line: a thread id prefix resolved, a plan file
    read through the one plan parser, then the request model's own checks."""
    if spec.action == Action.START:
        if args.goal_file:
            if args.goal:
                raise UsageError("give a GOAL or --goal-file, not both")
            args.goal = read_text(args.goal_file, "goal file")
        if args.goal is None and not args.plan:
            raise UsageError("give a GOAL, --goal-file FILE or --plan FILE")
    values: dict[str, Any] = {}
    for name in spec.flags:
        value = getattr(args, name)
        if name == "thread_id":
            value = resolve_thread_id(ops, value)
        elif name == "plan":
            value = plan_arg(value, getattr(args, "goal", None))
        elif value is not None and _takes_object(spec.request.model_fields[name].annotation):
            value = json_object(value, spec.flags[name])
        if value is not None:
            values[name] = value
    try:
        return spec.request.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{spec.flags.get(where, where)}: {first['msg']}") from None


def run_command(args: argparse.Namespace, ops: OperationsApi) -> Any:
    spec = VERBS.get(args.command)
    if spec is not None:
        progress = None if args.json else print_event
        return ops.send(command_request(spec, args, ops), operator=args.operator, queue=args.detach,
                        on_event=progress)
    if args.command in THREAD_READS:
        args.thread = resolve_thread_id(ops, args.thread)
    match args.command:
        case "events":
            return follow_events(ops, args.thread, args.follow, args.json)
        case "metrics":
            return metrics(ops, args)
        case "worker":
            return run_worker(ops, args)  # type: ignore[arg-type]  (local only: open_operations)
        case "serve":
            return serve(ops, args)  # type: ignore[arg-type]
        case "export":
            return export_thread(ops, args)
        case "verify-export":
            return verify_export_file(ops, Path(args.file))  # type: ignore[arg-type]  (local only: the key)
        case "backup":
            return ops.backup(Path(args.file))  # type: ignore[attr-defined]  (local only: open_operations)
        case "prune":
            if args.limit < 1:
                raise UsageError("--limit must be at least 1")
            return ops.prune(args.dry_run, args.vacuum, args.limit)  # type: ignore[attr-defined]  (local only)
        case "status":
            return ops.thread(args.thread)
        case "threads":
            if args.limit < 1 or args.offset < 0:
                raise UsageError("--limit must be at least 1 and --offset at least 0")
            return ops.threads(ThreadQuery(statuses=tuple(args.status or ()), search=args.search, sort=args.sort,
                                           descending=not args.asc, offset=args.offset, limit=min(args.limit, 10_000)))
        case "counts":
            return ops.status_counts()
        case "inbox":
            return ops.awaiting_approval()
        case "history":
            return ops.checkpoints(args.thread)
        case "branches":
            return ops.branches(args.thread)
        case "audit":
            return ops.audit(args.thread)
        case "state":
            return ops.checkpoint_state(args.thread, args.checkpoint)
        case "breakers":
            return ops.breakers()
        case "storage":
            return ops.storage()
        case "tools":
            return ops.tools()
    raise UsageError(f"unknown command {args.command}")


def follow_events(ops: OperationsApi, thread_id: str, follow: bool, as_json: bool) -> None:
    """Print events as they are stored; with ``follow``, through the approval gate until the
    thread finishes (from a remote server: its event stream, reconnected and resumed if it
    drops). At the gate a line says what the run waits for (on stderr with ``--json``, so
    stdout stays one event per line)."""
    def show(event: StoredEvent) -> None:
        print(event.model_dump_json() if as_json else render.stored_event_line(event), flush=True)
        if follow and event.kind == "awaiting_approval":
            print(render.gate_line(event.thread_id), file=sys.stderr if as_json else sys.stdout, flush=True)
        if follow and event.kind == "awaiting_review":
            for step in event.payload.get("review") or []:
                print(render.review_line(event.thread_id, step), file=sys.stderr if as_json else sys.stdout,
                      flush=True)

    if follow and isinstance(ops, Operations):  # on the database: Ctrl-C between reads, never inside one
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        ops.follow(thread_id, 0, show, stop=stop)  # an unknown thread: exit 2 before printing anything
        if stop.is_set():
            raise KeyboardInterrupt
        return None
    if follow:
        ops.follow(thread_id, 0, show)
        return None
    for event in ops.events(thread_id, 0, 100_000).events:
        show(event)
    return None


def metrics(ops: OperationsApi, args: argparse.Namespace) -> Any:
    if args.serve is not None and args.url:
        raise UsageError("metrics --serve reads the database: it takes no --url (the server has /metrics)")
    if args.serve is not None:
        from prometheus_client import start_http_server

        local: Operations = ops  # type: ignore[assignment]  (no --url, so the database's)
        server, thread = start_http_server(args.serve, addr=args.host, registry=local.prometheus_registry())
        print(f"serving metrics on http://{args.host}:{server.server_port}/metrics", file=sys.stderr, flush=True)
        wait_for_stop()
        server.shutdown()
        return None
    if args.prometheus:
        print(ops.prometheus_text(), end="")
        return None
    return ops.metrics(args.since, args.until)


def export_thread(ops: OperationsApi, args: argparse.Namespace) -> None:
    """The document itself is the output (JSON either way), to stdout or a new file."""
    text = ops.export(args.thread).model_dump_json(indent=2)  # type: ignore[attr-defined]
    if args.out is None:
        print(text)
        return None
    out = Path(args.out)
    if out.exists():
        raise UsageError(f"{out} exists: the export goes to a new file")
    out.write_text(text + "\n", encoding="utf-8")
    print(f"exported {args.thread} to {out}", file=sys.stderr)
    return None


def verify_export_file(ops: Operations, path: Path) -> Any:
    from graph.operations.export import verify_export

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable export ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != "prolight-thread-export/1":
        raise UsageError(f"{path}: not a ProLight Flow thread export")
    return verify_export(ops.workflow.audit_key, document)


def run_worker(ops: Operations, args: argparse.Namespace) -> None:
    workers = args.workers or ops.settings.workers
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    resume_orphans = ops.settings.resume_orphans and not args.no_resume_orphans
    manager = ops.start_run_manager(workers, resume_orphans, background=not args.once)
    if args.once:
        manager.drain(timeout=3600)
    else:
        print(f"worker {ops.workflow.owner} running ({workers} workers)", file=sys.stderr, flush=True)
        wait_for_stop()
    ops.stop_run_manager()
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


def serve(ops: Operations, args: argparse.Namespace) -> None:
    """The HTTP API with this process's run manager executing what it queues."""
    import uvicorn

    from graph.operations.access import is_loopback
    from ui.api.app import create_app

    if args.open and not is_loopback(args.address):
        raise UsageError(f"--open takes calls without a token: only on a loopback address, not {args.address}")
    if not args.open and not ops.settings.accounts:
        print("prolight: warning: no operator accounts in the settings, so every call will be refused "
              "(add accounts with token_hashes, or start with --open on loopback)", file=sys.stderr)
    ops.start_run_manager()
    uvicorn.run(create_app(ops, ops.settings, open_access=args.open), host=args.address, port=args.port,
                log_level="warning")


def open_operations(args: argparse.Namespace) -> Operations | RemoteOperations:
    """The database's operations API, or with ``--url`` a remote server's (its client is
    imported only then: httpx is a tenth of a second no local command needs). The CLI's one
    read of the settings: the local API carries them to everything it runs."""
    if not args.url:
        settings = Settings.from_env(db=args.db)
        configure_logging(settings.log_level or ("INFO" if args.command in ("worker", "serve") else "WARNING"),
                          settings.log_format)
        return Operations.open(settings)
    if args.command in LOCAL_COMMANDS:
        raise UsageError(f"{args.command} runs where the database is: it takes no --url")
    if args.db:
        raise UsageError("give --db or --url, not both")
    if not re.match(r"https?://", args.url):
        raise UsageError(f"--url {args.url!r} is not an http:// or https:// URL")
    from ui.remote import RemoteOperations

    remote = Remote.from_env()
    configure_logging()
    return RemoteOperations(args.url, remote.token.get_secret_value() if remote.token else None,
                            heartbeat_s=remote.heartbeat_s)


def start_dashboard(args: argparse.Namespace) -> int:
    """Check the address against the accounts before anything listens, then become
    Streamlit. The dashboard checks again on every page, for a ``streamlit run`` by hand."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"prolight: error: {exc}", file=sys.stderr)
        return 2
    from graph.operations.access import exposure_problem

    problem = exposure_problem(args.address, settings.accounts, settings.dashboard_open)
    if problem:
        print(f"prolight: error: {problem}", file=sys.stderr)
        return 2
    app = Path(__file__).with_name("app.py")
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", args.address,
                              "--server.port", str(args.port)])


def print_password_hash() -> int:
    """Needs no settings or database: it only turns a password into the line to paste."""
    import getpass

    from graph.operations.access import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("prolight: error: the two passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        print("prolight: error: a password needs at least 8 characters", file=sys.stderr)
        return 2
    print(f'password_hash = "{hash_password(password)}"')
    return 0


def print_event(event: Event) -> None:
    line = render.event_line(event)
    if line:
        print(line, flush=True)


def entry() -> int:
    """The ``prolight`` executable (the console script, ``python -m ui.cli``).

    After the command, the heap is frozen (``gc.freeze``): Python's shutdown collects
    garbage over every object the imports made, which took 30-70 ms after the work was done
    and the output written, as long as a bare Python process takes to run whole; frozen
    objects are skipped. Shutdown still joins threads, runs atexit handlers and closes
    files. Not in ``main``, which a caller may run inside its own process."""
    try:
        return main()
    finally:  # argparse's --help and usage errors end in SystemExit
        gc.freeze()


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`prolight threads --json | head -1`): that is its choice,
        # not our failure. Point stdout at devnull so the interpreter's final flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        # Ctrl-C ends a follower (or any wait) quietly, as shells expect. It can land inside
        # a database call, and a driver then reports the half-done call as its connection is
        # closed at exit (psycopg: "error ignored in rollback"): that is the interrupt, not news.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stderr.fileno())
        return 130


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "hash-password":
        return print_password_hash()
    if args.command == "token":
        from graph.operations.access import new_token, token_digest

        token = new_token()
        print(f"token: {token}\ntoken_hashes = [\"{token_digest(token)}\"]")
        return 0
    if args.command == "dashboard":
        return start_dashboard(args)
    try:
        ops = open_operations(args)
        try:
            result = run_command(args, ops)
        finally:
            ops.close()
    except (RequestError, SettingsError) as exc:  # UsageError is a RequestError
        print(f"prolight: error: {exc}", file=sys.stderr)
        return 2
    if result is None:
        return 0
    data = jsonable(result)
    print(json.dumps(data, indent=2) if args.json else render.readable(args.command, data))
    if args.command in VERBS and VERBS[args.command].executes and getattr(result, "status", None) in UNSUCCESSFUL:
        return 1
    if args.command in ("audit", "verify-export") and not result.verified:
        return 1
    return 0


def jsonable(result: BaseModel | list[BaseModel]) -> Any:
    """The API's answer as JSON values: ``--json`` prints exactly the model."""
    if isinstance(result, list):
        return [item.model_dump(mode="json") for item in result]
    return result.model_dump(mode="json")


if __name__ == "__main__":
    sys.exit(entry())
