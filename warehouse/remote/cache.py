"""The download cache: each remote file fetched once, resumably, checked, then read locally.

Layout mirrors the source: `<cache>/s3/<bucket>/<key>`, `<cache>/https/<host>/<path>`. A
download goes to `<file>.part` (resumed from its size with a range read when the server
allows it), is checked against the expected size and md5 (from the release manifest) and only
then renamed into place, with a `<file>.source.json` record of where it came from and what
it was (size, md5, ETag). A present file whose record does not match the remote one is
fetched again; a present file without a record is treated as unfinished.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ingest.tree import DOWNLOADS_MARKER
from warehouse import progress
from warehouse.errors import DataError
from warehouse.remote.fs import explained

CACHE_ENV = "BRAINWH_CACHE"
CHUNK = 8 << 20


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


def _record_path(local: Path) -> Path:
    return local.with_name(local.name + ".source.json")


def _is_current(local: Path, remote: Remote) -> bool:
    record = _record_path(local)
    if not local.is_file() or not record.is_file():
        return False
    try:
        seen = json.loads(record.read_text())
    except ValueError:
        return False
    if seen.get("uri") != remote.uri or seen.get("size") != local.stat().st_size:
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
    part = local.with_name(local.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    if remote.size is not None and offset > remote.size:
        part.unlink()
        offset = 0
    size_text = f" ({remote.size / 1e6:,.1f} MB)" if remote.size is not None else ""
    progress.note(f"{'resuming' if offset else 'downloading'} {remote.uri}{size_text}"
                  + (f" from byte {offset:,}" if offset else ""))
    with explained(remote.uri, listed_in=listed_in):
        digest = _download(fs, remote, part, offset)
    _check(part, remote, digest.hexdigest())
    os.replace(part, local)
    _record_path(local).write_text(json.dumps({
        "uri": remote.uri, "size": local.stat().st_size, "md5": digest.hexdigest(),
        "etag": remote.etag}))
    return local


def _md5_of(path: Path):
    digest = hashlib.md5()
    if path.exists():
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    return digest


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
    digest = _md5_of(part) if offset else hashlib.md5()
    with source, open(part, "ab") as sink, \
            progress.bar(remote.uri.rsplit("/", 1)[-1], remote.size, "B") as bar:
        bar.update(offset)
        while chunk := source.read(CHUNK):
            sink.write(chunk)
            digest.update(chunk)
            offset += len(chunk)
            bar.update(len(chunk))
        sink.flush()
        os.fsync(sink.fileno())
    return digest


def _check(part: Path, remote: Remote, md5: str) -> None:
    size = part.stat().st_size
    if remote.size is not None and size < remote.size:
        raise DataError(f"downloaded {size:,} bytes, expected {remote.size:,}", file=remote.uri,
                        hint="run the build again to resume the download")
    wrong_size = remote.size is not None and size != remote.size
    if wrong_size or (remote.md5 and md5 != remote.md5.lower()):
        part.unlink()
        what = f"md5 {md5} does not match the manifest's {remote.md5}" if remote.md5 else \
            "the file is not the one the manifest lists"
        raise DataError(
            what + (f" ({size:,} bytes, the manifest says {remote.size:,})" if wrong_size
                    else ""), file=remote.uri,
            hint="the file in the bucket is not the one the release lists (or the download "
            "was corrupted): the partial download was deleted; run the build again, or use "
            "another release's manifest")
