"""The read-only commands that need no checkpoint state answer without LangGraph or
LangChain (over a second of imports a call): the CLI runs here with both unimportable."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import Cli
from tests.support.ops import JsonOps

ENGINE = ("langgraph", "langchain_core", "langchain", "langsmith")


def test_reads_of_our_own_tables_import_no_engine(cli: Cli, tmp_path: Path) -> None:
    flow = JsonOps(cli.settings())  # the threads are made in-process: only the reads are the subject
    done = flow.start("Calculate 6*7")["thread_id"]
    flow.approve(done)
    waiting = flow.start("Calculate 2+2")["thread_id"]
    flow.api.close()
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "sitecustomize.py").write_text(  # as if not installed: importing one raises
        "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in ENGINE))
    bare = Cli(cli.home, **{**cli.env, "PYTHONPATH": str(shadow)})
    assert bare("status", done).code != 0, "the shadow must hide the engine (status needs it)"
    assert bare.ok("threads")["total"] == 2
    assert bare.ok("counts")["total"] == 2
    assert [p["thread_id"] for p in bare.ok("inbox")] == [waiting]
    events = bare("events", done, "--json")
    assert events.code == 0 and '"run_completed"' in events.stdout, events.stderr
    assert bare.ok("breakers") == []
    assert bare.ok("metrics")
    assert "calculate" in {t["name"] for t in bare.ok("tools")}
    assert bare("--help").code == 0
    assert bare("threads", "--help").code == 0
