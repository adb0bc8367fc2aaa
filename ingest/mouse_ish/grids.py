"""The grid annotation and the expression grids -> the grid tables (layout: `schema`).

The annotation fixes the brain vector: its voxels (structure id > 0) ordered by the structure's
place in the ontology (its `structure_id_path`, so that a structure and everything below it are
one run), then by side of the midline, then by voxel index. Each (structure, side) run is a
cell. Every grid is then cut to that order: its brain values in 16 fixed-size columns, per cell
the count, sum and sum of squares of its valid values, and the positions of -1 inside cells that
have data elsewhere; the values outside the brain are kept as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from ingest.ahba import arrays
from ingest.base import SourceFile
from ingest.mouse_ish.schema import (
    GRID_SHAPE,
    GRID_VOXELS,
    MIDLINE_PLANE,
    SLICE_COLUMNS,
    SLICE_LENGTH,
    SLICES,
)
from ingest.mouse_ish.volumes import ANNOTATION_HINT, Volume, read_grid
from warehouse import progress
from warehouse.errors import DataError

BATCH = 128


@dataclass
class Layout:
    brain: np.ndarray  # raw voxel index of each brain position, in brain order
    outside: np.ndarray  # raw voxel indices outside the brain, ascending
    cell_starts: np.ndarray  # first position (0-based) of each cell
    cell_of: np.ndarray  # cell (0-based) of each brain position
    slice_length: int

    @property
    def n_brain(self) -> int:
        return len(self.brain)

    @property
    def n_cells(self) -> int:
        return len(self.cell_starts)


def _paths(con: duckdb.DuckDBPyConnection) -> dict[int, tuple[int, ...]]:
    rows = con.execute("select structure_id, structure_id_path from structures "
                       "where species = 'mouse' and graph_id = 1").fetchall()
    return {sid: tuple(int(p) for p in path.strip("/").split("/")) for sid, path in rows}


def build_layout(con: duckdb.DuckDBPyConnection, annotation: Volume) -> tuple[Layout, np.ndarray]:
    """The brain order from the annotation and the loaded mouse ontology; also the structure
    id of each brain position."""
    ids = annotation.values
    brain = np.flatnonzero(ids > 0)
    if not len(brain):
        raise DataError("the annotation has no structure in any voxel", file=annotation.label,
                        hint="use P56_Mouse_gridAnnotation.zip (brainwh fetch ish)")
    paths = _paths(con)
    if not paths:
        raise DataError("the mouse ontology (graph 1) is not loaded, so the annotation's "
                        "structures cannot be placed", file=annotation.label,
                        hint="load the mouse ontology with it (brainwh ingest ish takes the "
                        "ontology file too; brainwh fetch ish downloads it)")
    structures = np.unique(ids[brain])
    unknown = [int(s) for s in structures if int(s) not in paths]
    if unknown:
        first = int(np.flatnonzero(ids == unknown[0])[0])
        ap, dv, ml = (first % 67, (first // 67) % 41, first // (67 * 41))
        raise DataError(f"{len(unknown)} structure id(s) are not in the mouse ontology (graph "
                        f"1), e.g. {unknown[0]} at voxel (ap {ap}, dv {dv}, ml {ml})",
                        file=annotation.label,
                        hint="load the adult mouse ontology the annotation was made with "
                        "(structure_graph_download/1.json)")
    ranked = sorted(structures.tolist(), key=lambda s: paths[s])
    rank = np.zeros(int(structures.max()) + 1, dtype=np.int64)
    rank[ranked] = np.arange(len(ranked))
    ml = brain // (GRID_SHAPE[0] * GRID_SHAPE[1])
    side = (ml >= MIDLINE_PLANE).astype(np.int64)
    order = np.lexsort((brain, side, rank[ids[brain]]))
    brain = brain[order]
    key = rank[ids[brain]] * 2 + side[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    cell_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(brain)]))
    if len(brain) > SLICES * SLICE_LENGTH:
        raise DataError(f"the annotation has {len(brain):,} brain voxels; the grid layout holds "
                        f"{SLICES * SLICE_LENGTH:,} (the P56 atlas annotates 62,529)",
                        file=annotation.label, hint=ANNOTATION_HINT)
    outside = np.setdiff1d(np.arange(GRID_VOXELS), brain)
    layout = Layout(brain, outside, starts, cell_of, SLICE_LENGTH)
    return layout, ids[brain]


def write_layout(con: duckdb.DuckDBPyConnection, layout: Layout, structure_ids: np.ndarray,
                 source: str) -> None:
    for table in ("ish_grid_voxels", "ish_grid_cells", "ish_grid_layout"):
        con.execute(f"delete from {table}")
    positions = np.arange(layout.n_brain)
    ap = layout.brain % GRID_SHAPE[0]
    dv = (layout.brain // GRID_SHAPE[0]) % GRID_SHAPE[1]
    ml = layout.brain // (GRID_SHAPE[0] * GRID_SHAPE[1])
    arrays.append(con, "ish_grid_voxels", {
        "position": pa.array(positions + 1, pa.int32()),
        "slice": pa.array(positions // layout.slice_length, pa.int16()),
        "slice_position": pa.array(positions % layout.slice_length + 1, pa.int32()),
        "voxel_index": pa.array(layout.brain, pa.int32()),
        "ap": pa.array(ap, pa.int16()), "dv": pa.array(dv, pa.int16()),
        "ml": pa.array(ml, pa.int16()),
        "structure_id": pa.array(structure_ids, pa.int64()),
        "cell": pa.array(layout.cell_of + 1, pa.int32())})
    ends = np.r_[layout.cell_starts[1:], layout.n_brain]
    first = layout.brain[layout.cell_starts]
    arrays.append(con, "ish_grid_cells", {
        "cell": pa.array(np.arange(layout.n_cells) + 1, pa.int32()),
        "structure_id": pa.array(structure_ids[layout.cell_starts], pa.int64()),
        "side": pa.array(np.where(first // (GRID_SHAPE[0] * GRID_SHAPE[1]) >= MIDLINE_PLANE,
                                  "right", "left")),
        "first_position": pa.array(layout.cell_starts + 1, pa.int32()),
        "last_position": pa.array(ends, pa.int32()),
        "n_voxels": pa.array(ends - layout.cell_starts, pa.int32())})
    arrays.append(con, "ish_grid_layout", {
        "n_brain_voxels": pa.array([layout.n_brain], pa.int32()),
        "slice_length": pa.array([layout.slice_length], pa.int32()),
        "n_cells": pa.array([layout.n_cells], pa.int32()),
        "annotation_source": pa.array([source]),
        "outside_voxels": arrays.lists(layout.outside.astype(np.int32)[None, :])})


def stored_layout(con: duckdb.DuckDBPyConnection) -> Layout | None:
    meta = con.execute("select slice_length from ish_grid_layout").fetchone()
    if meta is None:
        return None
    voxels = con.execute("select voxel_index, cell from ish_grid_voxels order by position"
                         ).fetchnumpy()
    brain = voxels["voxel_index"].astype(np.int64)
    cell_of = voxels["cell"].astype(np.int64) - 1
    starts = np.flatnonzero(np.r_[True, cell_of[1:] != cell_of[:-1]])
    return Layout(brain, np.setdiff1d(np.arange(GRID_VOXELS), brain), starts, cell_of,
                  int(meta[0]))


@dataclass
class Encoded:
    """A batch of grids cut to the layout."""

    brain: np.ndarray  # (k, SLICES * SLICE_LENGTH) float32, -1 where no data and as padding
    n_valid: np.ndarray  # (k, cells) int32
    sums: np.ndarray  # (k, cells) float64
    sumsqs: np.ndarray
    missing: list[np.ndarray]  # per grid: 1-based brain positions of -1 in cells with data
    outside: np.ndarray  # (k, outside voxels) float32


def encode(grids: np.ndarray, layout: Layout) -> Encoded:
    k = grids.shape[0]
    brain = np.full((k, SLICES * layout.slice_length), -1, dtype=np.float32)
    values = grids[:, layout.brain]
    brain[:, :layout.n_brain] = values
    valid = values >= 0
    y = np.where(valid, values, 0).astype(np.float64)
    n_valid = np.add.reduceat(valid, layout.cell_starts, axis=1).astype(np.int32)
    sums = np.add.reduceat(y, layout.cell_starts, axis=1)
    sumsqs = np.add.reduceat(y * y, layout.cell_starts, axis=1)
    missing_mask = ~valid & (n_valid > 0)[:, layout.cell_of]
    missing = [(np.flatnonzero(row) + 1).astype(np.int32) for row in missing_mask]
    return Encoded(brain, n_valid, sums, sumsqs, missing, grids[:, layout.outside])


def _arrays(values: np.ndarray, width: int) -> pa.FixedSizeListArray:
    return pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(values).ravel()),
                                             width)


def write_grids(con: duckdb.DuckDBPyConnection, grids: list[tuple[int, SourceFile]],
                layout: Layout) -> set[str]:
    """Every grid, read and cut to the layout a batch at a time, in the grid tables (one row
    per grid, in id order, numbered; the missing voxels by position, so that a search reads the
    positions it needs together). Returns the other volumes the zips held (not loaded)."""
    for table in ("ish_grid_missing", "ish_grid_outside", "ish_grid_cell_stats", "ish_grids"):
        con.execute(f"delete from {table}")
    grids = sorted(grids, key=lambda g: g[0])
    missing_positions, missing_grids = [], []
    others: set[str] = set()
    n_chunks = -(-len(layout.outside) // layout.slice_length)
    # a grid is a 256 KB row and DuckDB works on 2,048 rows at a time: more than the 1 GB the
    # other array loads keep to
    with arrays.uncompressed(con, memory_limit="4GB"), \
            progress.bar("ISH grids", len(grids), "grids") as bar:
        for start in range(0, len(grids), BATCH):
            batch = grids[start:start + BATCH]
            volumes = [read_grid(source.path, source.origin, experiment)
                       for experiment, source in batch]
            others.update(name for volume in volumes for name in volume.others)
            encoded = encode(np.stack([volume.values for volume in volumes]), layout)
            del volumes
            ids = np.array([experiment for experiment, _ in batch], dtype=np.int64)
            numbers = np.arange(start + 1, start + len(batch) + 1, dtype=np.int32)
            for number, positions in zip(numbers.tolist(), encoded.missing, strict=True):
                missing_positions.append(positions)
                missing_grids.append(np.full(len(positions), number, dtype=np.int32))
            arrays.append(con, "ish_grid_cell_stats", {
                "experiment_id": pa.array(ids), "n_valid": arrays.lists(encoded.n_valid),
                "sums": arrays.lists(encoded.sums), "sumsqs": arrays.lists(encoded.sumsqs),
                "covered": arrays.lists((encoded.n_valid > 0).astype(np.float64))})
            columns = {name: _arrays(encoded.brain[:, k * layout.slice_length:
                                                   (k + 1) * layout.slice_length],
                                     layout.slice_length)
                       for k, name in enumerate(SLICE_COLUMNS)}
            arrays.append(con, "ish_grids", {
                "experiment_id": pa.array(ids), "grid": pa.array(numbers),
                "n_valid": pa.array(encoded.n_valid.sum(axis=1), pa.int32()),
                **columns,
                "source_uri": pa.array([source.origin for _, source in batch])})
            outside = np.full((len(batch), n_chunks * layout.slice_length), -1,
                              dtype=np.float32)
            outside[:, :encoded.outside.shape[1]] = encoded.outside
            arrays.append(con, "ish_grid_outside", {
                "experiment_id": pa.array(np.repeat(ids, n_chunks)),
                "chunk": pa.array(np.tile(np.arange(n_chunks, dtype=np.int16), len(batch))),
                "energy": _arrays(outside.reshape(-1, layout.slice_length),
                                  layout.slice_length)})
            bar.update(len(batch))
        if missing_positions:
            positions = np.concatenate(missing_positions)
            numbers = np.concatenate(missing_grids)
            order = np.lexsort((numbers, positions))
            arrays.append(con, "ish_grid_missing", {
                "position": pa.array(positions[order]), "grid": pa.array(numbers[order])})
    return others
