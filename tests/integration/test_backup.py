"""``prolight backup FILE``: a consistent copy of the SQLite database taken while a worker
executes a thread (its steps writing events and checkpoints), which opens, passes
``integrity_check`` and lists the thread; a backup never overwrites a file and leaves
nothing half-written when refused."""

from __future__ import annotations

import json
import sqlite3

from tests.support.cli import Background, Cli
from tests.support.http_server import ToolServer
from tests.support.plans import fetch


def test_a_backup_taken_while_a_worker_executes_opens_and_passes_its_integrity_check(
        cli: Cli, server: ToolServer, workers: list[Background]) -> None:
    steps = [fetch(server, f"quick{i}") for i in range(20)] + [fetch(server, "held", hold="gate")]
    thread = cli.ok("run", "--plan", cli.write_plan("plan.json", {"goal": "Fetch many", "steps": steps}))["thread_id"]
    cli.ok("approve", thread, "--detach")
    workers.append(cli.background("worker"))
    server.wait_started("/held")  # executing: the quick steps have written, the held one runs
    copy = cli.home / "backup.db"
    report = cli.ok("backup", str(copy))
    assert report["integrity"] == "ok" and report["threads"] == 1 and report["bytes"] == copy.stat().st_size
    assert report["audit_key"] == cli.env["PROLIGHT_DB"] + ".audit-key"
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",), "one file, nothing beside it"
    restored = Cli(cli.home, PROLIGHT_DB=str(copy))
    [row] = restored.ok("threads")["items"]
    assert row["thread_id"] == thread and row["status"] == "EXECUTING"
    server.release("gate")
    assert not list(cli.home.glob("*.partial"))


def test_a_backup_never_overwrites_a_file_and_leaves_nothing_when_refused(cli: Cli) -> None:
    cli.ok("run", "Calculate 1+1")
    taken = cli.home / "taken.db"
    taken.write_text("someone's file")
    refused = cli("backup", str(taken))
    assert refused.code == 2 and refused.stderr.splitlines() == [
        f"prolight: error: {taken} exists: a backup goes to a new file, it never overwrites one"]
    assert taken.read_text() == "someone's file"
    nowhere = cli("backup", str(cli.home / "no" / "such" / "folder.db"))
    assert nowhere.code == 2 and "is not a folder" in nowhere.stderr
    assert not list(cli.home.rglob("*.partial"))
    done = json.loads(cli("backup", str(cli.home / "fine.db"), "--json").stdout)
    assert done["integrity"] == "ok" and done["threads"] == 1
