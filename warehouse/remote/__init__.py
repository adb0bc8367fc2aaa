"""Remote sources: `brainwh build s3://bucket/prefix` and `https://...`, read through fsspec.

`resolve(location)` finds the source files at a location (through an ABC release manifest
when there is one), downloads the ones the warehouse ingests to the cache once (resumable,
size- and md5-checked) and returns them as `SourceFile`s whose `path` is the local copy and
whose `uri`, `release` and `md5` say where they came from. `warehouse.build` calls it for every
location with a scheme.

Modules: fs (filesystems, errors), manifest (the release manifest), cache (downloads),
sources (what to read at a location).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

_settings: dict[str, object] = {"cache": None, "release": None}


def configure(*, cache: str | os.PathLike[str] | None = None, release: str | None = None) -> None:
    """Options of `brainwh build`: the cache folder and the ABC release to read."""
    _settings["cache"] = cache
    _settings["release"] = release


def resolve(location: str) -> dict[ModuleType, list]:
    from warehouse.remote import cache, sources

    root = cache.cache_dir(_settings["cache"])  # type: ignore[arg-type]
    release = _settings["release"]
    return sources.resolve(location, Path(root), release if isinstance(release, str) else None)
