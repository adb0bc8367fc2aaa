"""Opening the warehouse file: read-write for builds, read-only for readers and the server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from warehouse.errors import DataError, LockedError, UsageError


def _is_lock_error(error: Exception) -> bool:
    text = str(error)
    return "Could not set lock" in text or "Conflicting lock" in text


# A DuckDB database file starts with an 8-byte checksum, then these bytes.
DUCKDB_MAGIC = b"DUCK"


def is_database_file(path: Path) -> bool:
    """`path` starts like a DuckDB database file (its header, not its name, says so)."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    return head[8:12] == DUCKDB_MAGIC


def require_database_file(path: Path, *, empty_ok: bool = False) -> None:
    """Refuse an existing `path` that is not a DuckDB database, before anything opens or
    replaces it: brainwh never overwrites a file it did not write. A missing file passes."""
    if not path.exists():
        return
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a warehouse file",
                         hint="--db (or $BRAINWH_DB) names the warehouse file, e.g. "
                         f"{path / 'brainwh.duckdb'}")
    if path.stat().st_size == 0 and empty_ok:
        return
    if path.stat().st_size == 0:
        raise UsageError(f"{path} is an empty file, not a warehouse",
                         hint="build one there with `brainwh build SOURCE_DIR --db "
                         f"{path}`, or point --db / BRAINWH_DB at a built warehouse")
    if not is_database_file(path):
        raise UsageError(f"{path} is not a DuckDB database: brainwh will not open or "
                         "overwrite it",
                         hint="--db (or $BRAINWH_DB) must name a warehouse built by `brainwh "
                         "build`, or a new file for `brainwh build` to create; give another "
                         "path, or move that file away yourself")


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open `path`; a missing file is a usage error when reading, a held lock is exit 3, a file
    that is not a DuckDB database is refused without being touched."""
    if read_only and not path.exists():
        raise UsageError(
            f"no warehouse at {path}",
            hint="build one with `brainwh build SOURCE_DIR` (or `brainwh demo`), or point "
            "--db / BRAINWH_DB at an existing file",
        )
    require_database_file(path)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as error:
        raise _open_error(path, error) from error


def _open_error(path: Path, error: duckdb.Error) -> Exception:
    if _is_lock_error(error):
        return LockedError(
            f"{path} is in use by another process that has it open for writing",
            hint="wait for the other build or ingest to finish, or close the program "
            "holding the file (a DuckDB CLI or notebook opened read-write)",
        )
    if "replaying WAL" in str(error):
        return DataError(
            f"{path}.wal, a write-ahead log left by a session that did not close cleanly, "
            f"does not belong to {path.name}", file=str(path),
            hint="build the warehouse again (brainwh build drops the stale log), or move "
            "the .wal file aside")
    return UsageError(f"cannot open {path}: {str(error).strip()}",
                      hint="--db (or $BRAINWH_DB) must name a warehouse built by this "
                      "version of brainwh")


def open_isolated(path: Path, *, alias: str = "brainwh") -> duckdb.DuckDBPyConnection:
    """`path` attached read-only as `alias` (and in use) in a new in-memory DuckDB instance.

    `duckdb.connect(path)` returns the instance a process already has open for that path, even
    after a build replaced the file; attaching to a fresh instance opens the file now at
    `path`. Cursors of the result start in `memory`: run `USE <alias>` on each.
    """
    if not path.exists():
        connect(path, read_only=True)  # raises the usual "no warehouse" UsageError
    require_database_file(path)
    con = duckdb.connect(":memory:")
    try:
        literal = "'" + str(path.resolve()).replace("'", "''") + "'"
        con.execute(f"ATTACH {literal} AS {alias} (READ_ONLY)")
        con.execute(f"USE {alias}")
    except duckdb.IOException as error:
        con.close()
        raise _open_error(path, error) from error
    return con


def lock_down(con: duckdb.DuckDBPyConnection, *,
              allowed_directories: list[str] | None = None) -> duckdb.DuckDBPyConnection:
    """No file access from SQL, no extensions, configuration locked (order matters)."""
    dirs = ", ".join("'" + d.replace("'", "''") + "'" for d in (allowed_directories or []))
    con.execute(f"SET allowed_directories = [{dirs}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")
    return con


T = TypeVar("T")


def run_interruptibly(con: duckdb.DuckDBPyConnection, work: Callable[[], T]) -> T:
    """`work()` (which uses `con`) in a worker thread, so Ctrl-C reaches it at once.

    While DuckDB runs a query the main thread is inside DuckDB and Python's SIGINT handler
    cannot run (a long COPY ignored Ctrl-C for its whole duration). Here the main thread
    waits; on Ctrl-C it interrupts the query, waits for `work` to clean up (temporary files)
    and raises KeyboardInterrupt (exit code 130). The wait is on an Event the worker sets:
    `Thread.join` interrupted by Ctrl-C can report a running thread as finished (Python 3.11),
    and a daemon thread still inside DuckDB at exit aborts the process.
    """
    outcome: dict[str, object] = {}
    done = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed to the main thread below
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=target, name="brainwh-query", daemon=True).start()
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        con.interrupt()
        done.wait(30)  # the query stops within milliseconds; the output may need a moment
        raise
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def table_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'main' "
        "and not internal order by table_name"
    ).fetchall()
    return [name for (name,) in rows]


def view_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select view_name from duckdb_views() where schema_name = 'main' "
        "and not internal order by view_name"
    ).fetchall()
    return [name for (name,) in rows]
