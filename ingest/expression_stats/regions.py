"""Mouse regional expression from single cells: each region's pseudo-bulk, and its markers.

For every region of `composition` and method (10x cells by dissection ROI and the CCF
structures containing whole ROIs; MERFISH cells by CCF structure) the expected expression of
its cells is the mean over its clusters of each cluster's mean (the 10x statistics), weighted
by the region's cells in that cluster: sum_c (n_rc / n_r) * mean_c. The rest of the brain is
every other cell of the same method's dataset: (sum_c N_c mean_c - sum_c n_rc mean_c) /
(N - n_r), N_c being cluster c's cells of that method, counted once each over regions that
partition them: the ROIs for dissection (each 10x cell is in exactly one), the top structures
for spatial (a MERFISH cell counts toward its parcellation's structure and every ancestor, so
the structures without an ancestor among the method's regions, the root, hold each cell once).
Fractions expressing pool the same way when the statistics have per-cell counts (`ge1`).

A region's markers are its genes higher than in the rest of the brain, ranked by fold change
(difference of log2 means), keeping genes its cells express: a pooled fraction expressing of at
least MIN_FRACTION, or, for a means-only file (no fractions), a mean of at least MIN_MEAN
log2(CPM+1) (CPM >= 1 on the log scale). Computed at build (`derive`), whenever the composition
or the statistics changed.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from ingest.ahba import arrays
from ingest.base import Report
from ingest.expression_stats import store
from ingest.expression_stats.schema import REGION_TABLES
from warehouse import views

MIN_FRACTION = 0.25  # scanpy's filter_rank_genes_groups default min_in_group_fraction
MIN_MEAN = 1.0
TOP = 50

COUNTS = """
select method, region_kind, region_acronym, structure_id, cell_type_label, cell_type, n_cells
from composition where level = 'cluster'
"""
FINGERPRINT = """
select md5(coalesce(string_agg(concat_ws('|', method, region_kind, region_acronym,
                                         structure_id, cell_type_label, cell_type, n_cells),
                               ',' order by method, region_kind, region_acronym,
                               cell_type_label, cell_type), ''))
