"""An `s3://` or `http(s)://` location as a tree of files (the `ingest.tree.Tree` interface).

- A folder is listed with fsspec (S3 listings; for HTTP, the index pages a server like
  `python -m http.server` writes).
- A release manifest (`.../releases/<YYYYMMDD>/manifest.json`) given directly stands for its
  release: the tree holds the manifest and the files it lists, without listing the bucket
  (the public ABC bucket over HTTPS has no index pages).
- Heads are read with range requests; a file to load is downloaded once to the cache
  (resumable, size- and md5-checked: `warehouse.remote.cache`) and read from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingest.abc_release import parse, release_of
from ingest.tree import FileInfo
from warehouse.remote import cache
from warehouse.remote.fs import explained, filesystem, join, scheme


class RemoteTree:
    def __init__(self, location: str, cache_root: Path) -> None:
        self.kind = scheme(location)
        self.fs, path = filesystem(location)
        self.cache_root = cache_root
        self._etags: dict[str, str | None] = {}
        self._listed_in: str | None = None
        self.release: str | None = release_of(path)
        http = self.kind in ("http", "https")
        with explained(location):
            if self.release:
                self.root = path[: path.rindex("releases/")].rstrip("/")
                self.is_file = False
                self._manifest_path = path
            else:
                self.root = path if http else path.rstrip("/")
                self.is_file = not (path.endswith("/") if http else
                                    self.fs.info(path)["type"] == "directory")
                self._manifest_path = None
        self.uri = self._uri(self.root)
        self.complete_releases = True

    def _uri(self, fs_path: str) -> str:
        return fs_path if self.kind in ("http", "https") else f"{self.kind}://{fs_path}"

    def _path(self, relative: str) -> str:
        return self.root if self.is_file else join(self.root, relative)

    def files(self) -> Iterator[FileInfo]:
        if self._manifest_path is not None:
            yield from self._listed()
            return
        if self.is_file:
            with explained(self.uri):
                info = self.fs.info(self.root)
            self._etags[info["name"]] = info.get("ETag")
            yield FileInfo(self.root.rstrip("/").rsplit("/", 1)[-1], int(info.get("size") or 0),
                           self.uri)
            return
        with explained(self.uri):
            listing = self.fs.find(self.root, detail=True)
        if not listing:
            raise FileNotFoundError(self.uri)
        base = self.root.rstrip("/")
        for fs_path, info in sorted(listing.items()):
            relative = fs_path[len(base):].lstrip("/")
            self._etags[relative] = info.get("ETag")
            yield FileInfo(relative, int(info.get("size") or 0), self._uri(fs_path))

    def _listed(self) -> Iterator[FileInfo]:
        manifest_uri = self._uri(self._manifest_path)
        with explained(manifest_uri):
            text = self.fs.cat_file(self._manifest_path)
        self._manifest_text = text
        self._listed_in = manifest_uri
        relative = self._manifest_path[len(self.root):].lstrip("/")
        yield FileInfo(relative, len(text), manifest_uri)
        for listed in parse(text, uri=manifest_uri).files:
            yield FileInfo(listed.relative_path, int(listed.size or 0),
                           self._uri(join(self.root, listed.relative_path)))

    def head(self, info: FileInfo, size: int) -> bytes:
        with explained(info.uri):
            return self.fs.cat_file(self._path(info.relative), start=0, end=size)

    def read(self, relative: str) -> bytes:
        path = self._path(relative)
        if path == self._manifest_path and getattr(self, "_manifest_text", None) is not None:
            return self._manifest_text
        with explained(self._uri(path)):
            return self.fs.cat_file(path)

    def exists(self, relative: str) -> bool:
        with explained(self._uri(self._path(relative))):
            return bool(self.fs.exists(self._path(relative)))

    def local(self, info: FileInfo, *, size: int | None = None, md5: str | None = None
              ) -> Path:
        path = self._path(info.relative)
        remote = cache.Remote(uri=info.uri, path=path, size=size, md5=md5,
                              etag=self._etags.get(info.relative))
        return cache.fetch(self.fs, remote, self.cache_root, listed_in=self._listed_in)
