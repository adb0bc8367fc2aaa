"""ABC Atlas MERFISH whole-brain cells in the CCF → `spatial_cells`, `spatial_cluster_counts`.

Files (DATA_FORMATS.md §1.9–1.10):

* `MERFISH-C57BL6J-638850/<v>/cell_metadata.csv`: one row per cell (3,938,808), its section,
  cluster alias, mapping score and section coordinates (mm);
* `MERFISH-C57BL6J-638850-CCF/<v>/ccf_coordinates.csv`: `cell_label, x, y, z,
  parcellation_index` in the CCF (x anterior→posterior, y dorsal→ventral, z left→right, mm);
* `.../reconstructed_coordinates.csv`: the same columns in the reconstructed section space.

The three files are joined on `cell_label`: the metadata lists its cells in another order than
the coordinate files, which share one (their real heads list the same cells), so those two are
paired by position when their labels agree row by row, else by label. Quirks pinned here:
`cell_label` is text (it looks numeric and some labels end in `-1`); no hemisphere column
exists, so it is derived from the CCF's left-right axis (`z_ccf` < 5.7 mm is left). Refused,
with file, line and column: a coordinates row whose cell is not in the metadata, a duplicate
cell, coordinates that are not numbers, the two coordinate files disagreeing on a cell's
parcellation, and a `parcellation_index` the loaded parcellation does not have.

Derived after every load: `spatial_cluster_counts` (cells per parcellation, hemisphere and
cluster: what spatial composition and cell densities aggregate).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import duckdb

from ingest.base import (
    Report,
    SourceFile,
    check_md5,
    csv_error,
    log_file,
    one_per_role,
    quote_ident,
    read_csv_relation,
)
from ingest.cells import check_taxonomy_versions, expected_taxonomy
from ingest.probe import Probe
from warehouse import progress
from warehouse.errors import DataError

KIND = "spatial"
DATASET = "C57BL6J-638850"
MIDLINE_MM = 5.7  # the CCF's left-right midline (1,140 voxels of 10 µm)

ROLES = {
    "cell_metadata.csv": "merfish_cell_metadata",
    "ccf_coordinates.csv": "ccf_coordinates",
    "reconstructed_coordinates.csv": "reconstructed_coordinates",
}
NAMES = {"ccf_coordinates.csv": "ccf_coordinates",
         "reconstructed_coordinates.csv": "reconstructed_coordinates"}
TABLES = {"merfish_cell_metadata": "spatial_cells", "ccf_coordinates": "spatial_cells",
          "reconstructed_coordinates": "spatial_cells"}
ABC_FILES = {
    "metadata/MERFISH-C57BL6J-638850/cell_metadata.csv": "merfish_cell_metadata",
    "metadata/MERFISH-C57BL6J-638850-CCF/ccf_coordinates.csv": "ccf_coordinates",
    "metadata/MERFISH-C57BL6J-638850-CCF/reconstructed_coordinates.csv":
        "reconstructed_coordinates",
}

# Every column a MERFISH-C57BL6J-638850 cell_metadata schema has, with its type.
METADATA_COLUMNS = {
    "cell_label": "VARCHAR",
    "brain_section_label": "VARCHAR",
    "cluster_alias": "INTEGER",
    "average_correlation_score": "DOUBLE",
    "feature_matrix_label": "VARCHAR",
    "donor_label": "VARCHAR",
    "donor_genotype": "VARCHAR",
    "donor_sex": "VARCHAR",
    "x": "DOUBLE",
    "y": "DOUBLE",
    "z": "DOUBLE",
    "abc_sample_id": "UUID",  # since 20241115
    "matrix_label": "VARCHAR",  # 20230630 schema
    "low_quality_mapping": "BOOLEAN",  # 20230630 schema
}
METADATA_REQUIRED = ("cell_label", "brain_section_label", "cluster_alias", "x", "y", "z")
COORDINATE_COLUMNS = {"cell_label": "VARCHAR", "x": "DOUBLE", "y": "DOUBLE", "z": "DOUBLE",
                      "parcellation_index": "INTEGER"}

SPATIAL_CELLS_DDL = """
create table if not exists spatial_cells (
    cell_label varchar,                 -- text: looks numeric, some labels end in -1
    brain_section_label varchar,        -- C57BL6J-638850.NN (59 sections)
    cluster_alias integer,              -- the WMB taxonomy's cluster (cell_types)
    average_correlation_score double,   -- mapping confidence
    feature_matrix_label varchar,
    donor_label varchar,
    donor_genotype varchar,
    donor_sex varchar,
    x_section double,                   -- section coordinates, mm (x across, y down)
    y_section double,
    z_section double,                   -- the section's position, mm (0.2 mm grid)
    x_reconstructed double,             -- reconstructed section space, mm
    y_reconstructed double,
    z_reconstructed double,
    x_ccf double,                       -- CCF anterior→posterior, mm (0–13.2)
    y_ccf double,                       -- CCF dorsal→ventral, mm (0–8)
    z_ccf double,                       -- CCF left→right, mm (0–11.4; midline 5.7)
    parcellation_index integer,         -- parcellations (0 = outside the brain)
    hemisphere varchar,                 -- left | right from z_ccf; null without CCF
    abc_sample_id uuid,                 -- since 20241115
    matrix_label varchar,               -- 20230630 schema
    low_quality_mapping boolean,        -- 20230630 schema
    metadata_version varchar,           -- e.g. 20241115
    coordinates_version varchar         -- e.g. 20231215
)
"""
COUNTS_DDL = """
create table if not exists spatial_cluster_counts (
    parcellation_index integer not null,
    hemisphere varchar not null,        -- left | right
    cluster_alias integer not null,
    n_cells bigint not null
)
"""
DDL = (SPATIAL_CELLS_DDL, COUNTS_DDL)

_MERFISH_LABEL = re.compile(r"^\d{15,25}(-\d+)?$")


def identify(probe: Probe) -> str | None:
    """The MERFISH-C57BL6J-638850 cells by columns and dataset label; its coordinate files by
    columns and label grammar (another MERFISH dataset's, Zhuang's 39-digit labels, are not
    these). Which coordinate file: by name, else by z on the 0.2 mm section grid."""
    row = probe.first_row
    if probe.has_columns("cell_label", "brain_section_label", "cluster_alias", "x", "y", "z"):
        dataset = (row.get("feature_matrix_label") or row.get("donor_label")
                   or row.get("matrix_label") or row.get("brain_section_label") or "")
        return "merfish_cell_metadata" if dataset.startswith(DATASET) else None
    if probe.has_columns(*COORDINATE_COLUMNS) and _MERFISH_LABEL.match(
            row.get("cell_label", "")):
        if "reconstructed" in probe.name:
            return "reconstructed_coordinates"
        if "ccf" in probe.name:
            return "ccf_coordinates"
        return "reconstructed_coordinates" if _on_section_grid(probe) else "ccf_coordinates"
    return None


def _on_section_grid(probe: Probe) -> bool:
    values = []
    for line in probe.lines[1:50]:
        try:
            values.append(float(line.split(",")[3]))
        except (IndexError, ValueError):
            return False
    return bool(values) and all(abs(v / 0.2 - round(v / 0.2)) < 1e-6 for v in values)


# ------------------------------------------------------------------------------ load

def load(con: duckdb.DuckDBPyConnection, sources: list[SourceFile], report: Report) -> None:
    for statement in DDL:
        con.execute(statement)
    by_role = one_per_role(sources, hint="load one MERFISH cell_metadata and its CCF coordinates "
                          "at a time")
    metadata = by_role.get("merfish_cell_metadata")
    if metadata is None:
        raise DataError("MERFISH coordinates without their cell_metadata.csv",
                        file=sources[0].origin,
                        hint="pass metadata/MERFISH-C57BL6J-638850/<version>/cell_metadata.csv "
                        "together with the -CCF coordinate files")
    # the md5s (a second read of ~1.3 GB) run beside the load: hashlib releases the GIL
    with ThreadPoolExecutor(max_workers=1) as pool:
        md5s = pool.submit(lambda: {role: check_md5(s) for role, s in by_role.items()})
        taxonomy, lines = _insert(con, by_role)
        _check(con, by_role, lines)
        md5 = md5s.result()
    for table in COORDINATE_TABLES.values():
        con.execute(f"drop table if exists {table}")
    (rows,) = con.execute("select count(*) from spatial_cells").fetchone()
    for role, source in by_role.items():
        log_file(con, source, kind=KIND, table="spatial_cells", rows=rows, md5=md5[role],
                 taxonomy_version=taxonomy if role == "merfish_cell_metadata" else None)
    (without,) = con.execute(
        "select count(*) from spatial_cells where x_ccf is null").fetchone()
    if without:
        missing = "ccf_coordinates.csv" if "ccf_coordinates" not in by_role else \
            "the CCF coordinates"
        report.note(f"{without:,} MERFISH cell(s) have no row in {missing}; they count in no "
                    "spatial composition or density")


COORDINATE_TABLES = {"ccf_coordinates": "_merfish_ccf",
                     "reconstructed_coordinates": "_merfish_reconstructed"}


def _insert(con: duckdb.DuckDBPyConnection, by_role: dict[str, SourceFile]
            ) -> tuple[str, dict[str, str]]:
    """Read the coordinate files into temporary tables (in file order, checked), then insert
    the metadata joined to them. Returns the cells' taxonomy version and, per role, the
    relation its rows can be looked up in by line (for error messages)."""
    metadata = by_role["merfish_cell_metadata"]
    scan, header = read_csv_relation(con, metadata.path, types=METADATA_COLUMNS,
                                     required=METADATA_REQUIRED, what="MERFISH cell_metadata",
                                     label=metadata.origin)
    lines = {"merfish_cell_metadata": scan}
    coordinates = {}
    for role, table in COORDINATE_TABLES.items():
        source = by_role.get(role)
        if source is None:
            coordinates[role] = None
            continue
        relation, _ = read_csv_relation(con, source.path, types=COORDINATE_COLUMNS,
                                        required=list(COORDINATE_COLUMNS),
                                        what=source.path.name, label=source.origin)
        try:
            con.execute(f"create or replace temp table {table} as select * from {relation}")
        except (duckdb.ConversionException, duckdb.InvalidInputException) as error:
            raise csv_error(error, label=source.origin, what=source.path.name) from error
        _check_coordinates(con, table, source)
        coordinates[role] = lines[role] = table
    pick = {name: (f"m.{quote_ident(name)}" if name in header else f"null::{kind}")
            for name, kind in METADATA_COLUMNS.items()}
    coordinates_sql = _coordinates(con, coordinates)
    ccf = {k: (f"co.c_{k}" if coordinates["ccf_coordinates"] else f"null::{t}")
           for k, t in COORDINATE_COLUMNS.items()}
    rec = {k: (f"co.r_{k}" if coordinates["reconstructed_coordinates"] else f"null::{t}")
           for k, t in COORDINATE_COLUMNS.items()}
    joins = [f"left join ({coordinates_sql}) as co on co.cell_label = m.cell_label"] \
        if coordinates_sql else []
    # the two files naming two parcellations for one cell stop the insert (the CASE branch
    # runs only then); _mismatch finds the line
    parcellation = (f"case when {ccf['parcellation_index']} <> {rec['parcellation_index']} "
                    "then error('brainwh: parcellation mismatch') else "
                    f"coalesce({ccf['parcellation_index']}, {rec['parcellation_index']}) end")
    hemisphere = (f"case when {ccf['z']} < {MIDLINE_MM} then 'left' "
                  f"when {ccf['z']} >= {MIDLINE_MM} then 'right' end")
    columns = ", ".join(pick[name] for name in (
        "brain_section_label", "cluster_alias", "average_correlation_score",
        "feature_matrix_label", "donor_label", "donor_genotype", "donor_sex"))
    select = f"""
        select m.cell_label, {columns}, m.x, m.y, m.z,
               {rec['x']}, {rec['y']}, {rec['z']}, {ccf['x']}, {ccf['y']}, {ccf['z']},
               {parcellation}, {hemisphere},
               {pick['abc_sample_id']}, {pick['matrix_label']}, {pick['low_quality_mapping']},
               ?, ?
        from {scan} as m {' '.join(joins)}
    """
    coordinates_version = next((by_role[r].version for r in COORDINATE_TABLES if r in by_role),
                               None)
    progress.note(f"loading MERFISH cells from {metadata.origin}")
    con.execute("delete from spatial_cells")
    con.execute("set preserve_insertion_order = false")
    try:
        con.execute(f"insert into spatial_cells {select}",
                    [metadata.version, coordinates_version])
    except (duckdb.ConversionException, duckdb.InvalidInputException) as error:
        if "brainwh: parcellation mismatch" in str(error):
            _mismatch(con, by_role)
        raise csv_error(error, label=metadata.origin, what="MERFISH cell_metadata") from error
    finally:
        con.execute("set preserve_insertion_order = true")
    return expected_taxonomy(metadata.version, header), lines


def _coordinates(con: duckdb.DuckDBPyConnection, tables: dict[str, str | None]) -> str | None:
    """SQL for one row per cell with both files' columns (c_x ... r_parcellation_index). The
    two files list their cells in one order (the real heads do): then they are paired by
    position, one hash join fewer; otherwise by cell_label."""
    ccf, rec = tables["ccf_coordinates"], tables["reconstructed_coordinates"]
    if ccf is None and rec is None:
        return None
    names = [k for k in COORDINATE_COLUMNS if k != "cell_label"]

    def columns(alias: str, prefix: str, present: bool) -> str:
        return ", ".join((f"{alias}.{k}" if present else f"null::{COORDINATE_COLUMNS[k]}")
                         + f" as {prefix}_{k}" for k in names)

    if ccf is None or rec is None:
        table = ccf or rec
        return (f"select t.cell_label, {columns('t', 'c', ccf is not None)}, "
                f"{columns('t', 'r', rec is not None)} from {table} as t")
    (n_ccf,), (n_rec,) = (con.execute(f"select count(*) from {t}").fetchone() for t in (ccf,
                                                                                        rec))
    aligned = n_ccf == n_rec and con.execute(
        f"select count(*) from {ccf} as c positional join {rec} as r "
        "where c.cell_label <> r.cell_label").fetchone()[0] == 0
    if aligned:
        return (f"select c.cell_label, {columns('c', 'c', True)}, {columns('r', 'r', True)} "
                f"from {ccf} as c positional join {rec} as r")
    return (f"select coalesce(c.cell_label, r.cell_label) as cell_label, "
            f"{columns('c', 'c', True)}, {columns('r', 'r', True)} "
            f"from {ccf} as c full join {rec} as r on r.cell_label = c.cell_label")


def _numbered(relation: str) -> str:
    return f"(select *, row_number() over () + 1 as line from {relation})"


def _check_coordinates(con: duckdb.DuckDBPyConnection, table: str, source: SourceFile) -> None:
    """No empty value, no cell twice (the table holds the file's rows in file order)."""
    (rows, x, y, z, index) = con.execute(
        f"select count(*), count(x), count(y), count(z), count(parcellation_index) "
        f"from {table}").fetchone()
    if rows == 0:
        raise DataError("the file has a header but no rows", file=source.origin, line=2,
                        hint="download the file again")
    if min(x, y, z, index) < rows:
        found = con.execute(
            f"select line, x, y, z, parcellation_index from {_numbered(table)} "
            "where x is null or y is null or z is null or parcellation_index is null "
            "order by line limit 1").fetchone()
        column = ["x", "y", "z", "parcellation_index"][found[1:].index(None)]
        raise DataError(f"{column} is empty", file=source.origin, line=found[0], column=column,
                        hint="every cell's coordinates and parcellation are numbers: "
                        "download the file again")
    if _has_duplicates(con, table):
        _duplicate(con, source, table)


def _has_duplicates(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """Whether a cell_label repeats: distinct hashes first (cheap), labels only on doubt."""
    (rows, hashes) = con.execute(
        f"select count(*), count(distinct hash(cell_label)) from {relation}").fetchone()
    if hashes == rows:
        return False
    (labels,) = con.execute(f"select count(distinct cell_label) from {relation}").fetchone()
    return labels < rows


def _duplicate(con: duckdb.DuckDBPyConnection, source: SourceFile, relation: str) -> None:
    found = con.execute(
        f"""
        select cell_label, list(line order by line)[1:2] from {_numbered(relation)}
        where cell_label in (select cell_label from {relation} group by 1
                             having count(*) > 1)
        group by cell_label order by 2 limit 1
        """).fetchone()
    raise DataError(f"duplicate cell_label {found[0]!r} (also on line {found[1][0]})",
                    file=source.origin, line=found[1][1], column="cell_label",
                    hint="each cell appears once: download the file again")


def _mismatch(con: duckdb.DuckDBPyConnection, by_role: dict[str, SourceFile]) -> None:
    found = con.execute(
        f"""
        select c.cell_label, c.line, c.parcellation_index, r.parcellation_index
        from {_numbered(COORDINATE_TABLES['ccf_coordinates'])} as c
        join {COORDINATE_TABLES['reconstructed_coordinates']} as r using (cell_label)
        where c.parcellation_index <> r.parcellation_index
        order by c.line limit 1
        """).fetchone()
    raise DataError(
        f"cell {found[0]!r} is in parcellation {found[2]} here but in {found[3]} in "
        f"{by_role['reconstructed_coordinates'].origin}",
        file=by_role["ccf_coordinates"].origin, line=found[1], column="parcellation_index",
        hint="both coordinate files carry the cell's parcellation: use the files of one "
        "MERFISH-C57BL6J-638850-CCF version")


def _check(con: duckdb.DuckDBPyConnection, by_role: dict[str, SourceFile],
           lines: dict[str, str]) -> None:
    metadata = by_role["merfish_cell_metadata"]
    (rows, null_label, null_alias, null_section, x_ccf, x_rec) = con.execute(
        "select count(*), count(*) - count(cell_label), count(*) - count(cluster_alias), "
        "count(*) - count(brain_section_label), count(x_ccf), count(x_reconstructed) "
        "from spatial_cells").fetchone()
    if rows == 0:
        raise DataError("the file has a header but no cells", file=metadata.origin, line=2,
                        hint="download cell_metadata.csv again")
    for empty, column in ((null_label, "cell_label"), (null_alias, "cluster_alias"),
                          (null_section, "brain_section_label")):
        if empty:
            (line,) = con.execute(
                f"select line from {_numbered(lines['merfish_cell_metadata'])} "
                f"where {column} is null order by line limit 1").fetchone()
            raise DataError(f"{column} is empty", file=metadata.origin, line=line,
                            column=column, hint=f"every MERFISH cell needs a {column}")
    if _has_duplicates(con, "spatial_cells"):  # the coordinate files have none: the metadata
        _duplicate(con, metadata, lines["merfish_cell_metadata"])
    # every coordinates row found its cell: as many joined rows as the file has (no empty x)
    for role, joined in (("ccf_coordinates", x_ccf), ("reconstructed_coordinates", x_rec)):
        if role not in by_role:
            continue
        table = COORDINATE_TABLES[role]
        (in_file,) = con.execute(f"select count(*) from {table}").fetchone()
        if joined < in_file:
            found = con.execute(
                f"select cell_label, line from {_numbered(table)} where cell_label not in "
                "(select cell_label from spatial_cells) order by line limit 1").fetchone()
            raise DataError(
                f"cell {found[0]!r} is not in the MERFISH cell_metadata.csv "
                f"({metadata.origin})", file=by_role[role].origin, line=found[1],
                column="cell_label",
                hint="the coordinates and the cell metadata come from different releases: "
                "use the files one ABC release lists together")
    _check_parcellations(con, by_role)


def _check_parcellations(con: duckdb.DuckDBPyConnection,
                         by_role: dict[str, SourceFile]) -> None:
    """Every parcellation_index is one the loaded parcellation has (when one is loaded)."""
    (loaded,) = con.execute("select count(*) from parcellations").fetchone()
    if not loaded:
        return
    (unknown,) = con.execute(
        "select count(*) from spatial_cells where parcellation_index not in "
        "(select parcellation_index from parcellations)").fetchone()
    if not unknown:
        return
    for role, table in COORDINATE_TABLES.items():
        if role not in by_role:
            continue
        found = con.execute(
            f"select parcellation_index, line from {_numbered(table)} "
            "where parcellation_index not in (select parcellation_index from parcellations) "
            "order by line limit 1").fetchone()
        if found:
            raise DataError(
                f"parcellation_index {found[0]} is not in the loaded parcellation "
                "(Allen-CCF-2020 parcellation.csv)", file=by_role[role].origin, line=found[1],
                column="parcellation_index",
                hint="load the Allen-CCF-2020 parcellation files that go with these "
                "coordinates (the release manifest lists them)")


# ------------------------------------------------------------------------------ derive

def derive(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    """Rebuild `spatial_cluster_counts`; check the cells against the loaded taxonomy and
    parcellation; report what counts nowhere."""
    for statement in DDL:
        con.execute(statement)
    con.execute("delete from spatial_cluster_counts")
    (n_cells,) = con.execute("select count(*) from spatial_cells").fetchone()
    if not n_cells:
        return
    check_taxonomy_versions(con, table="spatial_cells")
    _check_reloaded_parcellation(con)
    con.execute(
        """
        insert into spatial_cluster_counts
        select parcellation_index, hemisphere, cluster_alias, count(*)
        from spatial_cells
        where parcellation_index is not null and hemisphere is not null
        group by all
        """
    )
    (types_loaded,) = con.execute("select count(*) from cell_types").fetchone()
    if types_loaded:
        (unknown, aliases) = con.execute(
            "select count(*), count(distinct cluster_alias) from spatial_cells "
            "where cluster_alias not in (select cluster_alias from cell_types)").fetchone()
        if unknown:
            report.note(f"{unknown:,} MERFISH cell(s) in {aliases} cluster_alias value(s) are "
                        "not in the loaded taxonomy; they count only in cell_density's 'all' "
                        "rows")
    else:
        report.note(f"{n_cells:,} MERFISH cells but no taxonomy loaded: load the WMB-taxonomy "
                    "files (brainwh ingest taxonomy DIR) for spatial composition")
    (outside,) = con.execute(
        "select count(*) from spatial_cells where parcellation_index = 0").fetchone()
    if outside:
        report.note(f"{outside:,} MERFISH cell(s) lie outside the annotated brain "
                    "(parcellation_index 0); they count in no structure")
    (parcellations,) = con.execute("select count(*) from parcellations").fetchone()
    if not parcellations:
        report.note("MERFISH cells but no Allen-CCF-2020 parcellation loaded: spatial "
                    "composition and densities need it (brainwh ingest parcellation DIR)")


def _check_reloaded_parcellation(con: duckdb.DuckDBPyConnection) -> None:
    """A parcellation loaded after the cells must still hold every cell's index."""
    (loaded,) = con.execute("select count(*) from parcellations").fetchone()
    if not loaded:
        return
    found = con.execute(
        """
        select count(*), min(parcellation_index) from spatial_cells
        where parcellation_index not in (select parcellation_index from parcellations)
        """).fetchone()
    if found[0]:
        uri = con.execute("select source_uri from ingest_log where table_name = "
                          "'parcellations' order by role <> 'parcellation' limit 1").fetchone()[0]
        raise DataError(
            f"{found[0]:,} MERFISH cell(s) are in parcellations this file lacks (e.g. "
            f"{found[1]})", file=uri, column="parcellation_index",
            hint="load the Allen-CCF-2020 parcellation that goes with the loaded MERFISH "
            "coordinates")
