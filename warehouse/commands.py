"""Commands defined outside cli.py, each in the module that does its job."""

from __future__ import annotations

import click

from warehouse.query import sql_command

COMMANDS: list[click.Command] = [sql_command]
