"""AHBA microarray: every definition of issue 3 on a hand-made release (tests/ahba_release.py),
against answers computed here with numpy and scipy from the files as written."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import duckdb
import numpy as np
import pytest
from scipy import stats

from tests import ahba_release as release_
from tests.ahba_release import DONORS, PROBES, STRUCTURES


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> release_.Release:
    return release_.write(tmp_path_factory.mktemp("ahba") / "ahba")


@pytest.fixture(scope="module")
def db(release, tmp_path_factory) -> Path:
    from warehouse.build import run

    path = tmp_path_factory.mktemp("ahba_db") / "w.duckdb"
    run(path, [str(release.root)], fresh=True)
    return path


def query(db: Path, sql: str, params=None) -> list[tuple]:
    """A plain DuckDB connection: no Python function registered (what BI clients have)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def close(a, b, rel=1e-9, abs_=1e-12) -> bool:
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)


# ------------------------------------------------------------------------------ tables

def test_tables_hold_the_files(db, release):
    assert query(db, "select count(*) from ahba_probes") == [(len(PROBES),)]
    assert query(db, "select probe_id, is_refseq, entrez_id from ahba_probes "
                 "where probe_name = 'A_32_P885445'") == [(1071209, False, None)]
    assert query(db, "select donor_id, donor_name, n_samples from ahba_donors "
                 "where n_samples is not null order by 1") == [
        (9861, "H0351.2001", 17), (12876, "H0351.1009", 14)]
    assert query(db, "select count(*) from ahba_donors") == [(6,)]  # the six donors' facts
    rows = query(db, "select donor_id, sample_index, well_id, structure_id, slab_type, mni_x "
                 "from ahba_samples order by donor_id, sample_index")
    expected = [(uid, k + 1, release_.WELL_BASE[uid] + k, sid, "CB" if sid == 4697 else "CX",
                 -20.0 - k) for uid, structures in sorted(DONORS.items())
                for k, sid in enumerate(structures)]
    assert rows == expected
    assert query(db, "select count(*) from structures where species = 'human'") == [
        (len(STRUCTURES),)]


def test_expression_long_form_matches_the_files(db, release):
    rows = query(db, "select donor_id, sample_index, probe_id, expression, present "
                 "from ahba_expression")
    assert len(rows) == sum(len(s) for s in DONORS.values()) * len(PROBES)
    row_of = {p[0]: k for k, p in enumerate(PROBES)}
    for uid, j, probe, expression, present in rows:
        assert abs(expression - release.values[uid][row_of[probe], j - 1]) <= 5e-7
        assert present == bool(release.present[uid][row_of[probe], j - 1])
    # one probe is a fast, exact lookup
    one = query(db, "select count(*), min(expression) from ahba_expression "
                "where probe_id = 1058685")
    assert one[0][0] == 31


def test_every_file_is_in_the_ingest_log(db):
    rows = query(db, "select role, source_uri, md5, rows from ingest_log "
                 "where kind = 'microarray' order by role")
    roles = {r[0] for r in rows}
    for uid in DONORS:
        assert {f"expression_{uid}", f"pacall_{uid}", f"probes_{uid}",
                f"sample_annot_{uid}"} <= roles
    assert all(len(r[2]) == 32 for r in rows)
    # every donor's Ontology.csv is logged; identical copies are loaded once
    copies = query(db, "select notes from ingest_log where kind = 'ontology' order by notes")
    assert len(copies) == len(DONORS)
    assert sum(1 for (n,) in copies if n and n.startswith("identical to ")) == len(DONORS) - 1


# ------------------------------------------------------------------ regional expression

def regional_expected(release):
    genes, values = release_.gene_values(release)
    out = {}
    for sid, *_ in STRUCTURES:
        inside = release_.members(sid)
        donor_means = [values[uid][:, inside[uid]].mean(axis=1)
                       for uid in DONORS if inside[uid].any()]
        if not donor_means:
            continue
        n = sum(int(m.sum()) for m in inside.values())
        for g, gene in enumerate(genes):
            out[gene, sid] = (float(np.mean([m[g] for m in donor_means])), n, len(donor_means))
    return out


