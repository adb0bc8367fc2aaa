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
from pathlib import Path

import duckdb

from ingest import ontology
from ingest.ahba import derive as derived
from ingest.ahba import donors, loader
from ingest.ahba.schema import DDL
from ingest.base import Report, SourceFile

KIND = "microarray"
ROLES = {**{name: role for role, name in donors.FILES.items()},
         "normalized_microarray_donor<uid>.zip": "donor_zip"}
ZIP = re.compile(r"^normalized_microarray_donor\d+\.zip$", re.IGNORECASE)

__all__ = ["DDL", "KIND", "derive", "load", "recognise"]


def recognise(path: Path) -> str | None:
    if path.name in ROLES:
        return ROLES[path.name]
    if ZIP.match(path.name):
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
