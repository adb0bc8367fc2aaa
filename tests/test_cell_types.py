"""Cell Types on the real files: the load report, and ephys_by_region against pandas.

The fixtures are real Allen files (tests/fixtures/cell_types_specimen_details.csv: 2,331
specimens; ephys_features.csv: 1,337 cells as the AllenSDK cache writes them) and the real
mouse ontology. The reference statistics are computed with pandas straight from those files,
the way a user's notebook would, independently of the SQL.
"""

from __future__ import annotations

import math

import duckdb
import pandas as pd
import pytest

from tests.helpers import FIXTURES, MOUSE_ONTOLOGY

SPECIMENS = FIXTURES / "cell_types_specimen_details.csv"
FEATURES = FIXTURES / "ephys_features.csv"
KEY_FEATURES = ("vrest", "threshold_i_long_square", "tau", "ri",
                "upstroke_downstroke_ratio_long_square", "f_i_curve_slope", "sag",
                "adaptation", "avg_isi", "latency")


@pytest.fixture(scope="module")
def real(tmp_path_factory, request):
    """The real files loaded the way a user would: ontology, then ephys, through the CLI."""
    from tests.conftest import brainwh

    db = tmp_path_factory.mktemp("real_ephys") / "real.duckdb"
    ontology = brainwh("ingest", "ontology", str(MOUSE_ONTOLOGY), "--db", str(db))
    assert ontology.exit_code == 0, ontology.stderr
    ephys = brainwh("ingest", "ephys", str(SPECIMENS), str(FEATURES), "--db", str(db))
    return db, ephys


