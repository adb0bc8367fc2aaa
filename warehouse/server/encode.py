"""Arrow record batches as Postgres DataRow messages, a column at a time.

Text format (what psql, psycopg and most drivers ask for) is built with Arrow compute where
the Postgres spelling and Arrow's agree (numbers, dates, text), so Python touches each value
only to frame it; binary format, arrays, JSON and intervals go through pg_mimic's per-value
encoders.
"""

from __future__ import annotations

import json
import struct

import pyarrow as pa
import pyarrow.compute as pc
from pg_mimic import types as pg
from pg_mimic.types import encode_value, encode_value_binary

from warehouse.server.pgtypes import PgType

_INT32 = struct.Struct("!i")
_NULL = _INT32.pack(-1)
_VECTOR_TEXT = {pg.INT2, pg.INT4, pg.INT8, pg.FLOAT4, pg.FLOAT8, pg.NUMERIC, pg.TEXT,
                pg.DATE, pg.TIME, pg.TIMESTAMP, pg.TIMESTAMPTZ, pg.UUID}


def _framed(values: list[bytes | None]) -> list[bytes]:
    pack = _INT32.pack
    return [_NULL if v is None else pack(len(v)) + v for v in values]


def _text_column(array: pa.Array, column: PgType) -> list[bytes | None]:
    kind = array.type
    if column.oid == pg.BOOL and pa.types.is_boolean(kind):
        return pc.if_else(array, "t", "f").cast(pa.binary()).to_pylist()
    if column.oid in _VECTOR_TEXT and not (
        pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_interval(kind)
    ):
        strings = array if pa.types.is_string(kind) or pa.types.is_large_string(kind) \
            else pc.cast(array, pa.string())
        if column.oid == pg.TIMESTAMPTZ:  # Arrow writes +0000, Postgres +00:00
            strings = pc.replace_substring_regex(strings, r"([+-]\d\d)(\d\d)$", r"\1:\2")
        if column.oid in (pg.FLOAT4, pg.FLOAT8):
            strings = pc.replace_substring_regex(strings, r"^(-?)inf$", r"\1Infinity")
            strings = pc.replace_substring(strings, "nan", "NaN")
        return strings.cast(pa.binary()).to_pylist()
    return [None if v is None else encode_value(column.oid, _plain(v, column)).encode()
            for v in array.to_pylist()]


def _binary_column(array: pa.Array, column: PgType) -> list[bytes | None]:
    if pa.types.is_interval(array.type):
        return [None if v is None else struct.pack("!qii", v.nanoseconds // 1000, v.days, v.months)
                for v in array.to_pylist()]
    return [None if v is None else encode_value_binary(column.oid, _plain(v, column))
            for v in array.to_pylist()]


def _plain(value, column: PgType):
    """Arrow's Python values where pg_mimic expects others (maps, intervals, JSON)."""
    if isinstance(value, pa.MonthDayNano):
        return _interval(value)
    if column.oid == pg.JSON:
        return json.dumps(_jsonable(value), default=str) if not isinstance(value, str) else value
    if column.oid == pg.TEXT and not isinstance(value, str):
        return str(value)
    return value


def _jsonable(value):
    if isinstance(value, list) and value and all(
            isinstance(item, tuple) and len(item) == 2 for item in value):
        return {str(k): _jsonable(v) for k, v in value}  # an Arrow map
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _interval(value: pa.MonthDayNano) -> str:
    seconds, nanos = divmod(value.nanoseconds, 1_000_000_000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}" + (f".{nanos // 1000:06d}" if nanos else "")
    parts = [f"{value.months} mons"] if value.months else []
    if value.days:
        parts.append(f"{value.days} days")
    return " ".join([*parts, text])


def data_rows(batch: pa.RecordBatch, columns: list[PgType], formats: list[int]) -> bytes:
    """Every row of `batch` as DataRow messages, concatenated."""
    n_columns = len(columns)
    if batch.num_rows == 0:
        return b""
    framed = []
    for index, column in enumerate(columns):
        code = formats[0] if len(formats) == 1 else (formats[index] if formats else 0)
        encode = _binary_column if code == 1 else _text_column
        framed.append(_framed(encode(batch.column(index), column)))
    count = struct.pack("!h", n_columns)
    pack = _INT32.pack
    out = []
    for fields in zip(*framed, strict=True):
        body = b"".join(fields)
        out.append(b"D" + pack(len(body) + 6) + count + body)
    return b"".join(out)
