"""Atomic publication: every change is made on a new file, renamed into place when complete.

Readers (the CLI, notebooks, `brainwh serve`) keep the file they opened; a failed or killed
build leaves the published file exactly as it was. One build at a time: a second one gets
exit code 3. The lock is an advisory `flock` on `<db>.lock`, released by the kernel when the
holder dies, so a killed build never blocks the next one; the next one removes its leftovers.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.errors import LockedError

STAGING_MARK = ".build-"


def _lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def staging_files(db_path: Path) -> list[Path]:
    """Leftovers of builds that never finished (only ever present while no build runs)."""
    prefix = f".{db_path.name}{STAGING_MARK}"
    return sorted(p for p in db_path.parent.glob(prefix + "*"))


@contextmanager
def build_lock(db_path: Path) -> Iterator[None]:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(_lock_path(db_path), "a+")
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
    file (an ingest that adds to what is there).
    """
    with build_lock(db_path):
        for leftover in staging_files(db_path):
            _remove(leftover)
        staging = db_path.with_name(f".{db_path.name}{STAGING_MARK}{os.getpid()}")
        if not fresh and db_path.exists():
            shutil.copyfile(db_path, staging)
        con = duckdb.connect(str(staging), config=storage_config(staging))
        try:
            yield con
            con.execute("CHECKPOINT")
            con.close()
            os.replace(staging, db_path)
            _fsync_dir(db_path.parent)
        except BaseException:
            con.close()
            _remove(staging)
            raise


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
