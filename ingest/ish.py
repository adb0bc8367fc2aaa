"""Allen Mouse Brain Atlas (in situ hybridisation) -> `ish_experiments`, `ish_genes`,
`ish_structure_expression`, and the 3-D expression grids (`ish_grid_*`).

Input, as the Allen API returns it (DATA_FORMATS.md §5; `brainwh fetch ish` saves it so):

- SectionDataSet results (one experiment: a gene, a brain, a plane; with its nested `genes`)
  and Gene results: RMA JSON (the `msg` envelope, or a bare list) or CSV;
- StructureUnionize results (an experiment's expression summed over each structure);
- expression grid zips (`grid_data/download/<id>?include=energy`: `energy.mhd` + `energy.raw`,
  67 x 41 x 58 float32, -1 = no data), named `<SectionDataSet id>.zip`;
- the grid annotation `P56_Mouse_gridAnnotation.zip` (structure ids at the grid's voxels).

Files are recognised by content: JSON keys, CSV columns, the first member of a zip. The parts
live in `ingest.mouse_ish`: the RMA reader, metadata, unionizes, volumes, grid layout, loader.
"""

from __future__ import annotations

import duckdb

from ingest.base import Report, SourceFile
from ingest.mouse_ish import loader
from ingest.mouse_ish.schema import DDL
from ingest.probe import Probe

KIND = "ish"
TABLES = {"section_data_sets": "ish_experiments", "genes": "ish_genes",
          "unionizes": "ish_structure_expression", "grid_annotation": "ish_grid_voxels",
          "grid": "ish_grids"}
ABC_FILES: dict[str, str] = {}
NAMES = {"*gridAnnotation.zip": "grid_annotation", "SectionDataSet*.json": "section_data_sets",
         "StructureUnionize*.json": "unionizes", "Gene*.json": "genes"}
_GRID_MEMBERS = (b"energy.mhd", b"energy.raw", b"data_set.xml", b"density.mhd", b"density.raw",
                 b"intensity.mhd", b"intensity.raw")

__all__ = ["ABC_FILES", "DDL", "KIND", "NAMES", "TABLES", "derive", "identify", "load"]


def _first_member(probe: Probe) -> bytes:
    """The name of a zip's first member (its local header: name length at 26, name at 30)."""
    head = probe.raw_head
    if len(head) < 30:
        return b""
    length = int.from_bytes(head[26:28], "little")
    return head[30:30 + length].rsplit(b"/", 1)[-1]


def identify(probe: Probe) -> str | None:
    """StructureUnionize by `section_data_set_id` with expression measures (not the
    connectivity atlas's projection unionizes), SectionDataSet by `plane_of_section_id`, Gene by
    `entrez_id` with `acronym` and the gene model's ids; zips by their first member."""
    if probe.is_zip:
        first = _first_member(probe)
        if first.startswith(b"gridAnnotation."):
            return "grid_annotation"
        if first in _GRID_MEMBERS:
            return "grid"
        return None
    if probe.json_keys:
        keys = probe.has_keys
    elif probe.header:
        keys = probe.has_columns
    else:
        return None
    if keys("section_data_set_id") and not keys("projection_energy") and (
            keys("expression_energy") or keys("expression_density") or keys("sum_pixels")):
        return "unionizes"
    if keys("id") and keys("plane_of_section_id") and not keys("section_data_set_id"):
        return "section_data_sets"
    if keys("id", "acronym", "entrez_id") and (
            keys("organism_id") or keys("homologene_id") or keys("chromosome_id")):
        return "genes"
    return None


def load(con: duckdb.DuckDBPyConnection, sources: list[SourceFile], report: Report) -> None:
    loader.load(con, sources, report)


def derive(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    """Nothing: what spans the parts is recomputed at every ISH load (`loader.finish`)."""
