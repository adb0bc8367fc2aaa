"""What discovery knows of a file before anything loads it: where it is, its name and size, the
place it has in an ABC Atlas release layout, and a peek at its content.

Sources recognise files by content (`Source.identify(probe)`): the CSV header and first row,
the JSON keys near the start, the bytes that open a zip or a gzip. Reading the head is lazy
(only files whose suffix can hold a source are opened, once) and bounded (`HEAD_BYTES`), so
walking a cache of multi-gigabyte matrices costs a directory listing.
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath

HEAD_BYTES = 64 << 10
# Suffixes whose content is peeked at; anything else is named by its suffix only.
PEEKED = {".csv", ".json", ".tsv", ".txt", ".parquet", ".zip", ".gz", ".h5", ".hdf5"}
_JSON_KEY = re.compile(rb'"([A-Za-z_][A-Za-z0-9_.\-]*)"\s*:')


@dataclass(frozen=True)
class AbcPlace:
    """A file's place in an ABC Atlas release layout: `<top>/<dataset>/<version>/[views/]name`.

    `top` is `metadata`, `expression_matrices`, `image_volumes` or `mapmycells`; `root` is the
    layout's folder (the parent of `releases/` and `metadata/`), relative to the location.
    """

    root: str
    top: str
    dataset: str
    version: str | None
    relative: str  # from the layout root, as the release manifest writes it

    @property
    def where(self) -> str:
        return f"{self.top}/{self.dataset}" + (f"/{self.version}" if self.version else "")


@dataclass
class Probe:
    relative: PurePosixPath  # from the location the user gave (its own name for a file)
    size: int
    abc: AbcPlace | None = None
    read_head: Callable[[int], bytes] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.relative.name

    @property
    def suffix(self) -> str:
        """`.csv`, `.json`, ... with `.gz` looked through: `x.csv.gz` is `.csv`."""
        suffixes = self.relative.suffixes
        if len(suffixes) >= 2 and suffixes[-1].lower() == ".gz":
            return suffixes[-2].lower()
        return self.relative.suffix.lower()

    @property
    def folder(self) -> str:
        """The name of the folder holding the file ('' at the top)."""
        return self.relative.parent.name

    @cached_property
    def raw_head(self) -> bytes:
        if self.read_head is None or self.relative.suffix.lower() not in PEEKED:
            return b""
        return self.read_head(HEAD_BYTES)

    @cached_property
    def is_gzip(self) -> bool:
        return self.raw_head[:2] == b"\x1f\x8b"

    @cached_property
    def head(self) -> bytes:
        """The first bytes of the content (of the decompressed content for a gzip file)."""
        if not self.is_gzip:
            return self.raw_head
        try:
            return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(self.raw_head, HEAD_BYTES)
        except zlib.error:
            return b""

    @cached_property
    def text(self) -> str | None:
        """The head as text, or None when it is binary or not UTF-8."""
        head = self.head
        if not head or b"\x00" in head[:4096]:
            return None
        try:
            return head.decode("utf-8")
        except UnicodeDecodeError as error:
            if len(head) - error.start > 4:  # more than a character cut by the window
                return None
            return head[: error.start].decode("utf-8")

    @cached_property
    def lines(self) -> list[str]:
        """Whole lines of the head (the last, possibly cut, line dropped when more follow)."""
        if self.text is None:
            return []
        lines = self.text.lstrip("\ufeff").splitlines()
        if len(self.head) >= HEAD_BYTES and len(lines) > 1:
            lines = lines[:-1]
        return lines

    @cached_property
    def header(self) -> tuple[str, ...]:
        """The CSV header's fields ('' for pandas' unnamed index column); () if not CSV."""
        if self.suffix not in (".csv", ".tsv", ".txt") or not self.lines:
            return ()
        try:
            return tuple(next(csv.reader(io.StringIO(self.lines[0]))))
        except (csv.Error, StopIteration):
            return ()

    @cached_property
    def first_row(self) -> dict[str, str]:
        """The first data row by header name ({} when there is none)."""
        if not self.header or len(self.lines) < 2:
            return {}
        try:
            values = next(csv.reader(io.StringIO(self.lines[1])))
        except (csv.Error, StopIteration):
            return {}
        return dict(zip(self.header, values, strict=False))

    @cached_property
    def json_keys(self) -> frozenset[str]:
        """Every object key seen in the head of a JSON file."""
        if self.suffix != ".json" or self.text is None:
            return frozenset()
        stripped = self.text.lstrip("\ufeff \t\r\n")
        if not stripped.startswith(("{", "[")):
            return frozenset()
        return frozenset(key.decode() for key in _JSON_KEY.findall(self.head))

    def has_columns(self, *names: str) -> bool:
        return bool(self.header) and all(name in self.header for name in names)

    def has_keys(self, *names: str) -> bool:
        return all(name in self.json_keys for name in names)

    @property
    def is_zip(self) -> bool:
        return self.raw_head[:4] == b"PK\x03\x04"

    @property
    def is_parquet(self) -> bool:
        return self.raw_head[:4] == b"PAR1"

    @property
    def is_hdf5(self) -> bool:
        return self.raw_head[:8] == b"\x89HDF\r\n\x1a\n"
