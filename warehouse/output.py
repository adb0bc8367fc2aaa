"""Writing a result as table, CSV, JSON or Parquet to stdout or a file, a batch at a time.

Every DuckDB type has a spelling in every format: lists, structs and maps are JSON in CSV and
in the text table, intervals are `1 day 02:00:00`, blobs are `\\x...` hex; JSON output is valid
JSON (NaN and infinities become null), one object per line. Parquet keeps the Arrow types as
they are. Results stream from an Arrow RecordBatchReader: memory stays at a batch, whatever
the number of rows (the text table keeps its first 200 rows and counts the rest).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from warehouse.errors import UsageError

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


def _cell(value, max_width: int) -> str:
    if value is None:
        return "NULL"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return text if len(text) <= max_width else text[: max_width - 1] + "…"


def render_table(table: pa.Table, max_rows: int = 200, max_width: int = 40,
                 total_rows: int | None = None) -> str:
    """A plain aligned text table (all rows up to max_rows, then a count of the rest)."""
    names = table.column_names
    total = table.num_rows if total_rows is None else total_rows
    numeric = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or
               pa.types.is_decimal(f.type) for f in table.schema]
    rows = textual(table.slice(0, max_rows)).to_pylist()
    body = [[_cell(row[name], max_width) for name in names] for row in rows]
    widths = [max([len(n)] + [len(r[i]) for r in body]) for i, n in enumerate(names)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(names), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in body)
    if total > max_rows:
        out.append(f"... {total - max_rows} more rows (use --format csv for all)")
    out.append(f"({total} row{'s' if total != 1 else ''})")
    return "\n".join(out) + "\n"


def write_stream(reader: pa.RecordBatchReader, fmt: str, sink: BinaryIO,
                 max_rows: int = 200) -> int:
    """Write every batch of `reader` to `sink` in `fmt`; the number of rows."""
    rows = 0
    if fmt == "parquet":
        with pq.ParquetWriter(sink, reader.schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        return rows
    if fmt == "csv":
        schema = textual(reader.schema.empty_table()).schema
        with pa_csv.CSVWriter(sink, schema) as writer:
            for batch in reader:
                writer.write_table(textual(pa.Table.from_batches([batch])).cast(schema))
                rows += batch.num_rows
        return rows
    if fmt == "json":
        sink.write(b"[")
        for batch in reader:
            for row in batch.to_pylist():
                record = {k: _jsonable(v) for k, v in row.items()}
                sink.write((b",\n" if rows else b"\n")
                           + json.dumps(record, allow_nan=False).encode())
                rows += 1
        sink.write(b"\n]\n" if rows else b"]\n")
        return rows
    shown: list[pa.RecordBatch] = []
    for batch in reader:
        if rows < max_rows:
            shown.append(batch.slice(0, max_rows - rows))
        rows += batch.num_rows
    table = pa.Table.from_batches(shown, schema=reader.schema)
    sink.write(render_table(table, max_rows=max_rows, total_rows=rows).encode())
    return rows


@contextmanager
def destination(out: Path | None, *, force: bool = False) -> Iterator[BinaryIO]:
    """stdout, or a new file at `out` that appears only when complete.

    The file is written under a temporary name beside `out` and renamed over it at the end, so
    an error or Ctrl-C leaves nothing half-written. A missing folder is created; an existing
    folder is refused, and an existing file is replaced only with `force` (brainwh never
    overwrites a file unasked).
    """
    if out is None:
        yield sys.stdout.buffer
        sys.stdout.flush()
        return
    out = out.expanduser()
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder", hint="give a file name inside it, e.g. "
                         f"--out {out / 'result.csv'}")
    if out.exists() and not force:
        raise UsageError(f"--out {out} already exists", hint="add --force to replace it, or "
                         "give another file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the folder {out.parent}: {error.strerror}") from error
    staged = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        with open(staged, "wb") as handle:
            yield handle
        os.replace(staged, out)
    finally:
        staged.unlink(missing_ok=True)
