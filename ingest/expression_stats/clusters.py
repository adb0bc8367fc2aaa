"""The statistics file's clusters against the loaded taxonomy: which cluster each row is, what
kind of file it is, how much each cluster weighs, and the cell types its clusters pool into.

Clusters are matched by their label (the taxonomy tree's leaves: `CS20230722_CLUS_0001`), or,
for files written from a lab's own h5ad, by cluster name or alias. A file whose labels belong to
another taxonomy version is refused, naming both.

Two kinds of file (DATA_FORMATS.md §1.6):

- true counts (what cell_type_mapper's precompute tools write): `n_cells` are the clusters'
  cell counts and `sum`, `sumsq`, `ge1` are sums over those cells, so every statistic pools
  exactly;
- means only (the ABC release's WMB file): `n_cells` is 1 for every cluster while the taxonomy
  gives them hundreds of cells, so `sum` holds each cluster's mean. Clusters are then weighted
  by their real cell counts (cluster.csv `number_of_cells`, else counted from the loaded cells),
  and anything else in the file describes one pseudo-cell per cluster: never used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import duckdb
import numpy as np

from ingest.expression_stats.stats_file import StatsFile
from ingest.taxonomy import version_of_labels
from warehouse.errors import DataError

TRUE_COUNTS, MEANS_ONLY = "true counts", "means only"
# levels above the cluster, outermost first; each pools its clusters (cluster level is stored
# per cluster). neurotransmitter is not a level of the tree: its parent is the root.
TREE_LEVELS = ("division", "class", "subclass", "supertype")
LEVELS = ("neurotransmitter", *TREE_LEVELS, "cluster")
LABEL_COLUMN = {"neurotransmitter": "neurotransmitter_label", "division": "division_label",
                "class": "class_label", "subclass": "subclass_label",
                "supertype": "supertype_label", "cluster": "cluster_term_label"}

TAXONOMY_QUERY = f"""
select cluster_alias, cluster_label, cluster, number_of_cells, taxonomy_version,
       {', '.join(f'{level}, {column}' for level, column in LABEL_COLUMN.items())}
from cell_types order by cluster_alias
"""


@dataclass
class CellType:
    type_pos: int
    level: str
    name: str | None
    label: str | None
    parent_pos: int | None
    cluster_pos: int | None
    clusters: np.ndarray  # positions (0-based) of its clusters
    n_cells: int


@dataclass
class Layout:
    """The matched clusters in taxonomy order, their weights, and the cell types over them."""

    keys: list[str]  # the file's key of each cluster, in cluster_pos order
    aliases: np.ndarray
    file_rows: np.ndarray  # the row of each cluster in the file's arrays
    n_cells: np.ndarray  # int64
    scale: np.ndarray  # float64: stored sum x scale = sum over the cluster's cells
    types: list[CellType]  # root first, then every level outermost first
    kind: str
    weights: str
    taxonomy_version: str | None
    notes: list[str]

    def pooled(self) -> list[CellType]:
        """Types whose statistics are pooled at load (root and every level above cluster)."""
        return [t for t in self.types if t.level != "cluster"]


def taxonomy_rows(con: duckdb.DuckDBPyConnection) -> list[dict]:
    cursor = con.execute(TAXONOMY_QUERY)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def fingerprint(rows: list[dict]) -> str:
    """What the pooling depends on: each cluster's labels at every level and its count."""
    digest = hashlib.md5()
    for row in rows:
        digest.update(repr(sorted(row.items(), key=lambda kv: kv[0])).encode())
    return digest.hexdigest()


def _match(stats: StatsFile, rows: list[dict]) -> tuple[dict[str, dict], str]:
    """file key -> taxonomy row, by the scheme that matches the most keys."""
    schemes = {
        "label": lambda r: r["cluster_term_label"],
        "name": lambda r: r["cluster"],
        "alias": lambda r: str(r["cluster_alias"]),
        "cluster.csv label": lambda r: r["cluster_label"],
    }
    best: tuple[dict[str, dict], str] = ({}, "label")
    for scheme, key_of in schemes.items():
        index = {key_of(r): r for r in rows if key_of(r) is not None}
        matched = {k: index[k] for k in stats.cluster_rows if k in index}
        if len(matched) > len(best[0]):
            best = (matched, scheme)
    return best


def _file_version(stats: StatsFile) -> str | None:
    labels = [*stats.cluster_rows, *stats.hierarchy()]
    try:
        return version_of_labels(labels)
    except ValueError as error:
        raise DataError(f"its clusters carry labels of two taxonomy versions ({error})",
                        file=stats.label,
                        hint="a precomputed statistics file describes one taxonomy") from None


