"""Where source files are: a folder or file on this machine, or (in `warehouse.remote`) an
`s3://` / `https://` location. Discovery reads every location through this one interface.

A tree lists its files (relative path, size, the URI a user sees), peeks at a file's head,
reads a small file whole (a release manifest), and gives a local file to load (a remote tree
downloads it to its cache first). Local walking follows symlinked folders once, and turns what
cannot be read (a dangling or looping link, a file without read permission, a named pipe) into
`Unreadable` entries that discovery reports; it never opens a pipe or a device.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from warehouse.errors import DataError, UsageError

# A folder holding this file is brainwh's cache of remote downloads (warehouse.remote.cache).
DOWNLOADS_MARKER = ".brainwh-downloads"


@dataclass(frozen=True)
class FileInfo:
    relative: str  # posix path under the tree's root; a single file's own name
    size: int
    uri: str  # absolute path or URI: what the user sees and the ingest log records
    problem: str | None = None  # why it cannot be read (a dangling link, a pipe, ...)


class Tree(Protocol):
    uri: str  # the location, absolute
    is_file: bool  # the location is one file, not a folder
    # A published release (a bucket): every file its manifest lists must be there. A local
    # cache may hold part of a release (what its user downloaded).
    complete_releases: bool

    def files(self) -> Iterator[FileInfo]: ...

    def head(self, info: FileInfo, size: int) -> bytes: ...

    def read(self, relative: str) -> bytes: ...

    def exists(self, relative: str) -> bool: ...

    def local(self, info: FileInfo, *, size: int | None = None, md5: str | None = None
              ) -> Path: ...


def _absolute(path: Path) -> Path:
    """An absolute, normalised path that keeps the user's names (symlinks not resolved)."""
    return Path(os.path.abspath(path.expanduser()))


class LocalTree:
    """A folder or a file on this machine."""

    def __init__(self, path: Path) -> None:
        self.root = _absolute(path)
        if not os.path.lexists(self.root):
            raise UsageError(f"no such file or folder: {path}",
                             hint="check the path (sources are local paths, s3:// or https://)")
        if not self.root.exists():
            raise DataError("a symbolic link whose target does not exist", file=str(self.root),
                            hint=f"it points to {os.readlink(self.root)}: fix or remove the link")
        self.uri = str(self.root)
        self.is_file = not self.root.is_dir()
        self.complete_releases = False

    def files(self) -> Iterator[FileInfo]:
        if self.is_file:
            yield self._info(self.root, self.root.name)
            return
        yield from self._walk(self.root, "", set())

    def _walk(self, directory: Path, prefix: str, seen: set[tuple[int, int]]) -> Iterator[FileInfo]:
        try:
            key = (directory.stat().st_dev, directory.stat().st_ino)
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except PermissionError:
            raise DataError("cannot list this folder: permission denied", file=str(directory),
                            hint="give yourself read and execute permission on it (chmod u+rx),"
                            " or point at a folder you can read") from None
        if key in seen:
            raise DataError("a symbolic link loop: this folder contains itself",
                            file=str(directory), hint="remove the link that points back to a "
                            "folder above it, or point at a folder without it")
        seen = seen | {key}
        if prefix and any(entry.name == DOWNLOADS_MARKER for entry in entries):
            return  # brainwh's cache of remote downloads: those are built from their URLs
        for entry in entries:
            if entry.name.startswith("."):
                continue
            relative = f"{prefix}{entry.name}"
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=True):
                yield from self._walk(path, relative + "/", seen)
            else:
                yield self._info(path, relative)

    def _info(self, path: Path, relative: str) -> FileInfo:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            return FileInfo(relative, 0, str(path), problem="a symbolic link whose target "
                            f"does not exist ({os.readlink(path)})")
        except OSError as error:  # ELOOP: a link that points to itself
            return FileInfo(relative, 0, str(path), problem=f"cannot be read ({error.strerror})")
        if not stat.S_ISREG(mode):
            what = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "not a regular file"
            return FileInfo(relative, 0, str(path), problem=what)
        if not os.access(path, os.R_OK):
            return FileInfo(relative, path.stat().st_size, str(path),
                            problem="permission denied (the file is not readable)")
        return FileInfo(relative, path.stat().st_size, str(path))

    def _path(self, relative: str) -> Path:
        return self.root if self.is_file else self.root / relative

    def head(self, info: FileInfo, size: int) -> bytes:
        with open(self._path(info.relative), "rb") as handle:
            return handle.read(size)

    def read(self, relative: str) -> bytes:
        return self._path(relative).read_bytes()

    def exists(self, relative: str) -> bool:
        return self._path(relative).is_file()

    def local(self, info: FileInfo, *, size: int | None = None, md5: str | None = None
              ) -> Path:
        return self._path(info.relative)
