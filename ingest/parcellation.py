"""ABC Atlas `Allen-CCF-2020` parcellation (`metadata/Allen-CCF-2020/<v>/`) → `parcellations`,
`parcellation_terms`.

The CCF 2020 annotation volume stores a `parcellation_index` per voxel (0 = outside the brain),
not a structure id; these files say what each index is (DATA_FORMATS.md §1.11):

* `parcellation.csv`: index, `AllenCCF-Annotation-2020-<structure id>` label, voxels, mm³;
* `parcellation_to_parcellation_term_membership.csv`: per index, its term in each of the five
  term sets (organ, category, division, structure, substructure);
* `parcellation_term.csv`: the terms, `identifier` `MBA:<structure id>` (the Allen mouse
  ontology, graph 1) for the ontology's own terms, none for ABC's `*-unassigned` fillers;
* `parcellation_term_set.csv`, `parcellation_term_set_membership.csv`: the five levels, and
  each term's level, parent and order.

`parcellations` holds one row per index with its annotated structure id and the five levels'
terms (acronym, label, structure id), so a MERFISH cell's `parcellation_index` reaches the
ontology (and every structure containing it, through `structure_ancestors`) in one join.
"""

from __future__ import annotations

import duckdb

from ingest.base import (
    Report,
    SourceFile,
    check_md5,
    check_not_null,
    check_unique,
    load_csv,
    log_file,
    one_per_role,
)
from ingest.probe import Probe
from warehouse.errors import DataError

KIND = "parcellation"
LEVELS = ("organ", "category", "division", "structure", "substructure")
ONE_VERSION = ("the parcellation files come from different versions: use one "
               "metadata/Allen-CCF-2020/<version>/ folder")
# term set label suffix -> level, used when parcellation_term_set.csv is not loaded
SET_SUFFIX = {"ORGA": "organ", "CATE": "category", "DIVI": "division", "STRU": "structure",
              "SUBS": "substructure"}

ROLES = {
    "parcellation.csv": "parcellation",
    "parcellation_to_parcellation_term_membership.csv": "parcellation_membership",
    "parcellation_term.csv": "parcellation_term",
    "parcellation_term_set.csv": "parcellation_term_set",
    "parcellation_term_set_membership.csv": "parcellation_term_set_membership",
}
NAMES = ROLES
TABLES = {"parcellation": "parcellations", "parcellation_membership": "parcellations",
          "parcellation_term": "parcellation_terms",
          "parcellation_term_set": "parcellation_terms",
          "parcellation_term_set_membership": "parcellation_terms"}
ABC_FILES = {f"metadata/Allen-CCF-2020/{name}": role for name, role in ROLES.items()}

_LEVEL_COLUMNS = "".join(
    f"    {level} varchar,  -- its {level} term's acronym\n"
    f"    {level}_label varchar,\n"
    f"    {level}_structure_id bigint,  -- the term's MBA:<id>; null for ABC's own terms\n"
    for level in LEVELS)
PARCELLATIONS_DDL = f"""
create table if not exists parcellations (
    parcellation_index integer primary key, -- the annotation voxel value (0 = outside the brain)
    parcellation_label varchar,             -- AllenCCF-Annotation-2020-<structure id>
    structure_id bigint,                    -- the annotated mouse structure (graph 1); null for 0
    voxel_count bigint,                     -- 10 µm voxels of the whole annotation
    volume_mm3 double,                      -- both hemispheres
{_LEVEL_COLUMNS}    parcellation_version varchar  -- the Allen-CCF-2020 folder, e.g. 20230630
)
"""
TERMS_DDL = """
create table if not exists parcellation_terms (
    label varchar primary key,    -- AllenCCF-Ontology-2017-315, ABC-Ontology-2023-V4-structure
    acronym varchar,
    name varchar,
    color_hex_triplet varchar,    -- #RRGGBB as ABC writes it
    graph_order double,
    identifier varchar,           -- MBA:<structure id> for ontology terms
    structure_id bigint,          -- the id in MBA:<id>; null for ABC's own terms
    parent_structure_id bigint,   -- from parent_identifier
    level varchar,                -- organ | category | division | structure | substructure
    parent_term_label varchar,
    term_order integer,
    parcellation_version varchar
)
"""
DDL = (PARCELLATIONS_DDL, TERMS_DDL)

_PARCELLATION_LABEL = r"^AllenCCF-Annotation-\d+-(\d+)$"
_MBA = r"^MBA:(\d+)$"


