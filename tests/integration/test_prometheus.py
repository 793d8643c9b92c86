"""The Prometheus exposition as Prometheus's own tools read it: both endpoints (``prolight
serve``'s ``/metrics`` and ``prolight metrics --serve``) answer in one format and negotiate
OpenMetrics the same way; distributions are summaries (one unit per family, quantiles,
``_count`` and ``_sum``); a breaker's gauge follows its cool-down whoever reads it. Checked
with ``promtool check metrics`` (Debian's prometheus package, which ``.ci`` installs) where it
is installed, and with prometheus-client's parsers always."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from graph.store.breakers import save_breaker
from graph.store.connect import open_database
from graph.store.prometheus import prometheus_registry
from tests.support.browser import free_port, wait_answering
from tests.support.cli import Cli

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def promtool_check(text: str) -> None:
    """``promtool check metrics`` on a scrape, where promtool is installed."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def scrape(url: str, accept: str | None) -> httpx.Response:
    return httpx.get(url, headers={"Accept": accept} if accept else {}, timeout=30)


def test_both_endpoints_answer_one_format_and_negotiate_openmetrics(cli: Cli) -> None:
    cli.ok("approve", cli.ok("run", "Calculate 2+2")["thread_id"])
    cli.ok("run", "Calculate 3+3")  # at the gate
    serve_port, metrics_port = free_port(), free_port()
    servers = [cli.popen("serve", "--open", "--port", str(serve_port)),
               cli.popen("metrics", "--serve", str(metrics_port))]
    try:
        urls = [f"http://127.0.0.1:{serve_port}/metrics", f"http://127.0.0.1:{metrics_port}/metrics"]
        for url, server in zip(urls, servers):
            wait_answering(url, server, timeout=60)
        for accept in (None, "text/plain", OPENMETRICS):
            answers = [scrape(url, accept) for url in urls]
            assert all(a.status_code == 200 for a in answers), [a.text[:200] for a in answers]
            types = {a.headers["content-type"] for a in answers}
            assert len(types) == 1, f"one format for {accept!r}: {types}"
        text, negotiated = scrape(urls[0], None), scrape(urls[0], OPENMETRICS)
        assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert negotiated.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
        assert negotiated.text.endswith("# EOF\n")
        promtool_check(text.text)
        families = {f.name: f for f in openmetrics_families(negotiated.text)}
        assert {s.labels["status"]: s.value for s in families["prolight_runs"].samples} == {
            "COMPLETED": 1, "AWAITING_APPROVAL": 1}
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=15)


def test_distributions_are_summaries_with_one_unit_each(cli: Cli) -> None:
    cli.ok("approve", cli.ok("run", "Calculate 2+2")["thread_id"])
    db = open_database(cli.env["PROLIGHT_DB"])
    try:
        from prometheus_client import generate_latest

        text = generate_latest(prometheus_registry(db)).decode()
    finally:
        db.close()
    promtool_check(text)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert not [f.name for f in families.values() for s in f.samples if "stat" in s.labels], "no unit told by a label"
    for name in ("prolight_run_duration_seconds", "prolight_approval_wait_seconds", "prolight_tool_duration_seconds",
                 "prolight_agent_duration_seconds", "prolight_run_tokens"):
        family = families[name]
        assert family.type == "summary", name
        kinds = {s.name.removeprefix(name) for s in family.samples}
        assert {"_count", "_sum"} <= kinds, (name, kinds)
    run = {s.name: s.value for s in families["prolight_run_duration_seconds"].samples if not s.labels}
    assert run["prolight_run_duration_seconds_count"] == 1 and run["prolight_run_duration_seconds_sum"] > 0
    quantiles = {s.labels["quantile"] for s in families["prolight_tool_duration_seconds"].samples
                 if "quantile" in s.labels}
    assert quantiles == {"0.5", "0.95"}
    for family in families.values():
        if family.name.endswith("_seconds"):
            assert family.type in ("summary", "counter"), family.name


@pytest.mark.parametrize("opened_ago, level", [(5.0, 2), (120.0, 1)])
def test_a_breakers_gauge_follows_its_cool_down(cli: Cli, opened_ago: float, level: int) -> None:
    """A breaker opened by a process that has exited reads open until its cool-down has
    passed, then half-open, on every scrape: the state is read from the database at the
    scrape's time, not remembered by whoever opened it."""
    db = open_database(cli.env["PROLIGHT_DB"])
    try:
        save_breaker(db, "http:down.example", "open", 5, time.time() - opened_ago, 60.0, "HTTP 500")
        from prometheus_client import generate_latest

        text = generate_latest(prometheus_registry(db)).decode()
    finally:
        db.close()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    [sample] = families["prolight_breaker_state"].samples
    assert sample.labels == {"breaker": "http:down.example"} and sample.value == level


def test_promtool_is_there_in_ci() -> None:
    """CI installs Debian's prometheus package for promtool (.ci/install-promtool); elsewhere
    the parsers above stand in for it."""
    import os

    if os.environ.get("CI") and Path("/usr/bin/apt-get").exists():
        assert shutil.which("promtool"), ".ci/install-promtool should have installed promtool"
