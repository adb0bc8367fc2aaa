"""DuckDB types as Postgres types, and client parameters as DuckDB values.

One mapping serves both the wire (the OID a result column is sent with) and the catalog (what
`format_type()` and `information_schema.columns` report), so a client's idea of a column's type
is the same whichever way it asks.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass

from warehouse.server.pgmimic import ARRAY_OID
from warehouse.server.pgmimic import oids as pg

TIMETZ = 1266
RECORD = 2249
VOID = 2278
TRIGGER = 2279
UNKNOWN = 705


@dataclass(frozen=True)
class PgType:
    oid: int
    name: str  # as format_type() prints it
    typmod: int = -1


_SCALARS: dict[str, PgType] = {
    "boolean": PgType(pg.BOOL, "boolean"),
    "tinyint": PgType(pg.INT2, "smallint"),
    "utinyint": PgType(pg.INT2, "smallint"),
    "smallint": PgType(pg.INT2, "smallint"),
    "usmallint": PgType(pg.INT4, "integer"),
    "integer": PgType(pg.INT4, "integer"),
    "uinteger": PgType(pg.INT8, "bigint"),
    "bigint": PgType(pg.INT8, "bigint"),
    "ubigint": PgType(pg.NUMERIC, "numeric"),
    "hugeint": PgType(pg.NUMERIC, "numeric"),
    "uhugeint": PgType(pg.NUMERIC, "numeric"),
    "bignum": PgType(pg.NUMERIC, "numeric"),
    "varint": PgType(pg.NUMERIC, "numeric"),
    "float": PgType(pg.FLOAT4, "real"),
    "double": PgType(pg.FLOAT8, "double precision"),
    "varchar": PgType(pg.TEXT, "text"),
    "enum": PgType(pg.TEXT, "text"),
    "blob": PgType(pg.BYTEA, "bytea"),
    "date": PgType(pg.DATE, "date"),
    "time": PgType(pg.TIME, "time without time zone"),
    "timestamp": PgType(pg.TIMESTAMP, "timestamp without time zone"),
    "timestamp_s": PgType(pg.TIMESTAMP, "timestamp without time zone"),
    "timestamp_ms": PgType(pg.TIMESTAMP, "timestamp without time zone"),
    "timestamp_ns": PgType(pg.TIMESTAMP, "timestamp without time zone"),
    "timestamp with time zone": PgType(pg.TIMESTAMPTZ, "timestamp with time zone"),
    "interval": PgType(pg.INTERVAL, "interval"),
    "uuid": PgType(pg.UUID, "uuid"),
}
JSON_TYPE = PgType(pg.JSON, "json")
TEXT_TYPE = PgType(pg.TEXT, "text")


def pg_type(duck_type) -> PgType:
    """The Postgres type a DuckDB column is shown and sent as (a `DuckDBPyType`)."""
    kind = duck_type.id
    if str(duck_type) == "JSON":
        return JSON_TYPE
    if kind == "decimal":
        precision, scale = (int(child[1]) for child in duck_type.children)
        return PgType(pg.NUMERIC, f"numeric({precision},{scale})", ((precision << 16) | scale) + 4)
    if kind in ("list", "array"):
        # a fixed-size ARRAY names its element type among its children, not as `child`
        element = pg_type(dict(duck_type.children)["child"] if kind == "array"
                          else duck_type.child)
        if element.oid in ARRAY_OID and not element.name.endswith("[]"):
            return PgType(ARRAY_OID[element.oid], _array_name(element))
        return JSON_TYPE
    if kind in ("struct", "map", "union"):
        return JSON_TYPE
    return _SCALARS.get(kind, TEXT_TYPE)


def _array_name(element: PgType) -> str:
    base = element.name.split("(")[0] if element.oid == pg.NUMERIC else element.name
    return base + "[]"


def pg_type_rows() -> list[tuple[int, str, str, int, int]]:
    """(oid, typname, display name, element oid, array oid) for the catalog's pg_type."""
    names = {
        pg.BOOL: "bool", pg.INT2: "int2", pg.INT4: "int4", pg.INT8: "int8", pg.NUMERIC: "numeric",
        pg.FLOAT4: "float4", pg.FLOAT8: "float8", pg.TEXT: "text", pg.VARCHAR: "varchar",
        pg.BYTEA: "bytea", pg.DATE: "date", pg.TIME: "time", pg.TIMESTAMP: "timestamp",
        pg.TIMESTAMPTZ: "timestamptz", pg.INTERVAL: "interval", pg.UUID: "uuid", pg.JSON: "json",
        pg.JSONB: "jsonb", pg.NAME: "name", pg.CHAR: "char", pg.OID: "oid", TIMETZ: "timetz",
        pg.BPCHAR: "bpchar", RECORD: "record", VOID: "void", UNKNOWN: "unknown",
        TRIGGER: "trigger",
    }
    display = {t.oid: t.name for t in _SCALARS.values()}
    display.update({pg.JSON: "json", pg.JSONB: "jsonb", pg.VARCHAR: "character varying",
                    pg.NAME: "name", pg.CHAR: '"char"', pg.OID: "oid", pg.NUMERIC: "numeric",
                    TIMETZ: "time with time zone", pg.BPCHAR: "character", RECORD: "record",
                    VOID: "void", UNKNOWN: "unknown", TRIGGER: "trigger"})
    rows = []
    for oid, typname in names.items():
        rows.append((oid, typname, display.get(oid, typname), 0, ARRAY_OID.get(oid, 0)))
        if oid in ARRAY_OID and oid not in (RECORD, VOID, UNKNOWN, TRIGGER):
            rows.append((ARRAY_OID[oid], "_" + typname, display.get(oid, typname) + "[]", oid, 0))
    return rows


# ------------------------------------------------------------------------ parameters

_INTS = {pg.INT2, pg.INT4, pg.INT8, pg.OID}
_FLOATS = {pg.FLOAT4, pg.FLOAT8}


def param_value(oid: int | None, text):
    """A client parameter (text, as pg_mimic decodes it) as the Python value DuckDB binds.

    Typed parameters become typed values, so `select $1 + 1` works with an integer; untyped
    ones (OID 0, what psycopg sends for `str`) stay text and DuckDB casts them to whatever
    the query compares them with.
    """
    if text is None:
        return None
    if isinstance(text, list):
        element = next((e for e, a in ARRAY_OID.items() if a == oid), None)
        return [param_value(element, item) for item in text]
    try:
        if oid in _INTS:
            return int(text)
        if oid in _FLOATS:
            return float(text)
        if oid == pg.NUMERIC:
            return decimal.Decimal(text)
        if oid == pg.BOOL:
            return text.strip().lower() in ("t", "true", "1", "on", "yes", "y")
        if oid == pg.DATE:
            return dt.date.fromisoformat(text)
        if oid in (pg.TIMESTAMP, pg.TIMESTAMPTZ):
            return dt.datetime.fromisoformat(text)
        if oid == pg.UUID:
            return uuid.UUID(text)
    except ValueError:
        return text  # let DuckDB say what is wrong with it
    return text
