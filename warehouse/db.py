"""Opening the warehouse file: read-write for builds, read-only for readers and the server."""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.errors import DataError, LockedError, UsageError


def _is_lock_error(error: Exception) -> bool:
    text = str(error)
    return "Could not set lock" in text or "Conflicting lock" in text


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open `path`; a missing file is a usage error when reading, a held lock is exit 3."""
    if read_only and not path.exists():
        raise UsageError(
            f"no warehouse at {path}",
            hint="build one with `brainwh build SOURCE_DIR` (or `brainwh demo`), or point "
            "--db / BRAINWH_DB at an existing file",
        )
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as error:
        if _is_lock_error(error):
            raise LockedError(
                f"{path} is in use by another process that has it open for writing",
                hint="wait for the other build or ingest to finish, or close the program "
                "holding the file (a DuckDB CLI or notebook opened read-write)",
            ) from error
        if "replaying WAL" in str(error):
            raise DataError(
                f"{path}.wal, a write-ahead log left by a session that did not close cleanly, "
                f"does not belong to {path.name}", file=str(path),
                hint="build the warehouse again (brainwh build drops the stale log), or move "
                "the .wal file aside") from None
        raise


def open_isolated(path: Path, *, alias: str = "brainwh") -> duckdb.DuckDBPyConnection:
    """`path` attached read-only as `alias` (and in use) in a new in-memory DuckDB instance.

    `duckdb.connect(path)` returns the instance a process already has open for that path, even
    after a build replaced the file; attaching to a fresh instance opens the file now at
    `path`. Cursors of the result start in `memory`: run `USE <alias>` on each.
    """
    if not path.exists():
        connect(path, read_only=True)  # raises the usual "no warehouse" UsageError
    con = duckdb.connect(":memory:")
    try:
        literal = "'" + str(path.resolve()).replace("'", "''") + "'"
        con.execute(f"ATTACH {literal} AS {alias} (READ_ONLY)")
        con.execute(f"USE {alias}")
    except duckdb.IOException as error:
        con.close()
        if _is_lock_error(error):
            raise LockedError(f"{path} is in use by another process that has it open for writing",
                              hint="wait for it to finish, or close the program holding the file"
                              ) from error
        raise
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
