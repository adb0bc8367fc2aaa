"""`brainwh sources`: the discovery plan as data (stdout), one row per file or group of files.

Files that load, are skipped, or are release manifests get a row each; files left out for the
same reason (a dataset without a loader, an unrecognised file) are grouped into one row with
a count, unless `--all` asks for every file.
"""

from __future__ import annotations

import sys
from collections import defaultdict

import pyarrow as pa

from ingest import discovery
from warehouse import progress
from warehouse.output import write_stream

COLUMNS = ("status", "kind", "table_name", "release", "dataset", "version", "files", "file",
           "reason")


def plan_rows(plan: discovery.Plan, *, show_all: bool = False) -> list[dict]:
    rows: list[dict] = []
    grouped: dict[tuple, list[discovery.Entry]] = defaultdict(list)
    for entry in plan.entries:
        if show_all or entry.status in (discovery.LOAD, discovery.SKIPPED, discovery.MANIFEST):
            rows.append(_row(entry, entry.uri, 1))
        else:
            grouped[(entry.status, entry.dataset, entry.version, entry.reason)].append(entry)
    for (_status, _dataset, _version, _reason), entries in grouped.items():
        first = entries[0]
        where = first.uri if len(entries) == 1 else _common_folder([e.uri for e in entries])
        rows.append(_row(first, where, len(entries)))
    order = {discovery.LOAD: 0, discovery.MANIFEST: 1, discovery.SKIPPED: 2,
             discovery.NOT_LOADED: 3, discovery.IGNORED: 4}
    return sorted(rows, key=lambda r: (order.get(r["status"], 9), r["file"]))


def _row(entry: discovery.Entry, where: str, count: int) -> dict:
    return {"status": entry.status, "kind": entry.kind if entry.status != "ignored" or
            entry.kind else None, "table_name": entry.table, "release": entry.release,
            "dataset": entry.dataset, "version": entry.version, "files": count,
            "file": where, "reason": entry.reason}


def _common_folder(uris: list[str]) -> str:
    parts = [u.split("/") for u in uris]
    common: list[str] = []
    for pieces in zip(*parts, strict=False):
        if len(set(pieces)) != 1:
            break
        common.append(pieces[0])
    folder = "/".join(common[: min(len(p) for p in parts) - 1])
    return (folder or "/") + "/..."


def render_text(rows: list[dict]) -> str:
    """One aligned line per row: status, what it is (or why not), its versions, the file."""
    lines = []
    for row in rows:
        if row["status"] in ("load", "skipped") and row["kind"]:
            what = f"{row['kind']} -> {row['table_name']}"
        elif row["status"] == "manifest":
            what = f"ABC release {row['release']}"
        else:
            what = row["reason"] or ""
        versions = ", ".join(v for v in (
            f"release {row['release']}" if row["release"] and row["status"] != "manifest"
            else "", f"{row['dataset']} {row['version']}" if row["dataset"] else "") if v)
        if row["status"] == "skipped" or row["status"] == "manifest":
            versions = ", ".join(v for v in (versions, row["reason"] or "") if v)
        count = f"{row['files']} files: " if row["files"] > 1 else ""
        lines.append((row["status"], what, versions, count + row["file"]))
    widths = [max([len(line[i]) for line in lines] + [0]) for i in range(3)]
    text = "".join("  ".join(part.ljust(width) for part, width in zip(line[:3], widths,
                                                                       strict=True))
                   + "  " + line[3] + "\n" for line in lines)
    return text + f"({len(rows)} row{'s' * (len(rows) != 1)})\n"


def render_plan(plan: discovery.Plan, *, fmt: str, show_all: bool) -> None:
    rows = plan_rows(plan, show_all=show_all)
    table = pa.table({name: [row[name] for row in rows] for name in COLUMNS},
                     schema=pa.schema([(name, pa.int64() if name == "files" else pa.string())
                                       for name in COLUMNS]))
    if fmt == "table":
        sys.stdout.write(render_text(rows))
    else:
        write_stream(table.to_reader(), fmt, sys.stdout.buffer)
        sys.stdout.flush()
    for note in plan.notes:
        progress.note(f"note: {note}")
