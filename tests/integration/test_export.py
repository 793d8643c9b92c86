"""``prolight export THREAD``: one JSON document a reviewer reads without the database (goal,
every plan version, critique, sealed decisions, step attempts and results, events), with no
secret in it; ``prolight verify-export`` checks its seals against the audit key, and finds a
changed decision."""

from __future__ import annotations

import json

from tests.support.cli import Cli
from tests.support.http_server import ToolServer
from tests.support.plans import fetch

SECRET = "s3cr3t-export-token"


def test_an_export_holds_the_whole_thread_and_no_secret_and_its_seals_verify(cli: Cli, server: ToolServer) -> None:
    cli = Cli(cli.home, PROLIGHT_SECRET_API_TOKEN=SECRET)
    step = fetch(server, "api", echo_auth=1)
    step["args"]["headers"] = {"Authorization": "Bearer ${secret:API_TOKEN}"}
    thread = cli.ok("run", "--plan", cli.write_plan("plan.json", {"goal": "Call the API", "steps": [step]}))["thread_id"]
    assert cli.ok("approve", thread)["status"] == "COMPLETED"
    out = cli.home / "export.json"
    assert cli("export", thread[:8], "--out", str(out)).code == 0
    text = out.read_text()
    assert SECRET not in text, "the secret was sent, never exported"
    document = json.loads(text)
    assert document["format"] == "prolight-thread-export/1" and document["thread_id"] == thread
    assert document["goal"] == "Call the API" and document["status"] == "COMPLETED"
    assert [v["version"] for v in document["plan_versions"]] == list(range(1, len(document["plan_versions"]) + 1))
    assert document["critique"]["verdict"] and document["audit"]["verified"]
    assert [d["action"] for d in document["decisions"]][-1] == "approve"
    assert all(d["seal"] and d["operator"] and d["at"] for d in document["decisions"])
    assert document["steps"]["api"]["output"] == "ok /api call 1 auth=Bearer ***"
    assert document["steps"]["api"]["attempt_log"][0]["attempt"] == 1
    assert [e["seq"] for e in document["events"]] == list(range(1, len(document["events"]) + 1))
    checked = cli.ok("verify-export", str(out))
    assert checked["verified"] and checked["decisions"] == len(document["decisions"])

    document["decisions"][-1]["operator"] = "mallory"  # a reviewer's copy changed after the fact
    forged = cli.home / "forged.json"
    forged.write_text(json.dumps(document))
    broken = cli("verify-export", str(forged))
    assert broken.code == 1 and "was changed after it was recorded" in broken.stdout
    again = cli("export", thread, "--out", str(out))
    assert again.code == 2 and again.stderr.splitlines() == [f"prolight: error: {out} exists: the export goes to a "
                                                             "new file"]
