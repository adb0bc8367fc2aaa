"""ABC Atlas WMB-10X cells (`metadata/WMB-10X/<v>/`) → `cells`, `regions_of_interest`.

`cell_metadata.csv` or `.parquet` (20241115 schema with `abc_sample_id`, 20230830 without, and
the 20230630 one with `anatomical_division_label`), and `region_of_interest_metadata.csv`.
Quirks pinned here: `cell_label` is text (never a number); `cluster_alias` is a sparse integer.
Derived after every load: `roi_structures` (each dissection ROI → CCF structures; composite ROIs
such as `MO-FRP` split on `-`) and `roi_cluster_counts` (cells per ROI and cluster, what the
composition views aggregate), with a report of cells whose cluster or ROI is unknown.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from ingest.base import (
    TYPE_WORDS,
    Report,
    SourceFile,
    check_md5,
    check_not_null,
    check_unique,
    csv_error,
    load_csv,
    log_file,
    quote_ident,
    read_csv_relation,
)
from ingest.probe import Probe
from warehouse import progress
from warehouse.errors import DataError

KIND = "cells"

ROLES = {
    "cell_metadata.csv": "cell_metadata",
    "cell_metadata.parquet": "cell_metadata",
    "region_of_interest_metadata.csv": "region_of_interest_metadata",
}

# Every column any WMB-10X schema has, with its type; absent ones are null.
CELL_COLUMNS = {
    "cell_label": "VARCHAR",
    "cell_barcode": "VARCHAR",
    "barcoded_cell_sample_label": "VARCHAR",
    "library_label": "VARCHAR",
    "feature_matrix_label": "VARCHAR",
    "entity": "VARCHAR",
    "brain_section_label": "VARCHAR",
    "library_method": "VARCHAR",
    "region_of_interest_acronym": "VARCHAR",
    "donor_label": "VARCHAR",
    "donor_genotype": "VARCHAR",
    "donor_sex": "VARCHAR",
    "dataset_label": "VARCHAR",
    "x": "DOUBLE",
    "y": "DOUBLE",
    "cluster_alias": "INTEGER",
    "abc_sample_id": "UUID",  # UUID4 since 20241115: stored as 16 bytes, not 36 characters
    "anatomical_division_label": "VARCHAR",  # 20230630 schema
    "matrix_label": "VARCHAR",  # 20230630 schema
}
REQUIRED = ("cell_label", "cluster_alias", "region_of_interest_acronym")

CELLS_DDL = (
    "create table if not exists cells (\n"
    + ",\n".join(f"    {name} {kind}" for name, kind in CELL_COLUMNS.items())
    + ",\n    metadata_version varchar\n)"
)
ROI_DDL = """
create table if not exists regions_of_interest (
    region_of_interest_acronym varchar primary key,  -- dissection region, not a CCF acronym
    region_of_interest_label varchar,                -- e.g. WMB-MOp
    name varchar,
    region_of_interest_order integer,
    color_hex_triplet varchar                        -- #RRGGBB as ABC writes it
)
"""
ROI_STRUCTURES_DDL = """
create table if not exists roi_structures (
    region_of_interest_acronym varchar not null,
    structure_id bigint not null,       -- mouse CCF (graph 1)
    is_exact boolean not null           -- the ROI acronym is itself this CCF acronym
)
"""
ROI_COUNTS_DDL = """
create table if not exists roi_cluster_counts (
    region_of_interest_acronym varchar not null,
    cluster_alias integer not null,
    n_cells bigint not null
)
"""
DDL = (CELLS_DDL, ROI_DDL, ROI_STRUCTURES_DDL, ROI_COUNTS_DDL)


NAMES = ROLES
TABLES = {"cell_metadata": "cells", "region_of_interest_metadata": "regions_of_interest"}
ABC_FILES = {"metadata/WMB-10X/cell_metadata.csv": "cell_metadata",
             "metadata/WMB-10X/cell_metadata.parquet": "cell_metadata",
             "metadata/WMB-10X/region_of_interest_metadata.csv": "region_of_interest_metadata"}


def _wmb(value: str | None) -> bool:
    return str(value or "").startswith("WMB-")


def identify(probe: Probe) -> str | None:
    """WMB-10X cells by their columns and their dataset (the other ABC datasets' cell_metadata
    files share the name and most columns: MERFISH, WHB, Zhuang, aging ... are not these)."""
    if probe.has_columns(*REQUIRED):
        row = probe.first_row
        dataset = row.get("dataset_label") or row.get("feature_matrix_label") or \
            row.get("matrix_label")
        return "cell_metadata" if dataset is None or _wmb(dataset) else None
    if probe.is_parquet and "cell_metadata" in probe.name:
        return "cell_metadata"
    if probe.has_columns("acronym", "label", "name") and _wmb(probe.first_row.get("label")):
        return "region_of_interest_metadata"
    return None


def load(con: duckdb.DuckDBPyConnection, sources: list[SourceFile], report: Report) -> None:
    for statement in DDL:
        con.execute(statement)
    cell_files = [s for s in sources if s.role == "cell_metadata"]
    if len(cell_files) > 1:
        raise DataError(f"{len(cell_files)} cell_metadata files in one load: "
                        + ", ".join(s.origin for s in cell_files), file=cell_files[1].origin,
                        hint="load one WMB-10X cell_metadata (CSV or Parquet) at a time")
    for source in sources:
        if source.role == "region_of_interest_metadata":
            _load_rois(con, source)
    for source in cell_files:
        _load_cells(con, source)


def _load_rois(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    md5 = check_md5(source)
    what = "region_of_interest_metadata.csv"
    rows = load_csv(con, source.path, "_rois", label=source.origin, what=what,
                    types={"order": "INTEGER"}, required=["acronym"])
    check_not_null(con, "_rois", ["acronym"], label=source.origin, what=what)
    check_unique(con, "_rois", "acronym", label=source.origin, what=what)
    columns = {name for (name,) in con.execute(
        "select column_name from duckdb_columns() where table_name = '_rois'").fetchall()}

    def pick(name: str, cast: str = "varchar") -> str:
        return quote_ident(name) if name in columns else f"null::{cast}"

    con.execute("delete from regions_of_interest")
    con.execute(
        f"""
        insert into regions_of_interest
        select acronym, {pick('label')}, {pick('name')}, {pick('order', 'integer')},
               {pick('color_hex_triplet')}
        from _rois
        """
    )
    log_file(con, source, kind=KIND, table="regions_of_interest", rows=rows, md5=md5)


def _load_cells(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    # the md5 (a second full read of a ~1 GB file) runs beside the load: hashlib releases the GIL
    with ThreadPoolExecutor(max_workers=1) as pool:
        md5_future = pool.submit(check_md5, source)
        taxonomy = _insert_cells(con, source)
        md5 = md5_future.result()
    (rows,) = con.execute("select count(*) from cells").fetchone()
    log_file(con, source, kind=KIND, table="cells", rows=rows, md5=md5,
             taxonomy_version=taxonomy)


# WMB-10X cell metadata was annotated against one taxonomy: 20230630 against CCN20230504
# (5,196 clusters, with divisions); every release since 20230830 against CCN20230722.
FIRST_CCN20230722_VERSION = "20230830"


def expected_taxonomy(version: str | None, header: list[str]) -> str:
    """The taxonomy a cell_metadata file's cluster aliases refer to (aliases differ across)."""
    if version:
        return "CCN20230504" if version < FIRST_CCN20230722_VERSION else "CCN20230722"
    old_schema = "anatomical_division_label" in header or "matrix_label" in header
    return "CCN20230504" if old_schema else "CCN20230722"


