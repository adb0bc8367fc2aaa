"""`brainwh sample`: a synthetic release in the real formats, layouts and quirks.

Each generator writes one source's files under the release folder exactly where and how Allen
publishes them, so the demo and the tests run the real ingest code path. Generators are listed
in `GENERATORS` (each `write(directory, scale, seed)`); a new source adds its own before
`manifest.write`, which lists every file written in the ABC layout and so comes last.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.sample import (
    abc,
    abc_cache,
    cell_types,
    expression,
    ish,
    manifest,
    merfish,
    microarray,
    ontology,
    parcellation,
)

SCALES = ("tiny", "small", "full")

Generator = Callable[[Path, str, int], None]
GENERATORS: list[Generator] = [ontology.write, abc.write, parcellation.write, merfish.write,
                               cell_types.write, microarray.write, expression.write,
                               ish.write, manifest.write]


LAYOUTS = ("release", "abc-cache")


def write_release(directory: Path, *, scale: str = "small", seed: int = 42,
                  layout: str = "release") -> None:
    """Every generator's files under `directory`; `layout="abc-cache"` then lays the ABC part
    out as an abc_atlas_access cache (other datasets, older and newer manifests)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
    directory.mkdir(parents=True, exist_ok=True)
    for generate in GENERATORS:
        generate(directory, scale, seed)
    if layout == "abc-cache":
        abc_cache.apply(directory)
