"""The published warehouse file as the server sees it: one open handle per file version.

A build publishes by renaming a new file over the old one (`warehouse.publish`). Each new
client session asks `Published.acquire()` for a handle: if the file at the path is not the one
the current handle has open (another inode), a new handle is opened on it (a fresh DuckDB
instance with the file attached read-only, its Postgres catalog built, then locked down) and
becomes current. Sessions already open keep the handle they started with; an old handle is
closed when its last session ends. The unlinked old file stays readable until then.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse import db
from warehouse.server import catalog

ALIAS = "brainwh"


@dataclass
class Resources:
    """What each DuckDB instance may use: memory, and spill space in a private folder."""
    memory_limit: int | None = None  # bytes
    temp_root: Path | None = None  # a folder the server created; one subfolder per instance
    temp_limit: int | None = None  # bytes


@dataclass(eq=False)
class Handle:
    path: Path
    key: tuple[int, int]
    con: duckdb.DuckDBPyConnection
    user_tables: set[str]
    columns: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> column -> OID
    temp_dir: Path | None = None
    sessions: int = 0
    closed: bool = field(default=False)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new DuckDB connection on this file version, with the warehouse in use."""
        cursor = self.con.cursor()
        cursor.execute(f"USE {ALIAS}")
        return cursor

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.con.close()
            if self.temp_dir is not None:
                shutil.rmtree(self.temp_dir, ignore_errors=True)


def _file_key(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def open_handle(path: Path, resources: Resources | None = None) -> Handle:
    while True:  # a build may publish while we open: the key must be the file we opened
        if not path.exists():
            db.connect(path, read_only=True)  # the usual "no warehouse" error
        key = _file_key(path)
        con = db.open_isolated(path, alias=ALIAS)
        if _file_key(path) == key:
            break
        con.close()
    resources = resources or Resources()
    temp_dir = None
    try:
        if resources.memory_limit:
            con.execute(f"SET memory_limit = '{resources.memory_limit // 2**20}MiB'")
        if resources.temp_root is not None:
            temp_dir = Path(tempfile.mkdtemp(prefix="duckdb-", dir=resources.temp_root))
            con.execute(f"SET temp_directory = '{temp_dir}'")
        if resources.temp_limit:
            con.execute(f"SET max_temp_directory_size = '{resources.temp_limit // 2**20}MiB'")
        columns = catalog.build(con)
        db.lock_down(con)
        names = {name for (name,) in con.execute(
            "select table_name from duckdb_tables() where database_name = ? union "
            "select view_name from duckdb_views() where database_name = ?",
            [ALIAS, ALIAS]).fetchall()}
    except BaseException:
        con.close()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return Handle(path=path, key=key, con=con, user_tables={n.lower() for n in names},
                  columns=columns, temp_dir=temp_dir)


class Published:
    """Hands out the handle of the file now at `path` (thread-safe; call from worker threads)."""

    def __init__(self, path: Path, resources: Resources | None = None) -> None:
        self.path = path
        self.resources = resources
        self._lock = threading.Lock()
        self._current: Handle | None = None

    def start(self) -> Handle:
        """Open the file once up front, so a missing or broken warehouse fails at start."""
        with self._lock:
            self._current = open_handle(self.path, self.resources)
            return self._current

    def acquire(self) -> Handle:
        with self._lock:
            current = self._current
            try:
                changed = current is None or _file_key(self.path) != current.key
            except FileNotFoundError:
                changed = False  # between builds there is always a file; keep what we have
            if changed:
                try:
                    fresh = open_handle(self.path, self.resources)
                except Exception as error:  # noqa: BLE001 - keep serving the version we have
                    if current is None:
                        raise
                    print(f"brainwh serve: could not open the new {self.path} ({error}); "
                          "still serving the previous version", file=sys.stderr, flush=True)
                else:
                    print(f"brainwh serve: new warehouse file at {self.path}; new sessions "
                          "use it", file=sys.stderr, flush=True)
                    self._current = fresh
                    if current is not None and current.sessions == 0:
                        current.close()
            handle = self._current
            assert handle is not None
            handle.sessions += 1
            return handle

    def release(self, handle: Handle) -> None:
        with self._lock:
            handle.sessions -= 1
            if handle.sessions <= 0 and handle is not self._current:
                handle.close()

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.close()
