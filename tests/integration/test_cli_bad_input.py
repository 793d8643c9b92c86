"""Bad input through the real CLI: exit code 2, one line naming the problem on stderr, and
no thread, run row or checkpoint left behind."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.browser import free_port

from tests.support.cli import Cli


def rows(home: Path) -> tuple[int, int, int]:
    db = home / "prolight.db"
    if not db.exists():
        return (0, 0, 0)
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        count = lambda t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] if t in tables else 0  # noqa: E731
        return count("runs"), count("checkpoints"), count("writes")


def assert_refused(cli: Cli, *args: str, says: str) -> str:
    before = rows(cli.home)
    result = cli(*args)
    assert result.code == 2, (result.code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says.lower() in lines[0].lower(), lines[0]
    assert rows(cli.home) == before, "a refused request must write nothing"
    return lines[0]


def step(step_id: str, tool: str = "calculate", deps: list[str] | None = None, **args: object) -> dict:
    return {"id": step_id, "tool": tool, "args": args or {"expression": "1+1"}, "depends_on": deps or []}


@pytest.mark.parametrize("command", [
    ["approve"], ["reject", "--feedback", "x"], ["resume"], ["status"], ["history"], ["fork", "--checkpoint", "x"],
])
def test_unknown_thread_is_refused(cli: Cli, command: list[str]) -> None:
    assert_refused(cli, command[0], "no-such-thread", *command[1:], says="unknown thread 'no-such-thread'")


def test_plan_file_that_is_not_json(cli: Cli) -> None:
    path = cli.home / "bad.json"
    path.write_text("{ not json")
    assert_refused(cli, "run", "--plan", str(path), says="not valid JSON")


def test_plan_file_that_is_not_utf8(cli: Cli) -> None:
    path = cli.home / "latin.json"
    path.write_bytes(b'{"steps": [{"id": "caf\xe9"}]}')
    assert_refused(cli, "run", "--plan", str(path), says="not UTF-8")


def test_missing_plan_file(cli: Cli) -> None:
    assert_refused(cli, "run", "--plan", str(cli.home / "absent.json"), says="cannot read plan file")


def test_plan_with_unknown_tool(cli: Cli) -> None:
    plan = cli.write_plan("p.json", {"steps": [step("a", tool="teleport", where="moon")]})
    assert_refused(cli, "run", "--plan", plan, says="unknown tool 'teleport'")


def test_plan_with_cycle_names_the_steps(cli: Cli) -> None:
    plan = cli.write_plan("p.json", {"steps": [step("a", deps=["c"]), step("b", deps=["a"]), step("c", deps=["b"]),
                                               step("free")]})
    line = assert_refused(cli, "run", "--plan", plan, says="cycle")
    for step_id in ("a", "b", "c"):
        assert step_id in line
    assert "free" not in line


def test_plan_with_missing_dependency(cli: Cli) -> None:
    plan = cli.write_plan("p.json", {"steps": [step("a", deps=["ghost"])]})
    assert_refused(cli, "run", "--plan", plan, says="depends on missing step 'ghost'")


def test_plan_with_args_that_do_not_fit_the_tool(cli: Cli) -> None:
    plan = cli.write_plan("p.json", {"steps": [step("a", tool="http_request", url=["not", "a", "string"])]})
    assert_refused(cli, "run", "--plan", plan, says="args do not fit tool 'http_request'")


def test_plan_with_missing_required_arg(cli: Cli) -> None:
    plan = cli.write_plan("p.json", {"steps": [{"id": "a", "tool": "read_file", "args": {}}]})
    assert_refused(cli, "run", "--plan", plan, says="path")


def test_plan_with_duplicate_ids(cli: Cli) -> None:
    plan = cli.write_plan("p.json", {"steps": [step("a"), step("a")]})
    assert_refused(cli, "run", "--plan", plan, says="duplicate step id 'a'")


def test_plan_with_bad_step_id(cli: Cli) -> None:
    plan = cli.write_plan("p.json", {"steps": [step("a b/../c")]})
    assert_refused(cli, "run", "--plan", plan, says="step 'a b/../c' (#1) id: Value error, step id")


def test_empty_goal(cli: Cli) -> None:
    assert_refused(cli, "run", "   ", says="the goal is empty")


def test_edited_plan_is_revalidated_before_anything_runs(cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 1+1")["thread_id"]
    plan = cli.write_plan("edit.json", {"steps": [step("x", deps=["x"])]})
    assert_refused(cli, "approve", thread, "--plan", plan, says="cycle")
    assert cli.ok("status", thread)["status"] == "AWAITING_APPROVAL"


def test_approving_a_finished_thread_is_refused(cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 1+1")["thread_id"]
    cli.ok("approve", thread)
    assert_refused(cli, "approve", thread, says="was already decided (approve by operator")


def test_reject_without_feedback_needs_final(cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 1+1")["thread_id"]
    assert_refused(cli, "reject", thread, says="needs feedback")


def test_resume_of_a_completed_thread_is_refused(cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 1+1")["thread_id"]
    cli.ok("approve", thread)
    assert_refused(cli, "resume", thread, says="nothing to resume")


def test_fork_from_unknown_checkpoint(cli: Cli) -> None:
    thread = cli.ok("run", "Calculate 1+1")["thread_id"]
    assert_refused(cli, "fork", thread, "--checkpoint", "1f0-nope", says="no checkpoint")


def test_json_errors_go_to_stderr_and_leave_stdout_empty(cli: Cli) -> None:
    result = cli("status", "nope", "--json")
    assert result.code == 2 and result.stdout == ""
    assert result.stderr.startswith("prolight: error: unknown thread")


def test_a_one_megabyte_goal_is_refused(cli: Cli) -> None:
    goal = cli.home / "goal.txt"
    goal.write_text("fetch things " * 80_000)
    assert_refused(cli, "run", "--goal-file", str(goal), says="the limit is 20000")
    goal.write_bytes(b"caf\xe9")
    assert_refused(cli, "run", "--goal-file", str(goal), says="goal file")


def test_a_plan_over_the_step_limit_is_refused(cli: Cli) -> None:
    plan = cli.write_plan("huge.json", {"steps": [step(f"s{i}") for i in range(10_001)]})
    assert_refused(cli, "run", "--plan", plan, says="at most 10000 steps")


def test_a_plan_at_the_step_limit_is_accepted(cli: Cli) -> None:
    steps = [step(f"s{i}", deps=[f"s{i - 1}"] if i % 100 else []) for i in range(10_000)]
    out = cli.ok("run", "--plan", cli.write_plan("limit.json", {"steps": steps}))
    assert out["status"] == "AWAITING_APPROVAL" and len(out["plan"]["steps"]) == 10_000


@pytest.mark.parametrize("thread", ["../../etc/passwd", "x'; DROP TABLE runs; --", "ünïcode", "a" * 500, "a b"])
def test_thread_ids_with_odd_characters_are_unknown(cli: Cli, thread: str) -> None:
    assert_refused(cli, "status", thread, says="unknown thread")
    assert_refused(cli, "approve", thread, says="unknown thread")


def test_args_of_the_wrong_type(cli: Cli) -> None:
    plan = cli.write_plan("p.json", {"steps": [step("a", tool="calculate", expression=42)]})
    assert_refused(cli, "run", "--plan", plan, says="args do not fit tool 'calculate'")


def test_a_bad_settings_file_is_one_line(cli: Cli) -> None:
    (cli.home / "prolight.toml").write_text("[retry]\nmax_attempts = 'many'\n")
    assert_refused(cli, "threads", says="bad setting retry.max_attempts")


def test_output_cut_short_by_the_reader_exits_quietly(cli: Cli) -> None:
    """`prolight threads --json | head -1`: the reader closes the pipe after one line; the
    CLI must not print a BrokenPipe traceback. The listing is made far larger than a pipe's
    buffer so the write really meets the closed pipe."""

    from graph.store.connect import open_database

    db = open_database(str(cli.home / "prolight.db"))
    with db.cursor() as cur:  # 3,000 rows straight into the index: only the listing is tested
        cur.executemany("INSERT INTO runs (thread_id, goal, status, model, operator, created_at, updated_at) "
                        "VALUES (?, ?, 'COMPLETED', 'offline', 'op', '2026-01-01', '2026-01-01')",
                        [(f"t{i:05d}", "g" * 200) for i in range(3000)])
    db.close()
    proc = cli.popen("threads", "--json", "--limit", "3000")
    assert proc.stdout.readline().strip() == "{"
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    stderr = proc.stderr.read()
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


@pytest.mark.parametrize("url, says", [
    ("postgresql://ana:secret@127.0.0.1:{port}/prolight", "cannot connect to PostgreSQL (host 127.0.0.1"),
    ("postgres://ana@127.0.0.1:{port}/prolight", "cannot connect to PostgreSQL"),
    ("mysql://ana@127.0.0.1/prolight", "unknown database scheme 'mysql'"),
    ("sqlite://relative.db", "a SQLite URL is sqlite:///relative/path"),
])
def test_a_database_url_is_never_taken_as_a_file_path(home: Path, url: str, says: str) -> None:
    url = url.format(port=free_port())  # nobody listens there: the server is down
    assert_refused(Cli(home, PROLIGHT_DB=url), "threads", says=says)  # from the environment
    line = assert_refused(Cli(home), "--db", url, "threads", says=says)  # from the command line
    assert "secret" not in line, "a password in the URL is never printed"
    assert sorted(p.name for p in home.iterdir()) == ["workspace"], "no stray file or folder"


def test_postgresql_without_its_extra_is_one_line(home: Path, tmp_path: Path) -> None:
    """psycopg hidden from the CLI's interpreter: the line names the extra to install."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "sitecustomize.py").write_text("import sys\nsys.modules['psycopg'] = None\n")  # as if absent
    cli = Cli(home, PROLIGHT_DB="postgresql://ana@127.0.0.1/prolight", PYTHONPATH=str(shadow))
    assert_refused(cli, "threads", says="PostgreSQL needs the postgres extra")


def test_a_sqlite_url_names_the_file(home: Path) -> None:
    cli = Cli(home, PROLIGHT_DB=f"sqlite:///{home / 'by-url.db'}")  # home is absolute: sqlite:////tmp/...
    assert cli.ok("counts")["total"] == 0
    assert (home / "by-url.db").exists()
    assert Cli(home, PROLIGHT_DB="sqlite:///relative.db").ok("counts")["total"] == 0
    assert (home / "relative.db").exists(), "relative to the working directory"
