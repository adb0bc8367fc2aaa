"""The sample Cell Types release: real formats and quirks, real sizes, plausible values; and
the views and demo answer on the tiny warehouse."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.helpers import FIXTURES

REAL_SPECIMENS = FIXTURES / "cell_types_specimen_details.csv"
REAL_FEATURES = FIXTURES / "ephys_features.csv"


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


@pytest.fixture(scope="module")
def full_release(tmp_path_factory) -> Path:
    from ingest.sample import cell_types

    directory = tmp_path_factory.mktemp("cell_types_full")
    cell_types.write(directory, "full", 42)
    return directory / "cell_types"


def test_sample_files_have_the_real_layout(tiny_release):
    folder = tiny_release / "cell_types"
    assert _header(folder / "cell_types_specimen_details.csv") == _header(REAL_SPECIMENS)
    assert _header(folder / "ephys_features.csv") == _header(REAL_FEATURES)  # unsorted order
    morphology = _header(folder / "morphology_features.csv")
    assert morphology[0] == "" and "specimen_id" in morphology  # pandas' index column


def test_sample_files_carry_the_real_quirks(tiny_release):
    folder = tiny_release / "cell_types"
    details = (folder / "cell_types_specimen_details.csv").read_text()
    assert re.search(r',"""[^"]+""",', details)  # structure__name with literal quotes
    assert ",NA," in details and ',"",' in details
    assert "Mus musculus" in details and "Homo Sapiens" in details
    assert ",2/3," in details
    for line in (folder / "ephys_features.csv").read_text().splitlines()[:20]:
        fields = next(csv.reader([line]))
        assert line == ",".join(f'"{f}"' for f in fields)  # every field quoted
    features = (folder / "ephys_features.csv").read_text()
    assert '"False"' in features and '""' in features


def test_full_scale_has_the_real_sizes(full_release):
    specimens = pd.read_csv(full_release / "cell_types_specimen_details.csv")
    assert len(specimens) == 2333
    assert specimens.donor__species.value_counts().to_dict() == {
        "Mus musculus": 1920, "Homo Sapiens": 413}
    assert specimens.specimen__id.is_unique


def test_full_scale_values_are_plausible(full_release):
    specimens = pd.read_csv(full_release / "cell_types_specimen_details.csv")
    features = pd.read_csv(full_release / "ephys_features.csv")
    assert features.specimen_id.is_unique
    cells = specimens.merge(features, left_on="specimen__id", right_on="specimen_id")
    assert cells.vrest.between(-85, -60).all()
    fast = cells[(cells.tag__dendrite_type == "aspiny")
                 & cells.line_name.fillna("").str.contains("Pvalb")
                 & (cells.donor__species == "Mus musculus")]
    spiny = cells[cells.tag__dendrite_type == "spiny"]
    ratio = "upstroke_downstroke_ratio_long_square"
    assert fast[ratio].between(1.0, 1.6).all() and 1.1 < fast[ratio].mean() < 1.5
    assert 2.8 < spiny[ratio].mean() < 3.8
    assert fast.threshold_i_long_square.median() > spiny.threshold_i_long_square.median()
    mouse = specimens[specimens.donor__species == "Mus musculus"]
    assert mouse.structure__acronym.str.startswith(("VIS", "RSP", "SSp", "AUD", "TEa")).all()
    # a few of each orphan kind, as in the real files
    assert 0 < (~specimens.specimen__id.isin(features.specimen_id)).sum() < 100
    assert 0 < (~features.specimen_id.isin(specimens.specimen__id)).sum() < 20


@pytest.fixture(scope="module")
def tiny(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    yield con
    con.close()


def test_tiny_warehouse_answers_ephys_by_region(tiny):
    rows = dict(tiny.execute(
        """
        select dendrite_type, n_cells from ephys_by_region
        where structure_acronym = 'VISp' and species = 'mouse' and layer = 'all'
        """).fetchall())
    assert {"all", "spiny", "aspiny"} <= set(rows)
    assert rows["all"] >= rows["spiny"] + rows["aspiny"]
    (human,) = tiny.execute(
        "select count(*) from ephys_by_region where species = 'human'").fetchone()
    assert human > 0


def test_region_profile_joins_both_sources(tiny):
    row = tiny.execute(
        """
        select n_cells, top_subclass, top_subclass_fraction, n_ephys_cells, mean_vrest
        from region_profile where structure_acronym = 'VIS'
        """).fetchone()
    n_cells, top, fraction, n_ephys, vrest = row
    assert n_cells > 0 and top and 0 < fraction <= 1 and n_ephys > 0 and -85 <= vrest <= -60
    (mismatch,) = tiny.execute(
        """
        select count(*) from region_profile as p
        join ephys_by_region as e on e.structure_id = p.structure_id and e.species = 'mouse'
            and e.layer = 'all' and e.dendrite_type = 'all'
        where p.n_ephys_cells <> e.n_cells or abs(p.mean_vrest - e.mean_vrest) > 1e-9
        """).fetchone()
    assert mismatch == 0
    (wrong_top,) = tiny.execute(
        """
        select count(*) from region_profile as p
        where p.top_subclass_fraction <> (
            select max(fraction) from composition as c
            where c.region_kind = 'structure' and c.level = 'subclass'
                and c.structure_id = p.structure_id and c.method = p.composition_method)
        """).fetchone()
    assert wrong_top == 0
    (duplicates,) = tiny.execute(
        "select count(*) - count(distinct structure_id) from region_profile").fetchone()
    assert duplicates == 0


@pytest.mark.parametrize("view", ["ephys_by_region", "region_profile"])
def test_view_headers_document_every_column(tiny, view):
    from warehouse.views import parse

    documented = [name for name, _type, _meaning in parse(
        Path(__file__).resolve().parent.parent / "sql" / f"{view}.sql").columns]
    actual = [row[0] for row in tiny.execute(f"describe {view}").fetchall()]
    assert documented == actual


def test_demo_ephys_answer(tiny):
    from warehouse.demo import ANSWERS

    (query,) = [sql for title, sql in ANSWERS if "ephys_by_region" in sql]
    rows = tiny.execute(query).fetchall()
    assert rows and rows[-1][0] == "all"


def test_sample_morphology_loads(tiny, tiny_release):
    written = pd.read_csv(tiny_release / "cell_types" / "morphology_features.csv", index_col=0)
    assert tiny.execute("select count(*) from morphology_features").fetchone()[0] == len(written)
    types = dict(tiny.execute(
        "select column_name, data_type from duckdb_columns() "
        "where table_name = 'morphology_features'").fetchall())
    assert types["max_branch_order"] == "INTEGER" and types["total_length"] == "DOUBLE"
    (unmatched,) = tiny.execute(
        """
        select count(*) from morphology_features as m
        join ephys_specimens as s using (specimen_id)
        where s.reconstruction_type is distinct from m.neuron_reconstruction_type
        """).fetchone()
    assert unmatched == 0
