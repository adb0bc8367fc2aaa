"""`COPY (query) TO STDOUT` and `COPY table TO STDOUT`: text, csv and binary.

psql's `\\copy`, psycopg's `cursor.copy()`, asyncpg's `copy_from_query` and connectorx read
results this way. The query runs like any other (same checks, same timeout); rows go out as
CopyData messages, one per row as Postgres sends them, encoded a batch at a time in Arrow.
COPY to or from a file, and COPY FROM STDIN, stay refused: the server is read-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.server import encode
from warehouse.server.pgmimic import PgError, message, pack_int16
from warehouse.server.pgtypes import PgType

READ_ONLY = "25006"
SYNTAX_ERROR = "42601"
FEATURE_NOT_SUPPORTED = "0A000"
BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, extension length

_COPY = re.compile(r"^\s*COPY\s+(?P<source>\(.*\)|[\w.\"]+(?:\s*\([^()]*\))?)\s+"
                   r"(?P<direction>TO|FROM)\s+(?P<target>STDOUT|STDIN|\S+)(?P<options>.*?)\s*;?\s*$",
                   re.IGNORECASE | re.DOTALL)
_TABLE = re.compile(r"^([\w.\"]+)\s*(?:\(([^()]*)\))?$", re.DOTALL)
_OPTION = re.compile(r"\s*(\w+)(?:\s+(?:AS\s+)?('(?:[^']|'')*'|\*|\([^)]*\)|\w+))?\s*(?:,|$)",
                     re.IGNORECASE)


@dataclass
class CopySpec:
    query: str
    format: str = "text"  # text, csv, binary
    header: bool = False
    delimiter: str = "\t"
    null: str = "\\N"
    quote: str = '"'
    escape: str = '"'

    @property
    def binary(self) -> bool:
        return self.format == "binary"


def parse(sql: str) -> CopySpec | None:
    """The COPY statement's query and options; None when `sql` is not a COPY."""
    if not re.match(r"\s*COPY\b", sql, re.IGNORECASE):
        return None
    match = _COPY.match(sql)
    if not match:
        raise PgError(SYNTAX_ERROR, "COPY: write COPY (query) TO STDOUT [WITH (FORMAT csv|text|"
                      "binary, HEADER, DELIMITER ',', NULL '')]")
    if match["direction"].upper() != "TO" or match["target"].upper() != "STDOUT":
        raise PgError(READ_ONLY, "COPY to or from a file, and COPY FROM STDIN, cannot be run here: "
                      "this brainwh server is read-only",
                      H="COPY (query) TO STDOUT works (psql: \\copy (query) to 'file.csv' csv)")
    source = match["source"].strip()
    if source.startswith("("):
        query = source[1:-1]
    else:
        table = _TABLE.match(source)
        name, columns = (table.group(1), table.group(2)) if table else (source, None)
        query = f"select {columns.strip() if columns else '*'} from {name}"
    spec = CopySpec(query=query)
    _options(spec, match["options"])
    return spec


def _literal(value: str | None) -> str:
    if value is None:
        return ""
    return value[1:-1].replace("''", "'") if value.startswith("'") else value


def _options(spec: CopySpec, text: str) -> None:
    text = text.strip()
    if text.upper().startswith("WITH"):
        text = text[4:].strip()
    if text.startswith("(") and text.endswith(")"):  # the modern form: (FORMAT csv, HEADER)
        text = text[1:-1]
    else:  # the old form: CSV HEADER DELIMITER AS ','
        text = re.sub(r"\b(CSV|BINARY|HEADER)\b", r"\1,", text, flags=re.IGNORECASE)
        text = re.sub(r"\b(DELIMITER|NULL|QUOTE|ESCAPE)\s+(?:AS\s+)?('(?:[^']|'')*')\s*",
                      r"\1 \2,", text, flags=re.IGNORECASE)
    csv_defaults = False
    for name, value in _OPTION.findall(text):
        key = name.lower()
        if key == "format":
            spec.format = _literal(value).lower()
        elif key in ("csv", "binary"):
            spec.format = key
        elif key == "header":
            spec.header = _literal(value).lower() not in ("false", "off", "0")
        elif key == "delimiter":
            spec.delimiter = _literal(value)
        elif key == "null":
            spec.null = _literal(value)
            csv_defaults = True
        elif key == "quote":
            spec.quote = _literal(value)
        elif key == "escape":
            spec.escape = _literal(value)
        elif key in ("encoding", "force_quote", "force_not_null", "force_null", "oids",
                     "freeze"):
            continue
        else:
            raise PgError(SYNTAX_ERROR, f'COPY option "{name}" not recognized')
    if spec.format not in ("text", "csv", "binary"):
        raise PgError(FEATURE_NOT_SUPPORTED, f'COPY format "{spec.format}" not recognized')
    if spec.format == "csv":
        if spec.delimiter == "\t" and "delimiter" not in text.lower():
            spec.delimiter = ","
        if not csv_defaults:
            spec.null = ""
    if len(spec.delimiter) != 1:
        raise PgError(FEATURE_NOT_SUPPORTED, "COPY delimiter must be a single one-byte character")


