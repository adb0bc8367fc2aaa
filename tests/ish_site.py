"""The Allen Mouse Brain Atlas part of the local Allen site (tests/allen_site.py), from a
sample release's `ish/` folder: the SectionDataSet and StructureUnionize rows as RMA models, the
grid zips at grid_data/download/<id>, the annotation on the download server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ANNOTATION = Path("informatics-archive/current-release/mouse_annotation/"
                  "P56_Mouse_gridAnnotation.zip")


def add_ish(site: Path, release: Path) -> None:
    ish = release / "ish"
    models = site / "api" / "models"
    models.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ish / "SectionDataSet.json", models / "SectionDataSet.json")
    rows = []
    for page in sorted((ish / "StructureUnionize").glob("*/*.json")):
        rows.extend(json.loads(page.read_text())["msg"])
    rows.sort(key=lambda row: row["id"])
    (models / "StructureUnionize.json").write_text(json.dumps(rows))
    (site / "grid").mkdir(parents=True, exist_ok=True)
    for grid in sorted((ish / "grids").glob("*.zip")):
        shutil.copyfile(grid, site / "grid" / grid.name)
    (site / ANNOTATION).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ish / "P56_Mouse_gridAnnotation.zip", site / ANNOTATION)
