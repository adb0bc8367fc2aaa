"""Why did a query return no rows? Notes for `brainwh sql` when the answer is empty.

An empty answer to `where region_acronym = 'CA1'` or `where structure_acronym = 'CB'` looks like
"nothing there" when the value simply does not occur. For each `column = literal` (or `column in
(...)`) filter on a table or view the query reads, the note says when no row of that table has
the value, with the closest values that do occur (`did_you_mean`) and the column's meaning from
the catalog (the view header's explanation, e.g. why a structure has no composition rows).
Only runs when the result is empty; a check that fails is skipped, never an error.
"""

from __future__ import annotations

import duckdb
import sqlglot
from sqlglot import exp

MAX_FILTERS = 6
SAMPLE_ROWS = 2_000_000  # values suggested from at most this many rows of a big view


def _filters(query: str) -> list[tuple[str | None, str, list[object]]]:
    """(table alias or None, column, literal values) of each equality / IN filter."""
    try:
        tree = sqlglot.parse_one(query, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return []
    found = []
    for node in tree.find_all(exp.EQ, exp.In):
        if isinstance(node, exp.EQ):
            column, values = (node.left, [node.right]) if isinstance(node.left, exp.Column) \
                else (node.right, [node.left])
        else:
            column, values = node.this, node.expressions
        if not isinstance(column, exp.Column) or not values \
                or not all(isinstance(v, exp.Literal) for v in values):
            continue
        found.append((column.table or None, column.name,
                      [v.this if v.is_string else float(v.this) for v in values]))
    return found[:MAX_FILTERS]


def _tables(query: str) -> dict[str, str]:
    """alias (or name) -> table or view name, for the relations the query reads."""
    try:
        tree = sqlglot.parse_one(query, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return {}
    return {t.alias_or_name: t.name for t in tree.find_all(exp.Table) if t.name}


def _columns(con: duckdb.DuckDBPyConnection, names: set[str]) -> dict[tuple[str, str], tuple]:
    rows = con.execute(
        "select table_name, column_name, data_type, comment from duckdb_columns() "
        "where schema_name = 'main' and list_contains(?, table_name)", [sorted(names)]).fetchall()
    return {(t, c): (kind, comment) for t, c, kind, comment in rows}


def _quoted(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else f"{value:g}"


def explain_empty(con: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    """Notes (one line each) on filter values that occur in no row of their table."""
    tables = _tables(query)
    filters = _filters(query)
    if not tables or not filters:
        return []
    columns = _columns(con, set(tables.values()))
    notes = []
    for alias, column, values in filters:
        candidates = [tables[alias]] if alias in tables else sorted(set(tables.values()))
        table = next((t for t in candidates if (t, column) in columns), None)
        if table is None:
            continue
        kind, comment = columns[table, column]
        for value in values:
            try:
                notes.extend(_note(con, table, column, kind, comment, value))
            except duckdb.Error:
                continue
    return notes


def _note(con: duckdb.DuckDBPyConnection, table: str, column: str, kind: str,
          comment: str | None, value: object) -> list[str]:
    target = f'"{table}"."{column}"'
    (present,) = con.execute(
        f'select count(*) from (select 1 from "{table}" where {target} = ? limit 1)',
        [value]).fetchone()
    if present:
        return []
    note = f"note: no row of {table} has {column} = {_quoted(value)}"
    if kind == "VARCHAR" and isinstance(value, str):
        try:
            (closest,) = con.execute(
                f'select did_you_mean(?, list(distinct "{column}" order by "{column}")) from '
                f'(select "{column}" from "{table}" limit {SAMPLE_ROWS})', [value]).fetchone()
            note += closest or ""
        except duckdb.Error:  # a warehouse built before did_you_mean existed
            pass
    lines = [note]
    if comment:
        lines.append(f"  {table}.{column}: {comment}")
    return lines
