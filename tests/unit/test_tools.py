"""Built-in tools and their sandbox: workspace confinement, command allow-list, safe
arithmetic, http schemes and the size cap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agents.tools import default_registry
from graph.core.errors import HttpStatusError, ToolRefused
from tests.support.http_server import ToolServer


def call(name: str, **args: object) -> object:
    return default_registry().get(name).invoke(args)


def test_file_tools_round_trip_inside_the_workspace(home: Path) -> None:
    assert call("write_file", path="notes/a.txt", content="hello TODO\nbye") == "wrote 14 bytes to notes/a.txt"
    assert call("read_file", path="notes/a.txt") == "hello TODO\nbye"
    assert call("list_files", path=".") == ["notes/"]
    assert call("search_files", pattern="TODO") == ["notes/a.txt:1: hello TODO"]


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd", "a/../../b", "~/x"])
def test_paths_that_leave_the_workspace_are_refused(home: Path, path: str) -> None:
    with pytest.raises(ToolRefused):
        call("read_file", path=path)
    with pytest.raises(ToolRefused):
        call("write_file", path=path, content="x")


def test_symlink_out_of_the_workspace_is_refused(home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    os.symlink(outside, home / "workspace" / "link.txt")
    with pytest.raises(ToolRefused, match="leaves the workspace"):
        call("read_file", path="link.txt")


def test_calculate_is_arithmetic_only() -> None:
    assert call("calculate", expression="2 ** 10 + sqrt(16) - 3 % 2") == 1027.0
    for hostile in ["__import__('os').system('id')", "().__class__", "2 ** 99999", "1/0", "open('x')"]:
        with pytest.raises(ToolRefused):
            call("calculate", expression=hostile)


def test_run_command_needs_the_allow_list(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ToolRefused, match="not allowed"):
        call("run_command", command="echo hi")
    monkeypatch.setenv("PROLIGHT_ALLOW_COMMANDS", "echo")
    assert call("run_command", command="echo hi; rm -rf /") == "hi; rm -rf /\n", "no shell interprets it"


def test_http_request_schemes_status_and_size_cap(server: ToolServer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert call("http_request", url=server.url("x")) == "ok /x call 1"
    with pytest.raises(ToolRefused, match="only http and https"):
        call("http_request", url="file:///etc/passwd")
    with pytest.raises(HttpStatusError) as failed:
        call("http_request", url=server.url("gone", status=404))
    assert failed.value.status == 404
    monkeypatch.setenv("PROLIGHT_HTTP_MAX_BYTES", "1000")
    with pytest.raises(ToolRefused, match="exceeds the 1000-byte cap"):
        call("http_request", url=server.url("big", size=5000))


def test_summarize_offline_is_extractive() -> None:
    text = "Cats sleep. Cats purr and cats eat. Dogs bark. Birds sing. Cats are cats."
    summary = call("summarize", text=text, max_sentences=2)
    assert summary.count(".") == 2 and "Cats" in summary


def test_user_tools_register_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROLIGHT_TOOLS", "tests.support.user_tools:shout")
    default_registry.cache_clear()
    try:
        registry = default_registry()
        assert "shout" in registry
        assert registry.get("shout").invoke({"text": "hi"}) == "HI"
    finally:
        default_registry.cache_clear()