def identify(probe: Probe) -> str | None:
    """The Allen-CCF-2020 metadata files by their columns (the parcellation views, pivoted
    by level, are derived from the membership file and not loaded)."""
    if probe.has_columns("parcellation_label", "parcellation_term_label", "parcellation_index"):
        return "parcellation_membership"
    if probe.has_columns("parcellation_index", "label", "voxel_count", "volume_mm3"):
        return "parcellation"
    if probe.has_columns("label", "acronym", "identifier", "parent_identifier"):
        return "parcellation_term"
    if probe.has_columns("label", "name", "parcellation_terminology_label"):
        return "parcellation_term_set"
    if probe.has_columns("parcellation_term_label", "parcellation_term_set_label", "term_order"):
        return "parcellation_term_set_membership"
    return None


def _first_bad(con: duckdb.DuckDBPyConnection, table: str, value: str, condition: str
               ) -> tuple | None:
    """(value, line) of the first row of `table` (loaded in file order) matching condition."""
    return con.execute(
        f"select {value}, line from (select *, row_number() over () + 1 as line from {table}) "
        f"as x where {condition} order by line limit 1").fetchone()


def load(con: duckdb.DuckDBPyConnection, sources: list[SourceFile], report: Report) -> None:
    for statement in DDL:
        con.execute(statement)
    by_role = one_per_role(sources, hint="load one Allen-CCF-2020 metadata folder at a time")
    if not {"parcellation", "parcellation_membership"} & by_role.keys():
        raise DataError("the parcellation needs parcellation.csv or "
                        "parcellation_to_parcellation_term_membership.csv",
                        file=sources[0].origin,
                        hint="pass the whole metadata/Allen-CCF-2020/<version>/ folder")
    md5s = {role: check_md5(source) for role, source in by_role.items()}
    version = next((s.version for s in by_role.values() if s.version), None)
    rows: dict[str, int] = {}
    if "parcellation_term_set" in by_role:
        rows["parcellation_term_set"] = _load_term_sets(con, by_role["parcellation_term_set"])
    if "parcellation_term" in by_role:
        rows["parcellation_term"] = _load_terms(con, by_role["parcellation_term"])
    if "parcellation_term_set_membership" in by_role:
        rows["parcellation_term_set_membership"] = _load_term_set_membership(
            con, by_role["parcellation_term_set_membership"], by_role)
    if "parcellation" in by_role:
        rows["parcellation"] = _load_parcellation(con, by_role["parcellation"])
    if "parcellation_membership" in by_role:
        rows["parcellation_membership"] = _load_membership(
            con, by_role["parcellation_membership"], by_role)
    _publish(con, by_role, version, report)
    for role, source in by_role.items():
        log_file(con, source, kind=KIND, table=TABLES[role], rows=rows[role], md5=md5s[role])


def _load_term_sets(con: duckdb.DuckDBPyConnection, source: SourceFile) -> int:
    what = "parcellation_term_set.csv"
    rows = load_csv(con, source.path, "_pc_sets", label=source.origin, what=what,
                    types={"term_set_order": "INTEGER"}, required=["label", "name"])
    check_not_null(con, "_pc_sets", ["label", "name"], label=source.origin, what=what)
    check_unique(con, "_pc_sets", "label", label=source.origin, what=what)
    bad = _first_bad(con, "_pc_sets", "name", f"name not in {LEVELS!r}")
    if bad:
        raise DataError(f"unknown term set {bad[0]!r}", file=source.origin, line=bad[1],
                        column="name", hint=f"expected one of {', '.join(LEVELS)} (the ABC "
                        "parcellation's five levels)")
    return rows


def _set_level(by_role: dict[str, SourceFile], set_label: str, name_column: str | None) -> str:
    """SQL for the level of a term set label: its name in parcellation_term_set.csv, else the
    set name the row carries, else the label's suffix (AllenCCF-Ontology-2017-DIVI)."""
    cases = " ".join(f"when '{k}' then '{v}'" for k, v in SET_SUFFIX.items())
    suffix = f"case split_part({set_label}, '-', -1) {cases} end"
    options = []
    if "parcellation_term_set" in by_role:
        options.append(f"(select name from _pc_sets where _pc_sets.label = {set_label})")
    if name_column:
        options.append(name_column)
    options.append(suffix)
    return f"coalesce({', '.join(options)})"


