"""Writing the statistics: per cluster (gene-major) and pooled per cell type (type-major), one
block of genes at a time, so no array of the file is ever held whole.

A block is (clusters in cluster_pos order) x (a range of genes): `sum` as the file holds it,
`sumsq` and `ge1` when usable. Pooling multiplies `sum` by each cluster's scale (its cell count
for a means-only file) and adds clusters up per cell type with `np.add.reduceat` (a type's
clusters are contiguous in taxonomy order; the neurotransmitter types are gathered first).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from ingest.ahba import arrays
from ingest.expression_stats.clusters import TRUE_COUNTS, Layout

BLOCK_VALUES = 1 << 23  # ~8 M values (64 MB of float64) per array per block


@dataclass
class Block:
    start: int  # first gene (0-based)
    sums: np.ndarray  # (clusters, genes) float64, the file's sum
    sumsq: np.ndarray | None
    ge1: np.ndarray | None  # int64


def gene_ranges(n_clusters: int, n_genes: int) -> Iterator[tuple[int, int]]:
    width = int(min(n_genes, max(256, BLOCK_VALUES // max(n_clusters, 1))))
    for start in range(0, n_genes, width):
        yield start, min(start + width, n_genes)


class Pooler:
    """Sums of clusters per pooled cell type, in type_pos order."""

    def __init__(self, layout: Layout) -> None:
        pooled = layout.pooled()
        self.type_pos = np.array([t.type_pos for t in pooled], dtype=np.int32)
        self.groups: list[tuple[np.ndarray | None, np.ndarray]] = []  # (gather, starts)
        by_level: dict[str, list] = {}
        for cell_type in pooled[1:]:
            by_level.setdefault(cell_type.level, []).append(cell_type)
        for types in by_level.values():  # types of a level are in type_pos order
            gathered = np.concatenate([t.clusters for t in types])
            starts = np.cumsum([0] + [len(t.clusters) for t in types[:-1]])
            identity = len(gathered) == len(layout.keys) and \
                bool((gathered == np.arange(len(gathered))).all())
            self.groups.append((None if identity else gathered, starts))

    def pool(self, values: np.ndarray) -> np.ndarray:
        parts = [values.sum(axis=0, keepdims=True)]
        for gather, starts in self.groups:
            rows = values if gather is None else values[gather]
            parts.append(np.add.reduceat(rows, starts, axis=0))
        return np.concatenate(parts)


def _nonzero(*arrays_: np.ndarray | None) -> np.ndarray:
    mask = arrays_[0] != 0
    for values in arrays_[1:]:
        if values is not None:
            mask |= values != 0
    return mask


def _column(values: np.ndarray | None, where: tuple[np.ndarray, ...], kind: pa.DataType
            ) -> pa.Array:
    if values is None:
        return pa.nulls(len(where[0]), type=kind)
    return pa.array(values[where].astype(kind.to_pandas_dtype(), copy=False))


def write_block(con: duckdb.DuckDBPyConnection, layout: Layout, pooler: Pooler,
                block: Block, *, per_cluster: bool = True) -> None:
    if per_cluster:
        _write_clusters_block(con, block)
    # pooled per cell type, type-major within the block
    sums = pooler.pool(block.sums if layout.kind == TRUE_COUNTS
                       else block.sums * layout.scale[:, None])
    sumsq = None if block.sumsq is None else pooler.pool(block.sumsq)
    ge1 = None if block.ge1 is None else pooler.pool(block.ge1)
    where = np.nonzero(_nonzero(sums, sumsq, ge1))
    arrays.append(con, "expression_type_stats", {
        "type_pos": pa.array(pooler.type_pos[where[0]]),
        "gene_pos": pa.array((where[1] + block.start + 1).astype(np.int32)),
        "sum": pa.array(sums[where]),
        "sumsq": _column(sumsq, where, pa.float64()),
        "ge1": _column(ge1, where, pa.int64())})


def _write_clusters_block(con: duckdb.DuckDBPyConnection, block: Block) -> None:
    """Per cluster, gene-major: the nonzero entries of the transposed block, gene by gene."""
    where = np.nonzero(_nonzero(block.sums.T, None if block.sumsq is None else block.sumsq.T,
                                None if block.ge1 is None else block.ge1.T))
    arrays.append(con, "expression_cluster_stats", {
        "gene_pos": pa.array((where[0] + block.start + 1).astype(np.int32)),
        "cluster_pos": pa.array((where[1] + 1).astype(np.int32)),
        "sum": pa.array(block.sums.T[where]),
        "sumsq": _column(None if block.sumsq is None else block.sumsq.T, where, pa.float64()),
        "ge1": _column(None if block.ge1 is None else block.ge1.T, where, pa.int32())})


def write_layout(con: duckdb.DuckDBPyConnection, layout: Layout, genes: list[str]) -> None:
    """The small tables: genes of the file, clusters, cell types, membership."""
    arrays.append(con, "expression_genes", {
        "gene_pos": pa.array(np.arange(1, len(genes) + 1, dtype=np.int32)),
        "gene_identifier": pa.array(genes, type=pa.string())})
    write_clusters(con, layout)


def write_clusters(con: duckdb.DuckDBPyConnection, layout: Layout) -> None:
    for table in ("expression_clusters", "expression_cell_types", "expression_membership"):
        con.execute(f"delete from {table}")
    k = len(layout.keys)
    arrays.append(con, "expression_clusters", {
        "cluster_pos": pa.array(np.arange(1, k + 1, dtype=np.int32)),
        "cluster_alias": pa.array(layout.aliases.astype(np.int32)),
        "cluster_label": pa.array(layout.keys, type=pa.string()),
        "file_row": pa.array(layout.file_rows.astype(np.int32)),
        "n_cells": pa.array(layout.n_cells.astype(np.int64)),
        "scale": pa.array(layout.scale.astype(np.float64))})
    types = layout.types
    arrays.append(con, "expression_cell_types", {
        "type_pos": pa.array([t.type_pos for t in types], type=pa.int32()),
        "level": pa.array([t.level for t in types], type=pa.string()),
        "cell_type": pa.array([t.name for t in types], type=pa.string()),
        "cell_type_label": pa.array([t.label for t in types], type=pa.string()),
        "parent_pos": pa.array([t.parent_pos for t in types], type=pa.int32()),
        "cluster_pos": pa.array([t.cluster_pos for t in types], type=pa.int32()),
        "n_clusters": pa.array([len(t.clusters) for t in types], type=pa.int32()),
        "n_cells": pa.array([t.n_cells for t in types], type=pa.int64())})
    arrays.append(con, "expression_membership", {
        "cluster_pos": pa.array(np.concatenate([t.clusters + 1 for t in types]).astype(np.int32)),
        "type_pos": pa.array(np.concatenate([np.full(len(t.clusters), t.type_pos, np.int32)
                                             for t in types]))})
