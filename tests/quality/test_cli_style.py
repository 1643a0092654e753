"""Every `tandem` command speaks one style: its help shows an example, a command that prints
data takes --json, the CRM org is --org and the Engagement account --account, and bad input
is one line with exit code 2."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from tandem.cli.crm_connectedapp import app as connectedapp_app
from tandem.cli.crm_setup import org_app, permset_app, user_app
from tandem.cli.engagement_accounts import account_app
from tandem.cli.main import app as main_app
from tandem.cli.style import run_app

# Commands that run processes until stopped or hand over to Django: nothing to print as JSON.
PRINTS_NO_DATA = {
    "tandem up",
    "tandem demo",
    "tandem worker",
    "tandem crm",
    "tandem engagement",
    "tandem inbox",
    "tandem keys rotate",
}

TREES = {
    "tandem": main_app,
    "tandem crm org": org_app,
    "tandem crm user": user_app,
    "tandem crm permset": permset_app,
    "tandem crm connectedapp": connectedapp_app,
    "tandem engagement account": account_app,
}


def _leaves(prefix: str, command: typer.main.TyperGroup | object) -> Iterator[tuple[str, object]]:
    children = getattr(command, "commands", None)
    if getattr(command, "callback", None) is not None and (
        children is None or getattr(command, "invoke_without_command", False)
    ):
        yield prefix, command
    for name, child in (children or {}).items():
        yield from _leaves(f"{prefix} {name}", child)


def _all_commands() -> list[tuple[str, object]]:
    found = []
    for prefix, app in TREES.items():
        found.extend(_leaves(prefix, typer.main.get_command(app)))
    return found


COMMANDS = _all_commands()


def _help(path: str) -> str:
    prefix = next(p for p in sorted(TREES, key=len, reverse=True) if path.startswith(p))
    args = path.removeprefix(prefix).split()
    result = CliRunner().invoke(TREES[prefix], [*args, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_walk_finds_every_group() -> None:
    paths = {path for path, _ in COMMANDS}
    assert {
        "tandem send create",
        "tandem de import",
        "tandem connect status",
        "tandem crm org create",
        "tandem crm connectedapp ip-range add",
        "tandem keys new",
        "tandem inbox list",
    } <= paths


# `tandem crm …` and `tandem engagement …` hand even --help to Django: their own help is the
# line `tandem --help` lists.
PASSTHROUGH = {"tandem crm", "tandem engagement"}


@pytest.mark.parametrize(("path", "command"), COMMANDS)
def test_help_shows_an_example(path: str, command: object) -> None:
    shown = getattr(command, "help", "") if path in PASSTHROUGH else _help(path)
    assert "Example: tandem" in shown


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS if path not in PRINTS_NO_DATA])
def test_a_command_that_prints_data_takes_json(path: str) -> None:
    assert "--json" in _help(path)


@pytest.mark.parametrize(("path", "command"), COMMANDS)
def test_org_and_account_options_are_named_alike(path: str, command: object) -> None:
    for param in getattr(command, "params", []):
        if param.name in ("org", "account"):
            assert param.opts == [f"--{param.name}"], path


@pytest.mark.parametrize(
    "argv",
    [["bogus"], ["send", "create", "--email", "x"], ["crm-nothing"], ["keys", "new", "--nope"]],
)
def test_bad_input_is_one_line_and_exit_code_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_app(main_app, argv, prog="tandem")

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("tandem: error: ")
    assert err.count("\n") == 1