def _load_terms(con: duckdb.DuckDBPyConnection, source: SourceFile) -> int:
    what = "parcellation_term.csv"
    rows = load_csv(con, source.path, "_pc_terms", label=source.origin, what=what,
                    types={"graph_order": "DOUBLE", "red": "INTEGER", "green": "INTEGER",
                           "blue": "INTEGER"},
                    required=["label", "acronym", "identifier"])
    check_not_null(con, "_pc_terms", ["label", "acronym"], label=source.origin, what=what)
    check_unique(con, "_pc_terms", "label", label=source.origin, what=what)
    for column in ("identifier", "parent_identifier"):
        has = con.execute("select count(*) from duckdb_columns() where table_name = '_pc_terms' "
                          "and column_name = ?", [column]).fetchone()[0]
        if not has:
            continue
        bad = _first_bad(con, "_pc_terms", column,
                         f"{column} like 'MBA:%' and not regexp_matches({column}, '{_MBA}')")
        if bad:
            raise DataError(f"expected MBA:<structure id>, found {bad[0]!r}",
                            file=source.origin, line=bad[1], column=column,
                            hint="ontology terms are identified as MBA:<Allen mouse structure "
                            "id>: download parcellation_term.csv again")
    return rows


def _load_term_set_membership(con: duckdb.DuckDBPyConnection, source: SourceFile,
                              by_role: dict[str, SourceFile]) -> int:
    what = "parcellation_term_set_membership.csv"
    rows = load_csv(con, source.path, "_pc_term_sets", label=source.origin, what=what,
                    types={"term_order": "INTEGER"},
                    required=["parcellation_term_label", "parcellation_term_set_label"])
    check_not_null(con, "_pc_term_sets",
                   ["parcellation_term_label", "parcellation_term_set_label"],
                   label=source.origin, what=what)
    check_unique(con, "_pc_term_sets", "parcellation_term_label", label=source.origin,
                 what=what)
    if "parcellation_term" in by_role:
        _require_known_terms(con, "_pc_term_sets", source)
    return rows


def _require_known_terms(con: duckdb.DuckDBPyConnection, table: str, source: SourceFile) -> None:
    """Every parcellation_term_label of the staged `table` is in parcellation_term.csv."""
    bad = _first_bad(con, table, "parcellation_term_label",
                     "parcellation_term_label not in (select label from _pc_terms)")
    if bad:
        raise DataError(f"term {bad[0]!r} is not in parcellation_term.csv", file=source.origin,
                        line=bad[1], column="parcellation_term_label", hint=ONE_VERSION)


def _load_parcellation(con: duckdb.DuckDBPyConnection, source: SourceFile) -> int:
    what = "parcellation.csv"
    rows = load_csv(con, source.path, "_pc_parcellation", label=source.origin, what=what,
                    types={"parcellation_index": "INTEGER", "voxel_count": "BIGINT",
                           "volume_mm3": "DOUBLE"},
                    required=["parcellation_index", "label"])
    check_not_null(con, "_pc_parcellation", ["parcellation_index", "label"],
                   label=source.origin, what=what)
    check_unique(con, "_pc_parcellation", "parcellation_index", label=source.origin, what=what)
    _check_labels(con, "_pc_parcellation", "label", source)
    return rows


def _check_labels(con: duckdb.DuckDBPyConnection, table: str, column: str,
                  source: SourceFile) -> None:
    bad = _first_bad(con, table, column,
                     f"not regexp_matches({column}, '{_PARCELLATION_LABEL}')")
    if bad:
        raise DataError(f"expected AllenCCF-Annotation-<year>-<structure id>, found {bad[0]!r}",
                        file=source.origin, line=bad[1], column=column,
                        hint="a parcellation label names the annotated structure: download "
                        "the file again")


