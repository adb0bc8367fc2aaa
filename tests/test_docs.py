"""The docs keep up with the code: every command is registered at import, has help and is in
the README; every saved view and macro is in the README (as sqlite-utils' tests/test_docs.py)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from warehouse.cli import cli
from warehouse.views import saved_objects

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
COMMANDS = sorted(cli.commands)


def test_every_command_of_the_design_is_registered_at_import():
    assert {"build", "demo", "export", "ingest", "sample", "serve", "sql", "status",
            "views"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help(name):
    command = cli.commands[name]
    assert command.help and command.get_short_help_str(), f"`brainwh {name}` has no help"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"`brainwh {name}` option {param.opts[0]} has no help"
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0 and "Usage: " in result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_in_the_readme(name):
    assert f"`brainwh {name}" in README, f"README does not document `brainwh {name}`"


def test_top_level_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output


@pytest.mark.parametrize("name", [obj.name for obj in saved_objects()])
def test_saved_object_is_in_the_readme(name):
    assert f"`{name}" in README, f"README does not document {name}"
