"""Writing the statistics: per cluster (gene-major) and pooled per cell type (type-major), one
block of genes at a time, so no array of the file is ever held whole.

A block is (clusters in cluster_pos order) x (a range of genes): `sum` as the file holds it,
`sumsq` and `ge1` when usable. Pooling multiplies `sum` by each cluster's scale (its cell count
for a means-only file) and adds up the tree bottom-up: supertypes from
their clusters, subclasses from their supertypes, classes from their subclasses (each type's
members are contiguous in taxonomy order: one slice sum per type), all cells from the classes;
the neurotransmitter types, which are no level of the tree, through a 0/1 matrix product. The
rows are appended on a thread of their own (`Writer`), so DuckDB stores one block while the
next one is read.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from ingest.ahba import arrays
from ingest.expression_stats.clusters import TREE_LEVELS, TRUE_COUNTS, CellType, Layout

BLOCK_VALUES = 1 << 24  # ~16 M values (128 MB of float64) per array per block: wide column
#                         blocks read a contiguous HDF5 array ~1.4x faster than half as wide


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


@dataclass
class _Step:
    """How a level's types add up: slice sums over `starts` of the level below (`source`), or,
    with `source` None, of the clusters; `run_type` (when the runs are not the types, as for
    the neurotransmitters, which cut across the tree) gives each run's type, and the runs of a
    type are then added up."""

    source: str | None
    starts: np.ndarray  # first row of each run
    run_type: np.ndarray | None = None  # type of each run (None: run k is type k)


class Pooler:
    """Sums of clusters per pooled cell type (root, neurotransmitter, then the tree levels),
    in type_pos order, into buffers reused from block to block (fresh 100 MB arrays cost more
    to allocate than to fill on a loaded machine). `weights`, when given, weigh the clusters
    (a means-only file's cell counts) without a scaled copy of the block."""

    def __init__(self, layout: Layout) -> None:
        pooled = layout.pooled()
        self.type_pos = np.array([t.type_pos for t in pooled], dtype=np.int32)
        n_clusters = len(layout.keys)
        by_level: dict[str, list[CellType]] = {}
        for cell_type in pooled[1:]:
            by_level.setdefault(cell_type.level, []).append(cell_type)
        self.tree = [level for level in TREE_LEVELS if by_level.get(level)]  # outermost first
        self.order = [level for level in ("neurotransmitter", *reversed(self.tree))
                      if by_level.get(level)]  # the order they are computed in
        self.steps: dict[str, _Step] = {}
        below: str | None = None
        for level in reversed(self.tree):
            self.steps[level] = _step(by_level[level], below and by_level[below], below,
                                      n_clusters)
            below = level
        if by_level.get("neurotransmitter"):
            self.steps["neurotransmitter"] = _step(by_level["neurotransmitter"], None, None,
                                                   n_clusters)
        self.rows = {"root": (0, 1)}  # level -> its rows in the output
        offset = 1
        for level in ("neurotransmitter", *self.tree):
            if by_level.get(level):
                self.rows[level] = (offset, offset + len(by_level[level]))
                offset += len(by_level[level])
        self.covers_all = bool(self.tree) and sum(
            len(t.clusters) for t in by_level[self.tree[0]]) == n_clusters
        self.buffers: dict[str, np.ndarray] = {}

    def _buffer(self, key: str, shape: tuple[int, int], dtype) -> np.ndarray:
        size = shape[0] * shape[1]
        flat = self.buffers.get(key)
        if flat is None or flat.size < size or flat.dtype != dtype:
            flat = self.buffers[key] = np.empty(size, dtype)
        return flat[:size].reshape(shape)

    def pool(self, name: str, values: np.ndarray, weights: np.ndarray | None = None
             ) -> np.ndarray:
        """The pooled rows of array `name` (its buffer is overwritten by the next block)."""
        width = values.shape[1]
        out = self._buffer(name, (len(self.type_pos), width), values.dtype)
        for level in self.order:
            step = self.steps[level]
            first, end = self.rows[level]
            if step.source is None:
                rows, scale = values, weights
            else:  # the level below, already weighted
                below, below_end = self.rows[step.source]
                rows, scale = out[below:below_end], None
            if step.run_type is None:
                _segment_sums(rows, step.starts, out[first:end], scale)
                continue
            runs = self._buffer(f"{name}/runs", (len(step.starts), width), values.dtype)
            _segment_sums(rows, step.starts, runs, scale)
            for k in range(end - first):
                np.sum(runs[step.run_type == k], axis=0, out=out[first + k])
        if self.covers_all:
            top, top_end = self.rows[self.tree[0]]
            np.sum(out[top:top_end], axis=0, out=out[0])
        elif weights is None:
            np.sum(values, axis=0, out=out[0])
        else:
            np.dot(weights, values, out=out[0])
        return out

    def transposed(self, name: str, values: np.ndarray) -> np.ndarray:
        """values.T, C-contiguous, in a buffer reused from block to block."""
        out = self._buffer(f"{name}/transposed", (values.shape[1], values.shape[0]),
                           values.dtype)
        np.copyto(out, values.T)
        return out


def _segment_sums(rows: np.ndarray, starts: np.ndarray, out: np.ndarray,
                  weights: np.ndarray | None = None) -> None:
    """Sums (weighted: dot products) of the row runs beginning at `starts`, the last run to the
    end, into `out`. One slice sum per run: ~15x faster than np.add.reduceat along axis 0 on
    these blocks, measured."""
    ends = np.r_[starts[1:], len(rows)]
    for k, (first, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        if weights is None:
            np.sum(rows[first:end], axis=0, out=out[k])
        else:
            np.dot(weights[first:end], rows[first:end], out=out[k])


def _step(types: list[CellType], children: list[CellType] | None, child_level: str | None,
          n_clusters: int) -> _Step:
    """From the level below when each type's children are a contiguous run of it (a tree in
    taxonomy order); else from the clusters, in runs of clusters of one type."""
    if children:
        index = {t.type_pos: k for k, t in enumerate(types)}
        parents = [index.get(c.parent_pos, -1) for c in children]
        firsts = [parents.index(k) if k in parents else -1 for k in range(len(types))]
        if -1 not in parents and -1 not in firsts and parents == sorted(parents):
            return _Step(child_level, np.array(firsts))
    code = np.full(n_clusters, -1)
    for k, cell_type in enumerate(types):
        code[cell_type.clusters] = k
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    run_type = code[starts]
    if len(run_type) == len(types) and bool((run_type == np.arange(len(types))).all()):
        return _Step(None, starts)  # one run per type, in order
    return _Step(None, starts, run_type)


class Writer:
    """Appends rows to DuckDB on a thread of its own (DuckDB releases the GIL while it stores),
    at most two blocks behind the reader; the first error is raised in the caller. With
    `background=False` it appends in the caller's thread (for readers that use the same
    connection between blocks: one connection is never used by two threads at once)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, background: bool = True) -> None:
        self.con = con
        self.background = background
        self.pending: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="expression-writer", daemon=True)

    def __enter__(self) -> Writer:
        if self.background:
            self.thread.start()
        return self

    def put(self, table: str, columns: dict) -> None:
        if not self.background:
            arrays.append(self.con, table, columns)
            return
        if self.error is not None:
            raise self.error
        self.pending.put((table, columns))

    def _run(self) -> None:
        while (item := self.pending.get()) is not None:
            if self.error is None:
                try:
                    arrays.append(self.con, *item)
                except BaseException as error:  # handed to the caller in put() / __exit__
                    self.error = error

    def __exit__(self, kind, value, traceback) -> None:
        if not self.background:
            return
        self.pending.put(None)
        self.thread.join()
        if self.error is not None and kind is None:
            raise self.error


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


def write_block(writer: Writer, layout: Layout, pooler: Pooler, block: Block, *,
                per_cluster: bool = True) -> None:
    if per_cluster:
        _write_clusters_block(writer, pooler, block)
    # pooled per cell type, type-major within the block
    sums = pooler.pool("sum", block.sums, None if layout.kind == TRUE_COUNTS else layout.scale)
    sumsq = None if block.sumsq is None else pooler.pool("sumsq", block.sumsq)
    ge1 = None if block.ge1 is None else pooler.pool("ge1", block.ge1)
    where = np.nonzero(_nonzero(sums, sumsq, ge1))
    writer.put("expression_type_stats", {
        "type_pos": pa.array(pooler.type_pos[where[0]]),
        "gene_pos": pa.array((where[1] + block.start + 1).astype(np.int32)),
        "sum": pa.array(sums[where]),
        "sumsq": _column(sumsq, where, pa.float64()),
        "ge1": _column(ge1, where, pa.int64())})


def _write_clusters_block(writer: Writer, pooler: Pooler, block: Block) -> None:
    """Per cluster, gene-major: the nonzero entries of the transposed block, gene by gene."""
    n_clusters = block.sums.shape[0]
    by_gene = [None if values is None else pooler.transposed(name, values)
               for name, values in (("sum", block.sums), ("sumsq", block.sumsq),
                                    ("ge1", block.ge1))]
    flat = np.flatnonzero(_nonzero(*by_gene))
    sums, sumsq, ge1 = (None if values is None else values.ravel()[flat] for values in by_gene)
    writer.put("expression_cluster_stats", {
        "gene_pos": pa.array((flat // n_clusters + block.start + 1).astype(np.int32)),
        "cluster_pos": pa.array((flat % n_clusters + 1).astype(np.int32)),
        "sum": pa.array(sums),
        "sumsq": pa.nulls(len(flat), pa.float64()) if sumsq is None else pa.array(sumsq),
        "ge1": pa.nulls(len(flat), pa.int32()) if ge1 is None else pa.array(
            ge1.astype(np.int32))})


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