from composition where level = 'cluster'
"""


def clear(con: duckdb.DuckDBPyConnection) -> None:
    for table in REGION_TABLES:
        con.execute(f"delete from {table}")


def derive(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    state = con.execute("select loaded_stamp, taxonomy_fingerprint, has_ge1 "
                        "from expression_statistics").fetchone()
    if state is None:
        clear(con)
        return
    views.create_all(con)  # composition, as this build publishes it
    fingerprint = con.execute(FINGERPRINT).fetchone()[0] + state[0] + state[1]
    stored = con.execute("select fingerprint from expression_region_state").fetchone()
    if stored and stored[0] == fingerprint:
        return
    clear(con)
    with arrays.uncompressed(con):
        _compute(con, report, has_ge1=state[2])
    con.execute("insert into expression_region_state values (?)", [fingerprint])


def _counts(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple], np.ndarray]:
    """The regions (method, kind, acronym, structure id) and their cells per cluster_pos."""
    clusters = con.execute(
        """
        select e.cluster_pos, t.cluster_term_label, t.cluster, e.n_cells
        from expression_clusters e join cell_types t using (cluster_alias)
        order by e.cluster_pos
        """).fetchall()
    by_label = {label: pos for pos, label, _name, _n in clusters if label}
    by_name = {name: pos for pos, _label, name, _n in clusters if name}
    with_cells = np.array([n > 0 for *_, n in clusters])
    regions: dict[tuple, int] = {}
    entries = []
    for method, kind, acronym, structure_id, label, name, n in con.execute(COUNTS).fetchall():
        pos = by_label.get(label) if label else by_name.get(name)
        if pos is None:
            continue
        index = regions.setdefault((method, kind, acronym, structure_id), len(regions))
        entries.append((index, pos - 1, n))
    counts = np.zeros((len(regions), len(clusters)))
    for index, column, n in entries:
        counts[index, column] += n
    counts[:, ~with_cells] = 0  # a cluster with no cells has no mean
    return list(regions), counts


def _compute(con: duckdb.DuckDBPyConnection, report: Report, *, has_ge1: bool) -> None:
    regions, counts = _counts(con)
    if not regions:
        return
    n_region = counts.sum(axis=1)
    method_of, per_cluster = _datasets(con, regions, counts)
    n_rest = per_cluster.sum(axis=1)[method_of] - n_region
    keep = n_region > 0
    arrays.append(con, "expression_regions", {
        "region_pos": pa.array(np.arange(1, len(regions) + 1, dtype=np.int32)),
        "region_kind": pa.array([r[1] for r in regions], type=pa.string()),
        "region_acronym": pa.array([r[2] for r in regions], type=pa.string()),
        "structure_id": pa.array([r[3] for r in regions], type=pa.int64()),
        "method": pa.array([r[0] for r in regions], type=pa.string()),
        "n_cells": pa.array(n_region.astype(np.int64)),
        "n_rest": pa.array(n_rest.astype(np.int64))})
    scale, n_cells = (np.array(c) for c in zip(*con.execute(
        "select scale, n_cells from expression_clusters order by cluster_pos").fetchall(),
        strict=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(keep[:, None], counts / n_region[:, None], 0.0)
    (n_genes,) = con.execute("select count(*) from expression_genes").fetchone()
    with np.errstate(invalid="ignore", divide="ignore"):
        to_mean = np.where(n_cells > 0, scale / n_cells, 0.0)  # stored sum -> cluster mean
        to_fraction = np.where(n_cells > 0, 1.0 / n_cells, 0.0)  # ge1 -> fraction
    columns = "gene_pos, cluster_pos, sum" + (", ge1" if has_ge1 else "")
    buffers: dict[str, np.ndarray] = {}
    candidates = []
    for start, stop in store.gene_ranges(len(scale), n_genes):
        found = con.execute(f"select {columns} from expression_cluster_stats "
                            "where gene_pos between ? and ?", [start + 1, stop]).fetchnumpy()
        cluster = found["cluster_pos"] - 1
        where = (cluster, found["gene_pos"] - 1 - start)
        means = _zeros(buffers, "means", (len(scale), stop - start))
        means[where] = found["sum"] * to_mean[cluster]
        inside = share @ means  # regions x genes
        fraction = fraction_rest = None
        if has_ge1:
            fractions = _zeros(buffers, "fractions", means.shape)
            fractions[where] = np.asarray(found["ge1"], dtype=np.float64) * to_fraction[cluster]
            fraction = share @ fractions
            fraction_rest = _rest(fraction, fractions, per_cluster, method_of, n_region,
                                  n_rest)
        rest = _rest(inside, means, per_cluster, method_of, n_region, n_rest)
        _write_means(con, start, inside, fraction, keep)
        candidates.append(_candidates(start, inside, rest, fraction, fraction_rest,
                                      keep & (n_rest > 0)))
    _write_markers(con, candidates)
    report_empty = int((~keep).sum())
    if report_empty:
        report.note(f"{report_empty} region(s) of composition have no cells in clusters with "
                    "expression statistics")


def _datasets(con: duckdb.DuckDBPyConnection, regions: list[tuple],
              counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each region's method (an index) and each method's cells per cluster, every cell once:
    summed over the method's ROIs when it has ROI rows (dissection: every 10x cell is in
    exactly one ROI; its structure rows repeat those cells), else over its structures without
    a proper ancestor among its structures (spatial: a cell counts toward its structure and
    every ancestor, so the tops of the trees hold each cell once)."""
    methods = list(dict.fromkeys(r[0] for r in regions))
    method_of = np.array([methods.index(r[0]) for r in regions])
    roi = np.array([r[1] == "roi" for r in regions])
    ancestors: dict[int, set[int]] = {}
    for structure_id, ancestor_id in con.execute(
            "select structure_id, ancestor_id from structure_ancestors "
            "where species = 'mouse' and distance > 0").fetchall():
        ancestors.setdefault(structure_id, set()).add(ancestor_id)
    per_cluster = np.zeros((len(methods), counts.shape[1]))
    for m in range(len(methods)):
        mine = method_of == m
        if (mine & roi).any():
            partition = mine & roi
        else:
            structures = {r[3] for r, own in zip(regions, mine, strict=True) if own}
            partition = mine & np.array([not (ancestors.get(r[3], set()) & structures)
                                         for r in regions])
        per_cluster[m] = counts[partition].sum(axis=0)
    return method_of, per_cluster


