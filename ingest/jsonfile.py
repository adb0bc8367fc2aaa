"""JSON sources: a document read with clear errors, and its rows as a typed DuckDB table.

Allen's JSON comes as a list of objects (what AllenSDK caches write, e.g. `cells.json`) or as
an RMA envelope `{"success": true, ..., "msg": [...]}`. Errors name the file and the JSON path
of the bad value (`msg[12].vrest`), as CSV errors name the line and column.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow as pa

from ingest.base import TYPE_WORDS, quote_ident
from warehouse.errors import DataError


def read_document(path: Path, label: str):
    """The parsed document, or a DataError (not JSON, truncated, not UTF-8, nested too
    deeply: a 100,000-level document is refused, not a crash)."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return json.load(handle)
    except UnicodeDecodeError:
        raise DataError("not valid UTF-8 text", file=label,
                        hint="download the file again") from None
    except json.JSONDecodeError as error:
        raise DataError(f"not valid JSON: {error.msg}", file=label, line=error.lineno,
                        hint="the file may be truncated: download it again") from None
    except RecursionError:
        raise DataError("the JSON is nested too deeply to be an Allen file", file=label,
                        hint="check that this is the right file") from None


def rows_of(document, label: str) -> tuple[list, str]:
    """(the rows, the JSON path they are at) of a list or an RMA envelope."""
    if isinstance(document, list):
        return document, "$"
    if isinstance(document, dict) and isinstance(document.get("msg"), list):
        if document.get("success") is False:
            raise DataError(f"the API response reports failure: {document.get('msg')!r}",
                            file=label, hint="download it again")
        return document["msg"], "msg"
    raise DataError("expected a list of objects or an RMA envelope with a 'msg' list",
                    file=label, column="$", hint="check that this is the right file")


def _text(value) -> str | None:
    """A JSON value as text for a typed cast; "" is null, as in Allen's CSVs."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


def load_rows(con: duckdb.DuckDBPyConnection, rows: list, table: str, *, types: dict[str, str],
              required: Iterable[str], key: str | None, label: str, what: str,
              base: str) -> list[str]:
    """Create temp `table` from `rows`: `types` give column types (others are text). Checks:
    every row an object, the required keys present, values of their type, `key` present and
    unique. Returns the keys found, in order of first appearance."""
    if not rows:
        raise DataError("no rows", file=label, column=base,
                        hint=f"a {what} has at least one row: download the file again")
    keys: dict[str, None] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise DataError("expected an object", file=label, column=f"{base}[{index}]",
                            hint="check that this is the right file")
        keys.update(dict.fromkeys(row))
    missing = [name for name in required if name not in keys]
    if missing:
        raise DataError(f"missing key(s) {', '.join(missing)}; found "
                        f"{', '.join(list(keys)[:12])}{' ...' if len(keys) > 12 else ''}",
                        file=label, column=f"{base}[0]",
                        hint=f"a {what} needs these keys: {', '.join(required)}")
    columns = {name: pa.array([_text(row.get(name)) for row in rows], pa.string())
               for name in keys}
    con.register("_json_rows", pa.table(columns))
    try:
        for name in keys:
            kind = types.get(name, "VARCHAR")
            if kind == "VARCHAR":
                continue
            found = con.execute(
                f"select i, v from (select row_number() over () - 1 as i, {quote_ident(name)} "
                f"as v from _json_rows) where v is not null and try_cast(v as {kind}) is null "
                "order by i limit 1").fetchall()
            if found:
                bad = found[0]
                raise DataError(f"expected {TYPE_WORDS.get(kind, kind)}, found {bad[1]!r}",
                                file=label, column=f"{base}[{bad[0]}].{name}",
                                hint=f"fix that value of the {what}, or download it again")
        select = ", ".join(
            f"cast({quote_ident(n)} as {types.get(n, 'VARCHAR')}) as {quote_ident(n)}"
            for n in keys)
        con.execute(f"create or replace temp table {table} as select {select} from _json_rows")
    finally:
        con.unregister("_json_rows")
    if key is not None:
        _check_key(con, table, key, label=label, base=base, what=what)
    return list(keys)


def _check_key(con: duckdb.DuckDBPyConnection, table: str, key: str, *, label: str, base: str,
               what: str) -> None:
    column = quote_ident(key)
    empty = con.execute(f"select i from (select row_number() over () - 1 as i, {column} as k "
                        f"from {table}) where k is null order by i limit 1").fetchall()
    if empty:
        raise DataError(f"{key} is empty", file=label, column=f"{base}[{empty[0][0]}].{key}",
                        hint=f"every row of a {what} needs a {key}")
    duplicate = con.execute(
        f"select k, list(i order by i) from (select row_number() over () - 1 as i, {column} "
        f"as k from {table}) group by k having count(*) > 1 order by min(i) limit 1").fetchall()
    if duplicate:
        value, positions = duplicate[0]
        first, second = positions[:2]
        raise DataError(f"duplicate {key} {value!r} (also at {base}[{first}])",
                        file=label, column=f"{base}[{second}].{key}",
                        hint=f"each {key} appears once in a {what}: remove the duplicate")
