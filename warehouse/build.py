"""Build and ingest: find source files, load them on a staging copy, derive, create the views,
publish atomically (see `warehouse.publish`)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import duckdb

from ingest import registry
from ingest.base import Report, SourceFile, begin_run
from warehouse import __version__, progress, views
from warehouse.errors import UsageError
from warehouse.publish import staged

# Turns a remote location (s3://, https://) into local SourceFiles; set by warehouse.remote.
_remote_resolver: Callable[[str], dict[ModuleType, list[SourceFile]]] | None = None


def set_remote_resolver(resolver: Callable[[str], dict[ModuleType, list[SourceFile]]]) -> None:
    global _remote_resolver
    _remote_resolver = resolver


@dataclass
class Outcome:
    db_path: Path
    files: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)


def _is_remote(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def find_sources(
    locations: Iterable[str], modules: Iterable[ModuleType] | None = None, *,
    explicit: bool = False,
) -> dict[ModuleType, list[SourceFile]]:
    found: dict[ModuleType, list[SourceFile]] = {}
    local: list[Path] = []
    for location in locations:
        if _is_remote(location):
            if _remote_resolver is None:  # the fsspec resolver (s3://, https://)
                from warehouse.remote import resolve

                set_remote_resolver(resolve)
            for module, files in _remote_resolver(location).items():
                if modules is None or module in tuple(modules):
                    found.setdefault(module, []).extend(files)
        else:
            local.append(Path(location.removeprefix("file://")))
    if local:
        for module, files in registry.discover(local, modules, explicit=explicit).items():
            found.setdefault(module, []).extend(files)
    return {m: found[m] for m in registry.MODULES if m in found}


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Every table exists (empty until loaded), so every view binds."""
    for statement in registry.all_ddl():
        con.execute(statement)
    con.execute(
        "create table if not exists warehouse_info (key varchar primary key, value varchar)")


def finish(con: duckdb.DuckDBPyConnection, report: Report,
           info: dict[str, str] | None = None) -> None:
    for module in registry.MODULES:
        derive = getattr(module, "derive", None)
        if derive:
            derive(con, report)
    views.create_all(con)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    con.execute("insert or replace into warehouse_info values ('brainwh_version', ?), "
                "('published_at', ?)", [__version__, now])
    for key, value in (info or {}).items():  # e.g. ('built_by', 'brainwh demo')
        con.execute("insert or replace into warehouse_info values (?, ?)", [key, value])


def run(
    db_path: Path,
    locations: Iterable[str],
    *,
    kind: str | None = None,
    fresh: bool,
    info: dict[str, str] | None = None,
) -> Outcome:
    """Load every source under `locations` (only `kind`'s, if given) and publish; `info`
    adds rows to `warehouse_info`."""
    started = time.perf_counter()
    modules = registry.KINDS[kind] if kind else None
    sources = find_sources(list(locations), modules, explicit=kind is not None)
    if not sources:
        what = f"{kind} files" if kind else "Allen source files"
        raise UsageError(f"no {what} found in {', '.join(locations)}",
                         hint="see `brainwh build --help` for the file names recognised")
    report = Report()
    begin_run()
    outcome = Outcome(db_path=db_path)
    with staged(db_path, fresh=fresh) as con:
        prepare(con)
        for module, files in sources.items():
            progress.note(f"loading {module.KIND}: {len(files)} file(s)")
            module.load(con, files, report)
            outcome.files += len(files)
        finish(con, report, info)
        outcome.tables = table_counts(con)
    outcome.notes = report.notes
    outcome.seconds = time.perf_counter() - started
    return outcome


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'main' "
        "and not internal and not temporary order by table_name"
    ).fetchall()
    return {name: con.execute(f'select count(*) from "{name}"').fetchone()[0]
            for (name,) in rows}
