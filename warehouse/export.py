"""`brainwh export`: a view, table or query as zstd Parquet, with where it came from inside.

One file, or a hive-partitioned folder (`--partition-by level` gives `level=class/...`), at a
local path or an `s3://` URI. The data is written under a temporary name and moved into place
only when complete: a local file or folder is renamed over the old one; on S3 the objects are
uploaded under a temporary prefix and then copied to their names (each object appears whole),
and objects of an earlier export at the same place that this one did not write are removed.
Only an earlier export is ever replaced (`warehouse.export_target`): a file or folder at --out
holding anything else is refused before anything is written. Ctrl-C stops the export at once
and leaves no temporary file.

Each file's key-value metadata holds `brainwh.query`, `brainwh.release`,
`brainwh.taxonomy_version`, `brainwh.components` (JSON: ABC directory -> version, e.g.
`{"WMB-10X": "20241115"}`), `brainwh.sources` (JSON: every loaded file with its URI, release,
component version, taxonomy version and md5), `brainwh.exported_at`, `brainwh.published_at`
and `brainwh.version`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import duckdb

from warehouse import __version__, config, db, export_target, progress, signals
from warehouse.errors import UsageError
from warehouse.query import query_error

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CALL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*\(.*\)$", re.DOTALL)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def query_for(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """A view or table name, a table macro call, or SQL: the SQL to export."""
    text = source.strip().rstrip(";").strip()
    if IDENTIFIER.match(text):
        names = set(db.table_names(con)) | set(db.view_names(con))
        if text not in names:
            raise UsageError(f"no table or view named {text}",
                             hint="`brainwh views` lists the views; pass SQL in quotes to "
                             "export a query")
        return f'select * from "{text}"'
    if CALL.match(text) and not text.lower().startswith(("select", "with", "from", "values")):
        return f"select * from {text}"  # a table macro: compare_composition('MOp', ...)
    return text


def provenance(con: duckdb.DuckDBPyConnection, query: str) -> dict[str, str]:
    """Key-value metadata: the query, the warehouse's source versions, the export time."""
    tables = set(db.table_names(con))
    sources: list[dict] = []
    if "ingest_log" in tables:
        rows = con.execute(
            "select source_uri, kind, release, component, component_version, "
            "taxonomy_version, md5 from ingest_log order by source_uri").fetchall()
        keys = ("uri", "kind", "release", "component", "version", "taxonomy_version", "md5")
        sources = [{k: v for k, v in zip(keys, row, strict=True) if v is not None}
                   for row in rows]
    info = dict(con.execute("select key, value from warehouse_info").fetchall()) \
        if "warehouse_info" in tables else {}

    def distinct(key: str) -> str:
        return ",".join(sorted({s[key] for s in sources if s.get(key)}))

    return {
        "brainwh.query": query,
        "brainwh.release": distinct("release"),
        "brainwh.taxonomy_version": distinct("taxonomy_version"),
        "brainwh.taxonomy_folder": ",".join(sorted({
            f"{s['component']}/{s['version']}" for s in sources
            if s.get("kind") == "taxonomy" and s.get("component") and s.get("version")})),
        "brainwh.components": json.dumps(
            {s["component"]: s["version"] for s in sources if s.get("component")}),
        "brainwh.sources": json.dumps(sources),
        "brainwh.exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "brainwh.published_at": str(info.get("published_at", "")),
        "brainwh.version": __version__,
    }


