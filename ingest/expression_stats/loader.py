"""Loading a precomputed statistics file, and pooling it again when the taxonomy changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import duckdb
import numpy as np

from ingest.ahba import arrays
from ingest.base import Report, SourceFile, check_md5, log_file
from ingest.expression_stats import clusters, store
from ingest.expression_stats.clusters import MEANS_ONLY, TRUE_COUNTS, Layout
from ingest.expression_stats.schema import STATS_TABLES
from ingest.expression_stats.stats_file import StatsFile, open_stats
from warehouse import progress
from warehouse.errors import DataError


def notes_for(kind: str, has_sumsq: bool, has_ge1: bool) -> tuple[str | None, str | None]:
    """Why variances (and t, p, q) and fractions expressing are not available, if they are not."""
    if kind == MEANS_ONLY:
        return ("means-only statistics (the ABC release's MapMyCells file: n_cells = 1, sum = "
                "each cluster's mean): no per-cell sums of squares, so no variance, t, p or q",
                "means-only statistics: no per-cell counts (ge1), so no fraction expressing")
    return (None if has_sumsq else "the statistics file has no sumsq: no variance, t, p or q",
            None if has_ge1 else "the statistics file has no ge1: no fraction expressing")


def load(con: duckdb.DuckDBPyConnection, source: SourceFile, kind: str,
         report: Report) -> None:
    # the md5 (a second read of a 1.4 GB file) runs beside the load: hashlib releases the GIL
    with ThreadPoolExecutor(max_workers=1) as pool:
        md5_future = pool.submit(check_md5, source)
        stats = open_stats(source.path, source.origin)
        try:
            layout = clusters.layout(con, stats)
            has_sumsq = layout.kind == TRUE_COUNTS and "sumsq" in stats.arrays
            has_ge1 = layout.kind == TRUE_COUNTS and "ge1" in stats.arrays
            for table in STATS_TABLES:
                con.execute(f"delete from {table}")
            with arrays.uncompressed(con):
                store.write_layout(con, layout, stats.genes)
                _write_stats(con, layout, _file_blocks(stats, layout, has_sumsq, has_ge1))
        finally:
            stats.close()
        md5 = md5_future.result()
    variance_note, fraction_note = notes_for(layout.kind, has_sumsq, has_ge1)
    con.execute(
        "insert into expression_statistics values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [source.origin, layout.kind, len(layout.keys), stats.n_genes, has_sumsq, has_ge1,
         layout.weights, layout.taxonomy_version, variance_note, fraction_note,
         clusters.fingerprint(clusters.taxonomy_rows(con)), uuid.uuid4().hex])
    notes = [*layout.notes, f"file kind: {layout.kind}"]
    if stats.metadata:
        shown = {k: v for k, v in stats.metadata.items() if isinstance(v, str | int | float)}
        if shown:
            notes.append("file metadata: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    for note in layout.notes:
        report.note(f"{source.origin}: {note}")
    log_file(con, source, kind=kind, table="expression_cluster_stats",
             rows=len(layout.keys) * stats.n_genes, md5=md5,
             taxonomy_version=layout.taxonomy_version, notes=notes)


def _write_stats(con: duckdb.DuckDBPyConnection, layout: Layout,
                 blocks: Iterator[store.Block], *, per_cluster: bool = True,
                 background: bool = True) -> None:
    pooler = store.Pooler(layout)
    with store.Writer(con, background=background) as writer:
        for block in blocks:
            store.write_block(writer, layout, pooler, block, per_cluster=per_cluster)


def _file_blocks(stats: StatsFile, layout: Layout, has_sumsq: bool, has_ge1: bool
                 ) -> Iterator[store.Block]:
    rows = layout.file_rows
    with progress.bar(f"statistics {stats.path.name}", stats.n_genes, "genes") as bar:
        for start, stop in store.gene_ranges(len(rows), stats.n_genes):
            sums = stats.columns("sum", rows, start, stop)
            _finite(stats, layout, "sum", sums, start)
            sumsq = None
            if has_sumsq:
                sumsq = stats.columns("sumsq", rows, start, stop)
                _finite(stats, layout, "sumsq", sumsq, start)
            ge1 = None
            if has_ge1:
                ge1 = _counts(stats, layout, stats.columns("ge1", rows, start, stop, np.int64),
                              start)
            yield store.Block(start, sums, sumsq, ge1)
            bar.update(stop - start)


def _where(stats: StatsFile, layout: Layout, bad: np.ndarray, start: int) -> str:
    row, column = (int(i[0]) for i in np.nonzero(bad))
    return f"cluster {layout.keys[row]!r}, gene {stats.genes[start + column]!r}"


def _finite(stats: StatsFile, layout: Layout, name: str, values: np.ndarray, start: int) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(f"dataset {name!r}: {_where(stats, layout, bad, start)} is not a "
                        "number (NaN or infinite)", file=stats.label,
                        hint="the file is damaged: download it again")


def _counts(stats: StatsFile, layout: Layout, values: np.ndarray, start: int) -> np.ndarray:
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            raise DataError(f"dataset 'ge1': {_where(stats, layout, bad, start)} is not a whole "
                            "number of cells", file=stats.label,
                            hint="ge1 counts cells with CPM >= 1")
    counts = values.astype(np.int64, copy=False)
    bad = (counts < 0) | (counts > layout.n_cells[:, None])
    if bad.any():
        row = int(np.nonzero(bad)[0][0])
        raise DataError(f"dataset 'ge1': {_where(stats, layout, bad, start)} counts "
                        f"{counts[bad][0]} cells with CPM >= 1, but the cluster has "
                        f"{layout.n_cells[row]} (n_cells)", file=stats.label,
                        hint="ge1 and n_cells come from different files or runs")
    return counts


# ------------------------------------------------------------------- after a taxonomy change

def repool(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    """Pool the stored statistics again when the taxonomy's clusters (their counts, or the
    types they belong to) changed since the statistics were loaded."""
    state = con.execute("select source_uri, file_kind, taxonomy_version, taxonomy_fingerprint, "
                        "has_sumsq, has_ge1 from expression_statistics").fetchone()
    if state is None:
        return
    uri, kind, version, stored_fingerprint, has_sumsq, has_ge1 = state
    rows = clusters.taxonomy_rows(con)
    current = clusters.fingerprint(rows)
    if current == stored_fingerprint:
        return
    loaded = next((r["taxonomy_version"] for r in rows if r["taxonomy_version"]), None)
    if not rows or (version and loaded and loaded != version):
        raise DataError(f"the loaded expression statistics are for taxonomy {version}, but the "
                        f"taxonomy is now {loaded or 'not loaded'}", file=uri,
                        hint="load the statistics file of the new taxonomy with it (brainwh "
                        "ingest expression TAXONOMY_DIR STATS_FILE)")
    layout = _stored_layout(con, rows, kind, uri)
    report.note("the taxonomy changed since the expression statistics were loaded: pooling "
                "them again per cell type")
    con.execute("delete from expression_type_stats")
    with arrays.uncompressed(con):
        store.write_clusters(con, layout)
        # the stored rows are read between blocks on the same connection: append in line
        _write_stats(con, layout, _stored_blocks(con, layout, has_sumsq, has_ge1),
                     per_cluster=False, background=False)
    con.execute("update expression_statistics set taxonomy_fingerprint = ?", [current])


def _stored_layout(con: duckdb.DuckDBPyConnection, rows: list[dict], kind: str,
                   uri: str) -> Layout:
    stored = con.execute("select cluster_label, cluster_alias, file_row, n_cells from "
                         "expression_clusters order by cluster_pos").fetchall()
    by_alias = {r["cluster_alias"]: r for r in rows}
    members = [by_alias.get(alias) for _label, alias, _row, _n in stored]
    if any(m is None for m in members):
        missing = next(label for (label, *_), m in zip(stored, members, strict=True) if m is None)
        raise DataError(f"cluster {missing!r} of the loaded expression statistics is not in the "
                        "taxonomy any more", file=uri,
                        hint="load the statistics again with the taxonomy they belong to")
    if kind == MEANS_ONLY:
        n_cells = np.array([m["number_of_cells"] or 0 for m in members], dtype=np.int64)
        scale = n_cells.astype(np.float64)
    else:
        n_cells = np.array([n for *_, n in stored], dtype=np.int64)
        scale = np.ones(len(stored))
    layout = Layout(keys=[label for label, *_ in stored],
                    aliases=np.array([alias for _l, alias, *_ in stored]),
                    file_rows=np.array([row for _l, _a, row, _n in stored]), n_cells=n_cells,
                    scale=scale, types=[], kind=kind, weights="", taxonomy_version=None,
                    notes=[])
    layout.types = clusters.cell_types(members, n_cells)
    return layout


def _stored_blocks(con: duckdb.DuckDBPyConnection, layout: Layout, has_sumsq: bool,
                   has_ge1: bool) -> Iterator[store.Block]:
    (n_genes,) = con.execute("select count(*) from expression_genes").fetchone()
    k = len(layout.keys)
    for start, stop in store.gene_ranges(k, n_genes):
        found = con.execute("select gene_pos, cluster_pos, sum, sumsq, ge1 from "
                            "expression_cluster_stats where gene_pos between ? and ?",
                            [start + 1, stop]).fetchnumpy()
        where = (found["cluster_pos"] - 1, found["gene_pos"] - 1 - start)
        shape = (k, stop - start)
        sums = np.zeros(shape)
        sums[where] = found["sum"]
        sumsq = ge1 = None
        if has_sumsq:
            sumsq = np.zeros(shape)
            sumsq[where] = np.asarray(found["sumsq"], dtype=np.float64)
        if has_ge1:
            ge1 = np.zeros(shape, dtype=np.int64)
            ge1[where] = np.asarray(found["ge1"], dtype=np.int64)
        yield store.Block(start, sums, sumsq, ge1)
