"""Build and ingest: find source files, load them on a staging copy, derive, create the views,
publish atomically (see `warehouse.publish`)."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ingest import discovery, registry
from ingest.abc_release import manifest_root, release_of
from ingest.base import Report, begin_run
from ingest.tree import LocalTree, Tree
from warehouse import __version__, progress, signals, views
from warehouse.db import require_database_file
from warehouse.errors import UsageError
from warehouse.publish import published_path, staged


@dataclass
class Outcome:
    db_path: Path
    files: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)


def _is_remote(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def trees(locations: Iterable[str], *, cache: Path | None = None
          ) -> tuple[list[Tree], str | None]:
    """Each location as a tree, and the release a location that is a manifest names.

    A local `.../releases/<R>/manifest.json` stands for its release folder read as release R,
    as a remote one does.
    """
    found: list[Tree] = []
    releases: set[str] = set()
    for location in locations:
        if _is_remote(location):
            from warehouse.remote import cache as downloads
            from warehouse.remote.tree import RemoteTree

            tree = RemoteTree(location, downloads.cache_dir(cache))
            if tree.release:
                releases.add(tree.release)
            found.append(tree)
            continue
        path = Path(location.removeprefix("file://"))
        posix = path.absolute().as_posix()
        if path.is_file() and manifest_root(posix) is not None:
            releases.add(release_of(posix) or "")
            path = path.parent.parent.parent
        found.append(LocalTree(path))
    if len(releases) > 1:
        raise UsageError("the manifests given name different releases: "
                         + ", ".join(sorted(releases)), hint="build one release at a time")
    return found, (releases.pop() if releases else None)


def plan(locations: Sequence[str], *, kind: str | None = None, release: str | None = None,
         cache: Path | None = None) -> discovery.Plan:
    """What a build (or `brainwh ingest KIND`) would do with every file under `locations`."""
    found, manifest_release = trees(locations, cache=cache)
    if release and manifest_release and release != manifest_release:
        raise UsageError(f"--release {release} contradicts the manifest given "
                         f"(release {manifest_release})", hint="give one of them")
    wanted = registry.KINDS[kind] if kind else None
    return discovery.plan(found, registry.SOURCES, wanted=wanted,
                          release=release or manifest_release)


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Every table exists (empty until loaded), so every view binds."""
    for statement in registry.all_ddl():
        con.execute(statement)
    con.execute(
        "create table if not exists warehouse_info (key varchar primary key, value varchar)")


def finish(con: duckdb.DuckDBPyConnection, report: Report,
           info: dict[str, str] | None = None) -> None:
    for source in registry.SOURCES:
        source.derive(con, report)
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
    release: str | None = None,
    cache: Path | None = None,
    info: dict[str, str] | None = None,
) -> Outcome:
    """Load every source under `locations` (only `kind`'s, if given) and publish; `info`
    adds rows to `warehouse_info`."""
    started = time.perf_counter()
    require_database_file(published_path(db_path), empty_ok=True)  # before anything else
    locations = list(locations)
    found = plan(locations, kind=kind, release=release, cache=cache)
    for line in found.summary():
        progress.note(line)
    if not found.loading():
        what = f"{kind} files" if kind else "Allen source files"
        raise UsageError(f"no {what} found in {', '.join(locations)}",
                         hint="`brainwh sources PATH` shows what each file was recognised as")
    report = Report()
    outcome = Outcome(db_path=db_path)
    with _scratch_folder(db_path) as scratch:
        sources = found.materialise(registry.SOURCES, Path(scratch))
        with staged(db_path, fresh=fresh) as con:
            begin_run(con)
            prepare(con)
            for source, files in sources.items():
                progress.note(f"loading {source.KIND}: {len(files)} file(s)")
                source.load(con, files, report)
                signals.stop_if_received()
                outcome.files += len(files)
            finish(con, report, info)
            outcome.tables = table_counts(con)
    outcome.notes = report.notes
    outcome.seconds = time.perf_counter() - started
    return outcome


@contextmanager
def _scratch_folder(db_path: Path) -> Iterator[str]:
    """A temporary folder beside the warehouse (decompressed sources), removed after."""
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.TemporaryDirectory(prefix=".brainwh-scratch-", dir=db_path.parent)
    except OSError as error:
        raise UsageError(f"cannot write in {db_path.parent}: {error.strerror}",
                         hint="choose a --db in a folder you can write to") from None
    with scratch as folder:
        yield folder


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'main' "
        "and not internal and not temporary order by table_name"
    ).fetchall()
    return {name: con.execute(f'select count(*) from "{name}"').fetchone()[0]
            for (name,) in rows}
