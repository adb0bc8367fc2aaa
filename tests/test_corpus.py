"""The broken-input corpus: every source format, broken in the ways real downloads break.

Each case starts from a valid file of the tiny sample release, breaks it, and loads it into a
warehouse that already holds the whole release. Every case must: exit 1; name the file, the
line (or JSON path) and what was expected; print no traceback; and leave every table exactly as
it was (row counts and checksums).
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import ingest_refused

Rows = list[list[str]]


@dataclass(frozen=True)
class Case:
    kind: str  # brainwh ingest KIND
    file: str  # path inside the release
    breaks: Callable[[Path], Path | None]  # breaks the copied file; may return what to load
    expect: tuple[str, ...]  # fragments the message must contain
    load_folder: bool = False  # pass the file's folder (taxonomy needs its siblings)


def rows_edit(fn: Callable[[Rows], None], *, quote_all: bool = False):
    def apply(path: Path) -> None:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        fn(rows)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n",
                       quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL).writerows(rows)
    return apply


def set_cell(row: int, column: str, value: str, **kw):
    return rows_edit(lambda r: r[row].__setitem__(r[0].index(column), value), **kw)


def rename_column(column: str, new: str, **kw):
    return rows_edit(lambda r: r[0].__setitem__(r[0].index(column), new), **kw)


def duplicate_row(row: int, **kw):
    return rows_edit(lambda r: r.append(list(r[row])), **kw)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 15
    path.write_bytes(data[:cut])


def header_only(path: Path) -> None:
    path.write_bytes(path.read_bytes().split(b"\n", 1)[0] + b"\n")


def empty(path: Path) -> None:
    path.write_bytes(b"")


def garbage(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 40)


def semicolons(path: Path) -> None:
    path.write_text(path.read_text().replace(",", ";"))


def latin1(path: Path) -> None:
    text = path.read_text()
    lines = text.split("\n")
    lines[3] = lines[3] + "é" if not lines[3].endswith('"') else lines[3][:-1] + 'é"'
    path.write_bytes("\n".join(lines).encode("latin-1"))


ONTOLOGY = "ontology/mouse_structures_graph1.csv"
CELLS = "metadata/WMB-10X/20241115/cell_metadata.csv"
ROIS = "metadata/WMB-10X/20241115/region_of_interest_metadata.csv"
TAXONOMY = "metadata/WMB-taxonomy/20231215"
SPECIMENS = "cell_types/cell_types_specimen_details.csv"
FEATURES = "cell_types/ephys_features.csv"
MORPHOLOGY = "cell_types/morphology_features.csv"
DONOR = "ahba/normalized_microarray_donor9861"


def drop_last_line(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))


def matrix_value(row: int, column: int, value: str):
    def apply(path: Path) -> None:
        lines = path.read_text().splitlines(keepends=True)
        fields = lines[row].rstrip("\n").split(",")
        fields[column] = value
        lines[row] = ",".join(fields) + "\n"
        path.write_text("".join(lines))
    return apply


def zip_without(member: str):
    """The donor folder as Allen's download zip, with one member missing."""
    def apply(path: Path) -> Path:
        import zipfile

        folder = path.parent
        archive = folder.parent / f"{folder.name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for item in sorted(folder.iterdir()):
                if item.name != member:
                    zipped.write(item, item.name)
        shutil.rmtree(folder)
        return archive
    return apply