@pytest.fixture(scope="module")
def con(real):
    db, ephys = real
    assert ephys.exit_code == 0, ephys.stderr
    connection = duckdb.connect(str(db), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def frames():
    """pandas' own reading of the real files, with the real mouse ontology."""
    specimens = pd.read_csv(SPECIMENS, dtype={"structure__layer": str})
    features = pd.read_csv(FEATURES)
    ontology = pd.read_csv(MOUSE_ONTOLOGY).dropna(subset=["structure_id_path"])
    cells = specimens.merge(features, how="left", left_on="specimen__id",
                            right_on="specimen_id", indicator=True)
    cells["has_features"] = cells["_merge"] == "both"
    return cells, ontology


def _members(cells: pd.DataFrame, ontology: pd.DataFrame, acronym: str, species: str):
    if species == "mouse":
        (structure_id,) = ontology.loc[ontology.acronym == acronym, "id"]
        below = ontology.loc[ontology.structure_id_path.str.contains(f"/{structure_id}/"), "id"]
        mouse = cells[cells.donor__species == "Mus musculus"]
        return structure_id, mouse[mouse.structure__id.isin(set(below))]
    human = cells[cells.donor__species == "Homo Sapiens"]
    chosen = human[(human.structure__acronym == acronym)
                   | (human.structure_parent__acronym == acronym)]
    # no human ontology is loaded: a human structure is exactly itself (and its area)
    return int(chosen.structure__id.iloc[0]), chosen


def _expected(group: pd.DataFrame) -> dict:
    featured = group[group.has_features]
    expected = {"n_specimens": len(group), "n_cells": len(featured)}
    for name in KEY_FEATURES:
        expected[f"mean_{name}"] = featured[name].mean()
        expected[f"median_{name}"] = featured[name].median()
    return expected


def _row(con, structure_id: int, species: str, layer: str, dendrite_type: str) -> dict:
    rows = con.execute(
        "select * from ephys_by_region where structure_id = ? and species = ? and layer = ? "
        "and dendrite_type = ?", [structure_id, species, layer, dendrite_type]).fetchall()
    assert len(rows) == 1, (structure_id, species, layer, dendrite_type, rows)
    names = [d[0] for d in con.description]
    return dict(zip(names, rows[0], strict=True))


def _assert_same(actual: dict, expected: dict, what) -> None:
    for key, value in expected.items():
        got = actual[key]
        if isinstance(value, float) and math.isnan(value):
            assert got is None, (what, key, got)
        else:
            assert got == pytest.approx(value, rel=1e-9, abs=1e-12), (what, key, got, value)


CASES = [("VISp", "mouse"), ("VIS", "mouse"), ("VISp5", "mouse"), ("VISl", "mouse"),
         ("RSP", "mouse"), ("Isocortex", "mouse"), ("MTG", "human"), ("FroL", "human")]


@pytest.mark.parametrize(("acronym", "species"), CASES)
@pytest.mark.parametrize("dendrite_type", ["all", "spiny", "aspiny", "sparsely spiny"])
def test_ephys_by_region_matches_pandas(con, frames, acronym, species, dendrite_type):
    cells, ontology = frames
    structure_id, members = _members(cells, ontology, acronym, species)
    if dendrite_type != "all":
        members = members[members.tag__dendrite_type == dendrite_type]
    if members.empty:
        found = con.execute(
            "select count(*) from ephys_by_region where structure_id = ? and species = ? "
            "and dendrite_type = ?", [structure_id, species, dendrite_type]).fetchone()[0]
        assert found == 0
        return
    actual = _row(con, structure_id, species, "all", dendrite_type)
    assert actual["structure_acronym"] == acronym
    _assert_same(actual, _expected(members), (acronym, dendrite_type))


@pytest.mark.parametrize(("layer", "dendrite_type"),
                         [("2/3", "all"), ("4", "aspiny"), ("5", "spiny"), ("6a", "all")])
def test_ephys_by_region_by_layer_matches_pandas(con, frames, layer, dendrite_type):
    cells, ontology = frames
    structure_id, members = _members(cells, ontology, "VISp", "mouse")
    members = members[members.structure__layer == layer]
    if dendrite_type != "all":
        members = members[members.tag__dendrite_type == dendrite_type]
    actual = _row(con, structure_id, "mouse", layer, dendrite_type)
    _assert_same(actual, _expected(members), (layer, dendrite_type))


def test_ephys_by_region_grain(con):
    (duplicates,) = con.execute(
        """
        select count(*) from (select structure_id, species, layer, dendrite_type
                              from ephys_by_region group by all having count(*) > 1)
        """).fetchone()
    assert duplicates == 0
    # the grain the issue asks for is the layer = 'all' slice
    (per_type,) = con.execute(
        "select count(*) from ephys_by_region where layer = 'all'").fetchone()
    (distinct,) = con.execute(
        "select count(distinct (structure_id, species, dendrite_type)) from ephys_by_region"
    ).fetchone()
    assert per_type == distinct
    types = {t for (t,) in con.execute("select distinct dendrite_type from ephys_by_region")
             .fetchall()}
    assert types == {"all", "spiny", "aspiny", "sparsely spiny"}
    # VISp includes VISp1 .. VISp6b: its 'all' row counts every specimen in them
    (visp, layers) = con.execute(
        """
        select n_specimens, (select sum(n_specimens) from ephys_by_region
                             where structure_acronym in ('VISp1', 'VISp2/3', 'VISp4', 'VISp5',
                                                         'VISp6a', 'VISp6b')
                               and layer = 'all' and dendrite_type = 'all')
        from ephys_by_region
        where structure_acronym = 'VISp' and layer = 'all' and dendrite_type = 'all'
        """).fetchone()
    assert visp == layers == 1585


def test_real_files_load_and_report(real):
    db, ephys = real
    assert ephys.exit_code == 0, ephys.stderr
    assert "Traceback" not in ephys.stderr
    report = ephys.stderr
    assert "1,000 of 2,331 specimens have no ephys features" in report
    assert "6 of 1,337 ephys feature rows have no specimen" in report
    assert "all 1,920 mouse specimens' structure ids resolve" in report
    assert "411 of 411 human specimens have a structure id not in any ontology" in report
    assert "9 id(s): 12141 MTG (309)" in report


def test_real_files_typed_and_quirks_removed(con):
    counts = dict(con.execute(
        "select species, count(*) from ephys_specimens group by species").fetchall())
    assert counts == {"mouse": 1920, "human": 411}
    assert con.execute("select count(*) from ephys_features").fetchone()[0] == 1337
    name, layer, apical = con.execute(
        "select structure_name, layer, apical from ephys_specimens where specimen_id = 469801138"
    ).fetchone()
    assert (name, layer, apical) == ("Primary visual area, layer 4", "4", None)
    assert con.execute("select count(*) from ephys_specimens where structure_name like '%\"%'"
                       ).fetchone()[0] == 0
    layers = {v for (v,) in con.execute("select distinct layer from ephys_specimens").fetchall()}
    assert {"2/3", "6a", "6b"} <= layers
    apicals = {v for (v,) in con.execute("select distinct apical from ephys_specimens")
               .fetchall()}
    assert apicals == {None, "intact", "truncated"}
    types = dict(con.execute(
        "select column_name, data_type from duckdb_columns() where table_name = 'ephys_features'"
    ).fetchall())
    assert types["has_burst"] == "BOOLEAN" and types["vrest"] == "DOUBLE"
    assert types["specimen_id"] == "BIGINT" and types["rheobase_sweep_number"] == "INTEGER"
    assert len(types) == 56  # 56 columns, `id` renamed ephys_feature_id
    # `""` is null, a quoted number is a number
    vrest, adaptation = con.execute(
        "select vrest, adaptation from ephys_features where specimen_id = 485955037").fetchone()
    assert vrest == pytest.approx(-68.2333755493164) and adaptation == pytest.approx(
        0.0930211667804959)
    assert con.execute("select count(*) from ephys_features where adaptation is null"
                       ).fetchone()[0] == 241


def test_human_structures_counted_from_the_file(con):
    rows = con.execute(
        """
        select structure_acronym, in_ontology, n_specimens from ephys_by_region
        where species = 'human' and layer = 'all' and dendrite_type = 'all'
        order by n_specimens desc
        """).fetchall()
    assert rows[0] == ("MTG", False, 309)
    assert sum(n for *_, n in rows) == 411  # area = structure for every real human cell


def test_human_ids_resolve_through_a_human_ontology(tmp_path):
    """With a human ontology loaded, known human ids count toward their ancestors; the rest
    are reported as not in the human ontology and still counted under their own structure."""
    from tests.helpers import write_csv
    from warehouse.build import run

    ontology = write_csv(
        tmp_path / "donor" / "Ontology.csv",
        ["id", "acronym", "name", "parent_structure_id", "hemisphere", "graph_order",
         "structure_id_path", "color_hex_triplet"],
        [[4005, "Br", "brain", "", "", 0, "/4005/", "F0F0F0"],
         [4008, "CTX", "cerebral cortex", 4005, "", 1, "/4005/4008/", "F0D0D0"],
         [12141, "MTG", "middle temporal gyrus", 4008, "", 2, "/4005/4008/12141/", "E0C0C0"]])
    db = tmp_path / "human.duckdb"
    run(db, [str(ontology)], kind="ontology", fresh=True)
    outcome = run(db, [str(SPECIMENS), str(FEATURES)], kind="ephys", fresh=False)
    notes = "\n".join(outcome.notes)
    assert "102 of 411 human specimens have a structure id not in the human ontology" in notes
    assert "8 id(s): 12116 MFG (24), 12113 FroL (23)" in notes
    assert "1,920 of 1,920 mouse specimens have a structure id not in any ontology (no mouse " \
        "ontology loaded)" in notes
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = dict(con.execute(
            """
            select structure_acronym, (in_ontology, n_specimens) from ephys_by_region
            where species = 'human' and layer = 'all' and dendrite_type = 'all'
            """).fetchall())
    finally:
        con.close()
    assert rows["MTG"] == (True, 309) and rows["CTX"] == (True, 309)
    assert rows["Br"] == (True, 309) and rows["FroL"] == (False, 23)
