"""The file tools stay in the workspace and ``run_command`` starts only allow-listed
programs, without a shell: each hostile input is refused (or made harmless) and nothing
outside the workspace is read or written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agents.tools.command import run_command
from agents.tools.files import list_files, read_file, search_files, write_file
from graph.core.errors import ToolRefused


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A secret file beside the workspace, and symlinks inside the workspace that point at it."""
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("TOP SECRET")
    return secret


def invoke(tool, context, **args):
    return tool.invoke(args, config=context.config())


@pytest.mark.parametrize("path", ["../outside/secret.txt", "a/../../outside/secret.txt", "/etc/passwd",
                                  "~/.ssh/id_rsa", ""], ids=["dotdot", "nested-dotdot", "absolute", "home", "empty"])
def test_path_traversal_is_refused(path: str, make_context, outside: Path) -> None:
    context = make_context()
    with pytest.raises(ToolRefused, match="must be relative to the workspace|may not contain '..'"):
        invoke(read_file, context, path=path)
    with pytest.raises(ToolRefused, match="must be relative to the workspace|may not contain '..'"):
        invoke(write_file, context, path=path, content="owned")
    assert outside.read_text() == "TOP SECRET"


def test_symlink_escapes_are_refused(make_context, outside: Path) -> None:
    context = make_context()
    workspace = context.settings.workspace
    (workspace / "link.txt").symlink_to(outside)
    (workspace / "linkdir").symlink_to(outside.parent, target_is_directory=True)
    for tool, args in ((read_file, {"path": "link.txt"}), (read_file, {"path": "linkdir/secret.txt"}),
                       (write_file, {"path": "link.txt", "content": "owned"}),
                       (write_file, {"path": "linkdir/new.txt", "content": "owned"}),
                       (list_files, {"path": "linkdir"}), (search_files, {"pattern": "SECRET", "path": "linkdir"})):
        with pytest.raises(ToolRefused, match="leaves the workspace"):
            invoke(tool, context, **args)
    assert invoke(search_files, context, pattern="SECRET") == [], "a search of the workspace skips the links out"
    assert outside.read_text() == "TOP SECRET" and sorted(os.listdir(outside.parent)) == ["secret.txt"]


def test_an_unlisted_command_is_refused(make_context) -> None:
    context = make_context(allow_commands=("echo",))
    for command in ("ls /", "/bin/echo hi", "sh -c 'echo hi'", "python3 -c 'print(1)'"):
        with pytest.raises(ToolRefused, match=r"is not allowed \(PROLIGHT_ALLOW_COMMANDS=echo\)"):
            invoke(run_command, context, command=command)


@pytest.mark.parametrize("command", ["echo hi; touch pwned", "echo hi && touch pwned", "echo hi | touch pwned",
                                     "echo $(touch pwned)", "echo `touch pwned`", "echo hi > pwned",
                                     "echo hi\ntouch pwned"],
                         ids=["semicolon", "and", "pipe", "subshell", "backticks", "redirect", "newline"])
def test_shell_metacharacters_are_plain_arguments(command: str, make_context) -> None:
    """No shell: the metacharacters reach ``echo`` as words, and nothing else runs."""
    context = make_context(allow_commands=("echo",))
    output = invoke(run_command, context, command=command)
    assert "pwned" in output and not (context.settings.workspace / "pwned").exists()
    assert os.listdir(context.settings.workspace) == []
