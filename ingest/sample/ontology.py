"""The sample release's mouse ontology: the real graph-1 file (iblatlas' flat CSV, with its
synthetic `void` row and comma-less names), copied as it is."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

RELATIVE_PATH = Path("ontology") / "mouse_structures_graph1.csv"


def data_file(name: str) -> Path:
    return Path(str(resources.files("ingest") / "data" / name))


def write(directory: Path, scale: str, seed: int) -> None:
    target = directory / RELATIVE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data_file("mouse_structures_graph1.csv"), target)