def test_regional_expression(db, release):
    expected = regional_expected(release)
    rows = query(db, "select gene_symbol, structure_id, mean_expression, n_samples, n_donors "
                 "from regional_expression")
    got = {(g, s): (m, n, d) for g, s, m, n, d in rows}
    assert set(got) == set(expected)  # no non-RefSeq probe, no structure without samples
    for key, (mean, n, donors) in expected.items():
        assert close(got[key][0], mean), key
        assert got[key][1:] == (n, donors), key
    # a gene with two probes is their mean; nested: SFG holds its own sample and both banks
    assert ("A_32_P885445", 4005) not in got
    assert got["DRD1", 4010][1:] == (7, 2)
    # left and right twins share an acronym but are two structures
    assert query(db, "select count(*) from regional_expression "
                 "where gene_symbol = 'GAPDH' and structure_acronym = 'SFG-i'") == [(2,)]


# ------------------------------------------------------------------------- differential

def differential_expected(release, target, contrast):
    genes, values = release_.gene_values(release)
    t_mask, c_mask = release_.in_any(target), release_.in_any(contrast)
    out = {}
    for g, gene in enumerate(genes):
        a = np.concatenate([values[uid][g, t_mask[uid]] for uid in DONORS])
        b = np.concatenate([values[uid][g, c_mask[uid]] for uid in DONORS])
        test = stats.ttest_ind(a, b, equal_var=False, alternative="greater")
        out[gene] = (len(a), len(b), a.mean(), b.mean(), float(test.statistic),
                     float(test.pvalue))
    q = stats.false_discovery_control([v[5] for v in out.values()], method="bh")
    return {gene: (*v, float(qv)) for (gene, v), qv in zip(out.items(), q, strict=True)}


@pytest.mark.parametrize("target, contrast", [
    (["Str"], ["CX"]),
    (["CX"], ["Str", "Cb", "WM"]),  # SLC17A7: a p-value near 1e-100
    (["SFG"], ["MFG", "STG"]),  # nested: SFG and both its (same-acronym) banks
    (["SFG-i"], ["Cd"]),
    (["CX"], ["FL"]),  # overlapping sides: a sample in both counts in both
])
def test_differential_search_agrees_with_scipy(db, release, target, contrast):
    expected = differential_expected(release, target, contrast)
    rows = query(db, "select gene_symbol, n_target, n_contrast, mean_target, mean_contrast, "
                 "log2_fold_change, t, p_value, q_value from differential_search(?, ?)",
                 [target, contrast])
    assert [r[0] for r in rows] == sorted(expected, key=lambda g: (expected[g][6],
                                                                  -(expected[g][2] -
                                                                    expected[g][3]), g))
    for gene, n_t, n_c, m_t, m_c, fold, t, p, q in rows:
        e = expected[gene]
        assert (n_t, n_c) == e[:2]
        assert close(m_t, e[2]) and close(m_c, e[3]) and close(fold, e[2] - e[3])
        assert close(t, e[4], rel=1e-8)
        assert close(p, e[5], rel=1e-6, abs_=0), (gene, p, e[5])
        assert close(q, e[6], rel=1e-6, abs_=0), (gene, q, e[6])
    if contrast == ["Str", "Cb", "WM"]:
        assert min(r[7] for r in rows) < 1e-30  # SLC17A7: tiny p-values keep their precision


def test_differential_search_probe_level(db, release):
    target, contrast = ["Str"], ["CX"]
    t_mask, c_mask = release_.in_any(target), release_.in_any(contrast)
    rows = query(db, "select probe_id, gene_symbol, n_target, mean_target, p_value, q_value "
                 "from differential_search_probes(['Str'], ['CX'])")
    assert len(rows) == len(PROBES)  # non-RefSeq probes included
    ps = {}
    for k, probe in enumerate(PROBES):
        # the stored values carry 6 decimals: scipy on the same values
        a = np.concatenate([np.round(release.values[u][k, t_mask[u]], 6) for u in DONORS])
        b = np.concatenate([np.round(release.values[u][k, c_mask[u]], 6) for u in DONORS])
        ps[probe[0]] = float(stats.ttest_ind(a, b, equal_var=False,
                                             alternative="greater").pvalue)
    q = dict(zip(ps, stats.false_discovery_control(list(ps.values())), strict=True))
    for probe_id, _gene, n_t, _mean, p, qv in rows:
        assert n_t == 10
        assert close(p, ps[probe_id], rel=1e-6, abs_=0)
        assert close(qv, float(q[probe_id]), rel=1e-6, abs_=0)
    assert rows[0][1] in ("DRD1", "PPP1R1B")


def test_unknown_acronym_is_an_error(db):
    with pytest.raises(duckdb.Error, match="unknown contrast structure .human acronym. .Nope."):
        query(db, "select * from differential_search(['Str'], ['Nope'])")


