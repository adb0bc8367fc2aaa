"""What every ingestor shares: source files, checked CSV reads, the ingest log, the report."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse import progress
from warehouse.errors import DataError

VERSION_DIR = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class SourceFile:
    """One file to load: where it is on disk, where it came from, what it is."""

    path: Path
    role: str  # e.g. "cell_metadata", "cluster", "ontology_flat"
    uri: str = ""  # the user-facing origin (s3://..., https://...); the local path if empty
    component: str | None = None  # e.g. "WMB-10X" from metadata/WMB-10X/20241115/
    version: str | None = None  # e.g. "20241115"
    release: str | None = None  # e.g. "20250531" when found through a release manifest
    md5: str | None = None  # expected md5 (from a manifest), checked when known

    @property
    def origin(self) -> str:
        return self.uri or str(self.path)


def one_per_role(sources: Sequence[SourceFile], *, hint: str) -> dict[str, SourceFile]:
    """The sources by role, refusing a role given twice (two files that would each be the
    load's one `cluster.csv`, `parcellation.csv`, ...): naming both, with what to do."""
    by_role: dict[str, SourceFile] = {}
    for source in sources:
        if source.role in by_role:
            raise DataError(f"two {source.path.name} files in one load (also "
                            f"{by_role[source.role].origin})", file=source.origin, hint=hint)
        by_role[source.role] = source
    return by_role


def component_and_version(path: Path) -> tuple[str | None, str | None]:
    """`.../<COMPONENT>/<YYYYMMDD>/[views/]file` → (COMPONENT, YYYYMMDD): the ABC layout."""
    parts = path.parts[:-1]
    if parts and parts[-1] == "views":
        parts = parts[:-1]
    if len(parts) >= 2 and VERSION_DIR.match(parts[-1]):
        return parts[-2], parts[-1]
    return None, None


@dataclass
class Report:
    """What an ingest noticed: notes for the user and the ingest log. Never silent."""

    notes: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        self.notes.append(message)
        progress.note(f"note: {message}")


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    size = path.stat().st_size
    with open(path, "rb") as handle, progress.bar(f"md5 {path.name}", size, "B") as bar:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def check_md5(source: SourceFile) -> str:
    actual = md5_of(source.path)
    if source.md5 and actual != source.md5.lower():
        raise DataError(
            f"md5 {actual} does not match the manifest's {source.md5}",
            file=source.origin,
            hint="the file is corrupt or from another release: delete it from the cache and "
            "run the build again",
        )
    return actual


INGEST_LOG_DDL = """
create table if not exists ingest_log (
    source_uri varchar not null,
    kind varchar not null,          -- ontology | cells | taxonomy | ephys | microarray
    role varchar not null,          -- which file of the source, e.g. cell_metadata
    table_name varchar,             -- where its rows went
    bytes bigint,
    md5 varchar,
    release varchar,                -- ABC release (manifest), when known
    component varchar,              -- e.g. WMB-10X, WMB-taxonomy
    component_version varchar,      -- e.g. 20241115
    taxonomy_version varchar,       -- e.g. CCN20230722
    rows bigint,
    notes varchar,
    loaded_at timestamp with time zone not null,
    run_id varchar,                 -- the build or ingest that loaded it
    scope varchar                   -- the part of the table it loaded (e.g. a species), if not all
)
"""
# Warehouses published before the `scope` column: added when an ingest updates them.
INGEST_LOG_MIGRATIONS = ("alter table ingest_log add column if not exists scope varchar",)

def begin_run(con: duckdb.DuckDBPyConnection) -> str:
    """A new build or ingest on `con`: the files it logs replace older runs' log rows for the
    same tables. The run id lives in the connection (a temp table), not in this module."""
    run_id = uuid.uuid4().hex
    con.execute("create or replace temp table _brainwh_run as select ? as run_id", [run_id])
    return run_id


def _run_id(con: duckdb.DuckDBPyConnection) -> str:
    try:
        return con.execute("select run_id from _brainwh_run").fetchone()[0]
    except duckdb.CatalogException:
        return begin_run(con)


def log_file(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    *,
    kind: str,
    table: str,
    rows: int,
    md5: str,
    taxonomy_version: str | None = None,
    notes: Sequence[str] = (),
    scope: str | None = None,
) -> None:
    """Record a loaded file. Its rows replace the log rows of earlier builds or ingests for
    the same table (and the same `scope`, when a file loads only part of a table: the mouse
    ontology replaces the mouse ontology's rows, never the human one's)."""
    con.execute(INGEST_LOG_DDL)
    for statement in INGEST_LOG_MIGRATIONS:
        con.execute(statement)
    run_id = _run_id(con)
    con.execute(
        "delete from ingest_log where table_name = ? and scope is not distinct from ? "
        "and run_id is distinct from ?",
        [table, scope, run_id],
    )
    con.execute(
        "insert into ingest_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            source.origin,
            kind,
            source.role,
            table,
            source.path.stat().st_size,
            md5,
            source.release,
            source.component,
            source.version,
            taxonomy_version,
            rows,
            "; ".join(notes) or None,
            dt.datetime.now(dt.UTC),
            run_id,
            scope,
        ],
    )



