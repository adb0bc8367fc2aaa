"""Writing a result (an Arrow table) as table, CSV, JSON or Parquet to stdout or a file."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

FORMATS = {"table", "csv", "json", "parquet"}


def render_table(table: pa.Table, max_rows: int = 200, max_width: int = 40) -> str:
    """A plain aligned text table (all rows up to max_rows, then a count of the rest)."""
    names = table.column_names
    rows = table.slice(0, max_rows).to_pylist()

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
    numeric = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or
               pa.types.is_decimal(f.type) for f in table.schema]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(names), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in body)
    if table.num_rows > max_rows:
        out.append(f"... {table.num_rows - max_rows} more rows (use --format csv for all)")
    out.append(f"({table.num_rows} row{'s' if table.num_rows != 1 else ''})")
    return "\n".join(out) + "\n"


def _json_default(value):
    return str(value)


def write_result(table: pa.Table, fmt: str, out: Path | None) -> None:
    if fmt == "parquet":
        sink = str(out) if out else sys.stdout.buffer
        pq.write_table(table, sink, compression="zstd")
        return
    if fmt == "csv":
        buffer = io.BytesIO()
        pa_csv.write_csv(table, buffer)
        data = buffer.getvalue()
    elif fmt == "json":
        data = (json.dumps(table.to_pylist(), default=_json_default, indent=1) + "\n").encode()
    else:
        data = render_table(table).encode()
    if out:
        out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
