"""Bad ABC input: one clear message (file, line, column, expectation), exit 1, nothing lost."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tests.helpers import ingest_refused, snapshot, write_hand_made_release

CELLS = Path("metadata/WMB-10X/20241115/cell_metadata.csv")
ROIS = Path("metadata/WMB-10X/20241115/region_of_interest_metadata.csv")
TAXONOMY = Path("metadata/WMB-taxonomy/20231215")


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return write_hand_made_release(tmp_path_factory.mktemp("good") / "release")


@pytest.fixture
def loaded(release, tmp_path) -> Path:
    """A warehouse already holding the hand-made release."""
    from warehouse.build import run

    db = tmp_path / "loaded.duckdb"
    run(db, [str(release)], fresh=True)
    return db


def _rewrite(src: Path, dst: Path, mutate) -> Path:
    with open(src, newline="") as handle:
        rows = list(csv.reader(handle))
    mutate(rows)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return dst


def _col(rows, name):
    return rows[0].index(name)


def _copy_cells(release: Path, tmp: Path, mutate=None, text=None, raw: bytes | None = None):
    target = tmp / "broken" / CELLS
    target.parent.mkdir(parents=True, exist_ok=True)
    if raw is not None:
        target.write_bytes(raw)
    elif text is not None:
        target.write_text(text)
    else:
        _rewrite(release / CELLS, target, mutate)
    return target


def _cell_cases(release: Path):
    good = (release / CELLS).read_text()
    lines = good.splitlines(keepends=True)
    return {
        "missing column": (
            dict(mutate=lambda r: r[0].__setitem__(_col(r, "cluster_alias"), "cluster")),
            ["line 1", "missing column(s) cluster_alias"]),
        "wrong type": (
            dict(mutate=lambda r: r[4].__setitem__(_col(r, "cluster_alias"), "twelve")),
            ["line 5", "column 'cluster_alias'", "expected a whole number, found 'twelve'"]),
        "float where int": (
            dict(mutate=lambda r: r[3].__setitem__(_col(r, "x"), "north")),
            ["line 4", "column 'x'", "expected a number"]),
        "empty file": (dict(text=""), ["the file is empty"]),
        "header only": (dict(text=lines[0]), ["line 2", "no cells"]),
        "duplicate key": (
            dict(mutate=lambda r: r.append(list(r[3]))),
            ["line 17", "duplicate cell_label", "also on line 4"]),
        "extra field": (
            dict(mutate=lambda r: r[6].append("surplus")),
            ["line 7", "expected 17 fields, found 18"]),
        "truncated": (dict(text=good[: len(good) // 2]), ["line 9", "expected 17 fields"]),
        "unterminated quote": (dict(text=good + '"unterminated'), ["never closed"]),
        "wrong delimiter": (dict(text=good.replace(",", ";")),
                            ["line 1", "is the file comma-separated?"]),
        "binary garbage": (dict(raw=b"PAR1\x00\x15\x04\x15\x80" * 50), ["binary, not CSV"]),
        "wrong encoding": (dict(raw=good.encode("utf-16")), ["binary"]),
        "latin-1 text": (dict(raw=good.replace("Snap25", "Snäp25").encode("latin-1")),
                         ["line 2", "not valid UTF-8"]),
        "bad uuid": (
            dict(mutate=lambda r: r[8].__setitem__(_col(r, "abc_sample_id"), "484be5df-oops")),
            ["line 9", "column 'abc_sample_id'", "expected a UUID"]),
        "missing cell_label value": (
            dict(mutate=lambda r: r[2].__setitem__(0, "")),
            ["line 3", "column 'cell_label'", "cell_label is empty"]),
    }


CELL_CASES = ["missing column", "wrong type", "float where int", "empty file", "header only",
              "duplicate key", "extra field", "truncated", "unterminated quote",
              "wrong delimiter", "binary garbage", "wrong encoding", "latin-1 text",
              "bad uuid", "missing cell_label value"]


@pytest.mark.parametrize("case", CELL_CASES)
def test_bad_cell_metadata(case, release, loaded, tmp_path, run):
    kwargs, expected = _cell_cases(release)[case]
    path = _copy_cells(release, tmp_path, **kwargs)
    ingest_refused(run, "cells", path, loaded, [str(path), *expected], hint=True)


def _taxonomy_copy(release: Path, tmp: Path) -> Path:
    target = tmp / "broken" / TAXONOMY
    shutil.copytree(release / TAXONOMY, target)
    return target


TAXONOMY_CASES = {
    "unknown parent term": (
        "cluster_annotation_term.csv",
        lambda r: r[5].__setitem__(_col(r, "parent_term_label"), "CS20230722_SUBC_999"),
        ["line 6", "column 'parent_term_label'", "'CS20230722_SUBC_999' is not a term"]),
    "membership to unknown term": (
        "cluster_to_cluster_annotation_membership.csv",
        lambda r: r[3].__setitem__(0, "CS20230722_CLUS_404"),
        ["line 4", "column 'cluster_annotation_term_label'", "CS20230722_CLUS_404"]),
    "membership to unknown cluster": (
        "cluster_to_cluster_annotation_membership.csv",
        lambda r: r[2].__setitem__(_col(r, "cluster_alias"), "77777"),
        ["line 3", "column 'cluster_alias'", "cluster alias 77777 is not in the taxonomy"]),
    "duplicate cluster alias": (
        "cluster.csv", lambda r: r.append(list(r[1])), ["duplicate cluster_alias"]),
    "unknown level": (
        "cluster_annotation_term.csv",
        lambda r: r[2].__setitem__(_col(r, "cluster_annotation_term_set_name"), "family"),
        ["line 3", "unknown term set 'family'"]),
    "non-numeric alias": (
        "cluster.csv", lambda r: r[2].__setitem__(0, "12a"),
        ["line 3", "column 'cluster_alias'", "expected a whole number"]),
}


@pytest.mark.parametrize("case", sorted(TAXONOMY_CASES))
def test_bad_taxonomy(case, release, loaded, tmp_path, run):
    name, mutate, expected = TAXONOMY_CASES[case]
    folder = _taxonomy_copy(release, tmp_path)
    _rewrite(folder / name, folder / name, mutate)
    ingest_refused(run, "taxonomy", folder, loaded, [str(folder / name), *expected])


def test_taxonomy_without_cluster_csv(release, loaded, tmp_path, run):
    folder = _taxonomy_copy(release, tmp_path)
    (folder / "cluster.csv").unlink()
    result = run("ingest", "taxonomy", str(folder), "--db", str(loaded))
    assert result.exit_code == 1 and "needs cluster.csv" in result.stderr


def test_bad_roi_metadata(release, loaded, tmp_path, run):
    path = _rewrite(release / ROIS, tmp_path / "broken" / ROIS, lambda r: r.append(list(r[2])))
    before = snapshot(loaded)
    result = run("ingest", "cells", str(path), "--db", str(loaded))
    assert result.exit_code == 1
    assert "duplicate acronym 'MOp'" in result.stderr and "line 5" in result.stderr
    assert snapshot(loaded) == before


def test_unknown_file_and_missing_path(loaded, tmp_path, run):
    stray = tmp_path / "cells.tsv"
    stray.write_text("a\tb\n")
    result = run("ingest", "cells", str(stray), "--db", str(loaded))
    assert result.exit_code == 1 and "not a file this source knows" in result.stderr
    assert "cell_metadata.csv" in result.stderr
    result = run("ingest", "cells", str(tmp_path / "nowhere"), "--db", str(loaded))
    assert result.exit_code == 2 and "no such file or folder" in result.stderr


def test_ingest_cells_keeps_other_sources_and_views(release, loaded, tmp_path, run):
    """A good re-ingest of cells replaces cells only; the ontology and views stay."""
    before = snapshot(loaded)
    result = run("ingest", "cells", str(release / CELLS.parent), "--db", str(loaded))
    assert result.exit_code == 0, result.stderr
    after = snapshot(loaded)
    for table in ("structures", "structure_ancestors", "cell_types", "cells",
                  "roi_cluster_counts"):
        assert after[table] == before[table], table
    views = run("sql", "select count(*) as n from composition", "--db", str(loaded),
                "--format", "csv")
    assert views.exit_code == 0 and views.stdout.splitlines()[1] != "0"