def _insert_cells(con: duckdb.DuckDBPyConnection, source: SourceFile) -> str:
    """Load the cells; return the taxonomy version their cluster aliases refer to."""
    label = source.origin
    what = "WMB-10X cell_metadata"
    if source.path.suffix == ".parquet":
        scan, header = _parquet_scan(con, source.path, label)
    else:
        scan, header = read_csv_relation(con, source.path, types=CELL_COLUMNS,
                                         required=REQUIRED, what=what, label=label)
    select = ", ".join(
        (quote_ident(name) if name in header else f"null::{kind}") + f" as {name}"
        for name, kind in CELL_COLUMNS.items()
    )
    progress.note(f"loading cells from {label}")
    con.execute("delete from cells")
    # insertion order is not needed (lines are looked up in the file on error): load in parallel
    con.execute("set preserve_insertion_order = false")
    try:
        con.execute(f"insert into cells select {select}, ? from {scan}", [source.version])
    except (duckdb.ConversionException, duckdb.InvalidInputException) as error:
        raise csv_error(error, label=label, what=what) from error
    finally:
        con.execute("set preserve_insertion_order = true")
    (rows,) = con.execute("select count(*) from cells").fetchone()
    if rows == 0:
        raise DataError("the file has a header but no cells", file=label, line=2,
                        hint="download cell_metadata again")
    check_not_null(con, "cells", ["cell_label", "cluster_alias"], label=label, what=what,
                   lines_from=scan)
    check_unique(con, "cells", "cell_label", label=label, what=what, lines_from=scan)
    return expected_taxonomy(source.version, header)


