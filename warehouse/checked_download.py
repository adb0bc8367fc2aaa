"""A checked download in a cache, whatever carries the bytes: part file, record, check, publish.

Both caches use it: `brainwh fetch` (urllib with retries, `warehouse.fetch.downloads`) and remote
builds (fsspec, `warehouse.remote.cache`). A file's bytes stream onto a part file beside it,
which a later run resumes from its size; the whole is md5-summed and checked against what the
source says (a wrong part is deleted: resuming cannot mend it), then renamed into place with a
JSON record of where it came from and what it was. A present file counts as current only when
its record names the same origin and the size it has on disk.

The two caches name these companions differently, and the names stay as they are so that caches
already on disk stay current: `Layout` says how one cache spells them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from warehouse import progress

MD5_CHUNK = 8 << 20


@dataclass(frozen=True)
class Layout:
    """How one cache names a file's part file and record, and the record's key for its origin."""

    prefix: str  # put before the file's name in its companions' names ("." hides them)
    origin_key: str  # the record's key for where the file came from ("url", "uri")

    def part(self, target: Path) -> Path:
        return target.with_name(f"{self.prefix}{target.name}.part")

    def record(self, target: Path) -> Path:
        return target.with_name(f"{self.prefix}{target.name}.source.json")

    def recorded(self, target: Path, origin: str) -> dict | None:
        """`target`'s record, if the file is here whole and came from `origin`; else None. The
        caller compares the rest (md5, ETag) with what the source says now."""
        record = self.record(target)
        if not target.is_file() or not record.is_file():
            return None
        try:
            seen = json.loads(record.read_text())
        except ValueError:
            return None
        if not isinstance(seen, dict):  # not a record this code wrote: the file is unfinished
            return None
        if seen.get(self.origin_key) != origin or seen.get("size") != target.stat().st_size:
            return None
        return seen

    def publish(self, part: Path, target: Path, origin: str, **facts) -> Path:
        """Rename the checked `part` into place as `target` and write its record."""
        os.replace(part, target)
        self.record(target).write_text(json.dumps({self.origin_key: origin, **facts}))
        return target


def resume_offset(part: Path, size: int | None) -> int:
    """Where to resume `part` from: its size, or 0 (deleting it) when it is longer than the
    `size` the source says the whole file has."""
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    return offset


def md5_of(path: Path):
    """The md5 of a file's bytes, as a hash object (to go on feeding, or `.hexdigest()`)."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(MD5_CHUNK):
            digest.update(chunk)
    return digest


def append(read: Callable[[int], bytes], part: Path, *, label: str, total: int | None,
           offset: int, chunk: int, digest=None) -> None:
    """Stream `read(chunk)` onto the end of `part` (which holds `offset` bytes already) until it
    returns nothing, with a progress bar towards `total`, then fsync; `digest`, if given, is fed
    every chunk."""
    with open(part, "ab") as sink, progress.bar(label, total, "B") as bar:
        bar.update(offset)
        while data := read(chunk):
            sink.write(data)
            if digest is not None:
                digest.update(data)
            bar.update(len(data))
        sink.flush()
        os.fsync(sink.fileno())


@dataclass(frozen=True)
class Mismatch:
    """How a finished part file differs from what its source says it is."""

    size: int  # the bytes the part held
    wrong_size: bool
    wrong_md5: bool


def discard_if_wrong(part: Path, digest: str, *, size: int | None,
                     md5: str | None) -> Mismatch | None:
    """None when `part` (whose md5 is `digest`) has the `size` and `md5` the source says (None:
    not said); otherwise the part is deleted and the mismatch returned, for the caller's error."""
    got = part.stat().st_size
    wrong_size = size is not None and got != size
    wrong_md5 = bool(md5) and digest != md5.lower()
    if not (wrong_size or wrong_md5):
        return None
    part.unlink()
    return Mismatch(got, wrong_size, wrong_md5)