def out_response(spec: CopySpec, columns: int) -> bytes:
    """CopyOutResponse: overall format and one format per column."""
    code = 1 if spec.binary else 0
    return message(b"H", bytes([code]) + pack_int16(columns) + pack_int16(code) * columns)


def header(spec: CopySpec, names: list[str]) -> bytes:
    """What goes before the first row: the binary signature, or a header line."""
    if spec.binary:
        return BINARY_SIGNATURE
    if not spec.header:
        return b""
    fields = [pa.array([name.encode()], pa.large_binary()) for name in names]
    return _line(fields, spec)[0].as_py() if names else b"\n"


def trailer(spec: CopySpec) -> bytes:
    return pack_int16(-1) if spec.binary else b""


def _escape_text(values: pa.Array, spec: CopySpec) -> pa.Array:
    escapes = [("\\", "\\\\"), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")]
    if spec.delimiter not in "\t\n\r\\":
        escapes.append((spec.delimiter, "\\" + spec.delimiter))
    for char, escaped in escapes:
        values = pc.replace_substring(values, char, escaped)
    return values


def _quote_csv(values: pa.Array, spec: CopySpec) -> pa.Array:
    special = "[" + re.escape(spec.delimiter + spec.quote) + "\r\n]"
    needs = pc.or_(pc.match_substring_regex(values, special),
                   pc.equal(values, _bin(spec.null)))
    doubled = pc.replace_substring(values, spec.quote, spec.escape + spec.quote)
    quoted = pc.binary_join_element_wise(_bin(spec.quote), doubled, _bin(spec.quote), _bin(""))
    return pc.if_else(needs, quoted, values)


def _line(fields: list[pa.Array], spec: CopySpec) -> pa.Array:
    prepared = []
    for values in fields:
        values = _escape_text(values, spec) if spec.format == "text" else _quote_csv(values, spec)
        prepared.append(values.fill_null(_bin(spec.null)))
    joined = pc.binary_join_element_wise(*prepared, _bin(spec.delimiter))
    return pc.binary_join_element_wise(joined, _bin("\n"), _bin(""))


def _bin(text: str) -> pa.Scalar:
    return pa.scalar(text.encode(), pa.large_binary())


def rows(batch: pa.RecordBatch, types: list[PgType], spec: CopySpec) -> pa.Array:
    """Each row's CopyData body (text and csv)."""
    if not types:
        return pa.array([b"\n"] * batch.num_rows, pa.large_binary())
    return _line([encode.text_values(batch.column(i), t).cast(pa.large_binary())
                  for i, t in enumerate(types)], spec)


def copy_data(batch: pa.RecordBatch | None, types: list[PgType], spec: CopySpec,
              first: bytes = b"") -> bytes:
    """CopyData messages, one per row; `first` (a header) goes in front of the first row."""
    if batch is None or batch.num_rows == 0:
        return message(b"d", first) if first else b""
    if spec.binary:
        data = encode.data_rows(batch, types, [1], tag=b"d")
    else:
        data = encode.framed(b"d", rows(batch, types, spec))
    if not first:
        return data
    if not data:
        return message(b"d", first)
    length = int.from_bytes(data[1:5], "big")  # put the header inside the first message
    return b"d" + (length + len(first)).to_bytes(4, "big") + first + data[5:]