def _check_parquet_values(con: duckdb.DuckDBPyConnection, literal: str, label: str,
                          casts: dict[str, str]) -> None:
    """A value that does not convert to its column's type is an error naming the row, as in
    the CSV (never a silent null)."""
    for name, kind in casts.items():
        column = quote_ident(name)
        found = con.execute(
            f"select n, v::varchar from (select row_number() over () as n, {column} as v from "
            f"read_parquet({literal})) where v is not null and try_cast(v as {kind}) is null "
            "order by n limit 1").fetchall()
        if found:
            row, value = found[0]
            raise DataError(f"row {row:,}: expected {TYPE_WORDS.get(kind, kind)}, found "
                            f"{value!r}", file=label, column=name,
                            hint="fix that value (or write the column with its Allen type), "
                            "or download cell_metadata again")


def _parquet_scan(con: duckdb.DuckDBPyConnection, path: Path, label: str) -> tuple[str, list]:
    literal = "'" + str(path).replace("'", "''") + "'"
    try:
        schema = con.execute(f"describe select * from read_parquet({literal})").fetchall()
    except duckdb.Error as error:
        raise DataError(f"not a readable Parquet file ({str(error).splitlines()[0]})",
                        file=label, hint="download cell_metadata.parquet again") from error
    header = [name for name, *_ in schema]
    types = {name: kind for name, kind, *_ in schema}
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", file=label,
                        hint=f"WMB-10X cell_metadata needs {', '.join(REQUIRED)}")
    if not any(t in types["cluster_alias"] for t in ("INT", "BIGINT")):
        raise DataError(f"cluster_alias is {types['cluster_alias']}, expected an integer",
                        file=label, column="cluster_alias", hint="write cluster_alias as int")
    _check_parquet_values(con, literal, label, {
        name: kind for name, kind in CELL_COLUMNS.items()
        if name in types and name != "cell_label" and types[name] != kind})
    casts = ", ".join(
        f"try_cast({quote_ident(n)} as {CELL_COLUMNS[n]}) as {quote_ident(n)}"
        if n in CELL_COLUMNS and n != "cell_label" else
        (f"cast({quote_ident(n)} as varchar) as cell_label" if n == "cell_label"
         else quote_ident(n))
        for n in header
    )
    return f"(select {casts} from read_parquet({literal}))", header


# ------------------------------------------------------------------------------ derive

