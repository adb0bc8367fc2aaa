"""`brainwh status`: what the warehouse holds and, for every table, where it came from."""

from __future__ import annotations

from pathlib import Path

from warehouse import db

LOG_QUERY = """
select table_name, kind, source_uri, bytes, md5, release, component, component_version,
       taxonomy_version, rows, strftime(timezone('UTC', loaded_at), '%Y-%m-%d %H:%M:%S UTC'),
       notes
from ingest_log order by table_name, loaded_at, source_uri
"""


def render_status(db_path: Path) -> str:
    con = db.connect(db_path, read_only=True)
    try:
        tables = db.table_names(con)
        lines = [f"warehouse: {db_path} ({db_path.stat().st_size / 1e6:,.1f} MB)"]
        if "warehouse_info" in tables:
            info = dict(con.execute("select key, value from warehouse_info").fetchall())
            lines.append(f"published: {info.get('published_at')} by brainwh "
                         f"{info.get('brainwh_version')}")
        files: dict[str, list[tuple]] = {}
        if "ingest_log" in tables:
            for row in con.execute(LOG_QUERY).fetchall():
                files.setdefault(row[0], []).append(row[1:])
        lines += ["", "tables (rows, then the files each came from):"]
        for name in tables:
            (rows,) = con.execute(f'select count(*) from "{name}"').fetchone()
            origin = "" if files.get(name) else _kind_of(name, rows)
            lines.append(f"  {name:28} {rows:>12,}  {origin}".rstrip())
            for entry in files.get(name, []):
                lines.extend(_file_lines(entry))
        lines += ["", f"views and macros: {', '.join(db.view_names(con))}"]
        return "\n".join(lines)
    finally:
        con.close()


def _kind_of(table: str, rows: int) -> str:
    if table in ("ingest_log", "warehouse_info"):
        return "(bookkeeping)"
    return "(derived at build from the tables above)" if rows else "(not loaded)"


def _file_lines(entry: tuple) -> list[str]:
    (kind, uri, size, md5, release, component, version, taxonomy, rows, loaded_at,
     notes) = entry
    versions = ", ".join(
        f"{label} {value}" for label, value in (
            ("release", release), (component or "version", version), ("taxonomy", taxonomy))
        if value)
    out = [f"      [{kind}] {uri}",
           f"        {rows:,} rows; {size:,} bytes; md5 {md5}"
           f"{'; ' + versions if versions else ''}; loaded {loaded_at}"]
    if notes:
        out.append(f"        notes: {notes}")
    return out
