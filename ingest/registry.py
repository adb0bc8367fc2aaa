"""The ordered list of source modules, and finding their files under a folder.

A source module has `KIND`, `DDL` (its tables, created empty in every warehouse so that every
view binds), `recognise(path) -> role | None`, `load(con, files, report)` and optionally
`derive(con, report)` (rebuilt after every load). Order matters: ontologies first (others
resolve structure ids against them), the taxonomy before the cells that point into it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from ingest import abc_cells, abc_taxonomy, cell_types, microarray, ontology
from ingest.base import INGEST_LOG_DDL, SourceFile, component_and_version
from warehouse import progress
from warehouse.errors import DataError, UsageError
from warehouse.remote import manifest
from warehouse.remote.manifest import INGESTED_DIRECTORIES

MODULES: tuple[ModuleType, ...] = (ontology, abc_taxonomy, abc_cells, microarray, cell_types)

# `brainwh ingest KIND`: which modules a kind may feed.
KINDS: dict[str, tuple[ModuleType, ...]] = {
    "ontology": (ontology,),
    "taxonomy": (abc_taxonomy,),
    "cells": (abc_taxonomy, abc_cells),
    "ephys": (cell_types,),
    "microarray": (ontology, microarray),
}


def register(kind: str, module: ModuleType, *, also: Iterable[str] = ()) -> None:
    """Add a source module (in load order) and the CLI kinds it answers to."""
    global MODULES
    if module not in MODULES:
        MODULES = (*MODULES, module)
    KINDS[kind] = (*KINDS.get(kind, ()), module)
    for other in also:
        KINDS[other] = (*KINDS.get(other, ()), module)


def all_ddl() -> list[str]:
    return [INGEST_LOG_DDL, *(statement for module in MODULES for statement in module.DDL)]


def _walk(root: Path) -> Iterable[Path]:
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(directory) / name


def source_file(path: Path, role: str, **extra) -> SourceFile:
    component, version = component_and_version(path)
    return SourceFile(path=path, role=role, component=component, version=version, **extra)


def discover(
    paths: Iterable[Path], modules: Iterable[ModuleType] | None = None, *, explicit: bool = False
) -> dict[ModuleType, list[SourceFile]]:
    """Every known file under `paths`, grouped by module in load order.

    With `explicit=True` (files named on the command line) an unrecognised file is an error;
    inside folders, unknown files are passed over.
    """
    chosen = tuple(modules or MODULES)
    found: dict[ModuleType, list[SourceFile]] = {}

    def recognise(path: Path) -> tuple[ModuleType, str] | None:
        for module in chosen:
            role = module.recognise(path)
            if role:
                return module, role
        return None

    for given in paths:
        if not given.exists():
            raise UsageError(f"no such file or folder: {given}",
                             hint="check the path (sources are local paths, s3:// or https://)")
        candidates = list(_walk(given)) if given.is_dir() else [given]
        listed = _release_listing(given) if given.is_dir() else None
        for path in candidates:
            extra: dict = {}
            if listed is not None and path.suffix != ".json":
                relative = path.relative_to(given).as_posix()
                entry = listed.get(relative)
                if entry is None and relative.split("/")[:2] in (
                        ["metadata", d] for d in INGESTED_DIRECTORIES):
                    progress.note(f"note: {path} is not in the release manifest: skipped")
                    continue
                if entry is not None:
                    extra = entry
            match = recognise(path)
            if match is None:
                if explicit and not given.is_dir():
                    names = sorted({name for m in chosen for name in _known_names(m)})
                    raise DataError(
                        "not a file this source knows", file=str(path),
                        hint="recognised names: " + ", ".join(names),
                    )
                continue
            module, role = match
            found.setdefault(module, []).append(source_file(path, role, **extra))
    return {module: found[module] for module in MODULES if module in found}


def _release_listing(root: Path) -> dict[str, dict] | None:
    """A local copy of an ABC release: the newest `releases/<R>/manifest.json` under `root`
    says which file versions belong to the release, with their md5s (checked at load)."""
    manifests = sorted(root.glob("releases/*/manifest.json"))
    if not manifests:
        return None
    newest = manifests[-1]
    listing = manifest.parse(newest.read_bytes(), uri=str(newest))
    progress.note(f"ABC release {listing.release} (from {newest})")
    return {f.relative_path: {"release": listing.release, "md5": f.md5}
            for f in listing.ingestible()}


def _known_names(module: ModuleType) -> list[str]:
    return list(getattr(module, "KNOWN_NAMES", None) or getattr(module, "ROLES", None)
                or [module.KIND])
