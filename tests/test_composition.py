"""Composition answers on a hand-made release whose counts are known exactly."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from tests.helpers import query_rows as rows
from tests.helpers import write_hand_made_release


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory) -> tuple[Path, list[str]]:
    from warehouse.build import run

    root = write_hand_made_release(tmp_path_factory.mktemp("hand") / "release")
    db = root.parent / "w.duckdb"
    outcome = run(db, [str(root)], fresh=True)
    return db, outcome.notes


def comp(db, kind, region, level):
    return {cell_type: (n, round(f, 6)) for cell_type, n, f in rows(
        db, "select cell_type, n_cells, fraction from composition where region_kind = ? "
        "and region_acronym = ? and level = ?", [kind, region, level])}


def test_roi_composition_is_exact(hand_made):
    db, _ = hand_made
    assert comp(db, "roi", "MOp", "subclass") == {
        "007 L2/3 IT CTX Glut": (4, round(4 / 6, 6)), "327 Oligo NN": (2, round(2 / 6, 6))}
    assert comp(db, "roi", "STRd", "subclass") == {
        "061 STR D1 Gaba": (3, 0.5), "062 STR D2 Gaba": (2, round(2 / 6, 6)),
        "327 Oligo NN": (1, round(1 / 6, 6))}


def test_na_neurotransmitter_is_a_value(hand_made):
    db, _ = hand_made
    assert comp(db, "roi", "STRd", "neurotransmitter") == {
        "GABA": (5, round(5 / 6, 6)), "NA": (1, round(1 / 6, 6))}


def test_names_repeating_across_levels_stay_apart(hand_made):
    db, _ = hand_made
    # '0001 L2/3 IT CTX Glut_1' is both a supertype and a cluster name (different labels)
    found = rows(db, "select level, cell_type_label from composition where region_kind = 'roi' "
                 "and region_acronym = 'MOp' and cell_type = '0001 L2/3 IT CTX Glut_1' "
                 "order by level")
    assert [level for level, _ in found] == ["cluster", "supertype"]
    assert found[0][1] != found[1][1]


def test_structure_rows_count_an_roi_only_when_all_its_structures_are_inside(hand_made):
    db, _ = hand_made
    # MO-FRP = MO + FRP: counts toward Isocortex, not toward MO
    assert comp(db, "structure", "Isocortex", "subclass") == {
        "007 L2/3 IT CTX Glut": (6, 0.75), "327 Oligo NN": (2, 0.25)}
    assert comp(db, "structure", "MO", "subclass") == comp(db, "roi", "MOp", "subclass")
    assert comp(db, "structure", "FRP", "subclass") == {}
    # striatum rolls up to STR and CNU; the whole brain has every typed cell
    assert sum(n for n, _ in comp(db, "structure", "STR", "class").values()) == 6
    assert sum(n for n, _ in comp(db, "structure", "root", "class").values()) == 14
    (structure_id,) = rows(db, "select distinct structure_id from composition where "
                           "region_kind = 'structure' and region_acronym = 'Isocortex'")[0]
    assert structure_id == 315
    assert rows(db, "select count(*) from composition where region_kind = 'roi' and "
                "structure_id is not null") == [(0,)]


def test_fractions_sum_to_one_per_region_and_level(hand_made):
    db, _ = hand_made
    sums = rows(db, "select region_kind, region_acronym, level, sum(fraction) from composition "
                "group by all")
    assert sums and all(abs(total - 1) < 1e-12 for *_, total in sums)


def test_compare_composition(hand_made):
    db, _ = hand_made
    result = rows(db, "select cell_type, n_a, n_b, fraction_a, fraction_b, difference, ratio "
                  "from compare_composition('MOp', 'STRd', 'subclass')")
    assert [r[0] for r in result] == ["007 L2/3 IT CTX Glut", "327 Oligo NN", "062 STR D2 Gaba",
                                      "061 STR D1 Gaba"]
    it, oligo, d2, d1 = result
    assert it[1:3] == (4, 0) and it[6] is None
    assert oligo[1:3] == (2, 1) and oligo[5] == pytest.approx(2 / 6 - 1 / 6)
    assert oligo[6] == pytest.approx(2.0)
    assert d1[1:3] == (0, 3) and d1[5] == pytest.approx(-0.5)
    # a structure acronym works as well as an ROI
    iso = rows(db, "select cell_type, n_a, n_b from compare_composition('Isocortex', 'STRd', "
               "'class')")
    assert dict((c, (a, b)) for c, a, b in iso) == {
        "01 IT-ET Glut": (6, 0), "31 OPC-Oligo": (2, 1), "09 CNU-LGE GABA": (0, 5)}


def test_unknown_cluster_is_counted_and_reported(hand_made):
    db, notes = hand_made
    assert any("1 cell(s) in 1 cluster_alias value(s) are not in the loaded taxonomy" in n
               for n in notes)
    assert rows(db, "select count(*) from cells") == [(15,)]  # kept, not dropped


def test_cells_keep_their_types(hand_made):
    db, _ = hand_made
    assert rows(db, "select typeof(cell_label), typeof(cluster_alias) from cells limit 1") == [
        ("VARCHAR", "INTEGER")]
    assert rows(db, "select cluster_alias from cell_types order by 1") == [
        (5,), (128,), (3000,), (34380,)]
    assert rows(db, "select distinct metadata_version from cells") == [("20241115",)]
    assert rows(db, "select distinct taxonomy_version, taxonomy_component_version "
                "from cell_types") == [("CCN20230722", "20231215")]


def test_roi_structures_split_composites(hand_made):
    db, _ = hand_made
    mapping = rows(db, "select region_of_interest_acronym, list(structure_id order by "
                   "structure_id), bool_and(is_exact) from roi_structures group by 1 order by 1")
    assert mapping == [("MO-FRP", [184, 500], False), ("MOp", [985], True),
                       ("STRd", [485], True)]


def test_parquet_and_old_schema_give_the_same_answers(tmp_path, hand_made):
    """cell_metadata.parquet with the 20230830 schema (no abc_sample_id) loads the same cells."""
    from warehouse.build import run

    db, _ = hand_made
    root = write_hand_made_release(tmp_path / "release", with_abc_sample_id=False)
    csv_path = root / "metadata" / "WMB-10X" / "20241115" / "cell_metadata.csv"
    table = pa_csv.read_csv(csv_path, convert_options=pa_csv.ConvertOptions(
        column_types={"cell_label": pa.string(), "cluster_alias": pa.int32()}))
    pq.write_table(table, csv_path.with_suffix(".parquet"))
    csv_path.unlink()
    parquet_db = tmp_path / "p.duckdb"
    run(parquet_db, [str(root)], fresh=True)
    query = "select * from composition order by all"
    assert rows(parquet_db, query) == rows(db, query)
    assert rows(parquet_db, "select count(abc_sample_id) from cells") == [(0,)]


def test_pivoted_view_alone_is_enough_for_names(tmp_path):
    """Without the membership file, the pivoted view (NA written empty) gives the names."""
    from warehouse.build import run

    root = write_hand_made_release(tmp_path / "release")
    taxonomy = root / "metadata" / "WMB-taxonomy" / "20231215"
    pivoted = taxonomy / "views" / "cluster_to_cluster_annotation_membership_pivoted.csv"
    from tests.helpers import CLUSTERS, write_csv

    write_csv(pivoted, ["cluster_alias", "neurotransmitter", "class", "subclass", "supertype",
                        "cluster"],
              [[alias, "" if v[0] == "NA" else v[0], *v[1:]] for alias, v in CLUSTERS.items()])
    (taxonomy / "cluster_to_cluster_annotation_membership.csv").unlink()
    db = tmp_path / "pivot.duckdb"
    run(db, [str(root)], fresh=True)
    assert comp(db, "roi", "STRd", "neurotransmitter") == {
        "GABA": (5, round(5 / 6, 6)), "NA": (1, round(1 / 6, 6))}


def test_roi_structures_of_the_29_rois_match_the_proposed_mapping(tiny_db):
    """All 29 WMB-10X ROIs resolve, exactly as the packaged ROI→CCF mapping proposes."""
    import csv

    from ingest.sample.ontology import data_file

    with open(data_file("WMB-10X_ROI_to_CCF_proposed.tsv"), newline="") as handle:
        proposed = {row["region_of_interest_acronym"]: (
            sorted(int(i) for i in row["ccf_structure_ids"].split(";")),
            row["match_type"] == "exact") for row in csv.DictReader(handle, delimiter="\t")}
    found = {roi: (ids, exact) for roi, ids, exact in rows(
        tiny_db, "select region_of_interest_acronym, list(structure_id order by structure_id), "
        "bool_and(is_exact) from roi_structures group by 1")}
    assert len(proposed) == 29
    assert found == proposed
