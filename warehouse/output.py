"""Writing a result (an Arrow table) as table, CSV, JSON or Parquet to stdout or a file.

Every DuckDB type has a spelling in every format: lists, structs and maps are JSON in CSV and
in the text table, intervals are `1 day 02:00:00`, blobs are `\\x...` hex; JSON output is valid
JSON (NaN and infinities become null). Parquet keeps the Arrow types as they are.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import math
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

FORMATS = {"table", "csv", "json", "parquet"}


def _interval(value: pa.MonthDayNano) -> str:
    seconds, nanos = divmod(value.nanoseconds, 1_000_000_000)
    hours, rest = divmod(seconds, 3600)
    clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}" + (f".{nanos // 1000:06d}"
                                                                if nanos else "")
    parts = [f"{value.months} month{'s' * (value.months != 1)}"] if value.months else []
    if value.days:
        parts.append(f"{value.days} day{'s' * (value.days != 1)}")
    return " ".join([*parts, clock])


def _jsonable(value):
    """A Python value from Arrow as something `json` writes faithfully."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(i, tuple) and len(i) == 2 for i in value):  # an Arrow map
            return {str(k): _jsonable(v) for k, v in value}
        return [_jsonable(v) for v in value]
    if isinstance(value, pa.MonthDayNano):
        return _interval(value)
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, int | str | bool) or value is None:
        return value
    return str(value)


def _is_plain(kind: pa.DataType) -> bool:
    return not (pa.types.is_nested(kind) or pa.types.is_interval(kind)
                or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
                or pa.types.is_fixed_size_binary(kind))


def textual(table: pa.Table) -> pa.Table:
    """`table` with every column CSV can hold as it is, the others spelled as text."""
    columns = []
    for column in table.columns:
        if _is_plain(column.type):
            columns.append(column)
            continue
        values = [_jsonable(v) for v in column.to_pylist()]
        spelled = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]
        columns.append(pa.array(spelled, pa.string()))
    return pa.Table.from_arrays(columns, names=table.column_names)


def render_table(table: pa.Table, max_rows: int = 200, max_width: int = 40) -> str:
    """A plain aligned text table (all rows up to max_rows, then a count of the rest)."""
    names = table.column_names
    numeric = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or
               pa.types.is_decimal(f.type) for f in table.schema]
    rows = textual(table.slice(0, max_rows)).to_pylist()

    def cell(value) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, float):
            text = f"{value:.6g}"
        else:
            text = str(value)
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    body = [[cell(row[name]) for name in names] for row in rows]
    widths = [max([len(n)] + [len(r[i]) for r in body]) for i, n in enumerate(names)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(names), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in body)
    if table.num_rows > max_rows:
        out.append(f"... {table.num_rows - max_rows} more rows (use --format csv for all)")
    out.append(f"({table.num_rows} row{'s' if table.num_rows != 1 else ''})")
    return "\n".join(out) + "\n"


def write_result(table: pa.Table, fmt: str, out: Path | None) -> None:
    if fmt == "parquet":
        sink = str(out) if out else sys.stdout.buffer
        pq.write_table(table, sink, compression="zstd")
        return
    if fmt == "csv":
        buffer = io.BytesIO()
        pa_csv.write_csv(textual(table), buffer)
        data = buffer.getvalue()
    elif fmt == "json":
        rows = [{k: _jsonable(v) for k, v in row.items()} for row in table.to_pylist()]
        data = (json.dumps(rows, indent=1, allow_nan=False) + "\n").encode()
    else:
        data = render_table(table).encode()
    if out:
        out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
