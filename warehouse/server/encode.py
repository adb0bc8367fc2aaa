"""Arrow record batches as Postgres DataRow messages, vectorised.

Each column becomes a binary array of its values in the format the client asked for: text
by Arrow casts where the Postgres and Arrow spellings agree (numbers, dates, times, text),
binary by numpy big-endian views (integers, floats, booleans, dates, timestamps); arrays,
JSON, intervals, numerics in binary and the like go through pg_mimic's per-value encoders.
Length prefixes, row headers and the concatenation into messages are Arrow string kernels, so
no Python code runs per row.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.server.pgmimic import encode_value, encode_value_binary
from warehouse.server.pgmimic import oids as pg
from warehouse.server.pgtypes import PgType

_BIN = pa.large_binary()
_NOTHING = pa.scalar(b"", _BIN)  # the separator of binary_join_element_wise
_VECTOR_TEXT = {pg.INT2, pg.INT4, pg.INT8, pg.FLOAT4, pg.FLOAT8, pg.NUMERIC, pg.TEXT,
                pg.DATE, pg.TIME, pg.TIMESTAMP, pg.TIMESTAMPTZ, pg.UUID}
# Binary format by numpy: the big-endian dtype of each fixed-width Postgres type.
_BIG_ENDIAN = {pg.BOOL: ("uint8", ">u1"), pg.INT2: ("int16", ">i2"), pg.INT4: ("int32", ">i4"),
               pg.INT8: ("int64", ">i8"), pg.FLOAT4: ("float32", ">f4"),
               pg.FLOAT8: ("float64", ">f8")}
_PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01
_PG_EPOCH_MICROS = _PG_EPOCH_DAYS * 86_400_000_000


def _fixed(values: np.ndarray, valid: pa.Array | None = None) -> pa.Array:
    """Big-endian numpy values as a binary array (null where `valid` is false)."""
    values = np.ascontiguousarray(values)
    width = values.dtype.itemsize
    array = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), len(values), [None, pa.py_buffer(values.tobytes())]).cast(_BIN)
    return array if valid is None else pc.if_else(valid, array, pa.scalar(None, _BIN))


def _python(values: list) -> pa.Array:
    return pa.array(values, _BIN)


def _text_column(array: pa.Array, column: PgType) -> pa.Array:
    kind = array.type
    if column.oid == pg.BOOL and pa.types.is_boolean(kind):
        return pc.if_else(array, "t", "f").cast(_BIN)
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
        return strings.cast(_BIN)
    return _python([None if v is None else encode_value(column.oid, _plain(v, column)).encode()
                    for v in array.to_pylist()])


def _binary_column(array: pa.Array, column: PgType) -> pa.Array:
    kind = array.type
    valid = pc.is_valid(array) if array.null_count else None
    if column.oid in _BIG_ENDIAN and (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                      or pa.types.is_boolean(kind)):
        native, big = _BIG_ENDIAN[column.oid]
        filled = array.fill_null(False if pa.types.is_boolean(kind) else 0)
        values = filled.to_numpy(zero_copy_only=False).astype(native).astype(big)
        return _fixed(values, valid)
    if column.oid == pg.DATE and pa.types.is_date32(kind):
        days = array.cast(pa.int32()).fill_null(0).to_numpy() - _PG_EPOCH_DAYS
        return _fixed(days.astype(">i4"), valid)
    if column.oid in (pg.TIMESTAMP, pg.TIMESTAMPTZ) and pa.types.is_timestamp(kind):
        micros = array.cast(pa.timestamp("us", kind.tz)).cast(pa.int64()).fill_null(0)
        return _fixed((micros.to_numpy() - _PG_EPOCH_MICROS).astype(">i8"), valid)
    if column.oid in (pg.TEXT, pg.JSON) and (pa.types.is_string(kind)
                                             or pa.types.is_large_string(kind)):
        return array.cast(_BIN)
    if pa.types.is_interval(kind):
        return _python([None if v is None else
                        struct.pack("!qii", v.nanoseconds // 1000, v.days, v.months)
                        for v in array.to_pylist()])
    return _python([None if v is None else encode_value_binary(column.oid, _plain(v, column))
                    for v in array.to_pylist()])


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


def _framed(values: pa.Array) -> pa.Array:
    """Each value as a DataRow field: Int32 length (-1 for NULL) and the bytes."""
    lengths = pc.binary_length(values).fill_null(-1).to_numpy(zero_copy_only=False)
    return pc.binary_join_element_wise(_fixed(lengths.astype(">i4")),
                                       values.fill_null(_NOTHING), _NOTHING)


def text_values(array: pa.Array, column: PgType) -> pa.Array:
    """Each value's Postgres text form (binary array, null for NULL)."""
    return _text_column(array, column)


def _messages(tag: bytes, bodies: pa.Array, count: int | None) -> bytes:
    """Each body as one message: `tag`, Int32 length, [Int16 field count,] body."""
    rows = len(bodies)
    if rows == 0:
        return b""
    fields = [("tag", "S1"), ("length", ">i4")] + ([("count", ">i2")] if count is not None
                                                   else [])
    header = np.empty(rows, dtype=fields)
    header["tag"] = tag
    header["length"] = pc.binary_length(bodies).to_numpy(zero_copy_only=False) + \
        (6 if count is not None else 4)
    if count is not None:
        header["count"] = count
    width = 7 if count is not None else 5
    messages = pc.binary_join_element_wise(_fixed(header.view(f"V{width}")), bodies, _NOTHING)
    offsets = np.frombuffer(messages.buffers()[1], dtype=np.int64)
    start, end = offsets[messages.offset], offsets[messages.offset + rows]
    return messages.buffers()[2].to_pybytes()[start:end]


def framed(tag: bytes, bodies: pa.Array) -> bytes:
    """Each body as one message `tag`, Int32 length, body; concatenated."""
    return _messages(tag, bodies, None)


def _fields(batch: pa.RecordBatch, columns: list[PgType], formats: list[int]) -> pa.Array:
    """Each row's fields, framed (Int32 length, bytes) and concatenated."""
    fields = []
    for index, column in enumerate(columns):
        code = formats[0] if len(formats) == 1 else (formats[index] if formats else 0)
        encode = _binary_column if code == 1 else _text_column
        fields.append(_framed(encode(batch.column(index), column)))
    return pc.binary_join_element_wise(*fields, _NOTHING) if len(fields) > 1 else fields[0]


def data_rows(batch: pa.RecordBatch, columns: list[PgType], formats: list[int],
              tag: bytes = b"D") -> bytes:
    """Every row of `batch` as DataRow messages (or binary CopyData, tag `d`), concatenated:
    all in Arrow and numpy, no Python per row."""
    if batch.num_rows == 0:
        return b""
    if not columns:
        return _messages(tag, pa.array([b""] * batch.num_rows, _BIN), 0)
    return _messages(tag, _fields(batch, columns, formats), len(columns))
