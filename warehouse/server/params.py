"""Statement parameters: their types without running anything, and their values for DuckDB.

asyncpg, pg8000 and JDBC send Parse with no parameter types and ask the server to describe
the statement before binding: Postgres answers from the statement's text, so do we. The count
is the highest `$n` outside literals; each type comes from where the parameter stands:
`$1::date`, `col > $1` (the column's type in the warehouse), `col in ($1, $2)`,
`col = any($1)` (an array of the column's type), `limit $1`; anything else is text, as
Postgres would say for an unknown. At Bind, values arrive as text (or binary, decoded by the
adapter) and become Python values of the parameter's type; an untyped value in Postgres'
text form that DuckDB cannot read where it stands (`{a,b}` where a list goes, JDBC's
`2000-01-01 +00` for a date) is read the Postgres way when DuckDB refuses it (`reread`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re

import sqlglot
from sqlglot import exp

from warehouse.server import sqltext
from warehouse.server.pgmimic import ARRAY_OID
from warehouse.server.pgmimic import oids as pg
from warehouse.server.pgtypes import param_value

_CAST_OIDS = {
    "int": pg.INT4, "integer": pg.INT4, "int4": pg.INT4, "bigint": pg.INT8, "int8": pg.INT8,
    "smallint": pg.INT2, "int2": pg.INT2, "tinyint": pg.INT2, "hugeint": pg.NUMERIC,
    "text": pg.TEXT, "varchar": pg.VARCHAR, "char": pg.BPCHAR, "bpchar": pg.BPCHAR,
    "string": pg.TEXT, "name": pg.TEXT, "date": pg.DATE, "timestamp": pg.TIMESTAMP,
    "timestamptz": pg.TIMESTAMPTZ, "boolean": pg.BOOL, "bool": pg.BOOL,
    "double": pg.FLOAT8, "float8": pg.FLOAT8, "double precision": pg.FLOAT8,
    "real": pg.FLOAT4, "float4": pg.FLOAT4, "float": pg.FLOAT8, "numeric": pg.NUMERIC,
    "decimal": pg.NUMERIC, "uuid": pg.UUID, "json": pg.JSON, "jsonb": pg.JSONB,
    "bytea": pg.BYTEA, "blob": pg.BYTEA, "interval": pg.INTERVAL, "time": pg.TIME,
}
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike,
                exp.Add, exp.Sub, exp.Mul, exp.Div, exp.NullSafeEQ, exp.NullSafeNEQ)
MAX_INFERRED_SQL = 256 * 1024  # longer statements: parameters are text


def count(sql: str) -> int:
    return sqltext.placeholder_count(sql)


def infer(sql: str, declared: list[int], columns: dict[str, dict[str, int]]) -> list[int]:
    """The OID of every parameter: declared (non-zero) ones as declared, the rest inferred.

    `columns` maps each warehouse table or view to its columns' OIDs (lower-case names).
    """
    total = max(count(sql), len(declared))
    oids = [declared[i] if i < len(declared) else 0 for i in range(total)]
    if all(oids) or len(sql) > MAX_INFERRED_SQL:
        return [oid or pg.TEXT for oid in oids]
    tree = _parse(sql)
    if tree is not None:
        known = _columns_in_scope(tree, columns)
        for node in tree.find_all(exp.Parameter, exp.Placeholder):
            index = _index(node)
            if index is not None and 0 <= index < total and not oids[index]:
                oids[index] = _from_context(node, known)
    return [oid or pg.TEXT for oid in oids]


def _parse(sql: str) -> exp.Expression | None:
    for dialect in ("postgres", "duckdb"):
        try:
            return sqlglot.parse_one(sql, dialect=dialect)
        except Exception:  # noqa: BLE001 - not parseable: parameters stay text
            continue
    return None


def _index(node: exp.Expression) -> int | None:
    text = node.this.this if isinstance(node.this, exp.Literal) else node.name
    return int(text) - 1 if str(text).isdigit() else None


def _columns_in_scope(tree: exp.Expression, columns: dict[str, dict[str, int]]) -> dict:
    scope: dict[str, int] = {}
    for table in tree.find_all(exp.Table):
        for name, oid in columns.get(table.name.lower(), {}).items():
            scope.setdefault(name, oid)
    return scope


def _cast_oid(data_type: exp.DataType) -> int:
    if data_type.is_type(exp.DataType.Type.ARRAY) and data_type.expressions:
        element = _cast_oid(data_type.expressions[0])
        return ARRAY_OID.get(element, 0)
    name = data_type.sql(dialect="postgres").lower().split("(")[0].strip()
    if name.endswith("[]"):
        return ARRAY_OID.get(_CAST_OIDS.get(name[:-2].strip(), 0), 0)
    if "timestamp" in name and "time zone" in name and "without" not in name:
        return pg.TIMESTAMPTZ
    return _CAST_OIDS.get(name, _CAST_OIDS.get(name.split()[0], 0))


def _side_oid(node: exp.Expression | None, known: dict[str, int]) -> int:
    if isinstance(node, exp.Literal):
        if node.is_string:
            return pg.TEXT
        return pg.INT8 if str(node.this).lstrip("-").isdigit() else pg.NUMERIC
    if isinstance(node, exp.Cast):
        return _cast_oid(node.to)
    if isinstance(node, exp.Column):
        return known.get(node.name.lower(), 0)
    return 0


def _from_context(node: exp.Expression, known: dict[str, int]) -> int:
    child, parent = node, node.parent
    while isinstance(parent, exp.Paren):
        child, parent = parent, parent.parent
    if isinstance(parent, exp.Cast):
        return _cast_oid(parent.to)
    if isinstance(parent, exp.Limit | exp.Offset | exp.Fetch):
        return pg.INT8
    if isinstance(parent, exp.Any | exp.All) and isinstance(parent.parent, _COMPARISONS):
        comparison = parent.parent
        other = comparison.this if comparison.expression is parent else comparison.expression
        return ARRAY_OID.get(_side_oid(other, known), 0)
    if isinstance(parent, _COMPARISONS):
        other = parent.expression if parent.this is child else parent.this
        return _side_oid(other, known)
    if isinstance(parent, exp.In) and child is not parent.this:
        return _side_oid(parent.this, known)
    if isinstance(parent, exp.Between):
        return _side_oid(parent.this, known)
    return 0


# ------------------------------------------------------------------------------ values

_SAMPLES = {pg.INT2: 1, pg.INT4: 1, pg.INT8: 1, pg.FLOAT4: 1.0, pg.FLOAT8: 1.0, pg.BOOL: True,
            pg.DATE: dt.date(2000, 1, 1), pg.TIMESTAMP: dt.datetime(2000, 1, 1),
            pg.TIMESTAMPTZ: dt.datetime(2000, 1, 1, tzinfo=dt.UTC)}


def sample(oid: int):
    """A value of the parameter's type, to learn a statement's result types by binding it."""
    if oid == pg.NUMERIC:
        return decimal.Decimal(1)
    return _SAMPLES.get(oid)


def value(oid: int, text):
    """A parameter (text, or a list of texts for arrays) as the value DuckDB binds."""
    if oid in (pg.DATE, pg.TIMESTAMP, pg.TIMESTAMPTZ) and isinstance(text, str):
        parsed = postgres_datetime(text, oid)
        if parsed is not None:
            return parsed
    return param_value(oid or None, text)


_DATE = re.compile(r"^(\d{4,})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?)?"
                   r"\s*(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?|Z)?\s*(BC)?$")


def postgres_datetime(text: str, oid: int):
    """A Postgres date/timestamp text (JDBC sends `2000-01-01 +00`) as a Python value."""
    match = _DATE.match(text.strip())
    if not match or match.group(12):
        return None
    year, month, day, hour, minute, second, fraction, sign, zh, zm, zs, _bc = match.groups()
    try:
        stamp = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                            int(second or 0), int((fraction or "0").ljust(6, "0")))
    except ValueError:
        return None
    if oid == pg.DATE:
        return stamp.date()
    if sign:
        offset = dt.timedelta(hours=int(zh), minutes=int(zm or 0), seconds=int(zs or 0))
        zone = dt.timezone(offset if sign == "+" else -offset)
        stamp = stamp.replace(tzinfo=zone)
        return stamp if oid == pg.TIMESTAMPTZ else stamp.replace(tzinfo=None)
    return stamp.replace(tzinfo=dt.UTC) if oid == pg.TIMESTAMPTZ else stamp


def reread(text: str, error: str):
    """An untyped value DuckDB refused, read as Postgres would (None: no other reading)."""
    from warehouse.server.pgmimic import parse_array_literal

    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}") and "[]" in error:
        try:
            return parse_array_literal(stripped)
        except ValueError:
            return None
    if "DATE" in error or "date" in error:
        return postgres_datetime(stripped, pg.DATE)
    if "TIMESTAMP" in error or "timestamp" in error:
        return postgres_datetime(stripped, pg.TIMESTAMPTZ if "TIME ZONE" in error
                                 else pg.TIMESTAMP)
    return None
