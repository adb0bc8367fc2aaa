"""Atomic publication: every change is made on a new file, renamed into place when complete.

Readers (the CLI, notebooks, `brainwh serve`) keep the file they opened; a failed or killed
build leaves the published file exactly as it was. One build at a time: a second one gets
exit code 3. The lock is an advisory `flock` on `<db>.lock`, released by the kernel when the
holder dies, so a killed build never blocks the next one; the next one removes its leftovers.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse import signals
from warehouse.db import require_database_file
from warehouse.errors import DataError, LockedError, UsageError

STAGING_MARK = ".build-"


def _lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def staging_files(db_path: Path) -> list[Path]:
    """Leftovers of builds that never finished (only ever present while no build runs)."""
    prefix = f".{db_path.name}{STAGING_MARK}"
    return sorted(p for p in db_path.parent.glob(prefix + "*"))


@contextmanager
def build_lock(db_path: Path) -> Iterator[None]:
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(_lock_path(db_path), "a+")
    except OSError as error:
        raise UsageError(f"cannot write in {db_path.parent}: {error.strerror}",
                         hint="choose a --db in a folder you can write to") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise LockedError(
                f"another build or ingest is already writing {db_path}",
                hint="wait for it to finish (the published file stays readable meanwhile)",
            ) from error
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def published_path(db_path: Path) -> Path:
    """The file a build replaces: through a symbolic link (`--db link.duckdb`), the file it
    points to, so the link stays and every path to the warehouse sees the new one."""
    return Path(os.path.realpath(db_path)) if db_path.is_symlink() else db_path


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _check_published(db_path: Path, *, fresh: bool) -> bool:
    """Whether the published file has a write-ahead log to carry over (an ingest's copy must
    include what a session that did not close wrote). Refuses a file another program holds
    open for writing; a log that does not belong to the file is dropped by a build (it
    replaces the file) and refused by an ingest."""
    wal = _wal(db_path)
    if not db_path.exists() or db_path.stat().st_size == 0:
        return False
    try:
        duckdb.connect(str(db_path), read_only=True).close()
    except duckdb.IOException as error:
        text = str(error)
        if "lock" in text.lower():
            raise LockedError(f"{db_path} is open for writing in another program",
                              hint="close it there (a DuckDB CLI or notebook opened "
                              "read-write), then build again") from None
        if "WAL" in text and wal.exists():
            if fresh:
                wal.unlink()  # the log of a file this build replaces, and not even its own
                return False
            raise DataError(f"{wal} does not belong to {db_path.name} (a session that did "
                            "not close cleanly, then the file was replaced)", file=str(wal),
                            hint="rebuild the warehouse with brainwh build (the log is then "
                            "dropped), or move the .wal file aside") from None
        raise
    return wal.exists()


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        try:
            candidate.unlink()
        except FileNotFoundError:
            pass


# The published file is written in the storage format of DuckDB 1.4, which DuckDB 1.4+ (the
# newest CLI on PyPI, the drivers BI tools bundle) and 2.x all read. DuckDB 2.0's own format
# is unreadable before 2.0. Applies when a file is created; a copied file keeps its format.
STORAGE_VERSION = "v1.4.0"


def storage_config(path: Path) -> dict[str, str]:
    """DuckDB settings for creating the staging file: a storage version 1.4+ readers open."""
    return {} if path.exists() else {"storage_compatibility_version": STORAGE_VERSION}


@contextmanager
def staged(db_path: Path, *, fresh: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-write connection to a staging copy; publish it only if the block succeeds.

    `fresh=True` starts from an empty file (a build); otherwise from a copy of the published
    file (an ingest that adds to what is there). A `db_path` that is not a DuckDB database
    is refused before anything (lock, staging copy) is written next to it.
    """
    db_path = published_path(db_path)
    require_database_file(db_path, empty_ok=True)
    with build_lock(db_path):
        for leftover in staging_files(db_path):
            _remove(leftover)
        has_wal = _check_published(db_path, fresh=fresh)
        staging = db_path.with_name(f".{db_path.name}{STAGING_MARK}{os.getpid()}")
        con = None
        try:
            if not fresh and db_path.exists():
                shutil.copyfile(db_path, staging)
                if has_wal:  # replayed when the copy is opened
                    shutil.copyfile(_wal(db_path), _wal(staging))
            con = _open_staging(staging)
            yield con
            signals.stop_if_received()
            con.execute("CHECKPOINT")
            con.close()
            signals.stop_if_received()
            _wal(db_path).unlink(missing_ok=True)  # the replaced file's log (carried over)
            os.replace(staging, db_path)
            _fsync_dir(db_path.parent)
        except BaseException as error:
            if con is not None:
                con.close()
            _remove(staging)
            if isinstance(error, OSError | duckdb.Error) and _disk_full(error):
                raise DataError(f"the disk holding {db_path.parent} is full", file=str(db_path),
                                hint="free some space (or choose a --db on another disk), "
                                "then build again: nothing was published and the partial "
                                "file was removed") from None
            raise


def _open_staging(staging: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(staging), config=storage_config(staging))
    except duckdb.IOException as error:
        if "Permission denied" in str(error) or "Read-only file system" in str(error):
            raise UsageError(f"cannot write in {staging.parent}: permission denied",
                             hint="choose a --db in a folder you can write to") from None
        raise


def _disk_full(error: BaseException) -> bool:
    return getattr(error, "errno", None) == errno.ENOSPC or "No space left" in str(error)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