def log_files(con: duckdb.DuckDBPyConnection, entries: Sequence[dict]) -> None:
    """`log_file` for many files at once (one statement each for the old rows and the new):
    each entry holds log_file's arguments (source, kind, table, rows, md5, notes, scope)."""
    con.execute(INGEST_LOG_DDL)
    for statement in INGEST_LOG_MIGRATIONS:
        con.execute(statement)
    run_id = _run_id(con)
    for table, scope in sorted({(e["table"], e.get("scope")) for e in entries},
                               key=lambda pair: (pair[0], pair[1] or "")):
        con.execute(
            "delete from ingest_log where table_name = ? and scope is not distinct from ? "
            "and run_id is distinct from ?",
            [table, scope, run_id],
        )
    now = dt.datetime.now(dt.UTC)
    columns = {
        "source_uri": [e["source"].origin for e in entries],
        "kind": [e["kind"] for e in entries],
        "role": [e["source"].role for e in entries],
        "table_name": [e["table"] for e in entries],
        "bytes": [e["source"].path.stat().st_size for e in entries],
        "md5": [e["md5"] for e in entries],
        "release": [e["source"].release for e in entries],
        "component": [e["source"].component for e in entries],
        "component_version": [e["source"].version for e in entries],
        "rows": [e["rows"] for e in entries],
        "notes": ["; ".join(e.get("notes", ())) or None for e in entries],
        "run_id": [run_id] * len(entries),
        "scope": [e.get("scope") for e in entries],
    }
    con.register("_log_rows", pa.table(columns))
    try:
        con.execute("insert into ingest_log by name select *, null::varchar as taxonomy_version,"
                    " ?::timestamptz as loaded_at from _log_rows", [now])
    finally:
        con.unregister("_log_rows")


# ---------------------------------------------------------------- checked CSV reading

def read_header(path: Path, *, label: str | None = None) -> list[str]:
    """The header row of a CSV, or a DataError saying why there is none."""
    label = label or str(path)
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    if not head.strip():
        raise DataError("the file is empty", file=label, hint="download it again")
    if b"\x00" in head:
        raise DataError(
            "the file is binary, not CSV text", file=label, line=1,
            hint="check that this is the right file (a zip or parquet renamed .csv?)",
        )
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if len(head) - error.start > 4:  # not just a character cut by the 64 KiB window
            raise DataError(
                f"not valid UTF-8 text (byte {error.start})", file=label,
                line=head[: error.start].count(b"\n") + 1,
                hint="Allen files are UTF-8: re-save the file as UTF-8",
            ) from error
        text = head[: error.start].decode("utf-8")
    first = text.splitlines()[0] if text.splitlines() else ""
    return next(csv.reader(io.StringIO(first.lstrip("\ufeff"))))


def require_columns(
    header: Sequence[str], required: Iterable[str], *, label: str, what: str
) -> None:
    missing = [name for name in required if name not in header]
    if not missing:
        return
    delimiter_hint = ""
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        delimiter_hint = " (the header has one field: is the file comma-separated?)"
    raise DataError(
        f"missing column(s) {', '.join(missing)}{delimiter_hint}; found "
        f"{', '.join(header[:12])}{' ...' if len(header) > 12 else ''}",
        file=label,
        line=1,
        hint=f"a {what} needs these columns: {', '.join(required)}",
    )


def duplicate_header(header: Sequence[str], *, label: str) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(f"column {name!r} appears twice in the header", file=label, line=1,
                            hint="remove the duplicate column")
        seen.add(name)


_LINE = re.compile(r"Line: (\d+)")
_COLUMN = re.compile(r'column "([^"]+)"')
_CONVERT = re.compile(r"Could not convert string \"(.*?)\" to '(\w+)'")
_EXPECTED = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def csv_error(error: duckdb.Error, *, label: str, what: str) -> DataError:
    """Turn DuckDB's CSV reader error into one line naming file, line, column, expectation."""
    text = str(error)
    line_match = _LINE.search(text)
    line = int(line_match.group(1)) if line_match else None
    column_match = _COLUMN.search(text)
    column = column_match.group(1) if column_match else None
    if convert := _CONVERT.search(text):
        value, type_name = convert.groups()
        message = f"expected {TYPE_WORDS.get(type_name, type_name)}, found {value!r}"
    elif expected := _EXPECTED.search(text):
        message = f"expected {expected.group(1)} fields, found {expected.group(2)}"
        if int(expected.group(2)) < int(expected.group(1)):
            message += " (a short row: is the file truncated?)"
        column = None
    elif "unterminated quote" in text:
        message = "a quoted value is never closed (the file may be truncated)"
    elif "Invalid unicode" in text or "byte sequence" in text:
        message = "not valid UTF-8 text"
    else:
        message = text.splitlines()[0]
    return DataError(message, file=label, line=line, column=column,
                     hint=f"fix that row of the {what}, or download the file again")


