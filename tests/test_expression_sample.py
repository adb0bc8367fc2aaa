"""The sample release's expression files: the real schema in the ABC release's form, drawn
from the sample's own taxonomy and cells, with markers where the literature puts them."""

from __future__ import annotations

import json

import duckdb
import h5py
import numpy as np
import polars as pl
import pytest

from ingest.sample import expression


@pytest.fixture(scope="module")
def con(tiny_db):
    connection = duckdb.connect(str(tiny_db), read_only=True)
    yield connection
    connection.close()


def test_the_statistics_file_has_the_real_schema_and_form(tiny_release):
    path = tiny_release / "mapmycells" / "WMB-10X" / "20240831" / expression.STATS_NAME
    genes = pl.read_csv(tiny_release / "metadata" / "WMB-10X" / "20241115" / "gene.csv")
    clusters = pl.read_csv(tiny_release / "metadata" / "WMB-taxonomy" / "20231215" /
                           "cluster_to_cluster_annotation_membership.csv")
    with h5py.File(path, "r") as handle:
        # exactly what create_mean_file.py writes: no sumsq, ge1, gt0, gt1
        assert set(handle) == {"sum", "n_cells", "cluster_to_row", "col_names",
                               "taxonomy_tree", "metadata"}
        rows = json.loads(handle["cluster_to_row"][()].decode())
        assert sorted(rows.values()) == list(range(len(rows)))
        assert set(rows) == set(clusters.filter(pl.col("cluster_annotation_term_set_name") ==
                                                "cluster")["cluster_annotation_term_label"])
        assert json.loads(handle["col_names"][()].decode()) == genes["gene_identifier"].to_list()
        assert handle["sum"].dtype == np.float64
        assert handle["sum"].shape == (len(rows), genes.height)
        assert (handle["n_cells"][()] == 1).all() and handle["n_cells"].dtype == np.int64
        tree = json.loads(handle["taxonomy_tree"][()].decode())
    assert tree["hierarchy"] == ["CCN20230722_CLAS", "CCN20230722_SUBC", "CCN20230722_SUPT",
                                 "CCN20230722_CLUS"]
    assert tree["hierarchy_mapper"]["CCN20230722_NEUR"] == "neurotransmitter"
    assert set(tree["CCN20230722_CLUS"]) == set(rows)
    # both ids of the shared symbol, and the real file's rows
    assert genes.filter(pl.col("gene_symbol") == "Ptp4a1").height == 2
    assert genes.row(0) == ("ENSMUSG00000051951", "Xkr4", "X-linked Kx blood group related 4",
                            "NCBIGene:497097", None)
    lookup = json.loads((path.parent / expression.MARKERS_NAME).read_text())
    assert "None" in lookup and "metadata" in lookup
    assert all(key.startswith(("CCN20230722_CLAS/CS20230722_CLAS_",
                               "CCN20230722_SUBC/CS20230722_SUBC_"))
               for key in lookup if key not in ("None", "metadata"))
    manifest = (tiny_release / "releases" / "20250531" / "manifest.json").read_text()
    assert f"mapmycells/WMB-10X/20240831/{expression.STATS_NAME}" in manifest


def test_a_true_count_file_of_the_sample_is_consistent(tiny_release, tmp_path):
    path = tmp_path / "precomputed_stats.true_counts.h5"
    expression.write_true_counts(tiny_release, path, "tiny", 7)
    counts = pl.read_csv(tiny_release / "metadata" / "WMB-taxonomy" / "20231215" /
                         "cluster.csv").sort("cluster_alias")["number_of_cells"].to_numpy()
    with h5py.File(path, "r") as handle:
        n = handle["n_cells"][()]
        sums, sumsq = handle["sum"][()], handle["sumsq"][()]
        ge1, gt0 = handle["ge1"][()], handle["gt0"][()]
    assert (n == counts).all()
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (sumsq - sums * sums / n[:, None])
    assert (variance[n > 0] >= -1e-9).all()
    assert (ge1 <= gt0).all() and (gt0 <= n[:, None]).all()
    assert (sums[n == 0] == 0).all()


@pytest.mark.parametrize(("gene", "level", "top"), [
    ("Slc17a7", "neurotransmitter", {"Glut"}),
    ("Gad2", "neurotransmitter", {"GABA", "GABA-Glyc", "Glut-GABA", "Dopa", "Hist"}),
    ("Mbp", "subclass", {"327 Oligo NN"}),
    ("Gfap", "subclass", {"316 Bergmann NN", "317 Astro-CB NN", "318 Astro-NT NN",
                          "319 Astro-TE NN", "320 Astro-OLF NN", "321 Astroependymal NN"}),
    ("Drd1", "subclass", {"061 STR D1 Gaba", "063 STR D1 Sema5a Gaba"}),
])
def test_known_markers_sit_where_the_literature_puts_them(con, gene, level, top):
    (best,) = con.execute("select cell_type from gene_expression_by_cell_type(?, ?) "
                          "where n_cells > 0 limit 1", [gene, level]).fetchone()
    assert best in top


def test_the_sample_answers_the_demos_questions(con):
    markers = [g for (g,) in con.execute(
        "select gene_symbol from cell_type_markers('L2/3 IT CTX Glut', 'subclass', 'rest') "
        "limit 5").fetchall()]
    assert "Slc17a7" in markers
    d1 = [g for (g,) in con.execute(
        "select gene_symbol from cell_type_markers('061 STR D1 Gaba', 'subclass', 'siblings') "
        "limit 6").fetchall()]
    assert {"Drd1", "Tac1"} <= set(d1)
    (region,) = con.execute("select region_acronym from region_expression where gene_symbol = "
                            "'Drd1' and region_kind = 'roi' order by mean_expression desc "
                            "limit 1").fetchone()
    assert region in ("STRd", "STRv")
    striatum = [g for (g,) in con.execute(
        "select gene_symbol from mouse_region_markers where region_kind = 'roi' and "
        "region_acronym = 'STRd' order by rank limit 10").fetchall()]
    assert "Ppp1r1b" in striatum


def test_gene_expression_across_shows_the_single_cell_pseudo_bulk(con):
    """Beside ISH and AHBA: region_expression's CCF structure row of the same symbol (ignoring
    case), the MERFISH cells' when the structure has them, else the 10x dissection's; null for
    a symbol that names several Ensembl ids."""
    expected: dict[tuple[str, int], list[tuple]] = {}
    for symbol, identifier, structure, method, mean, n in con.execute(
            "select gene_symbol, gene_identifier, structure_id, method, mean_expression, n_cells "
            "from region_expression where region_kind = 'structure'").fetchall():
        expected.setdefault((symbol.lower(), structure), []).append((identifier, method, mean, n))
    rows = con.execute("select gene_symbol, structure_id, single_cell_expression, "
                       "single_cell_n_cells, single_cell_method "
                       "from gene_expression_across").fetchall()
    shown = 0
    for symbol, structure, value, n, method in rows:
        candidates = expected.get((symbol.lower(), structure), [])
        if len({c[0] for c in candidates}) != 1:
            assert (value, n, method) == (None, None, None), (symbol, structure)
            continue
        _, best_method, best_mean, best_n = min(candidates, key=lambda c: c[1] != "spatial")
        assert (value, n, method) == (pytest.approx(best_mean, rel=1e-12), best_n, best_method)
        shown += 1
    assert shown > 0 and rows