def uuids_as_text(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """The query with its UUID columns as text: Spark (4.x) cannot read Parquet's UUID
    logical type, and every reader reads the canonical text form. The warehouse keeps UUIDs."""
    relation = con.sql(query)
    uuids = [name for name, kind in zip(relation.columns, relation.types, strict=True)
             if str(kind) == "UUID"]
    if not uuids:
        return query
    cast = ", ".join(f'cast("{name}" as varchar) as "{name}"' for name in uuids)
    return f"select * replace ({cast}) from ({query})"


def write_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path,
                  partition_by: tuple[str, ...], metadata: dict[str, str]) -> int:
    """COPY the query to `target` (a file, or a folder when partitioned); rows written."""
    try:
        columns = con.sql(query).columns
    except duckdb.Error as error:
        raise query_error(error) from error
    missing = [c for c in partition_by if c not in columns]
    if missing:
        raise UsageError(f"cannot partition by {', '.join(missing)}: not a column of the result",
                         hint="columns: " + ", ".join(columns))
    if partition_by and len(partition_by) == len(columns):
        raise UsageError("every column is a partition column: nothing would be left in the files")
    kv = ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in metadata.items())
    options = [f"format parquet, compression zstd, kv_metadata {{{kv}}}"]
    if partition_by:
        options.append("partition_by (" + ", ".join(f'"{c}"' for c in partition_by) + ")")
    try:
        (rows,) = con.execute(f"copy ({uuids_as_text(con, query)}) to {_literal(str(target))} "
                              f"({', '.join(options)})").fetchone()
    except duckdb.InterruptException:
        raise KeyboardInterrupt from None
    except duckdb.Error as error:
        raise query_error(error, "export failed") from error
    return rows


def _publish_s3(staged: Path, out: str) -> None:
    from warehouse.remote.fs import explained, s3

    fs = s3()
    final = out.removeprefix("s3://").rstrip("/")
    parent, _, name = final.rpartition("/")
    temporary = f"{parent}/.{name}.tmp-{uuid.uuid4().hex[:8]}"
    files = [staged] if staged.is_file() else sorted(p for p in staged.rglob("*") if p.is_file())
    with explained(out):
        previous = export_target.check_s3(fs, out, final, partitioned=staged.is_dir())
        written = []
        for path in files:
            relative = "" if staged.is_file() else "/" + path.relative_to(staged).as_posix()
            fs.put_file(str(path), temporary + relative)
            written.append(relative)
        for relative in written:
            fs.mv(temporary + relative, final + relative)
        for relative in previous - set(written):
            fs.rm_file(final + relative)


def export(source: str, out: str, *, partition_by: tuple[str, ...] = (),
           db_path: Path | None = None) -> int:
    if "://" in out and not out.startswith(("s3://", "file://")):
        raise UsageError(f"cannot export to {out}", hint="give a local path or an s3:// URI")
    local = None if out.startswith("s3://") else out.removeprefix("file://")
    target = Path(local).expanduser() if local is not None else None
    if target is not None:
        export_target.check_local(local, target, partitioned=bool(partition_by))
    con = db.connect(config.database_path(db_path), read_only=True)
    try:
        query = query_for(con, source)
        metadata = provenance(con, query)
        if target is None:
            return db.run_interruptibly(
                con, lambda: _export_to_s3(con, query, out, partition_by, metadata))
        return db.run_interruptibly(
            con, lambda: _export_locally(con, query, target, partition_by, metadata))
    finally:
        con.close()


def _export_to_s3(con: duckdb.DuckDBPyConnection, query: str, out: str,
                  partition_by: tuple[str, ...], metadata: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory(prefix="brainwh-export-") as scratch:
        staged = Path(scratch) / ("data" if partition_by else "data.parquet")
        rows = write_parquet(con, query, staged, partition_by, metadata)
        signals.stop_if_received()
        _publish_s3(staged, out)
    return rows


def _export_locally(con: duckdb.DuckDBPyConnection, query: str, target: Path,
                    partition_by: tuple[str, ...], metadata: dict[str, str]) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        rows = write_parquet(con, query, staged, partition_by, metadata)
        signals.stop_if_received()
        left = export_target.replace_local(staged, target)
    finally:
        if staged.is_dir():
            shutil.rmtree(staged, ignore_errors=True)  # our own temporary folder
        elif staged.exists():
            staged.unlink()
    if left:
        progress.note(f"note: kept {', '.join(map(str, left[:3]))}: not part of the earlier "
                      "export it replaced")
    return rows
