"""Mouse gene expression by cell type and region, checked against numpy and scipy on the known
cells of a hand-made release (tests/expression_release.py): every definition, at every level,
for a true-count statistics file and for one in the ABC release's means-only form."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from scipy import stats

from tests.expression_release import (
    CELLS,
    CLUSTERS,
    GENES,
    LEVELS,
    MEANS_ONLY,
    TRUE_COUNTS,
    Release,
    write_release,
)
from tests.spatial_release import CELLS as SPATIAL_CELLS

SYMBOL = {gid: symbol for gid, symbol, _w in GENES}


def build(root: Path, kind: str, **options) -> tuple[Release, Path]:
    from warehouse.build import run

    release = write_release(root / "release", kind, **options)
    db = root / "w.duckdb"
    run(db, [str(release.root)], fresh=True)
    return release, db


@pytest.fixture(scope="module")
def counted(tmp_path_factory) -> tuple[Release, duckdb.DuckDBPyConnection]:
    release, db = build(tmp_path_factory.mktemp("counts"), TRUE_COUNTS)
    con = duckdb.connect(str(db), read_only=True)
    yield release, con
    con.close()


@pytest.fixture(scope="module")
def means(tmp_path_factory) -> tuple[Release, duckdb.DuckDBPyConnection]:
    release, db = build(tmp_path_factory.mktemp("means"), MEANS_ONLY)
    con = duckdb.connect(str(db), read_only=True)
    yield release, con
    con.close()


def query(con, sql: str, params=None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def close(got, expected, rel=1e-9) -> bool:
    if expected is None or (isinstance(expected, float) and np.isnan(expected)):
        return got is None
    return got is not None and abs(got - expected) <= rel * abs(expected) + 1e-12


# ------------------------------------------------------------ gene_expression_by_cell_type

@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("gene", ["Slc17a7", "ENSMUSG00000041607", "Ptp4a1"])
def test_gene_expression_by_cell_type_pools_the_cells(counted, level, gene):
    release, con = counted
    rows = query(con, "select * from gene_expression_by_cell_type(?, ?)", [gene, level])
    ids = [gid for gid, symbol, _w in GENES if gene in (gid, symbol)]
    labels = sorted(set(release.labels[level].values()))
    assert len(rows) == len(labels) * len(ids)  # a shared symbol: every id's rows
    for row in rows:
        g = release.genes.index(row["gene_identifier"])
        x = release.cells_of(level, row["cell_type_label"])[:, g]
        assert row["gene_symbol"] == SYMBOL[row["gene_identifier"]]
        assert row["n_cells"] == len(x)
        assert close(row["mean_expression"], x.mean())
        assert close(row["variance"], x.var(ddof=1) if len(x) > 1 else None, 1e-7)
        assert close(row["fraction_expressing"], float((x >= 1).mean()))
        assert row["note"] is None
    means_in_order = [r["mean_expression"] for r in rows]
    assert means_in_order == sorted(means_in_order, reverse=True)


def test_means_only_gives_exact_means_and_says_why_the_rest_is_null(means):
    release, con = means
    for level in LEVELS:
        rows = query(con, "select * from gene_expression_by_cell_type('Slc17a7', ?)", [level])
        for row in rows:
            x = release.cells_of(level, row["cell_type_label"])[:, 2]
            assert row["n_cells"] == len(x)  # the real cell counts, not the file's n_cells = 1
            assert close(row["mean_expression"], x.mean())
            assert row["variance"] is None and row["fraction_expressing"] is None
            assert "means-only" in row["note"] and "no variance" in row["note"]
    (kind, weights, has_sumsq, has_ge1) = con.execute(
        "select file_kind, weights, has_sumsq, has_ge1 from expression_statistics").fetchone()
    assert (kind, weights, has_sumsq, has_ge1) == (MEANS_ONLY, "cluster.csv number_of_cells",
                                                   False, False)
    (notes,) = con.execute("select notes from ingest_log where table_name = "
                           "'expression_cluster_stats'").fetchone()
    assert "means-only file" in notes and "file kind: means only" in notes


# ------------------------------------------------------------------------ cell_type_markers

CASES = [("neurotransmitter", 128), ("class", 5), ("subclass", 128), ("subclass", 8),
         ("supertype", 5), ("cluster", 129), ("cluster", 128)]


def _parent_label(release: Release, level: str, alias: int) -> tuple[str, str] | None:
    if level in ("neurotransmitter", "class"):
        return None
    parent = LEVELS[LEVELS.index(level) - 1]
    return parent, release.label(parent, alias)


def expected_markers(release: Release, level: str, alias: int, contrast: str) -> dict:
    label = release.label(level, alias)
    inside = release.cells_of(level, label)
    parent = _parent_label(release, level, alias) if contrast == "siblings" else None
    whole = release.cells_of(*parent) if parent else release.all_cells()
    mask = np.ones(len(whole), dtype=bool)
    # the type's cells are a contiguous run of the parent's (or of all) cells
    members = [a for a in CLUSTERS if (parent is None or release.label(parent[0], a) ==
                                        parent[1])]
    start = 0
    for a in members:
        n = len(release.values[a])
        if release.label(level, a) == label:
            mask[start:start + n] = False
        start += n
    outside = whole[mask]
    found = {}
    with np.errstate(all="ignore"):
        t, p = stats.ttest_ind(inside, outside, equal_var=False, axis=0)
    finite = np.isfinite(p)
    q = np.full(len(p), np.nan)
    q[finite] = stats.false_discovery_control(p[finite])
    for g, gid in enumerate(release.genes):
        found[gid] = {"mean_in": inside[:, g].mean(), "mean_out": outside[:, g].mean(),
                      "fraction_in": float((inside[:, g] >= 1).mean()),
                      "fraction_out": float((outside[:, g] >= 1).mean()),
                      "t": t[g], "p_value": p[g], "q_value": q[g],
                      "n_in": len(inside), "n_out": len(outside)}
    return found


@pytest.mark.parametrize("contrast", ["rest", "siblings"])
@pytest.mark.parametrize(("level", "alias"), CASES)
def test_cell_type_markers_equal_scipys_welch_test_on_the_cells(counted, level, alias,
                                                                contrast):
    release, con = counted
    name = CLUSTERS[alias][LEVELS.index(level)]
    rows = query(con, "select * from cell_type_markers(?, ?, ?)", [name, level, contrast])
    expected = expected_markers(release, level, alias, contrast)
    assert len(rows) == len(GENES)
    for row in rows:
        want = expected[row["gene_identifier"]]
        assert row["n_in"] == want["n_in"] and row["n_out"] == want["n_out"]
        for key in ("mean_in", "mean_out", "fraction_in", "fraction_out"):
            assert close(row[key], want[key]), (key, row, want)
        assert close(row["log2_fold_change"], want["mean_in"] - want["mean_out"])
        for key in ("t", "p_value", "q_value"):
            assert close(row[key], want[key], 1e-6), (key, row, want)
        assert row["note"] is None
    # ordered by q, then fold change; rank follows the order
    keys = [(r["q_value"] is None, r["q_value"] or 0, -r["log2_fold_change"]) for r in rows]
    assert keys == sorted(keys)
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))


def test_a_cluster_with_one_cell_has_means_but_no_t(counted):
    release, con = counted
    rows = query(con, "select * from cell_type_markers(?, 'cluster', 'rest')",
                 [release.label("cluster", 128)])
    assert {r["n_in"] for r in rows} == {1}
    assert all(r["t"] is None and r["p_value"] is None for r in rows)
    drd1 = next(r for r in rows if r["gene_symbol"] == "Drd1")
    assert drd1["mean_in"] == pytest.approx(release.values[128][0, 4])


def test_cell_types_are_named_by_label_name_or_bare_name(counted):
    release, con = counted
    label = release.label("subclass", 5)
    answers = [query(con, "select gene_identifier, t from cell_type_markers(?, 'subclass', "
                     "'rest')", [name]) for name in (label, "007 L2/3 IT CTX Glut",
                                                     "L2/3 IT CTX Glut")]
    assert answers[0] == answers[1] == answers[2]
    top = query(con, "select gene_symbol from cell_type_markers('L2/3 IT CTX Glut', "
                "'subclass', 'rest') limit 2")
    assert {r["gene_symbol"] for r in top} <= {"Slc17a7", "Cux2", "Snap25"}


def test_means_only_markers_rank_by_exact_fold_change(means):
    release, con = means
    rows = query(con, "select * from cell_type_markers('061 STR D1 Gaba', 'subclass', "
                 "'siblings')")
    expected = expected_markers(release, "subclass", 128, "siblings")
    for row in rows:
        want = expected[row["gene_identifier"]]
        assert close(row["mean_in"], want["mean_in"]) and close(row["mean_out"],
                                                                 want["mean_out"])
        assert row["t"] is None and row["p_value"] is None and row["q_value"] is None
        assert row["fraction_in"] is None and "means-only" in row["note"]
    folds = [r["log2_fold_change"] for r in rows]
    assert folds == sorted(folds, reverse=True)
    assert rows[0]["gene_symbol"] == "Drd1"


@pytest.mark.parametrize(("call", "fragments"), [
    ("gene_expression_by_cell_type('drd1', 'class')",
     ["unknown gene (a symbol or an Ensembl id, as in gene.csv) 'drd1'",
      "did you mean 'Drd1'?"]),
    ("gene_expression_by_cell_type('Drd1', 'klass')",
     ["unknown level 'klass'", "did you mean 'class'?"]),
    ("cell_type_markers('061 STR D1 Gaba', 'subclass', 'others')",
     ["unknown contrast 'others'", "expected one of 'rest', 'siblings'"]),
    ("cell_type_markers('STR D1 Gabba', 'subclass', 'rest')",
     ["unknown subclass (a term label, a name, or a name without its number) 'STR D1 Gabba'",
      "did you mean 'STR D1 Gaba'"]),
    ("cell_type_markers('327 Oligo NN', 'subclass', 'siblings')",
     ["327 Oligo NN has no siblings", "use 'rest'"]),
    ("cell_type_markers('Glut', 'klass', 'rest')", ["unknown level 'klass'"]),
    ("cell_type_markers('L2/3 IT CTX Glut_1', 'cluster', 'rest')",
     ["L2/3 IT CTX Glut_1 names 2 cluster types", "0100 L2/3 IT CTX Glut_1", "give a label"]),
])
def test_wrong_arguments_are_errors_saying_what_is_valid(counted, call, fragments):
    _release, con = counted
    with pytest.raises(duckdb.Error) as error:
        con.execute(f"select * from {call}").fetchall()
    for fragment in fragments:
        assert fragment in str(error.value), str(error.value)


# ---------------------------------------------------------------------------------- regions

def composition_counts(con) -> dict[tuple, dict[str, int]]:
    """(method, kind, acronym, structure id) -> cluster label -> cells."""
    found: dict[tuple, dict[str, int]] = {}
    for method, kind, acronym, structure_id, label, n in con.execute(
            "select method, region_kind, region_acronym, structure_id, cell_type_label, "
            "n_cells from composition where level = 'cluster'").fetchall():
        found.setdefault((method, kind, acronym, structure_id), {})[label] = n
    return found


def dataset_counts(release: Release, con) -> dict[str, dict[int, int]]:
    """method -> alias -> the method's cells: the 10x cells, and the MERFISH cells counted in
    the brain (tests/spatial_release.py: not the one outside it, nor alias 999's)."""
    merfish = {a: 0 for a in CLUSTERS}
    for structure_id, alias, _z, count in SPATIAL_CELLS:
        if structure_id != 0 and alias in merfish:
            merfish[alias] += count
    assert con.execute("select count(distinct method) from composition").fetchone() == (2,)
    return {"dissection": {a: len(release.values[a]) for a in CLUSTERS}, "spatial": merfish}


def test_region_expression_is_the_pseudo_bulk_of_the_regions_cells(counted):
    release, con = counted
    alias_of = {release.label("cluster", a): a for a in CLUSTERS}
    cluster_mean = {a: release.values[a].mean(axis=0) for a in CLUSTERS}
    cluster_fraction = {a: (release.values[a] >= 1).mean(axis=0) for a in CLUSTERS}
    regions = composition_counts(con)
    rows = query(con, "select * from region_expression")
    assert len(rows) == len(regions) * len(GENES)
    assert {method for method, *_ in regions} == {"dissection", "spatial"}
    for row in rows:
        counts = regions[(row["method"], row["region_kind"], row["region_acronym"],
                          row["structure_id"])]
        n = sum(counts.values())
        g = release.genes.index(row["gene_identifier"])
        mean = sum(k * cluster_mean[alias_of[label]][g] for label, k in counts.items()) / n
        fraction = sum(k * cluster_fraction[alias_of[label]][g]
                       for label, k in counts.items()) / n
        assert row["n_cells"] == n
        assert close(row["mean_expression"], mean)
        assert close(row["fraction_expressing"], fraction)
    strd = query(con, "select region_acronym, mean_expression from region_expression where "
                 "gene_symbol = 'Drd1' and region_kind = 'roi' order by mean_expression desc")
    assert strd[0]["region_acronym"] == "STRd"
    # MERFISH cells give the structures dissection cannot: CP (D1, D2 cells) over CA1 (Oligo)
    spatial = dict(con.execute(
        "select region_acronym, mean_expression from region_expression where "
        "gene_symbol = 'Drd1' and method = 'spatial' and region_acronym in ('CP', 'CA1')"
    ).fetchall())
    assert spatial["CP"] > 1 > spatial["CA1"]


def test_mouse_region_markers_rank_the_pseudo_bulk_against_the_rest(counted, means):
    for release, con in (counted, means):
        alias_of = {release.label("cluster", a): a for a in CLUSTERS}
        cluster_mean = {a: release.values[a].mean(axis=0) for a in CLUSTERS}
        cluster_fraction = {a: (release.values[a] >= 1).mean(axis=0) for a in CLUSTERS}
        totals = dataset_counts(release, con)
        has_fractions = con.execute("select has_ge1 from expression_statistics").fetchone()[0]
        for (method, kind, acronym, _s), counts in composition_counts(con).items():
            n = sum(counts.values())
            rest_counts = {a: totals[method][a] - counts.get(release.label("cluster", a), 0)
                           for a in CLUSTERS}
            n_rest = sum(rest_counts.values())
            inside = sum(k * cluster_mean[alias_of[lab]] for lab, k in counts.items()) / n
            fraction = sum(k * cluster_fraction[alias_of[lab]] for lab, k in counts.items()) / n
            rows = query(con, "select * from mouse_region_markers where method = ? and "
                         "region_kind = ? and region_acronym = ? order by rank",
                         [method, kind, acronym])
            if n_rest == 0:
                assert rows == []
                continue
            rest = sum(k * cluster_mean[a] for a, k in rest_counts.items()) / n_rest
            fraction_rest = sum(k * cluster_fraction[a] for a, k in rest_counts.items()) / n_rest
            fold = inside - rest
            keep = (fold > 0) & ((fraction >= 0.25) if has_fractions else (inside >= 1.0))
            order = sorted(np.flatnonzero(keep), key=lambda g: (-fold[g], g))[:50]
            assert [r["gene_identifier"] for r in rows] == [release.genes[g] for g in order]
            for row, g in zip(rows, order, strict=True):
                assert close(row["log2_fold_change"], fold[g])
                assert close(row["mean_out"], rest[g])
                assert row["n_cells"] == n and row["n_rest"] == n_rest
                if has_fractions:
                    assert close(row["fraction_in"], fraction[g])
                    assert close(row["fraction_out"], fraction_rest[g])
                else:
                    assert row["fraction_in"] is None and row["fraction_out"] is None


# -------------------------------------------------------------- load: what is where, logged

def test_the_load_keeps_every_file_and_says_what_it_is(counted):
    release, con = counted
    assert con.execute("select count(*), count(distinct gene_identifier) from genes"
                       ).fetchone() == (12, 12)
    assert con.execute("select count(*) from genes where gene_symbol = 'Ptp4a1'"
                       ).fetchone() == (2,)
    assert con.execute("select file_kind, n_clusters, n_genes, has_sumsq, has_ge1, "
                       "taxonomy_version from expression_statistics").fetchone() == (
        TRUE_COUNTS, 8, 12, True, True, "CCN20230722")
    # clusters in taxonomy order, the file's rows remembered
    rows = con.execute("select cluster_label, file_row from expression_clusters "
                       "order by cluster_pos").fetchall()
    assert [label for label, _ in rows] == sorted(label for label, _ in rows)
    assert dict(rows) == release.file_rows
    markers = json.loads(release.markers.read_text())
    stored = con.execute("select level, cell_type_label, gene_identifier, rank from "
                         "taxonomy_markers order by level, cell_type_label, rank").fetchall()
    expected = sorted(
        ("root" if key == "None" else {"CLAS": "class", "SUBC": "subclass"}[
            key.split("/")[0].split("_")[1]],
         None if key == "None" else key.split("/")[1], gene, rank)
        for key, genes in markers.items() if key != "metadata"
        for rank, gene in enumerate(genes, start=1))
    assert sorted(stored, key=lambda r: (r[0], r[1] or "", r[3])) == sorted(
        expected, key=lambda r: (r[0], r[1] or "", r[3]))
    kinds = dict(con.execute("select table_name, kind from ingest_log where kind = "
                             "'expression'").fetchall())
    assert kinds == {"genes": "expression", "expression_cluster_stats": "expression",
                     "taxonomy_markers": "expression"}


@pytest.mark.slow
def test_a_chunked_true_count_file_loads_the_same(tmp_path, counted):
    release, con = counted
    _other, db = build(tmp_path, TRUE_COUNTS, chunks=True)
    other = duckdb.connect(str(db), read_only=True)
    try:
        sql = ("select * from cell_type_markers('0025 L2/3 IT CTX Glut_1', 'supertype', "
               "'siblings') order by gene_identifier")
        assert other.execute(sql).fetchall() == con.execute(sql).fetchall()
    finally:
        other.close()


def test_headers_document_every_column(counted):
    from warehouse.views import saved_objects

    _release, con = counted
    calls = {"gene_expression_by_cell_type": "gene_expression_by_cell_type('Drd1', 'class')",
             "cell_type_markers": "cell_type_markers('061 STR D1 Gaba', 'subclass', 'rest')",
             "region_expression": "region_expression", "mouse_region_markers":
                 "mouse_region_markers"}
    for obj in saved_objects():
        if obj.name in calls:
            described = con.execute(f"describe select * from {calls[obj.name]}").fetchall()
            assert [(c[0], c[1]) for c in described] == [(n, t) for n, t, _m in obj.columns], \
                obj.name


@pytest.mark.slow
def test_taxonomy_counts_changing_later_pool_the_statistics_again(tmp_path):
    """A means-only file's cell types weigh clusters by cluster.csv: a new count re-pools."""
    import csv

    from warehouse.build import run

    release, db = build(tmp_path, MEANS_ONLY)
    cluster_csv = release.root / "metadata" / "WMB-taxonomy" / "20231215" / "cluster.csv"
    with open(cluster_csv, newline="") as handle:
        rows = list(csv.reader(handle))
    for row in rows[1:]:
        if row[0] == "5":
            row[1] = str(int(row[1]) * 3)
    with open(cluster_csv, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    run(db, [str(cluster_csv.parent)], kind="taxonomy", fresh=False)
    con = duckdb.connect(str(db), read_only=True)
    try:
        (n, mean) = con.execute("select n_cells, mean_expression from "
                                "gene_expression_by_cell_type('Slc17a7', 'subclass') where "
                                "cell_type = '007 L2/3 IT CTX Glut'").fetchone()
    finally:
        con.close()
    weights = {5: 3 * len(release.values[5]), 6: len(release.values[6]),
               7: len(release.values[7])}
    expected = sum(w * release.values[a][:, 2].mean() for a, w in weights.items()) / sum(
        weights.values())
    assert n == sum(weights.values()) and mean == pytest.approx(expected, rel=1e-12)
    assert sum(CELLS[5].values()) * 3 == weights[5]


def test_the_real_files_schema_in_a_real_cache(tmp_path, cli):
    """The real-row abc_atlas_access cache with the statistics in the ABC release's form (real
    cluster labels and genes, see tests/expression_release.write_real_schema_stats) and the
    real marker lookup's head (PROVENANCE.md)."""
    from tests.helpers import real_abc_cache

    cache = real_abc_cache(tmp_path)
    db = tmp_path / "w.duckdb"
    result = cli("build", str(cache), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert "means-only file: n_cells is 1 for every cluster" in result.stderr
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("select file_kind, n_clusters, n_genes, weights, taxonomy_version "
                           "from expression_statistics").fetchone() == (
            MEANS_ONLY, 12, 10, "cluster.csv number_of_cells", "CCN20230722")
        # class 01 IT-ET Glut: aliases 1 (727 cells), 128-131 and 143, the real counts
        rows = query(con, "select * from gene_expression_by_cell_type('Xkr4', 'class') "
                     "where cell_type = '01 IT-ET Glut'")
        counts = {"CS20230722_CLUS_0326": 727, "CS20230722_CLUS_0001": 4262,
                  "CS20230722_CLUS_0002": 3222, "CS20230722_CLUS_0003": 12216,
                  "CS20230722_CLUS_0004": 9334, "CS20230722_CLUS_0005": 1056}
        means = {label: 0.5 + (int(label.rsplit("_", 1)[1]) % 7) / 4 for label in counts}
        assert rows[0]["n_cells"] == 30817
        assert rows[0]["mean_expression"] == pytest.approx(
            sum(counts[k] * means[k] for k in counts) / 30817, rel=1e-12)
        assert rows[0]["variance"] is None and "means-only" in rows[0]["note"]
        assert con.execute("select count(*) from taxonomy_markers where level = 'root'"
                           ).fetchone() == (10,)
        assert con.execute("select count(*) from taxonomy_markers where level = 'subclass' "
                           "and cell_type_label = 'CS20230722_SUBC_030'").fetchone() == (10,)
        (notes,) = con.execute("select notes from ingest_log where table_name = "
                               "'taxonomy_markers'").fetchone()
        assert "not terms of the loaded taxonomy" in notes and "not in gene.csv" in notes
        assert con.execute("select distinct release from ingest_log where kind = 'expression'"
                           ).fetchall() == [("20250531",)]
    finally:
        con.close()
