"""Allen Cell Types Database → `ephys_specimens`, `ephys_features`, `morphology_features`.

Files, recognised by name: `cell_types_specimen_details.csv` (ApiCellTypesSpecimenDetail, one
row per specimen), `ephys_features.csv` (CellTypesCache.get_ephys_features, one row per cell)
and `morphology_features.csv` (get_morphology_features, one row per reconstruction).

Quirks pinned here: every column is read by header name (the SDK cache writes them in no
particular order); any field may be quoted and `""` is null; booleans are `"False"`/`"True"`;
`structure__name` carries literal double quotes (removed); `tag__apical` uses the literal `NA`
for "not applicable" (stored as null); species are spelled `Mus musculus` / `Homo Sapiens`
(stored as `mouse` / `human`); layers are text (`2/3`, `6a`); pandas' unnamed index column in
`morphology_features.csv` is ignored. Mouse structure ids are graph-1 ids at layer level, with
the area in `structure_parent__id`; human ones are human-ontology ids.

Each file replaces its own table, so the three can be loaded together or one at a time.
`derive` reports, once everything is in: specimens without features, features (and
reconstructions) without a specimen, and structure ids the loaded ontologies do not know.
Nothing is dropped: orphans stay in their tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ingest import jsonfile
from ingest.base import (
    Report,
    SourceFile,
    check_md5,
    check_not_null,
    check_unique,
    load_csv,
    log_file,
    quote_ident,
    read_header,
)
from ingest.probe import Probe
from warehouse.errors import DataError

KIND = "ephys"

ROLES = {
    "cell_types_specimen_details.csv": "specimen_details",
    "ephys_features.csv": "ephys_features",
    "morphology_features.csv": "morphology_features",
}

SPECIES = {"mus musculus": "mouse", "homo sapiens": "human"}


@dataclass(frozen=True)
class Column:
    """One warehouse column: its name, the file column it comes from, how it is typed."""

    name: str
    source: str
    read: str  # the type the CSV scan parses the file column as
    store: str | None = None  # the stored type, when not `read`
    expr: str | None = None  # SQL over `{v}` (the file column), when not a plain copy
    meaning: str = ""

    @property
    def type(self) -> str:
        return self.store or self.read


# ------------------------------------------------------------------ specimen details

EF_SUMMARY = ("vrest", "threshold_i_long_square", "tau", "ri",
              "upstroke_downstroke_ratio_long_square", "f_i_curve_slope", "adaptation",
              "avg_isi", "avg_firing_rate", "fast_trough_v_long_square", "peak_t_ramp")
NR_SUMMARY = (("max_euclidean_distance", "DOUBLE"), ("number_stems", "INTEGER"),
              ("number_bifurcations", "INTEGER"), ("average_contraction", "DOUBLE"),
              ("average_parent_daughter_ratio", "DOUBLE"))

SPECIMEN_COLUMNS = (
    Column("specimen_id", "specimen__id", "BIGINT", meaning="primary key"),
    Column("specimen_name", "specimen__name", "VARCHAR"),
    Column("species", "donor__species", "VARCHAR",
           expr="case lower(trim({v})) when 'mus musculus' then 'mouse' "
                "when 'homo sapiens' then 'human' end",
           meaning="mouse | human (the file spells Mus musculus / Homo Sapiens)"),
    Column("structure_id", "structure__id", "BIGINT",
           meaning="mouse: graph-1 id at layer level (721 VISp4); human: human-ontology id"),
    Column("structure_acronym", "structure__acronym", "VARCHAR"),
    Column("structure_name", "structure__name", "VARCHAR", expr="trim({v}, '\"')",
           meaning="the file's embedded double quotes removed"),
    Column("area_id", "structure_parent__id", "BIGINT", meaning="the area, e.g. 385 VISp"),
    Column("area_acronym", "structure_parent__acronym", "VARCHAR"),
    Column("layer", "structure__layer", "VARCHAR", meaning="text: 1, 2/3, 4, 5, 6a, 6b ..."),
    Column("hemisphere", "specimen__hemisphere", "VARCHAR", meaning="left | right"),
    Column("dendrite_type", "tag__dendrite_type", "VARCHAR",
           meaning="spiny | aspiny | sparsely spiny"),
    Column("apical", "tag__apical", "VARCHAR", expr="nullif({v}, 'NA')",
           meaning="intact | truncated | null (the file's NA: not applicable)"),
    Column("transgenic_line", "line_name", "VARCHAR",
           meaning="Cre line(s), |-joined pairs; null for human"),
    Column("reporter_status", "cell_reporter_status", "VARCHAR",
           meaning="positive | negative; null for human"),
    Column("reconstruction_type", "nr__reconstruction_type", "VARCHAR",
           meaning="full | dendrite-only | null (not reconstructed)"),
    Column("soma_x", "csl__x", "DOUBLE", meaning="soma location (mouse: CCF µm)"),
    Column("soma_y", "csl__y", "DOUBLE"),
    Column("soma_z", "csl__z", "DOUBLE"),
    Column("normalized_depth", "csl__normalized_depth", "DOUBLE", meaning="0 pia .. 1 white"),
    Column("n_glif_models", "m__glif", "INTEGER"),
    Column("n_biophys_models", "m__biophys", "INTEGER"),
    Column("n_biophys_perisomatic_models", "m__biophys_perisomatic", "INTEGER"),
    Column("n_biophys_all_active_models", "m__biophys_all_active", "INTEGER"),
    Column("donor_id", "donor__id", "BIGINT"),
    Column("donor_name", "donor__name", "VARCHAR"),
    Column("donor_age", "donor__age", "VARCHAR", meaning="e.g. '25 yrs'; null for mouse"),
    Column("donor_sex", "donor__sex", "VARCHAR"),
    Column("donor_disease_state", "donor__disease_state", "VARCHAR",
           meaning="epilepsy | tumor (human)"),
    Column("donor_race", "donor__race", "VARCHAR"),
    Column("donor_years_of_seizure_history", "donor__years_of_seizure_history", "INTEGER"),
    Column("ephys_file_id", "erwkf__id", "BIGINT", meaning="well-known file id of the NWB"),
    Column("reconstruction_file_id", "nrwkf__id", "BIGINT",
           meaning="well-known file id of the SWC"),
    *(Column(f"ef_{name}", f"ef__{name}", "DOUBLE") for name in EF_SUMMARY),
    *(Column(f"nr_{name}", f"nr__{name}", kind) for name, kind in NR_SUMMARY),
)
SPECIMEN_REQUIRED = ("specimen__id", "donor__species", "structure__id", "structure__acronym",
                     "structure__layer", "tag__dendrite_type")

# ------------------------------------------------------------------------ ephys features

# The features ephys_by_region summarises: the file must have them.
KEY_FEATURES = ("vrest", "threshold_i_long_square", "tau", "ri",
                "upstroke_downstroke_ratio_long_square", "f_i_curve_slope", "sag",
                "adaptation", "avg_isi", "latency")
_SWEEP_KINDS = ("long_square", "ramp", "short_square")
_DOUBLE_FEATURES = sorted({
    *KEY_FEATURES, "electrode_0_pa", "input_resistance_mohm", "seal_gohm", "vm_for_sag",
    *(f"{point}_{axis}_{sweep}" for point in ("fast_trough", "peak", "slow_trough",
                                              "threshold", "trough")
      for axis in ("t", "v") for sweep in _SWEEP_KINDS),
    *(f"threshold_i_{sweep}" for sweep in _SWEEP_KINDS),
    *(f"upstroke_downstroke_ratio_{sweep}" for sweep in _SWEEP_KINDS),
})
FEATURE_COLUMNS = (
    Column("specimen_id", "specimen_id", "BIGINT", meaning="the cell"),
    Column("ephys_feature_id", "id", "BIGINT", meaning="the EphysFeature row (not the cell)"),
    Column("has_burst", "has_burst", "BOOLEAN"),
    Column("has_delay", "has_delay", "BOOLEAN"),
    Column("has_pause", "has_pause", "BOOLEAN"),
    Column("rheobase_sweep_id", "rheobase_sweep_id", "BIGINT"),
    Column("rheobase_sweep_number", "rheobase_sweep_number", "INTEGER"),
    Column("thumbnail_sweep_id", "thumbnail_sweep_id", "BIGINT"),
    *(Column(name, name, "DOUBLE") for name in _DOUBLE_FEATURES),
)
FEATURE_REQUIRED = ("specimen_id", *KEY_FEATURES)

# ------------------------------------------------------------------- morphology features

_COUNTS = ("max_branch_order", "number_bifurcations", "number_branches", "number_nodes",
           "number_stems", "number_tips")
_MORPHOLOGY_DOUBLES = (
    "average_bifurcation_angle_local", "average_bifurcation_angle_remote",
    "average_contraction", "average_diameter", "average_fragmentation",
    "average_parent_daughter_ratio", "hausdorff_dimension", "max_euclidean_distance",
    "max_path_distance", "overall_depth", "overall_height", "overall_width",
    "scale_factor_x", "scale_factor_y", "scale_factor_z", "soma_surface", "total_length",
    "total_surface", "total_volume",
)
MORPHOLOGY_COLUMNS = (
    Column("specimen_id", "specimen_id", "BIGINT", meaning="the cell"),
    Column("reconstruction_id", "id", "BIGINT", meaning="the NeuronReconstruction"),
    Column("neuron_reconstruction_type", "neuron_reconstruction_type", "VARCHAR",
           meaning="full | dendrite-only"),
    Column("superseded", "superseded", "BOOLEAN"),
    Column("tags", "tags", "VARCHAR"),
    # pandas writes counts as 10.0 when the column has gaps: read as numbers, stored whole
    *(Column(name, name, "DOUBLE", store="INTEGER") for name in _COUNTS),
    *(Column(name, name, "DOUBLE") for name in _MORPHOLOGY_DOUBLES),
)
MORPHOLOGY_REQUIRED = ("specimen_id",)


def _ddl(table: str, columns: tuple[Column, ...]) -> str:
    lines = [f"    {c.name} {c.type.lower()}{' primary key' if c.name == 'specimen_id' else ''}"
             for c in columns]
    return f"create table if not exists {table} (\n" + ",\n".join(lines) + "\n)"


FILES = {  # role -> (table, columns, required file columns, key, what the file is)
    "specimen_details": ("ephys_specimens", SPECIMEN_COLUMNS, SPECIMEN_REQUIRED,
                         "specimen__id", "Cell Types specimen table"),
    "ephys_features": ("ephys_features", FEATURE_COLUMNS, FEATURE_REQUIRED,
                       "specimen_id", "Cell Types ephys_features.csv"),
    "morphology_features": ("morphology_features", MORPHOLOGY_COLUMNS, MORPHOLOGY_REQUIRED,
                            "specimen_id", "Cell Types morphology_features.csv"),
}
DDL = tuple(_ddl(table, columns) for table, columns, *_ in FILES.values())
TABLES = {**{role: spec[0] for role, spec in FILES.items()},
          "specimen_simplified": "ephys_specimens"}


NAMES = ROLES
ABC_FILES: dict[str, str] = {}


def identify(probe: Probe) -> str | None:
    """By columns (CSV) or keys (JSON: AllenSDK's cells.json, RMA query pages): the specimen
    table (`specimen__id`), the simplified specimen records of older AllenSDKs, the ephys
    features (`specimen_id` with `vrest`) and the morphology features."""
    if probe.has_columns("specimen__id", "donor__species") or probe.has_keys(
            "specimen__id", "donor__species"):
        return "specimen_details"
    if probe.has_keys("structure_area_abbrev", "structure_layer_name", "dendrite_type"):
        return "specimen_simplified"
    if probe.has_columns("specimen_id", "vrest") or probe.has_keys("specimen_id", "vrest"):
        return "ephys_features"
    if probe.has_columns("specimen_id", "number_bifurcations") or probe.has_keys(
            "specimen_id", "number_bifurcations"):
        return "morphology_features"
    return None


# --------------------------------------------------------------------------------- load

def load(con: duckdb.DuckDBPyConnection, sources: list[SourceFile], report: Report) -> None:
    for statement in DDL:
        con.execute(statement)
    by_role: dict[str, list[SourceFile]] = {}
    for source in sources:
        by_role.setdefault(source.role, []).append(source)
    for files in by_role.values():
        if len(files) > 1:
            raise DataError(f"{len(files)} {files[0].path.name} files in one load: "
                            + ", ".join(s.origin for s in files), file=files[1].origin,
                            hint="load one Cell Types release at a time")
    specimens = by_role.get("specimen_details", []) + by_role.get("specimen_simplified", [])
    if len(specimens) > 1:
        raise DataError("two specimen tables in one load: " + ", ".join(
            s.origin for s in specimens), file=specimens[1].origin,
            hint="load one (cell_types_specimen_details.csv, or AllenSDK's cells.json)")
    for role in (*FILES, "specimen_simplified"):  # specimens first: their errors come first
        for source in by_role.get(role, []):
            _load_file(con, source, report)


def _load_file(con: duckdb.DuckDBPyConnection, source: SourceFile, report: Report) -> None:
    role = "specimen_details" if source.role == "specimen_simplified" else source.role
    table, columns, required, key, what = FILES[role]
    label = source.origin
    md5 = check_md5(source)
    raw = f"_{table}_raw"
    types = {c.source: c.read for c in columns}
    if source.path.suffix.lower() == ".json":
        rows_found, base = jsonfile.rows_of(jsonfile.read_document(source.path, label), label)
        if source.role == "specimen_simplified":
            rows_found = [_from_simplified(row) for row in rows_found]
        file_columns = jsonfile.load_rows(con, rows_found, raw, types=types, required=required,
                                          key=key, label=label, what=what, base=base)
        rows = len(rows_found)
    else:
        rows = load_csv(con, source.path, raw, label=label, what=what, required=required,
                        types=types)
        check_not_null(con, raw, [key], label=label, what=what)
        check_unique(con, raw, key, label=label, what=what)
        file_columns = [n for n in read_header(source.path, label=label) if n]
    if role == "specimen_details":
        json_base = base if source.path.suffix.lower() == ".json" else None
        if json_base is None:
            check_not_null(con, raw, ["donor__species"], label=label, what=what)
        _check_species(con, raw, label, json_base)
    if source.role == "specimen_simplified":
        _resolve_layers(con, raw, label, report)
    header = set(_raw_columns(con, raw))
    select = ", ".join(_expression(c, header) + f" as {c.name}" for c in columns)
    con.execute(f"delete from {table}")
    con.execute(f"insert into {table} select {select} from {raw}")
    con.execute(f"drop table {raw}")
    notes = []
    known = {c.source for c in columns}
    ignored = [n for n in file_columns if n not in known and n not in _SIMPLIFIED_ONLY]
    if ignored:
        notes.append(f"ignored column(s) {', '.join(ignored)}")
    absent = sorted(known - header)
    if absent:
        notes.append(f"absent column(s), loaded as null: {', '.join(absent)}")
    log_file(con, source, kind=KIND, table=table, rows=rows, md5=md5, notes=notes)


# Older AllenSDKs' CellTypesCache.get_cells() records (cell_types_api.simplify_cells_api),
# mapped back to the ApiCellTypesSpecimenDetail columns. They have no layer-level structure
# id: it is resolved from the area acronym and the layer (VISp + 4 = VISp4) when the mouse
# ontology has it, else the specimen counts at its area.
SIMPLIFIED = {"id": "specimen__id", "name": "specimen__name", "species": "donor__species",
              "structure_area_id": "structure_parent__id",
              "structure_area_abbrev": "structure_parent__acronym",
              "structure_layer_name": "structure__layer",
              "structure_hemisphere": "specimen__hemisphere",
              "dendrite_type": "tag__dendrite_type", "apical": "tag__apical",
              "reconstruction_type": "nr__reconstruction_type", "transgenic_line": "line_name",
              "reporter_status": "cell_reporter_status", "disease_state": "donor__disease_state",
              "donor_id": "donor__id", "normalized_depth": "csl__normalized_depth"}
_SIMPLIFIED_ONLY = {"cell_soma_location"}


def _from_simplified(row):
    if not isinstance(row, dict):
        return row
    out = {SIMPLIFIED.get(k, k): v for k, v in row.items() if k != "cell_soma_location"}
    soma = row.get("cell_soma_location")
    if isinstance(soma, list) and len(soma) == 3:
        out["csl__x"], out["csl__y"], out["csl__z"] = soma
    out.setdefault("structure__id", None)
    out.setdefault("structure__acronym", None)
    return out


def _resolve_layers(con: duckdb.DuckDBPyConnection, raw: str, label: str,
                    report: Report) -> None:
    con.execute(
        f"""
        update {raw} set
            structure__acronym = coalesce(s.acronym, {raw}.structure_parent__acronym),
            structure__id = coalesce(s.structure_id, {raw}.structure_parent__id)
        from (select r.specimen__id, m.acronym, m.structure_id
              from {raw} r left join structures m on m.species = 'mouse'
               and lower(r.donor__species) = 'mus musculus'
               and m.acronym = r.structure_parent__acronym || r.structure__layer) s
        where s.specimen__id = {raw}.specimen__id
        """)
    (at_area,) = con.execute(
        f"select count(*) from {raw} where structure__id = structure_parent__id").fetchone()
    if at_area:
        report.note(f"{label}: {at_area} specimen(s) from simplified records have no "
                    "layer-level structure in the loaded ontology (human cells, or no mouse "
                    "ontology): they count at their area")


def _raw_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [name for (name,) in con.execute(
        "select column_name from duckdb_columns() where table_name = ? order by column_index",
        [table]).fetchall()]


def _expression(column: Column, header: set[str]) -> str:
    if column.source not in header:
        return f"null::{column.type}"
    value = quote_ident(column.source)
    expression = column.expr.format(v=value) if column.expr else value
    return f"({expression})::{column.type}" if column.store else expression


def _check_species(con: duckdb.DuckDBPyConnection, raw: str, label: str,
                   json_base: str | None = None) -> None:
    """Every specimen is mouse or human (the position is a line, or a JSON path)."""
    row = con.execute(
        f"""
        select species, n from (
            select donor__species as species, row_number() over () as n from {raw})
        where species is null or lower(trim(species)) not in ('mus musculus', 'homo sapiens')
        order by n limit 1
        """
    ).fetchone()
    if row:
        where = (dict(column=f"{json_base}[{row[1] - 1}].donor__species") if json_base
                 else dict(line=row[1] + 1, column="donor__species"))
        raise DataError(f"expected Mus musculus or Homo Sapiens, found {row[0]!r}", file=label,
                        hint="the Cell Types Database holds mouse and human cells only",
                        **where)


# ------------------------------------------------------------------------------- derive

def derive(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    """Report what does not join: specimens without features, orphans, unknown structures."""
    for statement in DDL:
        con.execute(statement)
    counts = {table: con.execute(f"select count(*) from {table}").fetchone()[0]
              for table in ("ephys_specimens", "ephys_features", "morphology_features")}
    specimens, features, morphologies = counts.values()
    if not any(counts.values()):
        return
    if specimens and features:
        (without,) = con.execute(
            "select count(*) from ephys_specimens where specimen_id not in "
            "(select specimen_id from ephys_features)").fetchone()
        (orphans,) = con.execute(
            "select count(*) from ephys_features where specimen_id not in "
            "(select specimen_id from ephys_specimens)").fetchone()
        report.note(f"Cell Types: {without:,} of {specimens:,} specimens have no ephys "
                    "features (kept: they count in n_specimens, not n_cells)")
        report.note(f"Cell Types: {orphans:,} of {features:,} ephys feature rows have no "
                    "specimen in cell_types_specimen_details.csv (kept in ephys_features; "
                    "they belong to no region)")
    elif features:
        report.note(f"Cell Types: {features:,} ephys feature rows but no specimen table: load "
                    "cell_types_specimen_details.csv for ephys by region")
    elif specimens:
        report.note(f"Cell Types: {specimens:,} specimens but no ephys_features.csv loaded: "
                    "ephys_by_region counts specimens but has no feature summaries")
    if specimens and morphologies:
        (orphans,) = con.execute(
            "select count(*) from morphology_features where specimen_id not in "
            "(select specimen_id from ephys_specimens)").fetchone()
        if orphans:
            report.note(f"Cell Types: {orphans:,} of {morphologies:,} morphology rows have no "
                        "specimen (kept in morphology_features)")
    if specimens:
        _report_structures(con, report)


def _report_structures(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    rows = con.execute(
        """
        with unresolved as (
            select e.species, e.structure_id, any_value(e.structure_acronym) as acronym,
                count(*) as n
            from ephys_specimens as e
            where not exists (select 1 from structures as s
                              where s.species = e.species and s.structure_id = e.structure_id)
            group by e.species, e.structure_id
        ),
        per_species as (
            select species, count(*) as n_specimens from ephys_specimens group by species
        )
        select p.species, p.n_specimens, coalesce(sum(u.n), 0)::bigint, count(u.structure_id),
            string_agg(concat(u.structure_id, ' ', u.acronym, ' (', u.n, ')'), ', '
                       order by u.n desc, u.structure_id),
            (select count(*) from structures as s where s.species = p.species)
        from per_species as p
        left join unresolved as u on u.species = p.species
        group by p.species, p.n_specimens
        order by p.species desc
        """
    ).fetchall()
    for species, n_specimens, n_unresolved, n_ids, listing, ontology_size in rows:
        ontology = (f"the {species} ontology" if ontology_size
                    else f"any ontology (no {species} ontology loaded)")
        if not n_unresolved:
            report.note(f"Cell Types: all {n_specimens:,} {species} specimens' structure ids "
                        f"resolve in the {species} ontology")
            continue
        shown = ", ".join(listing.split(", ")[:10]) + (" ..." if n_ids > 10 else "")
        report.note(f"Cell Types: {n_unresolved:,} of {n_specimens:,} {species} specimens "
                    f"have a structure id not in {ontology}: {n_ids} id(s): {shown}; they "
                    "count in ephys_by_region under their own structure and area only")
    (mismatched,) = con.execute(
        """
        select count(*) from ephys_specimens as e
        join structures as s on s.species = e.species and s.structure_id = e.structure_id
        where e.structure_acronym is distinct from s.acronym
        """
    ).fetchone()
    if mismatched:
        report.note(f"Cell Types: {mismatched:,} specimens' structure__acronym differs from the "
                    "ontology's acronym for the same id (the ontology's is used)")
