"""Bad Cell Types input: exit 1, one message naming file, line and column, warehouse unchanged."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, MOUSE_ONTOLOGY, ingest_refused, snapshot

SPECIMENS = FIXTURES / "cell_types_specimen_details.csv"
FEATURES = FIXTURES / "ephys_features.csv"


@pytest.fixture(scope="module")
def loaded_once(tmp_path_factory) -> Path:
    """A warehouse holding the real ontology and the real Cell Types files."""
    from warehouse.build import run

    db = tmp_path_factory.mktemp("ephys_loaded") / "loaded.duckdb"
    run(db, [str(MOUSE_ONTOLOGY)], kind="ontology", fresh=True)
    run(db, [str(SPECIMENS), str(FEATURES)], kind="ephys", fresh=False)
    return db


@pytest.fixture
def loaded(loaded_once, tmp_path) -> Path:
    db = tmp_path / "loaded.duckdb"
    shutil.copyfile(loaded_once, db)
    return db


def _rewrite(source: Path, target: Path, mutate, *, quote_all: bool) -> Path:
    with open(source, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    mutate(rows)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n",
                   quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL).writerows(rows)
    return target


def _set(row: int, column: str, value: str):
    def mutate(rows):
        rows[row][rows[0].index(column)] = value
    return mutate


def _rename(column: str, new: str):
    def mutate(rows):
        rows[0][rows[0].index(column)] = new
    return mutate


def _duplicate(row: int):
    def mutate(rows):
        rows.append(list(rows[row]))
    return mutate


# case: (file, mutation, texts the message must contain)
CASES = {
    "features: missing required column": (
        FEATURES, _rename("vrest", "v_rest"),
        ["line 1", "missing column(s) vrest"]),
    "features: non-numeric feature": (
        FEATURES, _set(4, "tau", "fast"),
        ["line 5", "column 'tau'", "expected a number, found 'fast'"]),
    "features: duplicate specimen": (
        FEATURES, _duplicate(3),
        ["line 1339", "column 'specimen_id'", "duplicate specimen_id", "also on line 4"]),
    "features: not a boolean": (
        FEATURES, _set(7, "has_burst", "maybe"),
        ["line 8", "column 'has_burst'", "expected True or False, found 'maybe'"]),
    "features: empty specimen id": (
        FEATURES, _set(9, "specimen_id", ""),
        ["line 10", "column 'specimen_id'", "specimen_id is empty"]),
    "specimens: missing required column": (
        SPECIMENS, _rename("structure__id", "structure_id"),
        ["line 1", "missing column(s) structure__id"]),
    "specimens: duplicate specimen": (
        SPECIMENS, _duplicate(2),
        ["line 2333", "column 'specimen__id'", "duplicate specimen__id", "also on line 3"]),
    "specimens: non-numeric structure id": (
        SPECIMENS, _set(6, "structure__id", "VISp4"),
        ["line 7", "column 'structure__id'", "expected a whole number, found 'VISp4'"]),
    "specimens: unknown species": (
        SPECIMENS, _set(11, "donor__species", "Rattus norvegicus"),
        ["line 12", "column 'donor__species'", "expected Mus musculus or Homo Sapiens"]),
    "specimens: short row": (
        SPECIMENS, lambda rows: rows[20].pop(),
        ["line 21", "expected 54 fields, found 53"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_cell_types_input(case, loaded, tmp_path, run):
    source, mutate, expected = CASES[case]
    broken = _rewrite(source, tmp_path / "broken" / source.name, mutate,
                      quote_all=source == FEATURES)
    ingest_refused(run, "ephys", broken, loaded, [str(broken), *expected], hint=True)


def test_a_bad_file_among_good_ones_loads_nothing(loaded, tmp_path, run):
    """Good specimens with bad features: neither table changes (one publish or none)."""
    broken = _rewrite(FEATURES, tmp_path / "broken" / FEATURES.name, _set(2, "ri", "n/a"),
                      quote_all=True)
    good = tmp_path / "broken" / SPECIMENS.name
    _rewrite(SPECIMENS, good, lambda rows: rows.pop(), quote_all=False)  # one specimen fewer
    before = snapshot(loaded)
    result = run("ingest", "ephys", str(tmp_path / "broken"), "--db", str(loaded))
    assert result.exit_code == 1 and "column 'ri'" in result.stderr
    assert str(broken) in result.stderr
    assert snapshot(loaded) == before


def test_files_are_recognised_by_content_not_by_name(loaded, tmp_path, run):
    """Any name: a features table is read as one (and checked as one); a file that is no
    Cell Types table is refused, naming the files this source reads."""
    renamed = tmp_path / "ephys.csv"
    renamed.write_text("specimen_id,vrest\n1,-70\n")
    before = snapshot(loaded)
    result = run("ingest", "ephys", str(renamed), "--db", str(loaded))
    assert result.exit_code == 1, result.stderr
    assert str(renamed) in result.stderr and "missing column(s) threshold_i_long_square" in \
        result.stderr
    stray = tmp_path / "mystery.csv"
    stray.write_text("a,b\n1,2\n")
    result = run("ingest", "ephys", str(stray), "--db", str(loaded))
    assert result.exit_code == 1 and "not a file this source knows" in result.stderr
    assert "ephys_features.csv" in result.stderr
    assert snapshot(loaded) == before
