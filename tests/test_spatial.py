"""MERFISH cells in their CCF structures: spatial composition, cell densities and comparisons on
a hand-made release whose answers are known exactly (tests/spatial_release.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.helpers import query_rows as rows
from tests.spatial_release import write_spatial_release


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[str]]:
    from warehouse.build import run

    root = write_spatial_release(tmp_path_factory.mktemp("spatial") / "release")
    db = root.parent / "w.duckdb"
    outcome = run(db, [str(root)], fresh=True)
    return db, outcome.notes


def spatial(db, region, level="subclass"):
    return {cell_type: (n, round(f, 6)) for cell_type, n, f in rows(
        db, "select cell_type, n_cells, fraction from composition where method = 'spatial' "
        "and region_acronym = ? and level = ?", [region, level])}


IT, OLIGO, D1, D2 = "007 L2/3 IT CTX Glut", "327 Oligo NN", "061 STR D1 Gaba", "062 STR D2 Gaba"


def test_cells_load_with_ccf_and_hemisphere(built):
    db, _ = built
    assert rows(db, "select count(*), count(x_ccf), count(parcellation_index) "
                "from spatial_cells") == [(27, 26, 26)]
    assert rows(db, "select hemisphere, count(*) from spatial_cells group by 1 order by 1") == [
        ("left", 16), ("right", 10), (None, 1)]
    assert rows(db, "select typeof(cell_label), count(*) filter (where cell_label like '%-1') "
                "from spatial_cells group by 1") == [("VARCHAR", 6)]
    # the three files are joined on cell_label, not on row order
    assert rows(db, "select count(*) from spatial_cells where x_section + 0.2 <> z_ccf "
                "or abs(x_reconstructed - (z_ccf - 0.15)) > 1e-9") == [(0,)]
    assert rows(db, "select distinct metadata_version, coordinates_version "
                "from spatial_cells") == [("20241115", "20231215")]


def test_substructures_count_in_their_structures_and_divisions(built):
    db, _ = built
    assert spatial(db, "VISp2/3") == {IT: (4, 1.0)}
    assert spatial(db, "VISp5") == {IT: (2, round(2 / 3, 6)), OLIGO: (1, round(1 / 3, 6))}
    assert spatial(db, "VISp") == spatial(db, "Isocortex") == {
        IT: (6, round(6 / 7, 6)), OLIGO: (1, round(1 / 7, 6))}
    assert spatial(db, "CA1") == {OLIGO: (3, 1.0)}  # CA1sp is in CA1
    assert spatial(db, "DG") == {IT: (2, round(2 / 3, 6)), OLIGO: (1, round(1 / 3, 6))}
    assert spatial(db, "HPF") == {IT: (2, round(1 / 3, 6)), OLIGO: (4, round(2 / 3, 6))}
    # both hemispheres; the cell of a cluster the taxonomy lacks counts in no composition
    assert spatial(db, "CP") == {D1: (5, 0.625), D2: (3, 0.375)}
    assert spatial(db, "STR") == {D1: (6, 0.6), D2: (4, 0.4)}
    assert spatial(db, "STRv") == {D1: (1, 0.5), D2: (1, 0.5)}
    # the whole brain: every typed cell inside it (not the one outside, index 0, nor the one
    # without coordinates), including the one in `brain, unassigned`
    assert spatial(db, "root") == {IT: (8, round(8 / 24, 6)), OLIGO: (6, 0.25),
                                   D1: (6, 0.25), D2: (4, round(4 / 24, 6))}
    assert spatial(db, "MOp") == {}


def test_spatial_rows_keep_the_dissection_rows_and_columns(built):
    db, _ = built
    columns = [name for name, *_ in rows(db, "describe composition")]
    assert columns == ["region_kind", "region_acronym", "structure_id", "level", "cell_type",
                       "cell_type_label", "n_cells", "fraction", "method", "taxonomy_version",
                       "taxonomy_component_version"]
    assert rows(db, "select distinct method, region_kind from composition order by all") == [
        ("dissection", "roi"), ("dissection", "structure"), ("spatial", "structure")]
    assert rows(db, "select distinct structure_id from composition where method = 'spatial' "
                "and region_acronym = 'DG'") == [(726,)]
    sums = rows(db, "select method, region_kind, region_acronym, level, sum(fraction) "
                "from composition group by all")
    assert sums and all(abs(total - 1) < 1e-12 for *_, total in sums)
    # every level, with names repeating across levels kept apart by label
    assert rows(db, "select level, n_cells from composition where method = 'spatial' and "
                "region_acronym = 'CP' and cell_type_label like '%_1' order by level") == []
    assert rows(db, "select level, sum(n_cells) from composition where method = 'spatial' "
                "and region_acronym = 'CP' group by 1 order by 1") == [
        ("class", 8), ("cluster", 8), ("neurotransmitter", 8), ("subclass", 8),
        ("supertype", 8)]


def test_cell_density(built):
    db, _ = built
    found = {(hemisphere, level, cell_type): (n, volume, sampled, density)
             for hemisphere, level, cell_type, n, volume, sampled, density in rows(
                 db, "select hemisphere, level, cell_type, n_cells, volume_mm3, "
                 "sampled_volume_mm3, cells_per_mm3 from cell_density "
                 "where structure_acronym = 'CP' and level in ('all', 'subclass')")}
    # level all counts the cell of the unknown cluster too; a hemisphere has half the volume
    assert found[("left", "all", "all cells")] == pytest.approx((6, 12.5, 0.625, 9.6))
    assert found[("right", "all", "all cells")] == pytest.approx((3, 12.5, 0.625, 4.8))
    assert found[("both", "all", "all cells")] == pytest.approx((9, 25.0, 1.25, 7.2))
    assert found[("left", "subclass", D1)] == pytest.approx((3, 12.5, 0.625, 4.8))
    assert found[("both", "subclass", D2)] == pytest.approx((3, 25.0, 1.25, 2.4))
    assert len(found) == 9
    # a structure's volume is its parcellations' (STR = CP + ACB); ancestors add up
    (str_all,) = rows(db, "select n_cells, volume_mm3, cells_per_mm3 from cell_density "
                      "where structure_acronym = 'STR' and hemisphere = 'both' "
                      "and level = 'all'")
    assert str_all == pytest.approx((11, 29.0, 11 / (29.0 * 0.05)))
    assert rows(db, "select count(*) from cell_density where structure_acronym = 'root' "
                "and hemisphere = 'both' and level = 'all' and n_cells = 25") == [(1,)]
    assert rows(db, "select round(volume_mm3, 6) from cell_density where structure_acronym "
                "= 'root' and hemisphere = 'both' and level = 'all'") == [(34.41432,)]
    assert rows(db, "select distinct hemisphere from cell_density order by 1") == [
        ("both",), ("left",), ("right",)]


def test_compare_composition_chooses_and_says_its_method(built):
    db, _ = built
    result = rows(db, "select cell_type, n_a, n_b, fraction_a, fraction_b, method "
                  "from compare_composition('CA1', 'DG', 'subclass')")
    assert result == [(OLIGO, 3, 1, 1.0, pytest.approx(1 / 3), "spatial"),
                      (IT, 0, 2, 0.0, pytest.approx(2 / 3), "spatial")]
    # MOp has no MERFISH cells: the dissection answer, as before
    assert {r[0]: r[1:] for r in rows(db, "select cell_type, n_a, n_b, method from "
                                      "compare_composition('MOp', 'STRd', 'subclass')")} == {
        IT: (4, 0, "dissection"), OLIGO: (2, 1, "dissection"), D2: (0, 2, "dissection"),
        D1: (0, 3, "dissection")}
    # both have spatial rows: spatial by default, dissection when asked (positionally or named)
    spatial_answer = rows(db, "select cell_type, n_a, n_b, method from "
                          "compare_composition('Isocortex', 'STR', 'class') order by 1")
    assert spatial_answer == [("01 IT-ET Glut", 6, 0, "spatial"),
                              ("09 CNU-LGE GABA", 0, 10, "spatial"),
                              ("31 OPC-Oligo", 1, 0, "spatial")]
    dissection = {r[0]: r[1:] for r in rows(
        db, "select cell_type, n_a, n_b, method from "
        "compare_composition('Isocortex', 'STR', 'class', 'dissection')")}
    assert dissection == {"01 IT-ET Glut": (6, 0, "dissection"),
                          "31 OPC-Oligo": (2, 1, "dissection"),
                          "09 CNU-LGE GABA": (0, 5, "dissection")}
    assert rows(db, "select count(*) from compare_composition('Isocortex', 'STR', 'class', "
                "of_method := 'spatial')") == [(3,)]


def test_compare_composition_refuses_an_unknown_method(built):
    db, _ = built
    with pytest.raises(duckdb.InvalidInputException, match="unknown method 'merfish'"):
        rows(db, "select * from compare_composition('CA1', 'DG', 'subclass', 'merfish')")


def test_spatial_profile(built):
    db, _ = built
    found = rows(db, "select axis, bin_start_mm, bin_end_mm, subclass, n_cells, fraction "
                 "from spatial_profile('CA1')")
    by_axis: dict[str, int] = {}
    for axis, start, end, subclass, n, fraction in found:
        assert end == pytest.approx(start + 0.2) and subclass == OLIGO and fraction == 1.0
        by_axis[axis] = by_axis.get(axis, 0) + n
    assert by_axis == {"ap": 3, "dv": 3, "ml": 3}
    assert rows(db, "select bin_start_mm, n_cells from spatial_profile('CA1') "
                "where axis = 'ml' order by 1") == [(4.0, 2), (7.4, 1)]
    assert rows(db, "select sum(n_cells) from spatial_profile('STR', bin_mm := 1.0) "
                "where axis = 'ap'") == [(11,)]  # the unknown cluster's cell, subclass null
    with pytest.raises(duckdb.InvalidInputException, match="unknown mouse structure acronym "
                       "'CAX'"):
        rows(db, "select * from spatial_profile('CAX')")


def test_notes_say_what_counts_nowhere(built):
    _, notes = built
    text = "\n".join(notes)
    assert "1 MERFISH cell(s) have no row in the CCF coordinates" in text
    assert "1 MERFISH cell(s) in 1 cluster_alias value(s) are not in the loaded taxonomy" in text
    assert "1 MERFISH cell(s) lie outside the annotated brain (parcellation_index 0)" in text


def test_parcellations_join_the_ontology(built):
    db, _ = built
    assert rows(db, "select parcellation_index, structure_id, division, structure, "
                "substructure, structure_structure_id, substructure_structure_id "
                "from parcellations where structure_id in (56, 407) order by 1") == [
        (51, 56, "STR", "ACB", "ACB", 56, None), (397, 407, "HPF", "CA1", "CA1sp", 382, 407)]
    assert rows(db, "select structure_id, organ, division from parcellations "
                "where parcellation_index = 0") == [(None, "unassigned", "unassigned")]
    assert rows(db, "select count(*) from parcellations p join structures s "
                "on s.species = 'mouse' and s.structure_id = p.structure_id") == [(8,)]
    assert rows(db, "select level, count(*) from parcellation_terms where level is not null "
                "group by 1 order by 1") == [("category", 3), ("division", 5), ("organ", 2),
                                             ("structure", 7), ("substructure", 9)]
