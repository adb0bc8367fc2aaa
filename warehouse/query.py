"""`brainwh sql`: ad-hoc SQL on a read-only connection, results in four formats."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import duckdb
import pyarrow as pa

from warehouse import config, db
from warehouse.errors import QueryError, UsageError
from warehouse.output import FORMATS, write_result


def parse_params(pairs: tuple[str, ...]) -> dict[str, object]:
    """`name=value` pairs; values that look like numbers are bound as numbers."""
    params: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param {pair!r} is not name=value",
                             hint="for example --param region=MOp")
        params[name.strip()] = _typed(value)
    return params


def _typed(value: str) -> object:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def run_query(con: duckdb.DuckDBPyConnection, query: str,
              params: dict[str, object] | None = None) -> pa.Table:
    try:
        return con.sql(query, params=params or None).to_arrow_table()
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        raise QueryError(f"query failed: {first}",
                         hint="`brainwh views` lists the views; `brainwh status` the tables"
                         ) from error


@click.command("sql")
@click.argument("query", required=False)
@click.option("-f", "--file", "query_file", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="read the query from a file ('-' or no QUERY: stdin)")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="table",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write to a file instead of stdout")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="bind $NAME in the query (repeatable); never interpolated")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="warehouse file (default: $BRAINWH_DB, else ./brainwh.duckdb)")
def sql_command(query: str | None, query_file: Path | None, fmt: str, out: Path | None,
                params: tuple[str, ...], db_path: Path | None) -> None:
    """Run a SQL query against the warehouse (read-only) and print the result.

    The query comes from the argument, from -f FILE, or from stdin. Parameters are bound:
    `brainwh sql 'select * from composition where region_acronym = $r' --param r=MOp`.
    """
    if query_file is not None:
        text = query_file.read_text()
    elif query is not None and query != "-":
        text = query
    elif not sys.stdin.isatty():
        text = sys.stdin.read()
    else:
        raise UsageError("no query given", hint="pass it as an argument, with -f FILE, or on stdin")
    if not text.strip():
        raise UsageError("the query is empty")
    if fmt == "parquet" and out is None and sys.stdout.isatty():
        raise UsageError("parquet is binary", hint="use --out FILE.parquet or redirect stdout")
    con = db.connect(config.database_path(db_path), read_only=True)
    try:
        table = run_query(con, text, parse_params(params))
    finally:
        con.close()
    write_result(table, fmt, out)