TYPE_WORDS = {
    "INTEGER": "a whole number",
    "BIGINT": "a whole number",
    "INT64": "a whole number",
    "DOUBLE": "a number",
    "FLOAT": "a number",
    "BOOLEAN": "True or False",
    "DATE": "a date",
    "UUID": "a UUID (8-4-4-4-12 hex digits)",
}


def read_csv_relation(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    types: dict[str, str],
    required: Iterable[str],
    what: str,
    label: str | None = None,
    all_quoted: bool = False,
) -> tuple[str, list[str]]:
    """SQL for a typed, strict scan of a CSV by header name (columns in any order).

    Returns (sql_expression, header). Columns not in `types` are read as VARCHAR. A blank
    header name (the index column pandas writes) becomes `column<N>`, as DuckDB names it.
    """
    label = label or str(path)
    header = [name or f"column{index}"
              for index, name in enumerate(read_header(path, label=label))]
    duplicate_header(header, label=label)
    require_columns(header, list(required), label=label, what=what)
    columns = ", ".join(
        f"{_quote_literal(name)}: '{types.get(name, 'VARCHAR')}'" for name in header
    )
    sql = (
        f"read_csv({_quote_literal(str(path))}, header = true, delim = ',', quote = '\"', "
        f"escape = '\"', strict_mode = true, null_padding = false, "
        f"columns = {{{columns}}}, nullstr = '', auto_detect = false"
        f"{', allow_quoted_nulls = true' if all_quoted else ''})"
    )
    return sql, header


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    *,
    types: dict[str, str],
    required: Iterable[str],
    what: str,
    label: str | None = None,
    select: str = "*",
) -> int:
    """Create `table` from a checked CSV scan; return its row count."""
    label = label or str(path)
    scan, _header = read_csv_relation(con, path, types=types, required=required, what=what,
                                      label=label)
    try:
        con.execute(f"create or replace temp table {table} as select {select} from {scan}")
    except (duckdb.ConversionException, duckdb.InvalidInputException) as error:
        raise csv_error(error, label=label, what=what) from error
    (rows,) = con.execute(f"select count(*) from {table}").fetchone()
    if rows == 0:
        raise DataError("the file has a header but no rows", file=label, line=2,
                        hint=f"a {what} has at least one row: download the file again")
    return rows


def check_unique(
    con: duckdb.DuckDBPyConnection, table: str, key: str, *, label: str, what: str,
    lines_from: str | None = None,
) -> None:
    """A duplicate key is an error naming the value and the two lines it is on.

    Detection is one aggregate; line numbers are looked up only when a duplicate exists, in
    `lines_from` (the source scan, in file order) or else in `table` (loaded in file order).
    """
    found = con.execute(
        f"select {quote_ident(key)} from {table} group by 1 having count(*) > 1 limit 1"
    ).fetchone()
    if not found:
        return
    (value,) = found
    lines = [line for (line,) in con.execute(
        f"""
        select line from (select {quote_ident(key)} as k, row_number() over () + 1 as line
                          from {lines_from or table})
        where k = ? order by line limit 2
        """,
        [value],
    ).fetchall()]
    first, second = (lines + [None, None])[:2]
    raise DataError(
        f"duplicate {key} {value!r} (also on line {first})",
        file=label, line=second, column=key,
        hint=f"each {key} appears once in a {what}: remove the duplicate row",
    )


def check_not_null(
    con: duckdb.DuckDBPyConnection, table: str, columns: Iterable[str], *, label: str, what: str,
    lines_from: str | None = None,
) -> None:
    """An empty required value is an error naming its line (looked up only when one exists)."""
    columns = list(columns)
    condition = " or ".join(f"{quote_ident(c)} is null" for c in columns)
    if not con.execute(f"select 1 from {table} where {condition} limit 1").fetchone():
        return
    for column in columns:
        row = con.execute(
            f"""
            select line from (select {quote_ident(column)} as v, row_number() over () + 1 as line
                              from {lines_from or table}) where v is null order by line limit 1
            """
        ).fetchone()
        if row:
            raise DataError(f"{column} is empty", file=label, line=row[0], column=column,
                            hint=f"every row of a {what} needs a {column}")