CASES: dict[str, Case] = {
    # structure ontology
    "ontology truncated": Case("ontology", ONTOLOGY, truncate, ("line ", "fields")),
    "ontology header only": Case("ontology", ONTOLOGY, header_only, ("no structures",)),
    "ontology cycle": Case("ontology", ONTOLOGY,
                           set_cell(10, "structure_id_path", "/997/8/567/8/"), ("cycle",)),
    "ontology duplicate id": Case("ontology", ONTOLOGY, duplicate_row(40),
                                  ("duplicate structure id",)),
    "ontology binary garbage": Case("ontology", ONTOLOGY, garbage, ("binary",)),
    "ontology wrong delimiter": Case("ontology", ONTOLOGY, semicolons,
                                     ("line 1", "comma-separated")),
    "ontology path disagrees with parent": Case(
        "ontology", ONTOLOGY, set_cell(30, "parent_structure_id", "997"),
        ("line 31", "disagrees with structure_id_path")),
    # ABC cells
    "cells missing column": Case("cells", CELLS, rename_column("cluster_alias", "cluster"),
                                 ("line 1", "missing column(s) cluster_alias")),
    "cells extra field": Case("cells", CELLS, rows_edit(lambda r: r[20].append("x")),
                              ("line 21", "expected 17 fields, found 18")),
    "cells wrong type": Case("cells", CELLS, set_cell(12, "x", "left"),
                             ("line 13", "column 'x'", "expected a number")),
    "cells empty file": Case("cells", CELLS, empty, ("the file is empty",)),
    "cells header only": Case("cells", CELLS, header_only, ("line 2", "no cells")),
    "cells duplicate key": Case("cells", CELLS, duplicate_row(7),
                                ("duplicate cell_label", "also on line 8")),
    "cells wrong encoding": Case("cells", CELLS, latin1, ("line 4", "UTF-8")),
    "cells truncated": Case("cells", CELLS, truncate, ("line ", "truncated")),
    "cells binary garbage": Case("cells", CELLS, garbage, ("binary",)),
    "rois duplicate acronym": Case("cells", ROIS, duplicate_row(3), ("duplicate acronym",)),
    "rois missing column": Case("cells", ROIS, rename_column("acronym", "abbrev"),
                                ("missing column(s) acronym",)),
    # ABC taxonomy
    "taxonomy unknown parent": Case(
        "taxonomy", f"{TAXONOMY}/cluster_annotation_term.csv",
        set_cell(50, "parent_term_label", "CS20230722_CLAS_99"),
        ("line 51", "column 'parent_term_label'", "not a term"), load_folder=True),
    "taxonomy membership to unknown cluster": Case(
        "taxonomy", f"{TAXONOMY}/cluster_to_cluster_annotation_membership.csv",
        set_cell(9, "cluster_alias", "99999"), ("line 10", "cluster alias 99999"),
        load_folder=True),
    "taxonomy alias not a number": Case(
        "taxonomy", f"{TAXONOMY}/cluster.csv", set_cell(4, "cluster_alias", "4a"),
        ("line 5", "column 'cluster_alias'", "whole number"), load_folder=True),
    "taxonomy duplicate term": Case(
        "taxonomy", f"{TAXONOMY}/cluster_annotation_term.csv", duplicate_row(12),
        ("duplicate label",), load_folder=True),
    # Cell Types
    "specimens missing column": Case(
        "ephys", SPECIMENS, rename_column("specimen__id", "specimen", quote_all=True),
        ("line 1", "specimen__id")),
    "specimens duplicate specimen": Case(
        "ephys", SPECIMENS, duplicate_row(5, quote_all=True), ("duplicate",)),
    "specimens structure id not a number": Case(
        "ephys", SPECIMENS, set_cell(6, "structure__id", "VISp", quote_all=True),
        ("line 7", "structure__id")),
    "features not a number": Case(
        "ephys", FEATURES, set_cell(3, "vrest", "-70 mV", quote_all=True),
        ("line 4", "column 'vrest'", "expected a number")),
    "features header only": Case("ephys", FEATURES, header_only, ("line 2",)),
    "features binary garbage": Case("ephys", FEATURES, garbage, ("binary",)),
    "features wrong delimiter": Case("ephys", FEATURES, semicolons, ("line 1",)),
    "features bad boolean": Case(
        "ephys", FEATURES, set_cell(2, "has_burst", "maybe", quote_all=True),
        ("line 3", "has_burst")),
    "morphology wrong type": Case(
        "ephys", MORPHOLOGY, set_cell(2, "number_stems", "many"),
        ("line 3", "number_stems")),
    # AHBA microarray (a donor folder, as downloaded)
    "microarray columns disagree with SampleAnnot": Case(
        "microarray", f"{DONOR}/SampleAnnot.csv", drop_last_line,
        ("MicroarrayExpression.csv", "line 1", "SampleAnnot.csv"), load_folder=True),
    "microarray value not a number": Case(
        "microarray", f"{DONOR}/MicroarrayExpression.csv", matrix_value(2, 4, "n/a"),
        ("line 3", "expected a number", "'n/a'"), load_folder=True),
    "microarray truncated matrix": Case(
        "microarray", f"{DONOR}/MicroarrayExpression.csv", truncate,
        ("MicroarrayExpression.csv", "line ", "truncated"), load_folder=True),
    "microarray pacall not 0 or 1": Case(
        "microarray", f"{DONOR}/PACall.csv", matrix_value(3, 2, "7"),
        ("PACall.csv", "line 4"), load_folder=True),
    "microarray structure not in ontology": Case(
        "microarray", f"{DONOR}/SampleAnnot.csv", set_cell(2, "structure_id", "999999"),
        ("SampleAnnot.csv", "line 3", "structure_id 999999 is not in the human ontology"),
        load_folder=True),
    "microarray sampleannot missing column": Case(
        "microarray", f"{DONOR}/SampleAnnot.csv", rename_column("well_id", "well"),
        ("SampleAnnot.csv", "line 1", "well_id"), load_folder=True),
    "microarray probes binary garbage": Case(
        "microarray", f"{DONOR}/Probes.csv", garbage, ("Probes.csv", "binary"),
        load_folder=True),
    "microarray zip missing a member": Case(
        "microarray", f"{DONOR}/PACall.csv", zip_without("PACall.csv"),
        ("the zip has no PACall.csv",), load_folder=True),
}


@pytest.fixture
def loaded_copy(tiny_db, tmp_path):
    """A fresh copy of the warehouse built from the whole tiny release, in the case's own folder
    (removed when the case passes: forty 50 MB copies kept to the end filled CI's disk)."""
    target = tmp_path / "warehouse.duckdb"
    shutil.copyfile(tiny_db, target)
    return target


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_input_costs_nothing(name, tiny_release, loaded_copy, tmp_path, run):
    case = CASES[name]
    source = tiny_release / case.file
    broken = tmp_path / "broken" / case.file
    if case.load_folder:
        shutil.copytree(source.parent, broken.parent)
    else:
        broken.parent.mkdir(parents=True)
        shutil.copyfile(source, broken)
    replaced = case.breaks(broken)
    target = replaced or (broken.parent if case.load_folder else broken)
    ingest_refused(run, case.kind, target, loaded_copy, [str(target), *case.expect],
                   hint=True)


def test_corpus_covers_every_source_format():
    kinds = {case.kind for case in CASES.values()}
    assert {"ontology", "cells", "taxonomy", "ephys", "microarray"} <= kinds
    assert len(CASES) >= 30
