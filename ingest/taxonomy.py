"""ABC Atlas WMB taxonomy (`metadata/WMB-taxonomy/<v>/`) → `cell_types`, `cell_type_terms`.

Files: `cluster.csv`, `cluster_annotation_term.csv`, `cluster_annotation_term_set.csv`,
`cluster_to_cluster_annotation_membership.csv`, and `views/..._pivoted.csv` (names only; used
when the membership file is absent, its empty neurotransmitter is the term `NA`).
Quirks pinned here: `cluster_alias` is a sparse integer; the neurotransmitter term literally
named `NA` is a value; term names repeat across levels, so everything joins on labels.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

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

KIND = "taxonomy"
LEVELS = ("neurotransmitter", "class", "subclass", "supertype", "cluster")
# CCN20230504 (release 20230630) also has divisions above its classes.
STORED_LEVELS = ("division", *LEVELS)
# The WMB taxonomies, by the prefix of their cluster labels (cluster.csv `label`) and of their
# term labels: release 20230630's CCN20230504 labels its clusters CS20230305_*, every release
# since 20230830 (CCN20230722) CS20230722_*. Cluster aliases differ between the two.
TAXONOMY_OF_PREFIX = {"CS20230722": "CCN20230722", "CS20230305": "CCN20230504"}

ROLES = {
    "cluster.csv": "cluster",
    "cluster_annotation_term.csv": "cluster_annotation_term",
    "cluster_annotation_term_set.csv": "cluster_annotation_term_set",
    "cluster_to_cluster_annotation_membership.csv": "cluster_membership",
    "cluster_to_cluster_annotation_membership_pivoted.csv": "cluster_membership_pivoted",
}
NAMES = ROLES
TABLES = {"cluster": "cell_types", "cluster_annotation_term": "cell_type_terms",
          "cluster_annotation_term_set": "cell_type_terms", "cluster_membership": "cell_types",
          "cluster_membership_pivoted": "cell_types"}
ABC_FILES = {
    **{f"metadata/WMB-taxonomy/{name}": role for name, role in ROLES.items()
       if role != "cluster_membership_pivoted"},
    "metadata/WMB-taxonomy/views/cluster_to_cluster_annotation_membership_pivoted.csv":
        "cluster_membership_pivoted",
}

CELL_TYPES_DDL = """
create table if not exists cell_types (
    cluster_alias integer primary key,   -- sparse integer key used by cells
    cluster_label varchar,               -- cluster.csv label, e.g. CS20230722_0001
    number_of_cells integer,
    neurotransmitter varchar, neurotransmitter_label varchar, neurotransmitter_color varchar,
    division varchar, division_label varchar, division_color varchar,  -- CCN20230504 only
    class varchar, class_label varchar, class_color varchar,
    subclass varchar, subclass_label varchar, subclass_color varchar,
    supertype varchar, supertype_label varchar, supertype_color varchar,
    cluster varchar, cluster_term_label varchar, cluster_color varchar,
    taxonomy_version varchar,            -- e.g. CCN20230722
    taxonomy_component_version varchar   -- the folder version, e.g. 20231215
)
"""
TERMS_DDL = """
create table if not exists cell_type_terms (
    label varchar primary key,           -- e.g. CS20230722_SUBC_001
    name varchar not null,               -- repeats across levels: join on label
    level varchar not null,  -- neurotransmitter | class | subclass | supertype | cluster
    term_set_label varchar,
    parent_term_label varchar,
    term_order integer,
    color_hex_triplet varchar,
    taxonomy_version varchar
)
"""
DDL = (CELL_TYPES_DDL, TERMS_DDL)
_TAXONOMY = re.compile(r"^(CCN\d+)_")


def _wmb_label(value: str | None) -> bool:
    """A label of a WMB taxonomy: CS20230722_0001, CS20230722_CLAS_01, CCN20230722_CLAS."""
    prefix = str(value or "").split("_", 1)[0]
    return prefix in TAXONOMY_OF_PREFIX or prefix in TAXONOMY_OF_PREFIX.values()


def version_of_labels(labels: list[str]) -> str | None:
    """The taxonomy version (CCN...) the labels belong to; None when they name none."""
    versions = set()
    for label in labels:
        prefix = str(label or "").split("_", 1)[0]
        version = TAXONOMY_OF_PREFIX.get(prefix) or (
            prefix if prefix in TAXONOMY_OF_PREFIX.values() else None)
        if version:
            versions.add(version)
    if len(versions) > 1:
        raise ValueError(", ".join(sorted(versions)))
    return versions.pop() if versions else None


def identify(probe: Probe) -> str | None:
    """The WMB taxonomy files by their columns and labels (other datasets' taxonomies, such
    as WHB's, have the same file names and other labels: not these)."""
    row = probe.first_row
    if probe.has_columns("cluster_alias", "label") and "cluster_annotation_term_label" not in \
            probe.header and "name" not in probe.header:
        return "cluster" if _wmb_label(row.get("label")) else None
    if probe.has_columns("label", "name", "cluster_annotation_term_set_label",
                         "parent_term_label"):
        return "cluster_annotation_term" if _wmb_label(row.get("label")) else None
    if probe.has_columns("label", "name") and probe.name == "cluster_annotation_term_set.csv":
        return "cluster_annotation_term_set" if _wmb_label(row.get("label")) else None
    if probe.has_columns("cluster_annotation_term_label", "cluster_alias"):
        return "cluster_membership" if _wmb_label(
            row.get("cluster_annotation_term_label")) else None
    if probe.has_columns("cluster_alias", "class", "subclass", "supertype", "cluster"):
        return "cluster_membership_pivoted"
    return None


def derive(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    """Nothing: the taxonomy is complete at load (cells check their version against it)."""


def load(con: duckdb.DuckDBPyConnection, sources: list[SourceFile], report: Report) -> None:
    for statement in DDL:
        con.execute(statement)
    by_role = one_per_role(sources, hint="load one taxonomy version at a time")
    if "cluster" not in by_role:
        raise DataError("the taxonomy needs cluster.csv beside the annotation files",
                        file=sources[0].origin,
                        hint="pass the whole metadata/WMB-taxonomy/<version>/ folder")
    md5s = {role: check_md5(source) for role, source in by_role.items()}
    cluster = by_role["cluster"]
    load_csv(con, cluster.path, "_tax_cluster", label=cluster.origin, what="cluster.csv",
             types={"cluster_alias": "INTEGER", "number_of_cells": "INTEGER"},
             required=["cluster_alias", "label"])
    check_not_null(con, "_tax_cluster", ["cluster_alias"], label=cluster.origin,
                   what="cluster.csv")
    check_unique(con, "_tax_cluster", "cluster_alias", label=cluster.origin, what="cluster.csv")
    version = _version_of_clusters(con, cluster)
    has_terms = {"cluster_annotation_term", "cluster_membership"} <= by_role.keys()
    if has_terms:
        terms_version = _load_terms(con, by_role)
        if terms_version and terms_version != version:
            raise DataError(
                f"cluster.csv is taxonomy {version} but cluster_annotation_term.csv is "
                f"{terms_version}", file=by_role["cluster_annotation_term"].origin,
                hint="the files come from different taxonomy versions: use one "
                "metadata/WMB-taxonomy/<version>/ folder")
    elif "cluster_membership_pivoted" in by_role:
        _load_pivoted(con, by_role["cluster_membership_pivoted"], version)
    else:
        raise DataError("the taxonomy needs cluster_annotation_term.csv and "
                        "cluster_to_cluster_annotation_membership.csv (or the pivoted view)",
                        file=cluster.origin,
                        hint="pass the whole metadata/WMB-taxonomy/<version>/ folder")
    component_version = cluster.version
    con.execute("drop table if exists cell_types")  # replaced whole; its columns may be newer
    con.execute(CELL_TYPES_DDL)
    con.execute(
        """
        insert into cell_types by name
        select c.cluster_alias, c.label as cluster_label, c.number_of_cells,
               m.* exclude (cluster_alias),
               ? as taxonomy_version, ? as taxonomy_component_version
        from _tax_cluster c left join _tax_members m using (cluster_alias)
        """,
        [version, component_version],
    )
    (missing,) = con.execute(
        "select count(*) from cell_types where class is null").fetchone()
    if missing:
        report.note(f"{missing} cluster(s) in cluster.csv have no class membership")
    (rows,) = con.execute("select count(*) from cell_types").fetchone()
    for role, source in by_role.items():
        table = "cell_type_terms" if role in ("cluster_annotation_term",
                                              "cluster_annotation_term_set") else "cell_types"
        log_file(con, source, kind=KIND, table=table, rows=_rows_read(con, role, source.path),
                 md5=md5s[role], taxonomy_version=version)
    if rows == 0:
        raise DataError("cluster.csv lists no clusters", file=cluster.origin, line=2,
                        hint="download the taxonomy again")


_LOADED_AS = {"cluster": "_tax_cluster", "cluster_annotation_term": "_tax_terms",
              "cluster_membership": "_tax_membership",
              "cluster_membership_pivoted": "_tax_pivoted"}


def _version_of_clusters(con: duckdb.DuckDBPyConnection, cluster: SourceFile) -> str:
    """The taxonomy version from cluster.csv's labels (CS20230722_0001 -> CCN20230722)."""
    labels = [label for (label,) in con.execute(
        "select distinct split_part(label, '_', 1) from _tax_cluster").fetchall()]
    try:
        version = version_of_labels(labels)
    except ValueError as error:
        raise DataError(f"cluster labels of two taxonomy versions ({error})",
                        file=cluster.origin, column="label",
                        hint="use the cluster.csv of one metadata/WMB-taxonomy/<version>/ "
                        "folder") from None
    if version is None:
        known = ", ".join(f"{p}_* ({v})" for p, v in TAXONOMY_OF_PREFIX.items())
        raise DataError(f"cannot tell which taxonomy these clusters belong to (labels "
                        f"{', '.join(sorted(map(str, labels))[:3])}...)", file=cluster.origin,
                        column="label", hint=f"brainwh loads the WMB taxonomies: {known}")
    return version


def _rows_read(con: duckdb.DuckDBPyConnection, role: str, path: Path) -> int:
    """Rows of a taxonomy file, for the ingest log: from its loaded table when it has one."""
    table = _LOADED_AS.get(role)
    if table and con.execute("select count(*) from duckdb_tables() where table_name = ?",
                             [table]).fetchone()[0]:
        return con.execute(f"select count(*) from {table}").fetchone()[0]
    return _data_rows(path)


def _data_rows(path: Path) -> int:
    """Rows of a file this load did not otherwise read (the term sets, an unused view)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return max(0, sum(1 for _ in csv.reader(handle)) - 1)


def _load_terms(con: duckdb.DuckDBPyConnection, by_role: dict[str, SourceFile]) -> str:
    terms = by_role["cluster_annotation_term"]
    load_csv(con, terms.path, "_tax_terms", label=terms.origin,
             what="cluster_annotation_term.csv",
             types={"term_set_order": "INTEGER", "term_order": "INTEGER"},
             required=["label", "name", "cluster_annotation_term_set_label",
                       "parent_term_label", "cluster_annotation_term_set_name"])
    check_not_null(con, "_tax_terms", ["label", "name", "cluster_annotation_term_set_name"],
                   label=terms.origin, what="cluster_annotation_term.csv")
    check_unique(con, "_tax_terms", "label", label=terms.origin,
                 what="cluster_annotation_term.csv")
    orphan = con.execute(
        """
        select t.parent_term_label, t.line from
          (select *, row_number() over () + 1 as line from _tax_terms) t
        where t.parent_term_label is not null
          and t.parent_term_label not in (select label from _tax_terms)
        order by t.line limit 1
        """
    ).fetchone()
    if orphan:
        raise DataError(f"parent term {orphan[0]!r} is not a term of this taxonomy",
                        file=terms.origin, line=orphan[1], column="parent_term_label",
                        hint="the taxonomy files are from different versions: download the "
                        "whole WMB-taxonomy folder again")
    unknown_level = con.execute(
        """
        select cluster_annotation_term_set_name, line from
          (select *, row_number() over () + 1 as line from _tax_terms)
        where cluster_annotation_term_set_name not in
          ('neurotransmitter', 'class', 'subclass', 'supertype', 'cluster', 'division')
        order by line limit 1
        """
    ).fetchone()
    if unknown_level:
        raise DataError(f"unknown term set {unknown_level[0]!r}", file=terms.origin,
                        line=unknown_level[1], column="cluster_annotation_term_set_name",
                        hint="expected neurotransmitter, class, subclass, supertype or cluster "
                        "(the WMB taxonomy)")
    labels = [label for (label,) in con.execute(
        "select distinct cluster_annotation_term_set_label from _tax_terms").fetchall()]
    versions = {m.group(1) for label in labels if (m := _TAXONOMY.match(label or ""))}
    version = versions.pop() if len(versions) == 1 else None

    members = by_role["cluster_membership"]
    load_csv(con, members.path, "_tax_membership", label=members.origin,
             what="cluster_to_cluster_annotation_membership.csv",
             types={"cluster_alias": "INTEGER", "number_of_cells": "INTEGER"},
             required=["cluster_annotation_term_label", "cluster_alias"])
    check_not_null(con, "_tax_membership", ["cluster_annotation_term_label", "cluster_alias"],
                   label=members.origin, what="cluster_to_cluster_annotation_membership.csv")
    for column, target, what in (
        ("cluster_annotation_term_label", "select label from _tax_terms", "term"),
        ("cluster_alias", "select cluster_alias from _tax_cluster", "cluster alias"),
    ):
        bad = con.execute(
            f"""
            select {column}, line from
              (select *, row_number() over () + 1 as line from _tax_membership)
            where {column} not in ({target}) order by line limit 1
            """
        ).fetchone()
        if bad:
            raise DataError(f"{what} {bad[0]!r} is not in the taxonomy", file=members.origin,
                            line=bad[1], column=column,
                            hint="the taxonomy files are from different versions: download "
                            "the whole WMB-taxonomy folder again")
    con.execute("delete from cell_type_terms")
    con.execute(
        """
        insert into cell_type_terms
        select label, name, cluster_annotation_term_set_name, cluster_annotation_term_set_label,
               parent_term_label, term_order, color_hex_triplet, ?
        from _tax_terms
        """,
        [version],
    )
    pivot_columns = ",\n".join(
        f"any_value(t.name) filter (where t.level = '{level}') as {level},\n"
        f"any_value(t.label) filter (where t.level = '{level}') as "
        f"{'cluster_term_label' if level == 'cluster' else level + '_label'},\n"
        f"any_value(t.color_hex_triplet) filter (where t.level = '{level}') as {level}_color"
        for level in STORED_LEVELS
    )
    con.execute(
        f"""
        create or replace temp table _tax_members as
        select m.cluster_alias, {pivot_columns}
        from _tax_membership m join cell_type_terms t on t.label = m.cluster_annotation_term_label
        group by m.cluster_alias
        """
    )
    return version


def _load_pivoted(con: duckdb.DuckDBPyConnection, pivoted: SourceFile, version: str) -> None:
    """Names only (no labels or colours). In CCN20230722 an empty neurotransmitter is the term
    `NA` (non-neuronal); CCN20230504 has no such term and a `division` column."""
    load_csv(con, pivoted.path, "_tax_pivoted", label=pivoted.origin,
             what="cluster_to_cluster_annotation_membership_pivoted.csv",
             types={"cluster_alias": "INTEGER"}, required=["cluster_alias", *LEVELS])
    check_unique(con, "_tax_pivoted", "cluster_alias", label=pivoted.origin,
                 what="the pivoted membership view")
    columns = {name for (name,) in con.execute(
        "select column_name from duckdb_columns() where table_name = '_tax_pivoted'").fetchall()}
    neurotransmitter = ("coalesce(neurotransmitter, 'NA')" if version == "CCN20230722"
                        else "neurotransmitter")
    division = "division" if "division" in columns else "null::varchar"
    con.execute("delete from cell_type_terms")
    con.execute(
        f"""
        create or replace temp table _tax_members as
        select cluster_alias,
               {neurotransmitter} as neurotransmitter,
               null::varchar as neurotransmitter_label, null::varchar as neurotransmitter_color,
               {division} as division,
               null::varchar as division_label, null::varchar as division_color,
               class, null::varchar as class_label, null::varchar as class_color,
               subclass, null::varchar as subclass_label, null::varchar as subclass_color,
               supertype, null::varchar as supertype_label, null::varchar as supertype_color,
               cluster, null::varchar as cluster_term_label, null::varchar as cluster_color
        from _tax_pivoted
        """
    )
