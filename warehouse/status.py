"""`brainwh status`: what the warehouse holds and where it came from."""

from __future__ import annotations

from pathlib import Path

from warehouse import db


def render_status(db_path: Path) -> str:
    con = db.connect(db_path, read_only=True)
    try:
        lines = [f"warehouse: {db_path} ({db_path.stat().st_size / 1e6:,.1f} MB)"]
        info = dict(con.execute("select key, value from warehouse_info").fetchall()) \
            if "warehouse_info" in db.table_names(con) else {}
        if info:
            lines.append(f"published: {info.get('published_at')} by brainwh "
                         f"{info.get('brainwh_version')}")
        lines.append("")
        lines.append("tables:")
        for name in db.table_names(con):
            (rows,) = con.execute(f'select count(*) from "{name}"').fetchone()
            lines.append(f"  {name:28} {rows:>12,}")
        lines.append("")
        lines.append(f"views and macros: {', '.join(db.view_names(con))}")
        lines.append("")
        lines.append("loaded files:")
        if "ingest_log" in db.table_names(con):
            log = con.execute(
                """
                select kind, table_name, source_uri, bytes, md5, release, component,
                       component_version, taxonomy_version, rows,
                       strftime(timezone('UTC', loaded_at), '%Y-%m-%d %H:%M:%S UTC'), notes
                from ingest_log order by ingest_log.loaded_at, source_uri
                """
            ).fetchall()
            for (kind, table, uri, size, md5, release, component, version, taxonomy, rows,
                 loaded_at, notes) in log:
                versions = ", ".join(
                    f"{label} {value}" for label, value in (
                        ("release", release), (component or "version", version),
                        ("taxonomy", taxonomy)) if value)
                lines.append(f"  [{kind}] {uri}")
                lines.append(f"      -> {table}: {rows:,} rows; {size:,} bytes; md5 {md5}"
                             f"{'; ' + versions if versions else ''}; loaded {loaded_at}")
                if notes:
                    lines.append(f"      notes: {notes}")
        return "\n".join(lines)
    finally:
        con.close()