# -------------------------------------------------------------------------- correlation

@pytest.mark.parametrize("seed, within", [("PPP1R1B", ["Br"]), ("DRD1", ["CX", "Str"]),
                                          ("MBP", ["GM"])])
def test_correlation_search_agrees_with_numpy(db, release, seed, within):
    genes, values = release_.gene_values(release)
    mask = release_.in_any(within)
    pooled = np.concatenate([values[uid][:, mask[uid]] for uid in DONORS], axis=1)
    r = np.corrcoef(pooled)[genes.index(seed)]
    rows = query(db, "select gene_symbol, r, n_samples from correlation_search(?, ?)",
                 [seed, within])
    assert [row[0] for row in rows] == sorted((g for g in genes if g != seed),
                                              key=lambda g: -r[genes.index(g)])
    for gene, value, n in rows:
        assert abs(value - r[genes.index(gene)]) < 1e-6, gene
        assert n == pooled.shape[1]


# ------------------------------------------------------------------------------ markers

def test_region_markers(db, release):
    genes, values = release_.gene_values(release)
    expected = []
    for sid, acronym, *_ in STRUCTURES:
        inside = release_.members(sid)
        n_in = sum(int(m.sum()) for m in inside.values())
        if n_in < 10 or 31 - n_in < 10:
            continue
        rows = []
        for g, gene in enumerate(genes):
            a = np.concatenate([values[u][g, inside[u]] for u in DONORS])
            b = np.concatenate([values[u][g, ~inside[u]] for u in DONORS])
            p = stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue
            rows.append((gene, a.mean() - b.mean(), float(p)))
        q = stats.false_discovery_control([r[2] for r in rows])
        marks = sorted(((gene, fold, float(qv)) for (gene, fold, _p), qv
                        in zip(rows, q, strict=True) if qv < 0.05 and fold > 0),
                       key=lambda m: (-m[1], m[0]))
        expected += [(sid, acronym, gene, rank, fold, qv)
                     for rank, (gene, fold, qv) in enumerate(marks, start=1)]
    got = query(db, "select structure_id, structure_acronym, gene_symbol, rank, "
                "log2_fold_change, q_value from region_markers order by structure_id, rank")
    expected.sort(key=lambda e: (e[0], e[3]))
    assert [g[:4] for g in got] == [e[:4] for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert close(g[4], e[4]) and close(g[5], e[5], rel=1e-6, abs_=0)
    assert ("Str", "PPP1R1B") in {(g[1], g[2]) for g in got}


# ------------------------------------------------------------------- the same, otherwise

def test_cli_ingest_and_zips_give_the_same_answers(cli, db, release, tmp_path):
    zipped = tmp_path / "zips"
    zipped.mkdir()
    for uid, folder in release.donors.items():
        with zipfile.ZipFile(zipped / f"normalized_microarray_donor{uid}.zip", "w",
                             zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, path.name)
    other = tmp_path / "z.duckdb"
    result = cli("ingest", "microarray", str(zipped), "--db", str(other))
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    sql = ("select gene_symbol, structure_id, round(mean_expression, 9), n_samples "
           "from regional_expression order by all")
    assert query(other, sql) == query(db, sql)
    uris = [u for (u,) in query(other, "select source_uri from ingest_log "
                                "where role like 'expression_%'")]
    assert all(".zip!/MicroarrayExpression.csv" in u for u in uris)


def test_ontology_change_recomputes_regional_statistics(db, tmp_path, release):
    from warehouse.build import run

    copy = tmp_path / "w.duckdb"
    shutil.copyfile(db, copy)
    # the same ontology with MFG moved under TL: regional rows for FL and TL change
    onto = tmp_path / "onto" / "Ontology.csv"
    onto.parent.mkdir()
    text = (release.donors[9861] / "Ontology.csv").read_text()
    old, new = "4009,L,7,/4005/4006/4008/4009/4013/", "4020,L,7,/4005/4006/4008/4020/4013/"
    assert old in text
    text = text.replace(old, new)
    onto.write_text(text)
    before = query(copy, "select n_samples from regional_expression "
                   "where gene_symbol = 'GAPDH' and structure_acronym = 'TL'")
    run(copy, [str(onto)], kind="ontology", fresh=False)
    after = query(copy, "select n_samples from regional_expression "
                  "where gene_symbol = 'GAPDH' and structure_acronym = 'TL'")
    assert after[0][0] == before[0][0] + 4