def _load_membership(con: duckdb.DuckDBPyConnection, source: SourceFile,
                     by_role: dict[str, SourceFile]) -> int:
    what = "parcellation_to_parcellation_term_membership.csv"
    rows = load_csv(con, source.path, "_pc_members", label=source.origin, what=what,
                    types={"parcellation_index": "INTEGER", "voxel_count": "BIGINT",
                           "volume_mm3": "DOUBLE", "red": "INTEGER", "green": "INTEGER",
                           "blue": "INTEGER", "term_set_order": "INTEGER",
                           "term_order": "INTEGER"},
                    required=["parcellation_label", "parcellation_term_label",
                              "parcellation_term_set_label", "parcellation_index"])
    check_not_null(con, "_pc_members", ["parcellation_label", "parcellation_term_label",
                                        "parcellation_term_set_label", "parcellation_index"],
                   label=source.origin, what=what)
    _check_labels(con, "_pc_members", "parcellation_label", source)
    columns = {name for (name,) in con.execute(
        "select column_name from duckdb_columns() where table_name = '_pc_members'").fetchall()}
    name_column = ("parcellation_term_set_name" if "parcellation_term_set_name" in columns
                   else None)
    level = _set_level(by_role, "parcellation_term_set_label", name_column)
    con.execute(f"create or replace temp table _pc_members_levelled as "
                f"select *, {level} as level, row_number() over () + 1 as line "
                f"from _pc_members")
    bad = con.execute("select parcellation_term_set_label, line from _pc_members_levelled "
                      "where level is null or level not in ('organ', 'category', 'division', "
                      "'structure', 'substructure') order by line limit 1").fetchone()
    if bad:
        raise DataError(f"unknown term set {bad[0]!r}", file=source.origin, line=bad[1],
                        column="parcellation_term_set_label",
                        hint=f"expected the term sets of the five levels ({', '.join(LEVELS)})")
    twice = con.execute(
        """
        select parcellation_index, level, max(line) from _pc_members_levelled
        group by parcellation_index, level having count(*) > 1 order by 3 limit 1
        """).fetchone()
    if twice:
        raise DataError(f"parcellation {twice[0]} has two {twice[1]} terms", file=source.origin,
                        line=twice[2], column="parcellation_term_label",
                        hint="a parcellation has one term per term set: download the file "
                        "again")
    if "parcellation" in by_role:
        bad = _first_bad(con, "_pc_members", "parcellation_index",
                         "parcellation_index not in (select parcellation_index "
                         "from _pc_parcellation)")
        if bad:
            raise DataError(f"parcellation_index {bad[0]} is not in parcellation.csv",
                            file=source.origin, line=bad[1], column="parcellation_index",
                            hint=ONE_VERSION)
        bad = _first_bad(con, "_pc_members", "x.parcellation_label",
                         "x.parcellation_label <> (select p.label from _pc_parcellation p "
                         "where p.parcellation_index = x.parcellation_index)")
        if bad:
            raise DataError(f"parcellation_label {bad[0]!r} differs from parcellation.csv's "
                            "label for the same index", file=source.origin, line=bad[1],
                            column="parcellation_label",
                            hint=ONE_VERSION)
    if "parcellation_term" in by_role:
        _require_known_terms(con, "_pc_members", source)
    return rows


