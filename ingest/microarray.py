"""Allen Human Brain Atlas microarray → `ahba_donors`, `ahba_probes`, `ahba_samples`,
`ahba_expression` (a view over `ahba_expression_arrays`), gene-level values and statistics.

Input: per donor `normalized_microarray_donor<uid>/` (or the downloaded `.zip` as it is) with
`MicroarrayExpression.csv` and `PACall.csv` (no header: column 0 the probe id, column j the
sample on row j of SampleAnnot), `Probes.csv`, `SampleAnnot.csv` and `Ontology.csv` (loaded by
`ingest.ontology`; from a zip, this module hands it over). The parts live in `ingest.ahba`:
donors and zips, metadata checks, matrix parsing, the load pipeline, the derived statistics.
"""

from __future__ import annotations

import re

import duckdb

from ingest import ontology
from ingest.ahba import derive as derived
from ingest.ahba import donors, loader
from ingest.ahba.schema import DDL
from ingest.base import Report, SourceFile
from ingest.probe import Probe

KIND = "microarray"
ROLES = {**{name: role for role, name in donors.FILES.items()},
         "normalized_microarray_donor<uid>.zip": "donor_zip"}
NAMES = {name: role for role, name in donors.FILES.items()}
ZIP = re.compile(r"^normalized_microarray_donor\d+\.zip$", re.IGNORECASE)
TABLES = {"expression": "ahba_expression_arrays", "pacall": "ahba_expression_arrays",
          "probes": "ahba_probes", "sample_annot": "ahba_samples",
          "donor_zip": "ahba_expression_arrays"}
ABC_FILES: dict[str, str] = {}
_NUMBER = re.compile(r"^-?\d+(\.\d*)?([eE][-+]?\d+)?$")

__all__ = ["ABC_FILES", "DDL", "KIND", "TABLES", "derive", "identify", "load"]


def _numeric_line(probe: Probe) -> bool:
    """A header-less matrix row: a probe id, then numbers."""
    if not probe.lines:
        return False
    fields = probe.lines[0].split(",")
    return len(fields) > 1 and all(_NUMBER.match(f.strip()) for f in fields[:50])


def identify(probe: Probe) -> str | None:
    """A donor's files: Probes.csv and the microarray SampleAnnot.csv by their columns (the
    RNA-seq SampleAnnot.csv of abagen's rnaseq/ folder has others), the header-less matrices
    by name and numeric content, the donor zip by name and zip signature."""
    if probe.has_columns("probe_id", "probe_name", "gene_symbol"):
        return "probes"
    if probe.has_columns("structure_id", "well_id", "slab_num", "mni_x"):
        return "sample_annot"
    role = ROLES.get(probe.name)
    if role in ("expression", "pacall") and _numeric_line(probe):
        return role
    if ZIP.match(probe.name) and probe.is_zip:
        return "donor_zip"
    return None


def load(con: duckdb.DuckDBPyConnection, sources: list[SourceFile], report: Report) -> None:
    for statement in DDL:
        con.execute(statement)
    with donors.find(sources) as (found, zipped_ontologies):
        if zipped_ontologies:
            ontology.load(con, zipped_ontologies, report)
        loader.load(con, found, report)


def derive(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    for statement in DDL:
        con.execute(statement)
    derived.derive(con, report)
