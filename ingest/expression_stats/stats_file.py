"""A MapMyCells precomputed statistics file (`precomputed_stats*.h5`), checked and read in slices.

Schema (AllenInstitute/cell_type_mapper `docs/input_data_files/precomputed_stats_file.md`):
JSON documents stored as bytes (`cluster_to_row` {cluster: row}, `col_names` [gene],
`taxonomy_tree`, `metadata`), `n_cells` (n_clusters,) integers, and (n_clusters, n_genes)
arrays: `sum` and `sumsq` of log2(CPM+1) over each cluster's cells, and the cell counts `ge1`
(CPM >= 1), `gt1`, `gt0`. Only `sum` is required by the schema.

The ABC release's WMB file is not such a file of sums: it was written from a table of cluster
means (cell_type_mapper `garage/abc_230830/create_mean_file.py`: `sum` = the means,
`n_cells` = 1 for every cluster, and no `sumsq`, `ge1`, `gt0` or `gt1` at all; its size,
1,376,366,584 B, is one float64 5,322 x 32,285 array and the JSON). `ingest.expression_stats
.clusters` tells the two kinds apart.

Nothing reads a whole array: `columns()` reads a block of genes for every cluster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from warehouse.errors import DataError

REQUIRED = ("cluster_to_row", "col_names", "n_cells", "sum")
COUNT_ARRAYS = ("ge1", "gt1", "gt0")
HINT = ("precomputed_stats files are written by cell_type_mapper (docs/input_data_files/"
        "precomputed_stats_file.md); download the ABC file again, or re-run the tool that "
        "wrote it")


@dataclass
class StatsFile:
    path: Path
    label: str
    handle: h5py.File
    cluster_rows: dict[str, int]  # cluster key -> row of the arrays
    genes: list[str]  # col_names
    n_cells: np.ndarray  # (n_clusters,) int64
    arrays: set[str]  # which of sum, sumsq, ge1, gt1, gt0 the file has
    taxonomy_tree: dict | None = None
    metadata: dict = field(default_factory=dict)
    buffers: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_rows)

    @property
    def n_genes(self) -> int:
        return len(self.genes)

    def hierarchy(self) -> list[str]:
        tree = self.taxonomy_tree or {}
        levels = tree.get("hierarchy")
        return [str(level) for level in levels] if isinstance(levels, list) else []

    def columns(self, name: str, rows: np.ndarray, start: int, stop: int,
                dtype: type = np.float64) -> np.ndarray:
        """Dataset `name`, genes [start, stop), for the clusters at file `rows` (in that order),
        as `dtype`.

        Reads the whole row range once (HDF5 reads a column block of a contiguous or row-
        chunked array row by row) into a buffer reused from call to call, and reorders it into
        another: the result is overwritten by the next call for the same dataset."""
        width = stop - start
        dataset = self.handle[name]
        try:
            if dataset.dtype.kind == "f" and np.dtype(dtype).kind != "f":
                return dataset[:, start:stop][rows]  # converted (and checked) by the caller
            raw = self._buffer(f"{name}/file", (self.n_clusters, width), dtype)
            dataset.read_direct(raw, np.s_[:, start:stop])
        except (OSError, RuntimeError, KeyError, TypeError) as error:
            raise DataError(f"dataset {name!r}: cannot read genes {start + 1}-{stop} "
                            f"({_first_line(error)})", file=self.label,
                            hint="the file is damaged or truncated: download it again"
                            ) from None
        ordered = self._buffer(f"{name}/ordered", (len(rows), width), dtype)
        np.take(raw, rows, axis=0, out=ordered)
        return ordered

    def _buffer(self, key: str, shape: tuple[int, int], dtype: type) -> np.ndarray:
        """A C-contiguous array of `shape`, reusing memory (fresh 100 MB arrays cost more to
        allocate than to fill on a loaded machine)."""
        size = shape[0] * shape[1]
        flat = self.buffers.get(key)
        if flat is None or flat.size < size or flat.dtype != np.dtype(dtype):
            flat = self.buffers[key] = np.empty(size, dtype)
        return flat[:size].reshape(shape)

    def close(self) -> None:
        self.handle.close()


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _json(handle: h5py.File, name: str, label: str):
    dataset = handle[name]
    if not isinstance(dataset, h5py.Dataset) or dataset.shape not in ((), (1,)):
        raise DataError(f"dataset {name!r} is not a JSON document (shape {dataset.shape})",
                        file=label, hint=HINT)
    try:
        value = dataset[()]
    except (OSError, RuntimeError) as error:
        raise DataError(f"dataset {name!r}: cannot read it ({_first_line(error)})",
                        file=label, hint="the file is damaged: download it again") from None
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0]
    if isinstance(value, bytes | np.bytes_):
        value = bytes(value)
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"dataset {name!r} is not UTF-8 JSON text", file=label,
                            hint=HINT) from None
    if not isinstance(value, str):
        raise DataError(f"dataset {name!r} holds {type(value).__name__}, expected JSON text "
                        "stored as bytes", file=label, hint=HINT)
    try:
        return json.loads(value)
    except ValueError as error:
        raise DataError(f"dataset {name!r} is not valid JSON ({error})", file=label,
                        hint=HINT) from None


def _array(handle: h5py.File, name: str, label: str, shape: tuple[int, ...], kinds: str,
           expected: str) -> None:
    dataset = handle[name]
    if not isinstance(dataset, h5py.Dataset):
        raise DataError(f"{name!r} is a group, expected a dataset", file=label, hint=HINT)
    if dataset.shape != shape:
        raise DataError(f"dataset {name!r} has shape {dataset.shape}, expected {shape} "
                        f"({expected})", file=label, hint=HINT)
    if dataset.dtype.kind not in kinds:
        raise DataError(f"dataset {name!r} has type {dataset.dtype}, expected "
                        f"{'integers' if kinds == 'iu' else 'numbers'}", file=label, hint=HINT)


def open_stats(path: Path, label: str) -> StatsFile:
    """The file, checked: every dataset the schema names has the shape and type it must."""
    try:
        handle = h5py.File(path, "r", rdcc_nbytes=64 << 20)
    except OSError as error:
        raise DataError(f"not a readable HDF5 file ({_first_line(error)})", file=label,
                        hint="a truncated or partial download: download it again") from None
    try:
        return _checked(handle, path, label)
    except BaseException:
        handle.close()
        raise


def _checked(handle: h5py.File, path: Path, label: str) -> StatsFile:
    missing = [name for name in REQUIRED if name not in handle]
    if missing:
        raise DataError(f"no dataset {', '.join(repr(m) for m in missing)} (it has "
                        f"{', '.join(sorted(handle.keys())) or 'none'})", file=label, hint=HINT)
    rows = _json(handle, "cluster_to_row", label)
    if not isinstance(rows, dict) or not rows:
        raise DataError("dataset 'cluster_to_row' is not a JSON object {cluster: row}",
                        file=label, hint=HINT)
    genes = _json(handle, "col_names", label)
    if not isinstance(genes, list) or not all(isinstance(g, str) for g in genes) or not genes:
        raise DataError("dataset 'col_names' is not a JSON list of gene identifiers",
                        file=label, hint=HINT)
    n_clusters, n_genes = len(rows), len(genes)
    bad_row = next((k for k, v in rows.items()
                    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < n_clusters),
                   None)
    if bad_row is not None:
        raise DataError(f"dataset 'cluster_to_row': cluster {bad_row!r} has row "
                        f"{rows[bad_row]!r}, expected a row number 0-{n_clusters - 1}",
                        file=label, hint=HINT)
    if len(set(rows.values())) != n_clusters:
        raise DataError("dataset 'cluster_to_row' gives two clusters the same row",
                        file=label, hint=HINT)
    seen: set[str] = set()
    for gene in genes:
        if gene in seen:
            raise DataError(f"dataset 'col_names' names gene {gene!r} twice", file=label,
                            hint=HINT)
        seen.add(gene)
    shape = (n_clusters, n_genes)
    what = f"{n_clusters} clusters in cluster_to_row x {n_genes} genes in col_names"
    _array(handle, "n_cells", label, (n_clusters,), "iu",
           f"one count per cluster of cluster_to_row: {n_clusters}")
    arrays = {"sum"}
    _array(handle, "sum", label, shape, "fiu", what)
    if "sumsq" in handle:
        _array(handle, "sumsq", label, shape, "fiu", what)
        arrays.add("sumsq")
    for name in COUNT_ARRAYS:
        if name in handle:
            _array(handle, name, label, shape, "iuf", what)
            arrays.add(name)
    try:
        n_cells = handle["n_cells"][()].astype(np.int64)
    except (OSError, RuntimeError) as error:
        raise DataError(f"dataset 'n_cells': cannot read it ({_first_line(error)})", file=label,
                        hint="the file is damaged or truncated: download it again") from None
    if (n_cells < 0).any():
        key = _key_of_row(rows, int(np.flatnonzero(n_cells < 0)[0]))
        raise DataError(f"dataset 'n_cells': cluster {key!r} has {n_cells[rows[key]]} cells",
                        file=label, hint=HINT)
    tree = _json(handle, "taxonomy_tree", label) if "taxonomy_tree" in handle else None
    if tree is not None and not isinstance(tree, dict):
        raise DataError("dataset 'taxonomy_tree' is not a JSON object", file=label, hint=HINT)
    metadata = _json(handle, "metadata", label) if "metadata" in handle else {}
    return StatsFile(path=path, label=label, handle=handle, cluster_rows=rows, genes=genes,
                     n_cells=n_cells, arrays=arrays, taxonomy_tree=tree,
                     metadata=metadata if isinstance(metadata, dict) else {})


def _key_of_row(rows: dict[str, int], row: int) -> str:
    return next(key for key, value in rows.items() if value == row)
