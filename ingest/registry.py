"""The ordered registry of sources, and the kinds `brainwh ingest KIND` takes.

Order matters: ontologies first (others resolve structure ids against them), the taxonomy
before the cells that point into it. Every module is checked against the loader contract
(`ingest.contract`) when this module is imported. Finding files is `ingest.discovery`'s job.
"""

from __future__ import annotations

from ingest import (
    cells,
    ephys,
    expression,
    ish,
    microarray,
    ontology,
    parcellation,
    spatial,
    taxonomy,
)
from ingest.base import INGEST_LOG_DDL
from ingest.contract import Source, checked

SOURCES: tuple[Source, ...] = tuple(
    checked(module)
    for module in (ontology, ish, taxonomy, cells, parcellation, spatial, expression,
                   microarray, ephys))

# `brainwh ingest KIND`: the sources a kind loads (the microarray donors carry the human
# ontology; cells are checked against the taxonomy loaded with them; MERFISH cells against the
# taxonomy and the CCF parcellation loaded with them).
KINDS: dict[str, tuple[Source, ...]] = {
    "ontology": (ontology,),
    "taxonomy": (taxonomy,),
    "cells": (taxonomy, cells),
    "ephys": (ephys,),
    "microarray": (ontology, microarray),
    "ish": (ontology, ish),
    "parcellation": (parcellation,),
    "spatial": (taxonomy, parcellation, spatial),
    "expression": (taxonomy, expression),  # the statistics' clusters are the taxonomy's
}


def all_ddl() -> list[str]:
    return [INGEST_LOG_DDL, *(statement for source in SOURCES for statement in source.DDL)]


def by_kind(kind: str) -> Source:
    return next(source for source in SOURCES if source.KIND == kind)
