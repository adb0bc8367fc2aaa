"""`brainwh sql`: ad-hoc SQL on a read-only connection, results in four formats.

The command itself is declared in `warehouse.cli`. A failed query keeps every line DuckDB
wrote (its "Did you mean ...?", "Candidate bindings: ..." and "Candidate macros: ..." hints,
the LINE and caret), then adds brainwh's hint when there is one.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse import config, db, progress
from warehouse.errors import QueryError, UsageError
from warehouse.output import destination, write_stream

BATCH_ROWS = 65_536
TEXT_COMPARED_WITH_NUMBER = re.compile(
    r"Could not convert string '(?P<value>[^']*)' to \w+ when casting from source column "
    r"(?P<column>\w+)")


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


def hint_for(message: str) -> str | None:
    """What to do about a DuckDB error, when brainwh knows more than DuckDB said."""
    if "read-only mode" in message:
        return "the warehouse is opened read-only here: change it with `brainwh build`"
    if "were not provided" in message or "Parameter argument/count mismatch" in message:
        return "give each $name a value with --param name=value"
    if match := TEXT_COMPARED_WITH_NUMBER.search(message):
        column, value = match["column"], match["value"]
        return (f"{column} is a text column (it holds values such as '{value}'): compare it "
                f"with text, e.g. {column} = '5' or {column} in ('2/3', '5')")
    if message.startswith(("Catalog Error", "Binder Error")):
        return "`brainwh views` lists the views and macros; `brainwh status` the tables"
    return None


def query_error(error: duckdb.Error, what: str = "query failed") -> QueryError:
    """A QueryError carrying all of DuckDB's message, and brainwh's hint after it."""
    message = "\n".join(line.rstrip() for line in str(error).strip().splitlines())
    return QueryError(f"{what}: {message}", hint=hint_for(message))


def run_query(con: duckdb.DuckDBPyConnection, query: str,
              params: dict[str, object] | None = None) -> pa.Table:
    """The whole result as an Arrow table (for small answers, such as the demo's)."""
    try:
        relation = con.sql(query, params=params or None)
        return relation.to_arrow_table() if relation is not None else pa.table({})
    except duckdb.InterruptException:
        raise KeyboardInterrupt from None
    except duckdb.Error as error:
        raise query_error(error) from error


def stream_query(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, object],
                 fmt: str, out: Path | None, *, force: bool = False) -> int:
    """Run `query` and write its result batch by batch; the number of rows. An empty result
    of a SELECT gets notes on stderr saying which filter value occurs nowhere (`why_empty`)."""
    with destination(out, force=force) as sink:
        try:
            relation = con.sql(query, params=params or None)
            reader = (relation.to_arrow_reader(BATCH_ROWS) if relation is not None
                      else pa.table({}).to_reader())
            rows = write_stream(reader, fmt, sink)
        except duckdb.InterruptException:
            raise KeyboardInterrupt from None
        except duckdb.Error as error:
            raise query_error(error) from error
    if rows == 0 and relation is not None:
        from warehouse.why_empty import explain_empty

        for line in explain_empty(con, query):
            progress.note(line)
    return rows


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
            db_path: Path | None, *, force: bool = False) -> None:
    """`brainwh sql`: run `text` on a read-only connection and write the result."""
    if fmt == "parquet" and out is None and sys.stdout.isatty():
        raise UsageError("parquet is binary", hint="use --out FILE.parquet or redirect stdout")
    bound = parse_params(params)
    con = db.connect(config.database_path(db_path), read_only=True)
    try:
        db.run_interruptibly(con, lambda: stream_query(con, text, bound, fmt, out, force=force))
    finally:
        con.close()
