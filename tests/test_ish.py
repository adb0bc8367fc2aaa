"""Allen Mouse Brain Atlas (ISH): every definition of issue 14 on a hand-made release
(tests/ish_release.py), against answers computed here with numpy from the files as written."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from tests import ish_release as release_
from tests.helpers import query_rows
from tests.ish_release import EXPERIMENTS, GENES

FAILED = {e for e, _g, _p, failed, _h in EXPERIMENTS if failed}
GENE_OF = {e: g for e, g, *_ in EXPERIMENTS}
PLANE_OF = {e: p for e, _g, p, *_ in EXPERIMENTS}


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> release_.Release:
    return release_.write(tmp_path_factory.mktemp("ish") / "release")


@pytest.fixture(scope="module")
def db(release, tmp_path_factory) -> Path:
    from warehouse.build import run

    path = tmp_path_factory.mktemp("ish_db") / "w.duckdb"
    run(path, [str(release.root)], fresh=True)
    return path


def query(db: Path, sql: str, params=None) -> list[tuple]:
    """A plain read-only DuckDB connection (what every client has): the macros are pure SQL."""
    return query_rows(db, sql, params)


def subtree(release: release_.Release, acronyms: list[str]) -> np.ndarray:
    """Voxels annotated with these structures or any below them."""
    ids = {s for s, a, *_ in release_.BOXES if a in acronyms}
    wanted = {sid for sid, acronym in _acronyms().items() if acronym in acronyms}
    ids |= {leaf for leaf in {s for s, *_ in release_.BOXES}
            if wanted & set(release.paths[leaf])}
    return np.isin(release.annotation, sorted(ids))


def _acronyms() -> dict[int, str]:
    import csv

    with open(release_.FIXTURES / "mouse_structures_graph1.csv", newline="") as handle:
        return {int(r["id"]): r["acronym"] for r in csv.DictReader(handle)}


# ------------------------------------------------------------------------------ tables

def test_tables_hold_the_files(db, release):
    rows = query(db, "select experiment_id, gene_symbol, plane, is_failed, has_grid "
                 "from ish_experiments order by experiment_id")
    assert rows == sorted((e, g, p, f, h) for e, g, p, f, h in EXPERIMENTS)
    assert query(db, "select gene_symbol, entrez_id from ish_genes order by 1") == sorted(
        (symbol, entrez) for symbol, (_id, _name, entrez) in GENES.items())
    # every unionize row once (the repeated one, the graph-17 and the other atlas's skipped)
    assert query(db, "select count(*) from ish_structure_expression") == [
        (len(release.unionize),)]
    got = dict(((e, s), energy) for e, s, energy in query(
        db, "select experiment_id, structure_id, expression_energy "
            "from ish_structure_expression"))
    for key, row in release.unionize.items():
        assert got[key] == pytest.approx(row["expression_energy"], rel=1e-12)


def test_skipped_rows_are_reported(db):
    notes = " ".join(n for (n,) in query(db, "select notes from ingest_log where notes "
                                              "is not null"))
    assert "100042562" in notes and "reference space 11" in notes
    assert "112892315" in notes and "graph 17" in notes
    assert "appeared twice" in notes


def test_grids_come_back_whole(db, release):
    for experiment, grid in release.grids.items():
        rows = query(db, "select voxel_index, energy from mouse_grid(?)", [str(experiment)])
        assert len(rows) == release_.N
        values = np.array([v for _, v in rows], dtype=np.float32)
        assert [i for i, _ in rows] == list(range(release_.N))
        assert np.array_equal(values, grid)
    # a gene picks its coronal experiment
    assert query(db, "select distinct experiment_id from mouse_grid('Pvalb')") == [(868,)]
    structures = query(db, "select structure_id from mouse_grid('868') order by voxel_index")
    assert [s or 0 for (s,) in structures] == release.annotation.tolist()


# ------------------------------------------------------------------ regional expression

def test_regional_expression_is_the_mean_of_non_failed_experiments(db, release):
    rows = query(db, "select gene_symbol, structure_id, mean_expression_energy, "
                 "mean_expression_density, n_experiments, n_coronal, n_sagittal, "
                 "mean_energy_coronal, mean_energy_sagittal from mouse_regional_expression")
    assert rows
    got = {(g, s): rest for g, s, *rest in rows}
    expected: dict[tuple[str, int], list] = {}
    for (experiment, structure), row in release.unionize.items():
        if experiment in FAILED:
            continue
        expected.setdefault((GENE_OF[experiment], structure), []).append(
            (PLANE_OF[experiment], row["expression_energy"], row["expression_density"]))
    assert set(got) == set(expected)
    assert not any(g == "Gad1" for g, _ in got)  # its only experiment failed
    for key, values in expected.items():
        energy, density, n, n_cor, n_sag, cor, sag = got[key]
        assert energy == pytest.approx(np.mean([v[1] for v in values]), rel=1e-12)
        assert density == pytest.approx(np.mean([v[2] for v in values]), rel=1e-12)
        assert (n, n_cor, n_sag) == (len(values), sum(v[0] == "coronal" for v in values),
                                     sum(v[0] == "sagittal" for v in values))
        coronal = [v[1] for v in values if v[0] == "coronal"]
        assert (cor is None) == (not coronal)
        if coronal:
            assert cor == pytest.approx(np.mean(coronal), rel=1e-12)
    # two experiments of one gene: Pvalb coronal and sagittal in RT
    assert tuple(got[("Pvalb", 262)][2:5]) == (2, 1, 1)


# -------------------------------------------------------------------- differential search

@pytest.mark.parametrize(("target", "contrast"), [
    (["STR"], ["Isocortex"]), (["CP", "RT"], ["grey"]), (["RT"], ["HPF", "CP"]),
    (["STR", "CP"], ["VS"])])
def test_differential_search_matches_numpy(db, release, target, contrast):
    rows = query(db, "select experiment_id, gene_symbol, plane, target_energy, "
                 "contrast_energy, fold_change, n_target_voxels, n_contrast_voxels "
                 "from mouse_differential_search(?, ?)", [target, contrast])
    in_t, in_c = subtree(release, target), subtree(release, contrast)
    expected = {}
    for experiment, grid in release.grids.items():
        if experiment in FAILED:
            continue
        t = grid[in_t & (grid >= 0)].astype(np.float64)
        c = grid[in_c & (grid >= 0)].astype(np.float64)
        expected[experiment] = (t.mean() if len(t) else None, c.mean() if len(c) else None,
                                len(t), len(c))
    assert {r[0] for r in rows} == set(expected)  # failed and grid-less experiments absent
    for experiment, gene, plane, t_mean, c_mean, fold, n_t, n_c in rows:
        e_t, e_c, e_nt, e_nc = expected[experiment]
        assert (gene, plane) == (GENE_OF[experiment], PLANE_OF[experiment])
        assert (n_t, n_c) == (e_nt, e_nc)
        assert t_mean == pytest.approx(e_t, rel=1e-9)
        assert c_mean == pytest.approx(e_c, rel=1e-9)
        assert fold == pytest.approx(e_t / e_c, rel=1e-9)
    folds = [r[5] for r in rows]
    assert folds == sorted(folds, reverse=True)


def test_unionize_differential_search_counts_nested_targets_once(db, release):
    rows = query(db, "select experiment_id, target_energy, contrast_energy, fold_change "
                 "from mouse_differential_search_unionize(['STR', 'CP'], ['Isocortex'])")
    u = release.unionize
    expected_ids = {e for e, *_ in EXPERIMENTS if e not in FAILED}
    assert {r[0] for r in rows} == expected_ids  # grid-less Slc17a7 sagittal too
    for experiment, t_energy, c_energy, fold in rows:
        t, c = u[(experiment, 477)], u[(experiment, 315)]  # STR covers CP: counted once
        assert t_energy == pytest.approx(t["expression_energy"], rel=1e-12)
        assert c_energy == pytest.approx(c["expression_energy"], rel=1e-12)
        assert fold == pytest.approx(t["expression_energy"] / c["expression_energy"],
                                     rel=1e-12)


def test_unionize_differential_search_pools_disjoint_structures(db, release):
    rows = dict((e, t) for e, t in query(
        db, "select experiment_id, target_energy "
            "from mouse_differential_search_unionize(['CP', 'RT'], ['grey'])"))
    for experiment, energy in rows.items():
        parts = [release.unionize[(experiment, s)] for s in (672, 262)]
        pooled = sum(p["expression_energy"] * p["sum_pixels"] for p in parts) / sum(
            p["sum_pixels"] for p in parts)
        assert energy == pytest.approx(pooled, rel=1e-12)


# --------------------------------------------------------------------- correlation search

@pytest.mark.parametrize(("seed", "structures"), [
    ("868", []), ("Ppp1r1b", []), ("75457591", []), ("868", ["STR", "RT"]),
    ("Slc17a7", ["Isocortex", "HPF"]), ("75457591", ["CP"])])
def test_correlation_search_matches_numpy(db, release, seed, structures):
    rows = query(db, "select experiment_id, gene_symbol, plane, r, n_voxels, "
                 "seed_experiment_id from mouse_correlation_search(?, ?::varchar[])",
                 [seed, structures])
    seed_id = int(seed) if seed.isdigit() else next(
        e for e, g, p, f, h in EXPERIMENTS if g == seed and h and not f)
    domain = subtree(release, structures) if structures else release.annotation > 0
    x = release.grids[seed_id]
    expected = {}
    for experiment, y in release.grids.items():
        if experiment in FAILED or experiment == seed_id:
            continue
        both = domain & (x >= 0) & (y >= 0)
        r = np.corrcoef(x[both].astype(np.float64), y[both].astype(np.float64))[0, 1]
        expected[experiment] = (r, int(both.sum()))
    assert {row[0] for row in rows} == set(expected)
    for experiment, gene, plane, r, n, seed_got in rows:
        assert seed_got == seed_id
        assert (gene, plane) == (GENE_OF[experiment], PLANE_OF[experiment])
        assert n == expected[experiment][1]
        # the voxel products are summed in single precision, per 4,096 voxels (README)
        assert r == pytest.approx(expected[experiment][0], abs=2e-5)
    rs = [row[3] for row in rows]
    assert rs == sorted(rs, reverse=True)


# ---------------------------------------------------------------------------- bad calls

@pytest.mark.parametrize(("sql", "fragments"), [
    ("select * from mouse_differential_search(['NOPE'], ['CP'])",
     ["mouse_differential_search: unknown target structure (mouse acronym) 'NOPE'"]),
    ("select * from mouse_differential_search(['cp'], ['Isocortex'])", ["did you mean 'CP'?"]),
    ("select * from mouse_differential_search([], ['CP'])", ["no target structure"]),
    ("select * from mouse_differential_search(['CP'], ['SF'])",
     ["mouse_differential_search contrast: no annotated grid voxel in 'SF' or below it"]),
    ("select * from mouse_differential_search_unionize(['CP'], ['NOPE'])",
     ["unknown contrast structure", "'NOPE'"]),
    ("select * from mouse_differential_search_unionize(['SF'], ['CP'])",
     ["mouse_differential_search_unionize target: no StructureUnionize row in 'SF'"]),
    ("select * from mouse_correlation_search('Nope1', [])",
     ["mouse_correlation_search: unknown gene or experiment", "'Nope1'"]),
    ("select * from mouse_correlation_search('pvalb', [])", ["did you mean 'Pvalb'?"]),
    ("select * from mouse_correlation_search('Gad1', [])", ["'Gad1'"]),  # failed only
    ("select * from mouse_correlation_search('868', ['NOPE'])",
     ["unknown structure (mouse acronym) 'NOPE'"]),
    ("select * from mouse_correlation_search('868', ['SF'])",
     ["mouse_correlation_search: no annotated grid voxel in 'SF' or below it"]),
    ("select * from mouse_grid('69014470')", ["mouse_grid: unknown gene or experiment"]),
])
def test_bad_arguments_raise_in_sql(db, sql, fragments):
    for select in ("*", "count(*)"):
        with pytest.raises(duckdb.Error) as raised:
            query(db, sql.replace("select *", f"select {select}"))
        for fragment in fragments:
            assert fragment in str(raised.value), (fragment, str(raised.value))


# ------------------------------------------------------------------ gene_expression_across

@pytest.fixture(scope="module")
def both(release, tmp_path_factory) -> Path:
    """The ISH release and the hand-made AHBA release in one warehouse."""
    from tests import ahba_release
    from warehouse.build import run

    ahba = ahba_release.write(tmp_path_factory.mktemp("ahba") / "ahba")
    path = tmp_path_factory.mktemp("both") / "w.duckdb"
    run(path, [str(release.root), str(ahba.root)], fresh=True)
    return path


def test_gene_expression_across_pairs_genes_and_structures(both):
    rows = query(both, "select human_gene_symbol, structure_acronym, human_structure_acronym, "
                 "mapping, ish_energy, ish_n_experiments, single_cell_expression, "
                 "ahba_expression, ahba_n_samples from gene_expression_across "
                 "where gene_symbol = 'Ppp1r1b'")
    pairs = {(r[1], r[2]): r for r in rows}
    assert {("STR", "Str"), ("CP", "Cd"), ("CP", "Pu"), ("CTX", "CX")} <= set(pairs)
    assert all(r[0] == "PPP1R1B" and r[3] == "homologous" for r in pairs.values())
    ish = dict(query(both, "select structure_acronym, mean_expression_energy from "
                     "mouse_regional_expression where gene_symbol = 'Ppp1r1b'"))
    for (mouse, human), row in pairs.items():
        assert row[4] == pytest.approx(ish[mouse], rel=1e-12)
        assert row[6] is None  # no single-cell expression loaded
        expected = query(both, "select sum(mean_expression * n_samples) / sum(n_samples), "
                         "sum(n_samples) from regional_expression where gene_symbol = "
                         "'PPP1R1B' and structure_acronym = ?", [human])[0]
        assert row[7] == pytest.approx(expected[0], rel=1e-12) and row[8] == expected[1]
    # a gene AHBA does not have: its human columns are empty
    pvalb = query(both, "select human_gene_symbol, ahba_expression from gene_expression_across "
                  "where gene_symbol = 'Pvalb' and structure_acronym = 'STR'")
    assert pvalb == [(None, None)]


def test_same_acronyms_pair_only_when_the_names_agree(both):
    mapped = {(a, m) for a, m in query(both, "select distinct structure_acronym, mapping "
                                            "from gene_expression_across")}
    # both ontologies have an SS: mouse somatosensory areas, human sulci & spaces
    assert query(both, "select count(distinct species) from structures where acronym = 'SS'"
                 ) == [(2,)]
    assert ("SSp", "same acronym") not in mapped and ("SS", "same acronym") not in mapped
    assert ("STR", "homologous") in mapped and ("grey", "homologous") in mapped


# ------------------------------------------------------------------ other forms of the input

def test_unionizes_as_csv_and_as_a_bare_list_load_the_same_rows(release, db, tmp_path):
    """A page saved as CSV (query.csv) and as the bare JSON list AllenSDK caches write."""
    import csv
    import json
    import shutil

    from warehouse.build import run

    root = tmp_path / "release"
    shutil.copytree(release.root, root)
    first, second = (root / "ish" / f"StructureUnionize_{k}.json" for k in (0, 1))
    rows = json.loads(first.read_text())["msg"]
    fields = sorted({key for row in rows for key in row})
    with open(first.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    first.unlink()
    second.write_text(json.dumps(json.loads(second.read_text())["msg"]))
    path = tmp_path / "w.duckdb"
    run(path, [str(root)], fresh=True)
    columns = "experiment_id, structure_id, expression_energy, sum_pixels, unionize_id"
    got = query(path, f"select {columns} from ish_structure_expression order by 1, 2")
    assert got == query(db, f"select {columns} from ish_structure_expression order by 1, 2")


def test_a_parent_smaller_than_its_children_is_reported(release, tmp_path):
    import json
    import shutil

    from warehouse.build import run

    root = tmp_path / "release"
    shutil.copytree(release.root, root)
    for page in (root / "ish").glob("StructureUnionize_*.json"):
        document = json.loads(page.read_text())
        for row in document["msg"]:  # STR of Ppp1r1b coronal: fewer pixels than CP alone
            if row["section_data_set_id"] == 73732146 and row["structure_id"] == 477:
                row["sum_pixels"] = 10.0
        page.write_text(json.dumps(document))
    outcome = run(tmp_path / "w.duckdb", [str(root)], fresh=True)
    assert any("the parent has fewer pixels than its children" in note and "in 1 of" in note
               for note in outcome.notes), outcome.notes
