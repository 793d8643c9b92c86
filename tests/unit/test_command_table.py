"""Every front end offers every command of the table, with the table's arguments: the CLI
parser, the HTTP routes (and their body models), the remote client, the typed shorthands
of ``Operations``, the role checks and the dashboard's dispatch. Adding a command to the
table without one of them fails here."""

from __future__ import annotations

import argparse
import inspect

import pytest
from fastapi.routing import APIRoute

from graph.core.schemas import Action
from graph.operations import Operations
from graph.operations.commands import COMMANDS, READS, Command, may, role_for
from graph.operations.protocol import OperationsApi
from ui.api.app import create_app
from ui.api.commands import body_model
from ui.cli import build_parser
from ui.remote import RemoteOperations

ENVELOPE = {"self", "operator", "queue", "on_event"}  # who asks and how: beside every request


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.fixture(scope="module")
def routes() -> dict[tuple[str, str], APIRoute]:
    app = create_app(None, None)  # type: ignore[arg-type]  (routes only; nothing is called)
    return {(method, r.path): r for r in app.routes if isinstance(r, APIRoute) for method in r.methods}


def test_every_action_that_is_a_command_is_in_the_table() -> None:
    assert set(COMMANDS) == set(Action) - {Action.EDIT}
    assert all(command.action == action for action, command in COMMANDS.items())
    assert len({c.verb for c in COMMANDS.values()}) == len({(c.method, c.path) for c in COMMANDS.values()}) == len(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS.values(), ids=lambda c: c.verb)
def test_the_cli_takes_each_command_with_exactly_its_request_fields(command: Command) -> None:
    parser = subcommands(build_parser())[command.verb]
    dests = {a.dest for a in parser._actions} - {"help", "json", "operator", "detach", "goal_file"}
    assert dests == set(command.request.model_fields) == set(command.flags)
    for name, flag in command.flags.items():
        actions = [a for a in parser._actions if a.dest == name]
        if "|" in flag:  # one flag per choice, each setting the field to its name
            assert {(a.option_strings[0], a.const) for a in actions} == {(f, f[2:]) for f in flag.split("|")}
        else:
            assert (flag in actions[0].option_strings) if flag.startswith("-") else (actions[0].metavar == flag)


@pytest.mark.parametrize("command", COMMANDS.values(), ids=lambda c: c.verb)
def test_the_http_api_routes_each_command_with_its_request_as_the_body(
        command: Command, routes: dict[tuple[str, str], APIRoute]) -> None:
    route = routes[(command.method, command.path)]
    assert route.status_code == 202 and route.name == command.action.value
    path_params = {p.name for p in route.dependant.path_params}
    assert path_params == set(command.path_fields)
    body = body_model(command)
    assert set(body.model_fields) == set(command.body_fields) | {"operator"}
    assert set(path_params) | set(command.body_fields) == set(command.request.model_fields)


@pytest.mark.parametrize("command", COMMANDS.values(), ids=lambda c: c.verb)
def test_the_typed_shorthand_takes_the_request_fields(command: Command) -> None:
    shorthand = getattr(Operations, command.action.value)  # the test may look by name; the code never does
    params = set(inspect.signature(shorthand).parameters) - ENVELOPE
    assert params == set(command.request.model_fields)


def test_both_operations_apis_have_the_protocol_shape() -> None:
    wanted = {name for name in dir(OperationsApi) if not name.startswith("_")}
    for implementation in (Operations, RemoteOperations):
        missing = {name for name in wanted if not callable(getattr(implementation, name, None))}
        assert not missing, (implementation.__name__, missing)
        for name in wanted:
            expected = list(inspect.signature(getattr(OperationsApi, name)).parameters)
            given = list(inspect.signature(getattr(implementation, name)).parameters)
            assert given[:len(expected)] == expected, (implementation.__name__, name, given)


@pytest.mark.parametrize("read", READS, ids=lambda r: r.verb)
def test_every_read_is_in_every_front_end(read, routes: dict[tuple[str, str], APIRoute]) -> None:
    assert ("GET", read.path) in routes
    assert read.verb in subcommands(build_parser())
    assert hasattr(OperationsApi, read.method)


def test_roles_come_from_the_table() -> None:
    assert {a for a in Action if role_for(a) == "approver"} == {Action.APPROVE, Action.EDIT, Action.REJECT,
                                                                         Action.RESTORE, Action.REVIEW}
    assert not any(may(frozenset({"viewer"}), a) for a in Action)
    assert all(may(frozenset({"operator", "approver"}), a) for a in Action)
