"""`brainwh sql`: ad-hoc SQL on a read-only connection, results in four formats.

The command itself is declared in `warehouse.cli`."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse import config, db
from warehouse.errors import QueryError, UsageError
from warehouse.output import write_result


def parse_params(pairs: tuple[str, ...]) -> dict[str, object]:
    """`name=value` pairs, bound as text values (never pasted into the SQL).

    DuckDB casts a text value to the type it is compared with or used as (`structure_id =
    $id`, `limit $n`, `date > $d`), so `--param id=385` and `--param label=007` both mean what
    they say. Where nothing gives a type (`select $n + 1`), cast in the SQL: `$n::integer`.
    """
    params: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise UsageError(f"--param {pair!r} is not name=value",
                             hint="for example --param region=MOp, used as $region")
        params[name.strip()] = value
    return params


def run_query(con: duckdb.DuckDBPyConnection, query: str,
              params: dict[str, object] | None = None) -> pa.Table:
    try:
        relation = con.sql(query, params=params or None)
        return relation.to_arrow_table() if relation is not None else pa.table({})
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        if "read-only mode" in first:
            hint = "the warehouse is opened read-only here: change it with `brainwh build`"
        elif "were not provided" in first:
            hint = "give each $name a value with --param name=value"
        else:
            hint = "`brainwh views` lists the views; `brainwh status` the tables"
        raise QueryError(f"query failed: {first}", hint=hint) from error


def read_query(query: str | None, query_file: Path | None) -> str:
    """The query text: from QUERY, from `-f FILE` ('-' is stdin), or from stdin."""
    if query_file is not None and str(query_file) != "-":
        text = query_file.read_text()
    elif query_file is not None:
        text = sys.stdin.read()
    elif query is not None and query != "-":
        text = query
    elif not sys.stdin.isatty():
        text = sys.stdin.read()
    else:
        raise UsageError("no query given", hint="pass it as an argument, with -f FILE, or on stdin")
    if not text.strip():
        raise UsageError("the query is empty")
    return text


def run_sql(text: str, params: tuple[str, ...], fmt: str, out: Path | None,
            db_path: Path | None) -> None:
    """`brainwh sql`: run `text` on a read-only connection and write the result."""
    if fmt == "parquet" and out is None and sys.stdout.isatty():
        raise UsageError("parquet is binary", hint="use --out FILE.parquet or redirect stdout")
    con = db.connect(config.database_path(db_path), read_only=True)
    try:
        table = run_query(con, text, parse_params(params))
    finally:
        con.close()
    write_result(table, fmt, out)
