"""Statistics every AHBA question needs, computed once per load.

Gene-level values (the mean of a gene's RefSeq probes in a sample) are accumulated sample by
sample while the load has them in double precision (`Stats.add`), minus a per-gene center
(`ahba_genes.center`, a value near the gene's level, so that sums of squares keep their
precision), into:

- `ahba_leaves` / `ahba_leaf_stats`: per structure samples are annotated to ("leaf"), the
  number of samples and, per gene, the sum and sum of squares of its centered values, donors
  pooled.
  `differential_search` and `correlation_search` add these up over the structures asked for.
- `ahba_regions` / `ahba_regional_means`: per structure with samples in it or below it, the
  mean over donors of each donor's mean (what `regional_expression` shows).
- `ahba_region_markers`: per structure with at least MIN_SAMPLES samples in it and outside it,
  its top genes by fold change among those significant (BH q < 0.05, one-sided Welch t)
  against all other samples, donors pooled: the test `differential_search` does.

`derive` (after every build or ingest) recomputes the ontology-dependent tables when the human
ontology changed since: from the pooled leaf sums (markers) and the stored gene-level values
(`ahba_gene_samples`, single precision, for the per-donor means).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from ingest.ahba import arrays, tdist
from ingest.base import Report

MIN_SAMPLES = 10
TOP_MARKERS = 50
Q_CUTOFF = 0.05
T_CANDIDATE = 1.6  # below this, p > 0.0548 for any df: such a gene is never significant
REGION_CHUNK = 64
FINGERPRINT = ("select md5(coalesce(string_agg(structure_id_path, ',' order by structure_id), "
               "'')) from structures where species = 'human'")


@dataclass
class Tree:
    leaves: np.ndarray  # structure ids samples are annotated to, sorted
    regions: np.ndarray  # every such structure and its ancestors, deepest first
    leaf_region: np.ndarray  # region index of each leaf
    parent: np.ndarray  # region index of each region's parent (-1 at the root)

    def roll_up(self, by_leaf: np.ndarray) -> np.ndarray:
        """Per-leaf rows summed into every region (a region = itself and all below it)."""
        out = np.zeros((len(self.regions), *by_leaf.shape[1:]), dtype=by_leaf.dtype)
        out[self.leaf_region] += by_leaf
        for k in range(len(self.regions)):  # deepest first: children before parents
            if self.parent[k] >= 0:
                out[self.parent[k]] += out[k]
        return out


def tree(con: duckdb.DuckDBPyConnection, leaves: np.ndarray, report: Report) -> Tree:
    rows = con.execute(
        """
        select distinct a.ancestor_id, s.depth
        from structure_ancestors as a
        join structures as s on s.species = 'human' and s.structure_id = a.ancestor_id
        where a.species = 'human' and a.structure_id in (select unnest(?))
        """, [leaves.tolist()]).fetchall()
    depth = dict(rows)
    unknown = [leaf for leaf in leaves.tolist() if leaf not in depth]
    if unknown:
        report.note(f"{len(unknown)} AHBA sample structure(s) are not in the loaded human "
                    f"ontology (e.g. {unknown[0]}): they count only as themselves")
        depth.update(dict.fromkeys(unknown, 0))
    regions = np.array(sorted(depth, key=lambda s: (-depth[s], s)), dtype=np.int64)
    index = {s: k for k, s in enumerate(regions.tolist())}
    parent = np.full(len(regions), -1)
    for child, ancestor in con.execute(
            "select structure_id, ancestor_id from structure_ancestors where species = 'human' "
            "and distance = 1 and structure_id in (select unnest(?))",
            [regions.tolist()]).fetchall():
        if ancestor in index:
            parent[index[child]] = index[ancestor]
    return Tree(leaves, regions, np.array([index[s] for s in leaves.tolist()]), parent)


class Stats:
    """Per-leaf sums (donors pooled) and per-region means of donor means, sample by sample."""

    def __init__(self, tree: Tree, genes: list[str], entrez: list[int],
                 center: np.ndarray | None = None) -> None:
        self.tree, self.genes, self.entrez = tree, genes, entrez
        self.center = center  # set by the first sample when not given
        shape = (len(tree.leaves), len(genes))
        self.sums, self.sumsqs = np.zeros(shape), np.zeros(shape)
        self.leaf_n = np.zeros(len(tree.leaves), dtype=np.int64)
        self.leaf_donors = np.zeros(len(tree.leaves), dtype=np.int64)
        self.mean_total = np.zeros((len(tree.regions), len(genes)))
        self.region_donors = np.zeros(len(tree.regions), dtype=np.int64)
        self._donor_sums = np.zeros(shape)
        self._donor_n = np.zeros(len(tree.leaves), dtype=np.int64)

    def leaf_of(self, structure_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.tree.leaves, structure_ids)

    def add(self, leaf: int, values: np.ndarray) -> np.ndarray:
        """One sample's gene-level values (of the donor being added); returns them centered."""
        if self.center is None:
            self.center = values.copy()
        centered = values - self.center
        self._donor_sums[leaf] += centered
        self.sumsqs[leaf] += centered * centered
        self._donor_n[leaf] += 1
        return centered

    def end_donor(self) -> None:
        self.sums += self._donor_sums
        self.leaf_n += self._donor_n
        self.leaf_donors += self._donor_n > 0
        region_sums = self.tree.roll_up(self._donor_sums)
        region_n = self.tree.roll_up(self._donor_n)
        region_sums /= np.maximum(region_n, 1)[:, None]  # rows without samples stay 0
        self.mean_total += region_sums
        self.region_donors += region_n > 0
        self._donor_sums[:] = 0
        self._donor_n[:] = 0

    def write(self, con: duckdb.DuckDBPyConnection, *, leaves: bool = True) -> None:
        """Replace the derived tables (`leaves=False`: keep the stored leaf statistics)."""
        if leaves:
            _write_leaves(con, self)
        _write_regions(con, self)
        _write_markers(con, self)


