"""The download cache: each remote file fetched once, resumably, checked, then read locally.

Layout mirrors the source: `<cache>/s3/<bucket>/<key>`, `<cache>/https/<host>/<path>`. A
download goes to `<file>.part` (resumed from its size with a range read when the server
allows it), is checked against the expected size and md5 (from the release manifest) and only
then renamed into place, with a `<file>.source.json` record of where it came from and what
it was (size, md5, ETag); part file, record and check are `warehouse.checked_download`'s. A
present file whose record does not match the remote one is fetched again; a present file without
a record is treated as unfinished.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ingest.tree import DOWNLOADS_MARKER
from warehouse import checked_download, progress
from warehouse.errors import DataError
from warehouse.remote.fs import explained

CACHE_ENV = "BRAINWH_CACHE"
CHUNK = 8 << 20
# `<name>.part` and `<name>.source.json` {uri, size, md5, etag}: the names remote caches hold
LAYOUT = checked_download.Layout(prefix="", origin_key="uri")


def cache_dir(option: str | os.PathLike[str] | None = None) -> Path:
    """`--cache`, else `$BRAINWH_CACHE`, else `~/.cache/brainwh`."""
    chosen = option or os.environ.get(CACHE_ENV) or Path("~") / ".cache" / "brainwh"
    return Path(chosen).expanduser()


# Marks a folder of remote downloads, so that `brainwh build <cache>` (a folder that
# `brainwh fetch` filled) does not read them a second time.
MARKER = DOWNLOADS_MARKER


def local_path(cache: Path, uri: str) -> Path:
    scheme, _, rest = uri.partition("://")
    parts = [p for p in rest.split("?")[0].split("/") if p not in ("", ".", "..")]
    return cache.joinpath(scheme.lower(), *parts)


def _mark(cache: Path, uri: str) -> None:
    folder = cache / uri.partition("://")[0].lower()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).touch()


@dataclass(frozen=True)
class Remote:
    uri: str
    path: str  # within the filesystem
    size: int | None = None
    md5: str | None = None
    etag: str | None = None

    def __post_init__(self) -> None:  # a manifest may spell its md5 in capitals; records don't
        if self.md5 is not None:
            object.__setattr__(self, "md5", self.md5.lower())


def _is_current(local: Path, remote: Remote) -> bool:
    seen = LAYOUT.recorded(local, remote.uri)
    if seen is None:
        return False
    for key in ("size", "md5", "etag"):
        expected = getattr(remote, key)
        if expected is not None and seen.get(key) not in (None, expected):
            return False
    return True


def fetch(fs, remote: Remote, cache: Path, *, listed_in: str | None = None) -> Path:
    """The local copy of `remote`, downloading (or finishing) it if needed. `listed_in` names
    the manifest that lists the file, for the error when it is not there."""
    local = local_path(cache, remote.uri)
    _mark(cache, remote.uri)
    if _is_current(local, remote):
        progress.note(f"cached: {remote.uri}")
        return local
    local.parent.mkdir(parents=True, exist_ok=True)
    part = LAYOUT.part(local)
    offset = checked_download.resume_offset(part, remote.size)
    size_text = f" ({remote.size / 1e6:,.1f} MB)" if remote.size is not None else ""
    progress.note(f"{'resuming' if offset else 'downloading'} {remote.uri}{size_text}"
                  + (f" from byte {offset:,}" if offset else ""))
    with explained(remote.uri, listed_in=listed_in):
        digest = _download(fs, remote, part, offset)
    _check(part, remote, digest.hexdigest())
    return LAYOUT.publish(part, local, remote.uri, size=part.stat().st_size,
                          md5=digest.hexdigest(), etag=remote.etag)


def _download(fs, remote: Remote, part: Path, offset: int):
    """Append the rest of the file to `part`; the md5 of the whole."""
    try:
        source = fs.open(remote.path, "rb")
        if offset:
            source.seek(offset)
            source.read(1)
            source.seek(offset)
    except ValueError:  # the server does not do range requests: start again, streaming
        part.unlink(missing_ok=True)
        offset = 0
        source = fs.open(remote.path, "rb", block_size=0)
    digest = checked_download.md5_of(part) if offset else hashlib.md5()
    with source:
        checked_download.append(source.read, part, label=remote.uri.rsplit("/", 1)[-1],
                                total=remote.size, offset=offset, chunk=CHUNK, digest=digest)
    return digest


def _check(part: Path, remote: Remote, md5: str) -> None:
    size = part.stat().st_size
    if remote.size is not None and size < remote.size:
        raise DataError(f"downloaded {size:,} bytes, expected {remote.size:,}", file=remote.uri,
                        hint="run the build again to resume the download")
    wrong = checked_download.discard_if_wrong(part, md5, size=remote.size, md5=remote.md5)
    if wrong is not None:
        what = f"md5 {md5} does not match the manifest's {remote.md5}" if remote.md5 else \
            "the file is not the one the manifest lists"
        raise DataError(
            what + (f" ({size:,} bytes, the manifest says {remote.size:,})" if wrong.wrong_size
                    else ""), file=remote.uri,
            hint="the file in the bucket is not the one the release lists (or the download "
            "was corrupted): the partial download was deleted; run the build again, or use "
            "another release's manifest")
