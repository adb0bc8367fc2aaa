"""The sample release's `releases/<R>/manifest.json`, written last, listing every file the
generators wrote in the ABC layout (`<top>/<dataset>/<version>/...`) with its size and md5, in
the real manifest's schema (DATA_FORMATS.md §1.1)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ingest.abc_release import TOPS, place

RELEASE = "20250531"
BUCKET_URL = "https://allen-brain-cell-atlas.s3.us-west-2.amazonaws.com"


def write(directory: Path, scale: str, seed: int) -> None:
    """A generator like the others (scale and seed unused): run after them."""
    listing: dict = {}
    directories: dict = {}
    totals: dict[tuple[str, str], int] = {}
    for top in TOPS:
        for path in sorted((directory / top).rglob("*")):
            relative = path.relative_to(directory).as_posix()
            where = place(relative)
            if not path.is_file() or where is None:
                continue
            size = path.stat().st_size
            digest = hashlib.md5(path.read_bytes()).hexdigest()
            key = path.name.split(".", 1)[0]
            extension = path.name.split(".", 1)[1] if "." in path.name else ""
            entry = {"version": where.version, "relative_path": relative,
                     "url": f"{BUCKET_URL}/{relative}", "size": size, "file_hash": digest}
            files = listing.setdefault(where.dataset, {}).setdefault(top, {})
            files.setdefault(key, {"files": {}})["files"][extension] = entry
            totals[(where.dataset, top)] = totals.get((where.dataset, top), 0) + size
            relative_dir = f"{top}/{where.dataset}/{where.version}"
            directories.setdefault(where.dataset, {"directories": {}})["directories"][top] = {
                "version": where.version, "relative_path": relative_dir,
                "url": f"{BUCKET_URL}/{relative_dir}/",
                "total_size": totals[(where.dataset, top)]}
    manifest = {"version": RELEASE, "resource_uri": "s3://allen-brain-cell-atlas/",
                "directory_listing": directories, "file_listing": listing}
    target = directory / "releases" / RELEASE / "manifest.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(manifest, indent=2))
