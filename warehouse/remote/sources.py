"""Finding the source files under an `s3://` or `http(s)://` location.

- A release manifest (`.../releases/<YYYYMMDD>/manifest.json`), given directly or found under
  the location (the newest release, or the one asked for), says which version of each ABC
  file to read; their md5s are checked.
- Everything else under the location (an ontology folder, Cell Types or AHBA files, a bucket
  without a manifest) is walked, and a file is read when a source module recognises its name.
- Only the files the warehouse ingests are downloaded (metadata CSVs, never the h5ad
  matrices), to the cache, and read from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ingest import registry
from ingest.base import SourceFile, component_and_version
from warehouse import progress
from warehouse.errors import DataError, UsageError
from warehouse.remote import cache, manifest
from warehouse.remote.fs import explained, filesystem, join, scheme

# Top-level folders of an ABC release layout: read through the manifest, never walked.
ABC_TOP = {"releases", "metadata", "expression_matrices", "image_volumes", "mapmycells"}


@dataclass(frozen=True)
class Candidate:
    module: ModuleType
    role: str
    remote: cache.Remote
    relative: str  # the path under the location, for component/version folders
    release: str | None = None
    component: str | None = None
    version: str | None = None


def _uri(kind: str, fs_path: str) -> str:
    return fs_path if kind in ("http", "https") else f"{kind}://{fs_path}"


def _recognise(relative: str) -> tuple[ModuleType, str] | None:
    path = Path(relative)
    for module in registry.MODULES:
        role = module.recognise(path)
        if role:
            return module, role
    return None


def _is_dir(fs, kind: str, path: str) -> bool:
    if kind in ("http", "https"):
        return path.endswith("/")
    return fs.info(path)["type"] == "directory"


def resolve(location: str, cache_root: Path, release: str | None = None
            ) -> dict[ModuleType, list[SourceFile]]:
    kind = scheme(location)
    fs, path = filesystem(location)
    if kind not in ("http", "https"):
        path = path.rstrip("/")
    candidates: list[Candidate] = []
    with explained(location):
        if manifest.release_of(path):
            candidates += _from_manifest(fs, kind, path)
        elif not _is_dir(fs, kind, path):
            candidates.append(_single(fs, kind, path, location))
        else:
            manifest_path = _find_manifest(fs, kind, path, release)
            if manifest_path:
                candidates += _from_manifest(fs, kind, manifest_path)
            candidates += _walk(fs, kind, path, skip_abc=manifest_path is not None)
    if not candidates:
        raise UsageError(f"no Allen source files found at {location}",
                         hint="see `brainwh build --help` for the names recognised")
    found: dict[ModuleType, list[SourceFile]] = {}
    for candidate in candidates:
        local = cache.fetch(fs, candidate.remote, cache_root)
        component, version = component_and_version(Path(candidate.relative))
        found.setdefault(candidate.module, []).append(SourceFile(
            path=local, role=candidate.role, uri=candidate.remote.uri,
            component=candidate.component or component, version=candidate.version or version,
            release=candidate.release, md5=candidate.remote.md5))
    return found


def _single(fs, kind: str, path: str, location: str) -> Candidate:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    match = _recognise(name)
    if match is None:
        raise DataError("not a file this source knows", file=location,
                        hint="point at a folder, a release manifest or a recognised file")
    info = fs.info(path)
    return Candidate(match[0], match[1], cache.Remote(
        uri=_uri(kind, path), path=path, size=info.get("size"), etag=info.get("ETag")),
        relative=path.split("://", 1)[-1])


def _find_manifest(fs, kind: str, path: str, release: str | None) -> str | None:
    releases_dir = join(path, "releases")
    try:
        entries = fs.ls(releases_dir + ("/" if kind in ("http", "https") else ""),
                        detail=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    names = sorted({entry.rstrip("/").rsplit("/", 1)[-1] for entry in entries})
    available = [name for name in names if manifest.RELEASE.match(name)]
    if release:
        if release not in available:
            raise UsageError(f"release {release} is not under {_uri(kind, releases_dir)}",
                             hint="releases there: " + (", ".join(available) or "none"))
        available = [release]
    for name in reversed(available):  # newest first
        candidate = join(releases_dir, f"{name}/manifest.json")
        if fs.exists(candidate):
            return candidate
    return None


def _from_manifest(fs, kind: str, manifest_path: str) -> list[Candidate]:
    uri = _uri(kind, manifest_path)
    with explained(uri):
        listing = manifest.parse(fs.cat_file(manifest_path), uri=uri)
    base = manifest_path[: manifest_path.rindex("releases/")]
    chosen = []
    for entry in listing.ingestible():
        match = _recognise(entry.relative_path)
        if match is None:
            continue
        path = join(base, entry.relative_path)
        chosen.append(Candidate(match[0], match[1], cache.Remote(
            uri=_uri(kind, path), path=path, size=entry.size, md5=entry.md5),
            relative=entry.relative_path, release=listing.release, component=entry.directory,
            version=entry.version))
    progress.note(f"release {listing.release} ({uri}): {len(chosen)} file(s) to read")
    for candidate in chosen:  # fail early, naming the manifest, when a listed file is missing
        with explained(candidate.remote.uri, listed_in=uri):
            if not fs.exists(candidate.remote.path):
                raise FileNotFoundError(candidate.remote.path)
    return chosen


def _walk(fs, kind: str, path: str, *, skip_abc: bool) -> list[Candidate]:
    root = path.rstrip("/")
    tops = [root]
    if skip_abc:
        tops = [entry for entry in fs.ls(root + ("/" if kind in ("http", "https") else ""),
                                         detail=False)
                if entry.rstrip("/").rsplit("/", 1)[-1] not in ABC_TOP]
    chosen = []
    for top in tops:
        listing = fs.find(top, detail=True) if _is_dir(fs, kind, top) else \
            {top: fs.info(top)}
        for file_path, info in sorted(listing.items()):
            relative = file_path[len(root):].lstrip("/")
            match = _recognise(relative)
            if match is None:
                continue
            chosen.append(Candidate(match[0], match[1], cache.Remote(
                uri=_uri(kind, file_path), path=file_path, size=info.get("size"),
                etag=info.get("ETag")), relative=relative))
    return chosen
