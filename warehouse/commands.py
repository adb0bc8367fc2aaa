"""Commands defined outside cli.py, each in the module that does its job."""

from __future__ import annotations

import click

from warehouse.export import export_command
from warehouse.query import sql_command
from warehouse.server.command import serve_command

COMMANDS: list[click.Command] = [sql_command, export_command, serve_command]