def derive(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    (n_samples,) = con.execute("select count(*) from ahba_samples").fetchone()
    state = con.execute("select ontology_fingerprint from ahba_derive_state").fetchone()
    if not n_samples or state is None:
        return
    fingerprint = con.execute(FINGERPRINT).fetchone()[0]
    if state[0] == fingerprint:
        return
    report.note("the human ontology changed since the microarray load: recomputing "
                "regional_expression and region_markers")
    with arrays.uncompressed(con):
        _recompute(con, report)
    con.execute("update ahba_derive_state set ontology_fingerprint = ?", [fingerprint])


def _recompute(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    samples = con.execute("select donor_id, structure_id, array_index from ahba_samples "
                          "order by array_index").fetchnumpy()
    genes = con.execute("select gene_symbol, entrez_id, center from ahba_genes "
                        "order by gene_symbol").fetchnumpy()
    stats = Stats(tree(con, np.unique(samples["structure_id"]), report),
                  genes["gene_symbol"].tolist(), genes["entrez_id"].tolist(),
                  genes["center"].astype(np.float64))
    table = con.sql("select centered from ahba_gene_samples order by gene_symbol"
                    ).to_arrow_table()
    values = table.column("centered").combine_chunks().values.to_numpy()
    values = values.reshape(table.num_rows, -1)  # genes x samples (array_index order)
    leaves = stats.leaf_of(samples["structure_id"])
    for donor in np.unique(samples["donor_id"]).tolist():
        for k in np.flatnonzero(samples["donor_id"] == donor).tolist():
            stats.add(int(leaves[k]), values[:, samples["array_index"][k] - 1] + stats.center)
        stats.end_donor()
    # the pooled per-leaf sums of the load (double precision) stay; the rest follows the tree
    stored = con.execute("select sums, sumsqs from ahba_leaf_stats order by gene_symbol"
                         ).fetchnumpy()
    if len(stored["sums"]) == len(stats.genes):
        stats.sums = np.array(stored["sums"].tolist()).T
        stats.sumsqs = np.array(stored["sumsqs"].tolist()).T
    stats.write(con, leaves=False)


def _write_leaves(con: duckdb.DuckDBPyConnection, stats: Stats) -> None:
    con.execute("delete from ahba_leaves")
    con.execute("delete from ahba_leaf_stats")
    arrays.append(con, "ahba_leaves", {
        "leaf_pos": pa.array(np.arange(1, len(stats.tree.leaves) + 1, dtype=np.int32)),
        "structure_id": pa.array(stats.tree.leaves),
        "n_samples": pa.array(stats.leaf_n.astype(np.int32)),
        "n_donors": pa.array(stats.leaf_donors.astype(np.int32))})
    arrays.append(con, "ahba_leaf_stats", {
        "gene_symbol": pa.array(stats.genes), "sums": arrays.lists(stats.sums.T),
        "sumsqs": arrays.lists(stats.sumsqs.T)})


def _write_regions(con: duckdb.DuckDBPyConnection, stats: Stats) -> None:
    con.execute("delete from ahba_regions")
    con.execute("delete from ahba_regional_means")
    regions = stats.tree.regions
    arrays.append(con, "ahba_regions", {
        "region_pos": pa.array(np.arange(1, len(regions) + 1, dtype=np.int32)),
        "structure_id": pa.array(regions),
        "n_samples": pa.array(stats.tree.roll_up(stats.leaf_n).astype(np.int32)),
        "n_donors": pa.array(stats.region_donors.astype(np.int32))})
    with np.errstate(invalid="ignore", divide="ignore"):
        regional = stats.mean_total / stats.region_donors[:, None] + stats.center
    arrays.append(con, "ahba_regional_means", {
        "gene_symbol": pa.array(stats.genes), "entrez_id": pa.array(stats.entrez),
        "means": arrays.lists(regional.T)})


def _write_markers(con: duckdb.DuckDBPyConnection, stats: Stats) -> None:
    """Each region against all other samples, donors pooled; keep q < 0.05, top by fold change."""
    con.execute("delete from ahba_region_markers")
    tree, symbols = stats.tree, np.array(stats.genes, dtype=object)
    total_n = int(stats.leaf_n.sum())
    total_s, total_q = stats.sums.sum(axis=0), stats.sumsqs.sum(axis=0)
    region_n = tree.roll_up(stats.leaf_n)
    tested = np.flatnonzero((region_n >= MIN_SAMPLES) & (total_n - region_n >= MIN_SAMPLES))
    region_s, region_q = tree.roll_up(stats.sums), tree.roll_up(stats.sumsqs)
    batches = []
    for start in range(0, len(tested), REGION_CHUNK):
        chunk = tested[start:start + REGION_CHUNK]
        n1 = region_n[chunk, None].astype(np.float64)
        s1, q1 = region_s[chunk], region_q[chunk]
        m1, m2, t, df = tdist.welch(n1, s1, q1, total_n - n1, total_s - s1, total_q - q1)
        for row, region in enumerate(chunk):
            batch = _markers_of(int(tree.regions[region]), symbols, stats.center,
                                int(n1[row, 0]), total_n, m1[row], m2[row], t[row], df[row])
            if batch is not None:
                batches.append(batch)
    if batches:
        arrays.append(con, "ahba_region_markers", {
            name: pa.array(np.concatenate([b[name] for b in batches]))
            for name in batches[0]})


def _markers_of(structure_id: int, symbols: np.ndarray, center: np.ndarray, n1: int,
                total_n: int, m1, m2, t, df) -> dict | None:
    valid = np.isfinite(t)
    m = int(valid.sum())
    candidates = np.flatnonzero(valid & (t > T_CANDIDATE))
    if not m or not len(candidates):
        return None
    p = tdist.t_sf(t[candidates], df[candidates])
    small = p <= Q_CUTOFF  # every gene with p <= 0.05 is a candidate: their ranks are exact
    candidates, p = candidates[small], p[small]
    q = tdist.bh(p, m)
    fold = (m1 - m2)[candidates]
    keep = (q < Q_CUTOFF) & (fold > 0)
    candidates, p, q, fold = candidates[keep], p[keep], q[keep], fold[keep]
    top = np.lexsort((symbols[candidates].astype(str), -fold))[:TOP_MARKERS]
    chosen = candidates[top]
    k = len(chosen)
    return {"structure_id": np.full(k, structure_id, dtype=np.int64),
            "gene_symbol": symbols[chosen].astype(str),
            "rank": np.arange(1, k + 1, dtype=np.int32),
            "n_structure": np.full(k, n1, dtype=np.int32),
            "n_rest": np.full(k, total_n - n1, dtype=np.int32),
            "mean_structure": m1[chosen] + center[chosen],
            "mean_rest": m2[chosen] + center[chosen],
            "log2_fold_change": fold[top], "t": t[chosen], "df": df[chosen],
            "p_value": p[top], "q_value": q[top]}
