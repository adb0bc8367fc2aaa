"""The ABC Atlas release manifest (`releases/<YYYYMMDD>/manifest.json`, DATA_FORMATS.md §1.1).

A release names, for every directory (WMB-10X, WMB-taxonomy, ...), which version of each file
belongs to it, with its relative path, size and md5 (`file_hash`). brainwh reads the files
of the directories it ingests, at the versions the manifest gives, and checks their md5.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from warehouse.errors import DataError

RELEASE = re.compile(r"^\d{8}$")
MANIFEST = re.compile(r"(^|/)releases/(\d{8})/manifest\.json$")
# The ABC directories whose metadata the warehouse ingests. Others (MERFISH, WHB, Zhuang, ...)
# carry files with the same names (cell_metadata.csv) that belong to other datasets.
INGESTED_DIRECTORIES = ("WMB-10X", "WMB-taxonomy")


@dataclass(frozen=True)
class ListedFile:
    directory: str  # e.g. WMB-10X
    kind: str  # e.g. metadata
    relative_path: str  # e.g. metadata/WMB-10X/20241115/cell_metadata.csv
    version: str | None
    size: int | None
    md5: str | None


@dataclass(frozen=True)
class Manifest:
    release: str
    resource_uri: str
    files: list[ListedFile]

    def ingestible(self) -> list[ListedFile]:
        return [f for f in self.files if f.directory in INGESTED_DIRECTORIES
                and f.kind == "metadata"]


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
    except ValueError as error:
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
                    files=files)


def release_of(path: str) -> str | None:
    """`.../releases/20250531/manifest.json` -> '20250531'."""
    match = MANIFEST.search(path)
    return match.group(2) if match else None
