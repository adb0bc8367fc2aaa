"""The ABC Atlas release layout and its manifests (DATA_FORMATS.md §1.1).

A release folder (the public bucket, a `brainwh fetch` cache, an abc_atlas_access cache) holds
`releases/<YYYYMMDD>/manifest.json` files and the data under
`<top>/<dataset>/<version>/[views/]<file>` (`top` is metadata, expression_matrices,
image_volumes or mapmycells). A manifest names, for every dataset, the version of each file
that belongs to the release, with its size and md5.

abc_atlas_access downloads the newest manifest whenever it starts, so caches hold manifests
newer than the data. `choose()` therefore takes the release the user asked for, else the
newest release whose files brainwh loads are all on disk, and says why newer ones were passed
over; when none is complete it names what is missing.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ingest.probe import AbcPlace
from warehouse.errors import DataError, UsageError

RELEASE = re.compile(r"^\d{8}$")
MANIFEST = re.compile(r"(?:^|/)releases/(\d{8})/manifest\.json$")
TOPS = ("metadata", "expression_matrices", "image_volumes", "mapmycells")


def place(relative: str) -> AbcPlace | None:
    """Where `relative` sits in an ABC layout, or None when it is not in one.

    Only `<top>/<dataset>/<YYYYMMDD>/...` counts, so a user's own folder named `metadata` is
    not mistaken for a release.
    """
    parts = relative.split("/")
    for index, part in enumerate(parts[:-3]):
        if part in TOPS and RELEASE.match(parts[index + 2]):
            return AbcPlace(root="/".join(parts[:index]), top=part, dataset=parts[index + 1],
                            version=parts[index + 2], relative="/".join(parts[index:]))
    return None


def manifest_root(relative: str) -> str | None:
    """The layout root of `.../releases/<R>/manifest.json` ('' at the top), else None."""
    match = MANIFEST.search(relative)
    if not match:
        return None
    return relative[: match.start()].lstrip("/") if match.start() else ""


def claim_key(where: AbcPlace) -> str:
    """`metadata/WMB-10X/cell_metadata.csv`: the place without its version, as `ABC_FILES`
    patterns are written."""
    parts = where.relative.split("/")
    return "/".join([parts[0], parts[1], *parts[3:]])


def claims(patterns: Iterable[str], where: AbcPlace) -> bool:
    key = claim_key(where)
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)


@dataclass(frozen=True)
class ListedFile:
    directory: str  # the dataset, e.g. WMB-10X
    kind: str  # e.g. metadata
    relative_path: str  # e.g. metadata/WMB-10X/20241115/cell_metadata.csv
    version: str | None
    size: int | None
    md5: str | None

    @property
    def where(self) -> AbcPlace | None:
        return place(self.relative_path)


@dataclass(frozen=True)
class Manifest:
    release: str
    resource_uri: str
    files: tuple[ListedFile, ...]
    uri: str  # where this manifest was read

    def by_path(self) -> dict[str, ListedFile]:
        return {f.relative_path: f for f in self.files}

    def version_of(self, dataset: str, kind: str = "metadata") -> str | None:
        versions = {f.version for f in self.files if f.directory == dataset and f.kind == kind}
        return versions.pop() if len(versions) == 1 else None


def _walk(node, directory: str, kind: str, out: list[ListedFile]) -> None:
    if not isinstance(node, dict):
        return
    files = node.get("files")
    if isinstance(files, dict):
        for entry in files.values():
            if isinstance(entry, dict) and "relative_path" in entry:
                out.append(ListedFile(
                    directory=directory, kind=kind, relative_path=str(entry["relative_path"]),
                    version=entry.get("version"), size=entry.get("size"),
                    md5=(entry.get("file_hash") or None)))
        return
    for value in node.values():
        _walk(value, directory, kind, out)


def parse(text: str | bytes, *, uri: str) -> Manifest:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise DataError(f"not JSON: {error}", file=uri,
                        hint="download the manifest again; it may be truncated") from None
    if not isinstance(data, dict) or "file_listing" not in data or "version" not in data:
        raise DataError("not an ABC release manifest (no version / file_listing)", file=uri,
                        hint="point at releases/<YYYYMMDD>/manifest.json of an ABC release")
    files: list[ListedFile] = []
    for directory, kinds in (data.get("file_listing") or {}).items():
        for kind, listing in (kinds or {}).items():
            _walk(listing, directory, kind, files)
    return Manifest(release=str(data["version"]), resource_uri=str(data.get("resource_uri", "")),
                    files=tuple(files), uri=uri)


def release_of(path: str) -> str | None:
    """`.../releases/20250531/manifest.json` -> '20250531'."""
    match = MANIFEST.search(path)
    return match.group(1) if match else None


@dataclass
class Choice:
    """The release a layout is read as, and what was noticed choosing it."""

    manifest: Manifest | None
    notes: list[str] = field(default_factory=list)


def choose(manifests: list[Manifest], *, wanted: str | None, loaded: Callable[[ListedFile], bool],
           on_disk: set[str], where: str) -> Choice:
    """The manifest to read a layout through.

    `loaded(file)` says whether brainwh would load a listed file; `on_disk` holds the layout's
    files brainwh would load (paths from the layout root). A release *loses* an on-disk file
    when it lists no file of that name and dataset that is on disk (nothing replaces it), and
    *misses* a listed file that is not on disk. Chosen: the release asked for (refused if it
    loses a file), else the newest that neither loses nor misses, else the newest that loses
    nothing (a partial download, noted); when every release loses a file, the build stops.
    """
    if not manifests:
        if wanted:
            raise UsageError(f"--release {wanted}: there is no releases/<YYYYMMDD>/manifest.json "
                             f"under {where}",
                             hint="drop --release, or fetch the release first: brainwh fetch "
                             f"abc --release {wanted} --cache DIR")
        return Choice(None)
    by_release = {m.release: m for m in manifests}

    def assess(manifest: Manifest) -> tuple[list[str], list[str]]:
        listed = {f.relative_path for f in manifest.files if loaded(f)}
        missing = sorted(listed - on_disk)
        replaced = {claim_key(w) for p in listed & on_disk if (w := place(p))}
        lost = sorted(p for p in on_disk - listed if (w := place(p)) and claim_key(w)
                      not in replaced)
        return missing, lost

    if wanted:
        if wanted not in by_release:
            raise UsageError(f"release {wanted} is not under {where}",
                             hint="releases there: " + ", ".join(sorted(by_release)))
        missing, lost = assess(by_release[wanted])
        if lost:
            raise DataError(
                f"release {wanted} does not list {_few(lost)}, and lists no other version of "
                "them that is on disk: building it would leave their data out", file=where,
                hint=f"download release {wanted}'s files (brainwh fetch abc --release {wanted} "
                "--cache DIR), or choose the release these files belong to with --release")
        choice = Choice(by_release[wanted])
        if missing:
            choice.notes.append(f"release {wanted}: not on disk (not downloaded), so not "
                                f"loaded: {_few(missing)}")
        return choice
    assessed = {r: assess(by_release[r]) for r in sorted(by_release, reverse=True)}
    passed = [f"{r} lists {_few(missing)}" for r, (missing, _lost) in assessed.items() if missing]
    for release, (missing, lost) in assessed.items():
        if not missing and not lost:
            newer = [p for p in passed if p[:8] > release]
            choice = Choice(by_release[release])
            if newer:
                choice.notes.append(
                    f"ABC release {release} chosen: newer manifest(s) name files that are not "
                    f"on disk ({'; '.join(newer)}); --release picks another")
            return choice
    for release, (missing, lost) in assessed.items():
        if not lost:
            return Choice(by_release[release], notes=[
                f"ABC release {release} (the newest that lists every file on disk): not on "
                f"disk (not downloaded), so not loaded: {_few(missing)}"])
    detail = "; ".join(f"{r} does not list {_few(lost)}" for r, (_m, lost) in assessed.items())
    raise DataError(
        f"no release manifest matches the files on disk ({detail}): building would leave "
        "their data out", file=where,
        hint="fetch the files of a release (brainwh fetch abc --release YYYYMMDD --cache DIR), "
        "or add the manifest of the release these files belong to (releases/<R>/manifest.json)")


def _few(paths: list[str], limit: int = 3) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")