def check_taxonomy_versions(con: duckdb.DuckDBPyConnection, table: str = "cells") -> None:
    """Cells annotated against one taxonomy never meet another's cluster aliases (pitfall #1):
    the cells of `table` (`cells`, `spatial_cells`) against the loaded taxonomy, or, when none
    is loaded, against the other cell tables."""
    cells = con.execute(
        "select source_uri, component, component_version, taxonomy_version from ingest_log "
        "where table_name = ? and taxonomy_version is not null limit 1", [table]).fetchone()
    if not cells:
        return
    uri, component, cells_version, wanted = cells
    what = f"{component or 'cell_metadata'} {cells_version or ''}".strip()
    loaded = con.execute(
        "select any_value(taxonomy_version), any_value(taxonomy_component_version) "
        "from cell_types where taxonomy_version is not null").fetchone()
    if loaded and loaded[0] is not None:
        have, have_folder = loaded
        if wanted != have:
            raise DataError(
                f"these cells ({what}) are annotated with taxonomy {wanted}, but the loaded "
                f"taxonomy is {have} (WMB-taxonomy {have_folder or ''}); cluster aliases are "
                "not comparable across taxonomy versions",
                file=uri,
                hint=f"load the WMB-taxonomy files of {wanted} together with these cells (the "
                "release manifest lists matching versions), or cells annotated with "
                f"{have}",
            )
        return
    other = con.execute(
        "select source_uri, component, component_version, taxonomy_version from ingest_log "
        "where table_name in ('cells', 'spatial_cells') and table_name <> ? "
        "and taxonomy_version is not null and taxonomy_version <> ? limit 1",
        [table, wanted]).fetchone()
    if other:
        raise DataError(
            f"these cells ({what}) are annotated with taxonomy {wanted}, but the loaded "
            f"{other[1] or 'cells'} {other[2] or ''} with {other[3]}; cluster aliases are not "
            "comparable across taxonomy versions", file=uri,
            hint="load cell metadata of one taxonomy version (the files one ABC release "
            "lists together)")


def derive(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    """Rebuild `roi_structures` and `roi_cluster_counts`, reporting what does not resolve."""
    for statement in DDL:
        con.execute(statement)
    check_taxonomy_versions(con)
    con.execute("delete from roi_structures")
    con.execute(
        """
        insert into roi_structures
        with rois as (
            select region_of_interest_acronym as roi from regions_of_interest
            union select distinct region_of_interest_acronym from cells
            where region_of_interest_acronym is not null
        ),
        mouse as (select structure_id, acronym from structures where species = 'mouse'),
        exact as (select roi, structure_id from rois join mouse on mouse.acronym = rois.roi),
        parts as (
            select roi, unnest(string_split(roi, '-')) as part from rois
            where roi not in (select roi from exact)
        )
        select roi, structure_id, true from exact
        union all
        select roi, structure_id, false from parts join mouse on mouse.acronym = parts.part
        """
    )
    con.execute("delete from roi_cluster_counts")
    con.execute(
        """
        insert into roi_cluster_counts
        select region_of_interest_acronym, cluster_alias, count(*)
        from cells where cluster_alias is not null and region_of_interest_acronym is not null
        group by all
        """
    )
    (n_cells,) = con.execute("select count(*) from cells").fetchone()
    if not n_cells:
        return
    (types_loaded,) = con.execute("select count(*) from cell_types").fetchone()
    if types_loaded:
        (unknown_cluster, aliases) = con.execute(
            """
            select count(*), count(distinct cluster_alias) from cells
            where cluster_alias not in (select cluster_alias from cell_types)
            """
        ).fetchone()
        if unknown_cluster:
            report.note(f"{unknown_cluster} cell(s) in {aliases} cluster_alias value(s) are not "
                        "in the loaded taxonomy; they count in no composition")
    else:
        report.note(f"{n_cells} cells but no taxonomy loaded: load the WMB-taxonomy files "
                    "(brainwh ingest taxonomy DIR) for composition answers")
    (structures_loaded,) = con.execute(
        "select count(*) from structures where species = 'mouse'").fetchone()
    unresolved = con.execute(
        """
        select roi, count(*) from (select region_of_interest_acronym as roi from cells)
        where roi not in (select region_of_interest_acronym from roi_structures)
        group by roi order by roi
        """
    ).fetchall()
    if unresolved and structures_loaded:
        listed = ", ".join(f"{roi} ({n} cells)" for roi, n in unresolved)
        report.note(f"region(s) of interest with no CCF structure: {listed}; their cells "
                    "count in ROI rows only")
    elif not structures_loaded:
        report.note("no mouse ontology loaded: composition has ROI rows only (brainwh ingest "
                    "ontology FILE)")
    unknown_roi = con.execute(
        """
        select count(*) from cells where region_of_interest_acronym not in
          (select region_of_interest_acronym from regions_of_interest)
        """
    ).fetchone()[0]
    (rois_loaded,) = con.execute("select count(*) from regions_of_interest").fetchone()
    if unknown_roi and rois_loaded:
        report.note(f"{unknown_roi} cell(s) have a region_of_interest_acronym not in "
                    "region_of_interest_metadata")