def _zeros(buffers: dict[str, np.ndarray], name: str, shape: tuple[int, int]) -> np.ndarray:
    """A zeroed array of `shape` in memory reused from block to block."""
    size = shape[0] * shape[1]
    if name not in buffers or buffers[name].size < size:
        buffers[name] = np.empty(size)
    out = buffers[name][:size].reshape(shape)
    out.fill(0.0)
    return out


def _rest(inside: np.ndarray, values: np.ndarray, per_cluster: np.ndarray,
          method_of: np.ndarray, n_region: np.ndarray, n_rest: np.ndarray) -> np.ndarray:
    """Every other cell's mean: (the method's dataset's sum - the region's sum) / the other
    cells; the region's sum is its mean times its cells (no second product over the
    clusters)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((per_cluster @ values)[method_of] - n_region[:, None] * inside) \
            / n_rest[:, None]


def _write_means(con: duckdb.DuckDBPyConnection, start: int, inside: np.ndarray,
                 fraction: np.ndarray | None, keep: np.ndarray) -> None:
    regions = np.flatnonzero(keep)
    n_genes = inside.shape[1]
    gene = np.repeat(np.arange(start + 1, start + n_genes + 1, dtype=np.int32), len(regions))
    region = np.tile(regions.astype(np.int32) + 1, n_genes)
    arrays.append(con, "expression_region_means", {
        "gene_pos": pa.array(gene), "region_pos": pa.array(region),
        "mean_expression": pa.array(inside[regions].T.ravel()),
        "fraction_expressing": (pa.nulls(len(gene), pa.float64()) if fraction is None
                                else pa.array(fraction[regions].T.ravel()))})


def _candidates(start: int, inside: np.ndarray, rest: np.ndarray, fraction, fraction_rest,
                tested: np.ndarray) -> dict[str, np.ndarray]:
    fold = inside - rest
    expressed = fraction >= MIN_FRACTION if fraction is not None else inside >= MIN_MEAN
    ok = expressed & (fold > 0) & tested[:, None]
    region, gene = np.nonzero(ok)
    return {"region": region, "gene": gene + start, "fold": fold[ok], "inside": inside[ok],
            "rest": rest[ok],
            "fraction_in": None if fraction is None else fraction[ok],
            "fraction_out": None if fraction_rest is None else fraction_rest[ok]}


def _write_markers(con: duckdb.DuckDBPyConnection, parts: list[dict]) -> None:
    if not parts:
        return
    found = {key: (None if parts[0][key] is None else np.concatenate([p[key] for p in parts]))
             for key in parts[0]}
    order = np.lexsort((found["gene"], -found["fold"], found["region"]))
    region = found["region"][order]
    first = np.r_[0, np.flatnonzero(np.diff(region)) + 1]
    rank = np.arange(len(region)) - np.repeat(first, np.diff(np.r_[first, len(region)]))
    chosen = order[rank < TOP]
    n = len(chosen)
    arrays.append(con, "expression_region_markers", {
        "region_pos": pa.array((found["region"][chosen] + 1).astype(np.int32)),
        "gene_pos": pa.array((found["gene"][chosen] + 1).astype(np.int32)),
        "rank": pa.array((rank[rank < TOP] + 1).astype(np.int32)),
        "mean_in": pa.array(found["inside"][chosen]),
        "mean_out": pa.array(found["rest"][chosen]),
        "log2_fold_change": pa.array(found["fold"][chosen]),
        "fraction_in": (pa.nulls(n, pa.float64()) if found["fraction_in"] is None
                        else pa.array(found["fraction_in"][chosen])),
        "fraction_out": (pa.nulls(n, pa.float64()) if found["fraction_out"] is None
                         else pa.array(found["fraction_out"][chosen]))})
