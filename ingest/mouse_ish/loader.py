"""Loading the ISH source: metadata, unionizes, the grid annotation and the grids.

The parts a load holds replace what the warehouse held of them (SectionDataSets replace the
experiments, StructureUnionize pages the structure expression, ...), so fetching more pages
and ingesting them again, or adding the grids later, works. A new grid annotation changes every
grid's layout: it must come with the grids. What depends on several parts (which experiments
have a grid, the regional means) is recomputed at the end of every load.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import duckdb

from ingest.base import Report, SourceFile, log_files
from ingest.mouse_ish import grids, metadata, unionize, volumes
from ingest.mouse_ish.schema import DDL
from warehouse import progress
from warehouse.errors import DataError

KIND = "ish"
ROLES = ("section_data_sets", "genes", "unionizes", "grid_annotation", "grid")


def _md5(path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load(con: duckdb.DuckDBPyConnection, sources: Sequence[SourceFile], report: Report) -> None:
    for statement in DDL:
        con.execute(statement)
    by_role: dict[str, list[SourceFile]] = {role: [] for role in ROLES}
    for source in sources:
        by_role[source.role].append(source)
    # md5s of every file, computed beside the loading (hashlib releases the GIL)
    with ThreadPoolExecutor(max_workers=1) as pool:
        md5s = {source.origin: pool.submit(_md5, source.path) for source in sources}
        counts: dict[str, int] = {}
        notes: dict[str, list[str]] = {}
        skipped: set[int] = set()
        if by_role["section_data_sets"] or by_role["genes"]:
            skipped = _load_metadata(con, by_role, counts, notes, report)
        if by_role["unionizes"]:
            _load_unionizes(con, by_role["unionizes"], skipped, counts, notes, report)
        if by_role["grid_annotation"] or by_role["grid"]:
            _load_grids(con, by_role, counts, notes, report)
        finish(con, report)
        log_files(con, [{"source": source, "kind": KIND, "table": _TABLES[source.role],
                         "rows": counts.get(source.origin, 0),
                         "md5": md5s[source.origin].result(),
                         "notes": notes.get(source.origin, ()), "scope": source.role}
                        for source in sources])


_TABLES = {"section_data_sets": "ish_experiments", "genes": "ish_genes",
           "unionizes": "ish_structure_expression", "grid_annotation": "ish_grid_voxels",
           "grid": "ish_grids"}


def _load_metadata(con, by_role, counts, notes, report) -> set[int]:
    found = metadata.read(by_role["section_data_sets"], by_role["genes"])
    counts.update(found.rows_by_file)
    if by_role["section_data_sets"]:
        if not found.experiments:
            raise DataError("no Mouse Brain (P56) experiment in the SectionDataSet files",
                            file=by_role["section_data_sets"][0].origin,
                            hint="fetch the Mouse Brain atlas's experiments (product 1): "
                            "brainwh fetch ish")
        con.execute("delete from ish_experiments")
        _insert(con, "ish_experiments", metadata.experiments_table(found))
    con.execute("delete from ish_genes")
    _insert(con, "ish_genes", metadata.genes_table(found))
    first = by_role["section_data_sets"][0].origin if by_role["section_data_sets"] else None
    said = []
    if found.skipped:
        said.append(f"skipped {len(found.skipped)} experiment(s) of another atlas (not P56 "
                    f"Mouse Brain, e.g. the Developing Mouse Brain's): "
                    + ", ".join(found.skipped[:3]))
    if found.repeated:
        said.append(f"{found.repeated} experiment row(s) appeared twice (overlapping pages): "
                    "loaded once")
    if found.without_gene:
        said.append(f"{len(found.without_gene)} experiment(s) have no gene (e.g. "
                    f"{found.without_gene[0]}; Nissl series have none): kept, in no gene view")
    if found.several_genes:
        said.append(f"{len(found.several_genes)} experiment(s) probe several genes (e.g. "
                    f"{found.several_genes[0]}): one row per gene")
    missing_genes = sum(1 for e in found.experiments.values() if e.gene_ids == [])
    if by_role["section_data_sets"] and not found.genes and missing_genes:
        said.append("the SectionDataSets carry no genes: fetch them with rma::include,genes")
    for line in said:
        report.note(f"ISH experiments: {line}")
    if first:
        notes.setdefault(first, []).extend(said)
    return {int(text.split(" ", 1)[0]) for text in found.skipped}


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows) -> None:
    con.register("_ish_rows", rows)
    try:
        con.execute(f"insert into {table} by name select * from _ish_rows")
    finally:
        con.unregister("_ish_rows")


def _require_ontology(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    if not con.execute("select 1 from structures where species = 'mouse' and graph_id = 1 "
                       "limit 1").fetchone():
        raise DataError("the mouse ontology (graph 1) is not loaded, so structures cannot be "
                        "checked", file=source.origin,
                        hint="load it with the ISH files (brainwh ingest ish takes the "
                        "ontology file too; brainwh fetch ish downloads it)")


def _load_unionizes(con, files, skipped, counts, notes, report) -> None:
    _require_ontology(con, files[0])
    started = time.perf_counter()
    with progress.bar("ISH StructureUnionize pages", len(files), "files") as bar:
        unionize.stage(con, files)
        bar.update(len(files))
    read = time.perf_counter()
    unionize.check(con, files)
    known = {e for (e,) in con.execute("select distinct experiment_id from ish_experiments"
                                       ).fetchall()}
    outcome = unionize.settle(con, files, skipped=skipped, known=known)
    checked = time.perf_counter()
    unionize.write(con, outcome)
    progress.note(f"  StructureUnionize: {outcome.rows:,} rows from {len(files):,} file(s): read "
                  f"in {read - started:.1f} s, checked in {checked - read:.1f} s, stored in "
                  f"{time.perf_counter() - checked:.1f} s")
    counts.update(outcome.rows_by_file)
    said = []
    if outcome.repeated:
        said.append(f"{outcome.repeated:,} row(s) appeared twice (overlapping pages): loaded "
                    "once")
    if outcome.other_atlas:
        said.append(f"skipped {outcome.other_atlas:,} row(s) of experiments of another atlas")
    if outcome.other_structures:
        said.append(f"skipped {outcome.other_structures:,} row(s) for structures not in the "
                    "adult mouse ontology (graph 1), e.g. "
                    + ", ".join(map(str, outcome.other_structure_examples))
                    + ": the Developing Mouse atlas's (graph 17) unionizes are not loaded")
    if outcome.unknown_experiments:
        said.append(f"{outcome.unknown_experiments:,} experiment(s) have unionize rows but no "
                    "SectionDataSet loaded: their rows are kept, and in no view until their "
                    "SectionDataSets are loaded (brainwh fetch ish)")
    for line in said:
        report.note(f"ISH StructureUnionize: {line}")
    notes.setdefault(files[0].origin, []).extend(said)


def _load_grids(con, by_role, counts, notes, report) -> None:
    annotations = by_role["grid_annotation"]
    if len(annotations) > 1:
        raise DataError(f"two grid annotations in one load (also {annotations[0].origin})",
                        file=annotations[1].origin, hint="load one P56_Mouse_gridAnnotation.zip")
    if annotations:
        _require_ontology(con, annotations[0])
        existing = con.execute("select count(*) from ish_grids").fetchone()[0]
        if existing and not by_role["grid"]:
            raise DataError("a new grid annotation changes the layout of every grid: load the "
                            "grid zips with it", file=annotations[0].origin,
                            hint="brainwh ingest ish ANNOTATION.zip GRID_FOLDER")
        volume = volumes.read_annotation(annotations[0].path, annotations[0].origin)
        layout, structure_ids = grids.build_layout(con, volume)
        grids.write_layout(con, layout, structure_ids, annotations[0].origin)
        counts[annotations[0].origin] = layout.n_brain
        said = [f"{layout.n_brain:,} brain voxels in {layout.n_cells:,} cells (structure x "
                "side of the midline)"]
        notes.setdefault(annotations[0].origin, []).extend(said)
    else:
        layout = grids.stored_layout(con)
        if layout is None:
            raise DataError("expression grids need the grid annotation, which is not loaded",
                            file=by_role["grid"][0].origin,
                            hint="load P56_Mouse_gridAnnotation.zip with them "
                            "(brainwh fetch ish downloads it)")
    if not by_role["grid"]:
        return
    found: dict[int, SourceFile] = {}
    repeated = 0
    for source in by_role["grid"]:
        experiment = volumes.grid_experiment(source.path, source.origin)
        known = found.get(experiment)
        if known is not None:
            first = volumes.read_grid(known.path, known.origin, experiment)
            second = volumes.read_grid(source.path, source.origin, experiment)
            if (first.values.view("u4") != second.values.view("u4")).any():
                raise DataError(f"a second, different grid for experiment {experiment} (the "
                                f"first is {known.origin})", file=source.origin,
                                hint="keep one grid per experiment")
            repeated += 1
            continue
        found[experiment] = source
        counts[source.origin] = 1
    others = grids.write_grids(con, list(found.items()), layout)
    said = [f"{len(found):,} grid(s) loaded"]
    if repeated:
        said.append(f"{repeated} grid file(s) repeat another: loaded once")
    if others:
        said.append(f"the zips also hold {', '.join(sorted(others))}: only the energy volume "
                    "is loaded")
    unknown = con.execute("select count(*) from ish_grids where experiment_id not in "
                          "(select experiment_id from ish_experiments)").fetchone()[0]
    if unknown:
        said.append(f"{unknown} grid(s) are of experiments with no SectionDataSet loaded: "
                    "in no view until their SectionDataSets are loaded")
    for line in said[1:]:
        report.note(f"ISH grids: {line}")
    notes.setdefault(by_role["grid"][0].origin, []).extend(said)


def finish(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    """What depends on several parts: grid flags, regional means, the unionize check."""
    started = time.perf_counter()
    con.execute("update ish_experiments set has_grid = experiment_id in "
                "(select experiment_id from ish_grids)")
    con.execute("delete from ish_regional_means")
    # Most genes have one experiment: their means are its rows, copied without an aggregate;
    # only the genes with several experiments are grouped (measured: 10 s instead of 16 s on
    # the 20 M rows at full scale). Stored by gene, so one gene's rows are a short read.
    con.execute(
        """
        insert into ish_regional_means
        with counted as (
            select gene_id, gene_symbol, experiment_id, plane,
                   count(*) over (partition by gene_id) as n
            from ish_experiments
            where not is_failed and gene_symbol is not null
        ),
        single as (
            select e.gene_id, e.gene_symbol, u.structure_id, u.expression_energy,
                   u.expression_density, 1, (e.plane = 'coronal')::integer,
                   (e.plane = 'sagittal')::integer,
                   case when e.plane = 'coronal' then u.expression_energy end,
                   case when e.plane = 'sagittal' then u.expression_energy end
            from ish_structure_expression as u
            join counted as e on e.experiment_id = u.experiment_id and e.n = 1
        ),
        several as (
            select e.gene_id, e.gene_symbol, u.structure_id,
                   avg(u.expression_energy), avg(u.expression_density), count(*)::integer,
                   count(*) filter (where e.plane = 'coronal')::integer,
                   count(*) filter (where e.plane = 'sagittal')::integer,
                   avg(u.expression_energy) filter (where e.plane = 'coronal'),
                   avg(u.expression_energy) filter (where e.plane = 'sagittal')
            from ish_structure_expression as u
            join counted as e on e.experiment_id = u.experiment_id and e.n > 1
            group by e.gene_id, e.gene_symbol, u.structure_id
        )
        select * from (select * from single union all select * from several)
        order by 2, 3
        """)
    _check_aggregation(con, report)
    progress.note(f"  ISH regional means and the unionize check: "
                  f"{time.perf_counter() - started:.1f} s")


def _check_aggregation(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    """Allen's unionize of a structure includes its descendants: a parent's pixels are at
    least the sum of its children's. Counted over every (experiment, parent) with children."""
    row = con.execute(
        """
        with pairs as (
            select u.experiment_id, s.parent_structure_id as parent,
                   sum(u.sum_pixels) as children_pixels
            from ish_structure_expression as u
            join structures as s on s.species = 'mouse' and s.graph_id = 1
                                  and s.structure_id = u.structure_id
            group by u.experiment_id, s.parent_structure_id
        )
        select count(*), count(*) filter (where p.sum_pixels < c.children_pixels * 0.999)
        from pairs as c
        join ish_structure_expression as p
          on p.experiment_id = c.experiment_id and p.structure_id = c.parent
        """).fetchone()
    checked, violated = row
    if checked and violated:
        report.note(f"ISH StructureUnionize: in {violated:,} of {checked:,} (experiment, "
                    "parent structure) pairs the parent has fewer pixels than its children "
                    "together: those parents' values do not include all of their descendants")
