"""StructureUnionize results -> `ish_structure_expression`: the expression of every experiment
in every structure, as Allen's pipeline summed it.

The bulk of the source (~1,000 rows per experiment, tens of millions in all), so it is read by
DuckDB in one pass over every page: RMA JSON envelopes (`msg`), bare JSON lists, or CSV. A
page DuckDB cannot read is read again in Python, to name the row and field at fault.

Checks: every row has an experiment and a structure; measures are numbers, not negative, and
densities at most 1; one row per (experiment, structure): the same row in two pages (an
overlap) is loaded once, two different rows are an error naming both places. Rows of
experiments skipped as another atlas's, and rows of structures that are not in the adult
mouse ontology (the Developing Mouse atlas unionizes P56 experiments over its graph-17
structures too), are counted, named in the report, and skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from ingest.base import SourceFile, csv_error, quote_ident, read_csv_relation
from ingest.mouse_ish import rma
from warehouse.errors import DataError

MEASURES = ("expression_energy", "expression_density", "sum_pixels", "sum_expressing_pixels",
            "sum_pixel_intensity", "sum_expressing_pixel_intensity", "voxel_energy_mean",
            "voxel_energy_cv")
KEYS = {"id": "BIGINT", "section_data_set_id": "BIGINT", "structure_id": "BIGINT"}
TYPES = {**KEYS, **dict.fromkeys(MEASURES, "DOUBLE")}
HINT = ("a StructureUnionize row needs section_data_set_id, structure_id and its measures "
        "(the API's model::StructureUnionize; brainwh fetch ish saves it so)")
STAGE = "_ish_unionize_in"
_FILE_IN_ERROR = re.compile(r'in file "([^"]+)"')


@dataclass
class Outcome:
    rows: int = 0
    repeated: int = 0
    other_atlas: int = 0  # rows of experiments skipped as another atlas's
    other_structures: int = 0  # rows whose structure is not in the adult mouse ontology
    other_structure_examples: list[int] = field(default_factory=list)
    unknown_experiments: int = 0  # experiments with rows but no SectionDataSet loaded
    rows_by_file: dict[str, int] = field(default_factory=dict)


def _shape(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"[":
        return "list"
    if head[:1] == b"{":
        return "envelope"
    return "csv"


def _struct_type() -> str:
    return "STRUCT(" + ", ".join(f"{quote_ident(k)} {t}" for k, t in TYPES.items()) + ")"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _envelope_scan(files: list[SourceFile]) -> str:
    paths = "[" + ", ".join(_literal(str(f.path)) for f in files) + "]"
    columns = "{'success': 'BOOLEAN', 'msg': '" + _struct_type() + "[]'}"
    return f"""
        select filename as file, success, 'msg' as base,
               unnest(msg, recursive := true), generate_subscripts(msg, 1) - 1 as position
        from read_json({paths}, columns = {columns}, format = 'unstructured',
                       filename = true, maximum_object_size = 1073741824)"""


def _columns() -> str:
    return ", ".join(["file", "success", "base", "position", *TYPES])


def stage(con: duckdb.DuckDBPyConnection, files: list[SourceFile]) -> None:
    """Every row of every page in `_ish_unionize_in`, with its file and place."""
    con.execute(f"create or replace temp table {STAGE} (file varchar, success boolean, "
                "base varchar, position bigint, "
                + ", ".join(f"{quote_ident(k)} {t}" for k, t in TYPES.items()) + ")")
    by_shape: dict[str, list[SourceFile]] = {}
    for source in files:
        by_shape.setdefault(_shape(source.path), []).append(source)
    for source in by_shape.get("csv", []):
        _stage_csv(con, source)
    for source in by_shape.get("list", []):
        _stage_list(con, source)
    if by_shape.get("envelope"):
        group = by_shape["envelope"]
        try:
            con.execute(f"insert into {STAGE} by name select {_columns()} from "
                        f"({_envelope_scan(group)})")
        except (duckdb.InvalidInputException, duckdb.ConversionException) as error:
            raise _locate(error, group) from None
    labels = {str(f.path): f.origin for f in files}
    failed = con.execute(f"select file from {STAGE} where success is false limit 1").fetchone()
    if failed:
        raise DataError("the API reported a failed query (success: false)",
                        file=labels.get(failed[0], failed[0]), column="$.success",
                        hint="fetch it again (brainwh fetch ish)")


def _stage_csv(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    scan, header = read_csv_relation(con, source.path, types=TYPES,
                                     required=("section_data_set_id", "structure_id"),
                                     what="StructureUnionize CSV", label=source.origin)
    present = [k for k in TYPES if k in header]
    try:
        con.execute(f"insert into {STAGE} by name select {_literal(str(source.path))} as file, "
                    "true as success, 'line' as base, row_number() over () + 1 as position, "
                    + ", ".join(quote_ident(k) for k in present) + f" from {scan}")
    except (duckdb.ConversionException, duckdb.InvalidInputException) as error:
        raise csv_error(error, label=source.origin, what="StructureUnionize CSV") from error


def _stage_list(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """A bare JSON list (an AllenSDK cache), read in Python: its rows keep their places."""
    columns: dict[str, list] = {key: [] for key in TYPES}
    for row in rma.rows(source.path, source.origin, hint=HINT):
        for key in TYPES:
            columns[key].append(row.integer(key, hint=HINT) if key in KEYS
                                else row.number(key, hint=HINT))
    n = len(columns["structure_id"])
    table = pa.table({"file": [str(source.path)] * n, "success": [True] * n,
                      "base": ["$"] * n, "position": list(range(n)),
                      **{key: pa.array(values, pa.int64() if key in KEYS else pa.float64())
                         for key, values in columns.items()}})
    con.register("_ish_list_rows", table)
    try:
        con.execute(f"insert into {STAGE} by name select * from _ish_list_rows")
    finally:
        con.unregister("_ish_list_rows")


def _locate(error: duckdb.Error, files: list[SourceFile]) -> DataError:
    """The file DuckDB could not read, read again in Python to name the row and field."""
    match = _FILE_IN_ERROR.search(str(error))
    suspects = [f for f in files if match and str(f.path) == match.group(1)] or files
    for source in suspects:
        for row in rma.rows(source.path, source.origin, hint=HINT):
            for key in TYPES:
                if key in KEYS:
                    row.integer(key, hint=HINT)
                else:
                    row.number(key, hint=HINT)
    where = suspects[0].origin if len(suspects) == 1 else "one of the StructureUnionize files"
    return DataError(f"cannot read it: {str(error).splitlines()[0]}", file=where, hint=HINT)


def _place(con: duckdb.DuckDBPyConnection, condition: str, labels: dict[str, str]
           ) -> tuple[dict, tuple]:
    found = con.execute(f"select file, base, position, * exclude (file, base, position) "
                        f"from {STAGE} where {condition} order by file, position limit 1"
                        ).fetchone()
    file, base, position = found[0], found[1], found[2]
    label = labels.get(file, file)
    if base == "line":
        return {"file": label, "line": position}, found
    return {"file": label, "column": f"{base}[{position}]"}, found


def _bad(measure: str) -> str:
    condition = f"{measure} < 0 or isnan({measure}) or isinf({measure})"
    if measure == "expression_density":
        condition += f" or {measure} > 1.000001"
    return condition


def check(con: duckdb.DuckDBPyConnection, files: list[SourceFile]) -> None:
    """Every row has its keys, and every measure is a number of its range: one pass over the
    rows; the first faulty row is looked up only when there is one."""
    problems = [(key, f"{key} is null") for key in ("section_data_set_id", "structure_id")]
    problems += [(measure, _bad(measure)) for measure in MEASURES]
    found = con.execute("select " + ", ".join(f"bool_or({condition})"
                                              for _, condition in problems)
                        + f" from {STAGE}").fetchone()
    labels = {str(f.path): f.origin for f in files}
    for (column, condition), present in zip(problems, found, strict=True):
        if not present:
            continue
        where, _row = _place(con, condition, labels)
        if column in KEYS:
            raise _at(where, column, f"{column} is missing")
        (value,) = con.execute(f"select {column} from {STAGE} where {condition} "
                               "order by file, position limit 1").fetchone()
        limit = "between 0 and 1" if column == "expression_density" else "0 or more"
        raise _at(where, column, f"expected a number {limit}, found {value!r}")


def _at(where: dict, field: str, message: str) -> DataError:
    if "column" in where:
        return DataError(message, file=where["file"], column=f"{where['column']}.{field}",
                         hint=HINT)
    return DataError(message, file=where["file"], line=where["line"], column=field, hint=HINT)


def settle(con: duckdb.DuckDBPyConnection, files: list[SourceFile], *, skipped: set[int],
           known: set[int] | None) -> Outcome:
    """Count what is set aside (other atlases' experiments and structures), refuse two
    different rows for one (experiment, structure), and mark the rows to load
    (`_ish_unionize_keep`): a row repeated across pages once. `known` is every experiment
    loaded (None: not checked). A few passes over the rows, whatever their number."""
    labels = {str(f.path): f.origin for f in files}
    outcome = Outcome()
    con.execute("create or replace temp table _ish_skipped as select unnest(?::bigint[]) as id",
                [sorted(skipped)])
    con.execute("""create or replace temp table _ish_adult as select structure_id from
                   structures where species = 'mouse' and graph_id = 1""")
    con.execute(f"""create or replace temp view _ish_kept as
                    select u.* from {STAGE} as u
                    where u.section_data_set_id not in (select id from _ish_skipped)
                      and u.structure_id in (select structure_id from _ish_adult)""")
    by_file = con.execute(
        f"""select u.file, count(*),
                   count(*) filter (where u.section_data_set_id in
                                    (select id from _ish_skipped)),
                   count(*) filter (where u.structure_id not in
                                    (select structure_id from _ish_adult))
            from {STAGE} as u group by u.file""").fetchall()
    outcome.rows_by_file = {labels.get(file, file): n for file, n, _, _ in by_file}
    outcome.other_atlas = sum(row[2] for row in by_file)
    outcome.other_structures = sum(row[3] for row in by_file)
    if outcome.other_structures:
        outcome.other_structure_examples = [s for (s,) in con.execute(
            f"""select distinct structure_id from {STAGE} where structure_id not in
                (select structure_id from _ish_adult) order by structure_id limit 3"""
        ).fetchall()]
    # A key twice is rare (pages that overlap): look for one in one aggregate, and only then
    # compare the repeated rows' values.
    repeats = con.execute("""select count(*) from (select 1 from _ish_kept
                             group by section_data_set_id, structure_id having count(*) > 1)
                          """).fetchone()[0]
    con.execute(
        f"""create or replace temp table _ish_repeated as
           select section_data_set_id, structure_id, count(*) as n,
                  count(distinct (expression_energy, expression_density, sum_pixels,
                                  sum_expressing_pixels, sum_pixel_intensity,
                                  sum_expressing_pixel_intensity, voxel_energy_mean,
                                  voxel_energy_cv, id)) as versions
           from _ish_kept
           where {'true' if repeats else 'false'} and (section_data_set_id, structure_id) in (
               select section_data_set_id, structure_id from _ish_kept
               group by section_data_set_id, structure_id having count(*) > 1)
           group by section_data_set_id, structure_id""")
    conflict = con.execute("select section_data_set_id, structure_id from _ish_repeated "
                           "where versions > 1 order by 1, 2 limit 1").fetchone()
    if conflict:
        experiment, structure = conflict
        condition = f"section_data_set_id = {experiment} and structure_id = {structure}"
        rows = con.execute(f"select file, base, position from {STAGE} where {condition} "
                           "order by file, position limit 2").fetchall()
        where, _ = _place(con, condition + f" and file = {_literal(rows[1][0])} "
                          f"and position = {rows[1][2]}", labels)
        raise _at(where, "structure_id",
                  f"experiment {experiment} has two different rows for structure {structure} "
                  f"(the other is at {_describe(rows[0], labels)})")
    outcome.repeated = con.execute("select coalesce(sum(n - 1), 0) from _ish_repeated"
                                   ).fetchone()[0]
    outcome.rows = sum(outcome.rows_by_file.values()) - outcome.other_atlas \
        - outcome.other_structures - outcome.repeated
    if known is not None:
        con.execute("create or replace temp table _ish_known as select unnest(?::bigint[]) "
                    "as id", [sorted(known)])
        outcome.unknown_experiments = con.execute(
            """select count(*) from (select distinct section_data_set_id from _ish_kept)
               where section_data_set_id not in (select id from _ish_known)""").fetchone()[0]
    return outcome


def _describe(row: tuple, labels: dict[str, str]) -> str:
    file, base, position = row
    label = labels.get(file, file)
    return f"{label}, line {position}" if base == "line" else f"{label}, {base}[{position}]"


def write(con: duckdb.DuckDBPyConnection, outcome: Outcome) -> None:
    """The kept rows, each once, in page order (pages come by experiment batch)."""
    con.execute("delete from ish_structure_expression")
    once = ("qualify row_number() over (partition by section_data_set_id, structure_id "
            "order by file, position) = 1" if outcome.repeated else "")
    con.execute(f"""insert into ish_structure_expression
                    select section_data_set_id, structure_id, {', '.join(MEASURES)}, id
                    from _ish_kept {once}""")
    for name in ("_ish_kept",):
        con.execute(f"drop view if exists {name}")
    for name in (STAGE, "_ish_skipped", "_ish_adult", "_ish_repeated", "_ish_known"):
        con.execute(f"drop table if exists {name}")