def _publish(con: duckdb.DuckDBPyConnection, by_role: dict[str, SourceFile],
             version: str | None, report: Report) -> None:
    """Replace both tables from what this load read."""
    has = by_role.keys()
    con.execute("delete from parcellation_terms")
    term_rows = []
    if "parcellation_term" in has:
        set_join = ("left join _pc_term_sets s on s.parcellation_term_label = t.label"
                    if "parcellation_term_set_membership" in has else "")
        level = (_set_level(by_role, "s.parcellation_term_set_label", None)
                 if set_join else "null")
        parent_term = "s.parent_term_label" if set_join else "null"
        order = "s.term_order" if set_join else "null"
        parent_identifier = _column_or_null(con, "_pc_terms", "parent_identifier", "t.")
        term_rows.append(
            f"""
            select t.label, t.acronym, {_column_or_null(con, '_pc_terms', 'name', 't.')},
                   {_column_or_null(con, '_pc_terms', 'color_hex_triplet', 't.')},
                   {_column_or_null(con, '_pc_terms', 'graph_order', 't.', 'double')},
                   t.identifier,
                   try_cast(regexp_extract(t.identifier, '{_MBA}', 1) as bigint),
                   try_cast(regexp_extract({parent_identifier}, '{_MBA}', 1) as bigint),
                   {level}, {parent_term}, {order}
            from _pc_terms t {set_join}
            """)
    if "parcellation_membership" in has:
        # terms the membership file names that no term file describes
        known = ("where m.parcellation_term_label not in (select label from _pc_terms)"
                 if "parcellation_term" in has else "")
        term_rows.append(
            f"""
            select m.parcellation_term_label,
                   any_value({_column_or_null(con, '_pc_members', 'parcellation_term_acronym',
                                              'm.')}),
                   any_value({_column_or_null(con, '_pc_members', 'parcellation_term_name',
                                              'm.')}),
                   any_value({_column_or_null(con, '_pc_members', 'color_hex_triplet', 'm.')}),
                   null::double, null::varchar,
                   try_cast(regexp_extract(m.parcellation_term_label,
                                           '^AllenCCF-Ontology-\\d+-(\\d+)$', 1) as bigint),
                   null::bigint, any_value(m.level),
                   any_value({_column_or_null(con, '_pc_members', 'parent_term_label', 'm.')}),
                   any_value({_column_or_null(con, '_pc_members', 'term_order', 'm.',
                                              'integer')})
            from _pc_members_levelled m {known}
            group by m.parcellation_term_label
            """)
    for select in term_rows:
        con.execute(f"insert into parcellation_terms select *, ? from ({select})", [version])

    indices = []
    if "parcellation" in has:
        indices.append("select parcellation_index, label, voxel_count, volume_mm3 "
                       "from _pc_parcellation")
    if "parcellation_membership" in has:
        voxels = _column_or_null(con, "_pc_members", "voxel_count", "", "bigint")
        volume = _column_or_null(con, "_pc_members", "volume_mm3", "", "double")
        known = ("where parcellation_index not in (select parcellation_index "
                 "from _pc_parcellation)" if "parcellation" in has else "")
        indices.append(f"select parcellation_index, any_value(parcellation_label), "
                       f"any_value({voxels}), any_value({volume}) from _pc_members {known} "
                       "group by parcellation_index")
    levels = ",\n".join(
        f"any_value(t.acronym) filter (where m.level = '{level}') as {level},\n"
        f"any_value(m.parcellation_term_label) filter (where m.level = '{level}') "
        f"as {level}_label,\n"
        f"any_value(t.structure_id) filter (where m.level = '{level}') "
        f"as {level}_structure_id"
        for level in LEVELS)
    members = ("_pc_members_levelled" if "parcellation_membership" in has else
               "(select null::integer as parcellation_index, null::varchar as level, "
               "null::varchar as parcellation_term_label where false)")
    con.execute("delete from parcellations")
    con.execute(
        f"""
        insert into parcellations
        with indices as ({' union all '.join(indices)}),
        terms as (
            select m.parcellation_index, {levels}
            from {members} m
            left join parcellation_terms t on t.label = m.parcellation_term_label
            group by m.parcellation_index
        )
        select i.parcellation_index, i.label,
               case when i.parcellation_index <> 0 then
                   nullif(try_cast(regexp_extract(i.label, '{_PARCELLATION_LABEL}', 1)
                                   as bigint), 0) end,
               i.voxel_count, i.volume_mm3,
               t.* exclude (parcellation_index), ?
        from indices as i(parcellation_index, label, voxel_count, volume_mm3)
        left join terms t using (parcellation_index)
        order by i.parcellation_index
        """,
        [version],
    )
    (incomplete,) = con.execute(
        "select count(*) from parcellations where "
        + " or ".join(f"{level}_label is null" for level in LEVELS)).fetchone()
    if incomplete:
        report.note(f"{incomplete} parcellation(s) lack a term at some of the five levels "
                    "(parcellation_to_parcellation_term_membership.csv does not list them)")


def _column_or_null(con: duckdb.DuckDBPyConnection, table: str, column: str, prefix: str,
                    kind: str = "varchar") -> str:
    has = con.execute("select count(*) from duckdb_columns() where table_name = ? and "
                      "column_name = ?", [table, column]).fetchone()[0]
    return f"{prefix}{column}" if has else f"null::{kind}"


def derive(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    """Report parcellation structure ids the loaded mouse ontology does not have."""
    for statement in DDL:
        con.execute(statement)
    (parcellations,) = con.execute("select count(*) from parcellations").fetchone()
    (mouse,) = con.execute(
        "select count(*) from structures where species = 'mouse'").fetchone()
    if not parcellations or not mouse:
        if parcellations:
            report.note("a parcellation but no mouse ontology loaded: spatial composition and "
                        "densities need it (brainwh ingest ontology FILE)")
        return
    unknown = con.execute(
        """
        select count(*), string_agg(distinct structure_id::varchar, ', ') from parcellations
        where structure_id is not null and structure_id not in
          (select structure_id from structures where species = 'mouse')
        """).fetchone()
    if unknown[0]:
        report.note(f"{unknown[0]} parcellation(s) annotate structure ids the mouse ontology "
                    f"lacks ({unknown[1][:200]}); their cells count in no structure")