def layout(con: duckdb.DuckDBPyConnection, stats: StatsFile) -> Layout:
    rows = taxonomy_rows(con)
    if not rows:
        raise DataError("no taxonomy is loaded: the statistics' clusters cannot be placed in "
                        "any cell type", file=stats.label,
                        hint="load the WMB taxonomy with them: brainwh build RELEASE_DIR, or "
                        "brainwh ingest expression TAXONOMY_DIR STATS_FILE")
    loaded = next((r["taxonomy_version"] for r in rows if r["taxonomy_version"]), None)
    version = _file_version(stats)
    if version and loaded and version != loaded:
        raise DataError(f"the statistics are for taxonomy {version}, but the loaded taxonomy "
                        f"is {loaded}; clusters are not comparable across taxonomy versions",
                        file=stats.label,
                        hint=f"load the statistics file of taxonomy {loaded} (the ABC "
                        f"release's mapmycells/WMB-10X files), or the {version} taxonomy")
    matched, scheme = _match(stats, rows)
    if not matched:
        sample = ", ".join(list(stats.cluster_rows)[:3])
        raise DataError(f"none of its {stats.n_clusters} clusters ({sample}, ...) is a cluster "
                        "of the loaded taxonomy (by label, name or alias)",
                        file=stats.label,
                        hint="load the taxonomy the statistics were computed for")
    notes = []
    unmatched = [k for k in stats.cluster_rows if k not in matched]
    if unmatched:
        notes.append(f"{len(unmatched)} of the file's {stats.n_clusters} clusters are not in "
                     f"the loaded taxonomy and are left out (e.g. {unmatched[0]})")
    if len(matched) < len(rows):
        notes.append(f"{len(rows) - len(matched)} cluster(s) of the taxonomy have no "
                     "statistics in the file")
    if scheme != "label":
        notes.append(f"clusters matched to the taxonomy by {scheme}")
    return _ordered(con, stats, matched, rows, version or loaded, notes)


def _ordered(con: duckdb.DuckDBPyConnection, stats: StatsFile, matched: dict[str, dict],
             rows: list[dict], version: str | None, notes: list[str]) -> Layout:
    def key(level: str, row: dict) -> str | None:
        return row[LABEL_COLUMN[level]] or row[level]

    keys = sorted(matched, key=lambda k: tuple(key(level, matched[k]) or ""
                                               for level in (*TREE_LEVELS, "cluster")))
    members = [matched[k] for k in keys]
    file_n = stats.n_cells[[stats.cluster_rows[k] for k in keys]]
    taxonomy_n = np.array([r["number_of_cells"] if r["number_of_cells"] is not None else -1
                           for r in members], dtype=np.int64)
    if (file_n == 1).all() and (taxonomy_n > 1).any():
        kind = MEANS_ONLY
        n_cells, weights = _real_counts(con, stats, members, taxonomy_n)
        scale = n_cells.astype(np.float64)
        ignored = sorted(stats.arrays - {"sum"})
        notes.append("means-only file: n_cells is 1 for every cluster, so 'sum' holds each "
                     f"cluster's mean log2(CPM+1); clusters weighted by {weights}"
                     + (f"; {', '.join(ignored)} describe one pseudo-cell per cluster and are "
                        "not used" if ignored else "; the file has no sumsq or ge1, so "
                        "variances, fractions expressing, t, p and q are not available"))
    else:
        kind, weights = TRUE_COUNTS, "the file's n_cells"
        n_cells, scale = file_n.astype(np.int64), np.ones(len(keys))
        if (n_cells == 0).any():
            notes.append(f"{int((n_cells == 0).sum())} cluster(s) have n_cells 0 in the file: "
                         "they count in no statistic")
    layout = Layout(keys=keys, aliases=np.array([r["cluster_alias"] for r in members]),
                    file_rows=np.array([stats.cluster_rows[k] for k in keys], dtype=np.int64),
                    n_cells=n_cells, scale=scale, types=[], kind=kind, weights=weights,
                    taxonomy_version=version, notes=notes)
    layout.types = cell_types(members, n_cells)
    return layout


def _real_counts(con: duckdb.DuckDBPyConnection, stats: StatsFile, members: list[dict],
                 taxonomy_n: np.ndarray) -> tuple[np.ndarray, str]:
    if (taxonomy_n >= 0).all():
        return taxonomy_n, "cluster.csv number_of_cells"
    counted = dict(con.execute("select cluster_alias, count(*) from cells "
                               "group by cluster_alias").fetchall())
    if not counted:
        raise DataError("a means-only file (n_cells = 1 for every cluster) needs the clusters' "
                        "real cell counts, but cluster.csv has no number_of_cells and no cells "
                        "are loaded", file=stats.label,
                        hint="load cluster.csv with its number_of_cells, or the WMB-10X "
                        "cell_metadata, with the statistics")
    return (np.array([counted.get(r["cluster_alias"], 0) for r in members], dtype=np.int64),
            "cells counted from cell_metadata")


def cell_types(members: list[dict], n_cells: np.ndarray) -> list[CellType]:
    """Root, then every level (outermost first), each type with its clusters (0-based
    positions into `members`, which are in taxonomy order)."""
    everything = np.arange(len(members))
    types = [CellType(0, "root", None, None, None, None, everything, int(n_cells.sum()))]
    position_of: dict[tuple[str, str], int] = {}
    parent_level = {"division": None, "class": "division", "subclass": "class",
                    "supertype": "subclass", "cluster": "supertype", "neurotransmitter": None}
    for level in LEVELS:
        labels = [m[LABEL_COLUMN[level]] or m[level] for m in members]
        if all(label is None for label in labels):
            continue
        groups: dict[str, list[int]] = {}
        for index, label in enumerate(labels):
            if label is not None:
                groups.setdefault(label, []).append(index)
        for label in sorted(groups, key=lambda g: groups[g][0]):
            clusters = np.array(groups[label])
            first = members[clusters[0]]
            parent = parent_level[level]
            while parent is not None and first[LABEL_COLUMN[parent]] is None \
                    and first[parent] is None:
                parent = parent_level[parent]
            parent_pos = (position_of.get((parent, first[LABEL_COLUMN[parent]] or first[parent]))
                          if parent else 0)
            type_pos = len(types)
            position_of[(level, label)] = type_pos
            types.append(CellType(
                type_pos, level, first[level], first[LABEL_COLUMN[level]], parent_pos,
                int(clusters[0]) + 1 if level == "cluster" else None, clusters,
                int(n_cells[clusters].sum())))
    return types
