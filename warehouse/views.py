"""Saved views and table macros: one `sql/<name>.sql` file each, with a documented header.

Header format (every line a `--` comment before the statement):

    -- name: composition
    -- kind: view | macro
    -- question: For each region and taxonomy level: cells and fraction of the region
    -- grain: one row per (region, level, cell type)
    -- columns:
    --   region_kind   VARCHAR  'roi' or 'structure'
    -- sources: cells, cell_types, roi_structures

The question and grain go into the catalog with COMMENT ON (so BI tools show them); each
column's meaning goes onto the view's column.

Checking a table macro's arguments (in SQL, so the DuckDB CLI, Python and every client of
`brainwh serve` see the same error). The scalar macros `require_value(wanted, allowed, what,
caller)`, `require_values(list, allowed, what, caller)`, `require_loaded(n_rows, what, how,
caller)` and `require_samples(n, acronyms, caller)` return their argument or raise an error
naming the caller, the bad value and the closest valid ones (`did_you_mean`: same but for
case, else Jaro-Winkler similarity >= 0.8, and every allowed value when there are at most 12):
"compare_composition: unknown level 'Class' (did you mean 'class'? expected one of ...)".
A table macro uses them in three steps:

    with checked as (          -- one row; every argument goes through a check
        select require_value(at_level, ['class', 'subclass'], 'level', 'my_macro') as level_name,
               require_value(a_region, k.regions, 'region', 'my_macro') as region_a
        from (select list(acronym) as regions from structures) as k
    ),
    answer as (...)            -- the question, reading the checked values or the arguments
    select * from answer
    union all                  -- the guard: see below
    select null::varchar, ...  -- one typed null per output column
    from checked where hash(checked) * random() < 0
    order by ...

- `allowed` must be a list value or a column, never a subquery (the checks use lambdas, and
  DuckDB refuses subqueries inside them): compute the list in a FROM clause as above.
- The guard branch makes the checks run even when DuckDB can prove the answer empty from
  statistics (asking for human structures in a mouse-only warehouse): it then drops the plan
  branches that lead to the answer, checks included. A branch filtered on random() cannot be
  proven empty, hashes every checked value (so none is pruned as unused) and never has a row.
- `did_you_mean` has no subquery and no repeated expression, so inside the error branch of a
  CASE it costs nothing until a value is wrong (DuckDB plans subqueries as joins and hoists
  repeated expressions out of CASE branches, both evaluated on every call); each check costs
  about 2 ms of planning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse.config import sql_dir
from warehouse.errors import BrainwhError

_FIELD = re.compile(r"^--\s*(name|kind|question|grain|sources|columns|signature|example):\s*(.*)$")
_COLUMN = re.compile(r"^--\s{2,}(\w+)\s+([A-Z][A-Z0-9_\[\]]*(?:\([^)]*\))?)\s+(.*)$")


@dataclass
class SavedObject:
    name: str
    kind: str  # view | macro
    question: str
    grain: str
    sources: str
    sql: str
    path: Path
    signature: str = ""
    example: str = ""
    columns: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def comment(self) -> str:
        return f"{self.question} Grain: {self.grain}. Sources: {self.sources}."


def parse(path: Path) -> SavedObject:
    fields: dict[str, str] = {}
    columns: list[tuple[str, str, str]] = []
    body: list[str] = []
    in_columns = False
    last: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if body or not line.startswith("--"):
            body.append(line)
            continue
        if match := _FIELD.match(line):
            key, value = match.groups()
            in_columns = key == "columns"
            fields[key] = value.strip()
            last = key
        elif in_columns and (column := _COLUMN.match(line)):
            columns.append(column.groups())
        elif last and line.startswith("--   ") and not in_columns:
            fields[last] += " " + line[2:].strip()  # continuation of a long field
    missing = [k for k in ("name", "kind", "question", "grain", "sources") if k not in fields]
    if missing or fields.get("name") != path.stem:
        raise BrainwhError(f"{path}: header is missing {', '.join(missing) or 'a matching name'}",
                           hint="see the header format in warehouse/views.py")
    return SavedObject(name=fields["name"], kind=fields["kind"], question=fields["question"],
                       grain=fields["grain"], sources=fields["sources"], sql="\n".join(body),
                       path=path, signature=fields.get("signature", ""),
                       example=fields.get("example", ""), columns=columns)


def saved_objects(directory: Path | None = None) -> list[SavedObject]:
    return [parse(path) for path in sorted((directory or sql_dir()).glob("*.sql"))]


def create_all(con: duckdb.DuckDBPyConnection, directory: Path | None = None) -> list[str]:
    """Create every view and macro, in dependency order (retry until no progress)."""
    pending = saved_objects(directory)
    created: list[str] = []
    errors: dict[str, str] = {}
    while pending:
        progress_made = False
        for obj in list(pending):
            try:
                con.execute(obj.sql)
            except duckdb.CatalogException as error:
                errors[obj.name] = str(error).splitlines()[0]
                continue
            _comment(con, obj)
            pending.remove(obj)
            created.append(obj.name)
            progress_made = True
        if not progress_made:
            names = ", ".join(f"{o.name} ({errors.get(o.name)})" for o in pending)
            raise BrainwhError(f"could not create saved views: {names}",
                               hint="this is a bug in brainwh's sql/ files")
    return created


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comment(con: duckdb.DuckDBPyConnection, obj: SavedObject) -> None:
    if obj.kind == "view":
        con.execute(f"comment on view {obj.name} is {_literal(obj.comment)}")
        for name, _type, meaning in obj.columns:
            con.execute(f"comment on column {obj.name}.{name} is {_literal(meaning)}")
    elif re.search(r"\bas\s+table\b", obj.sql, re.IGNORECASE):
        con.execute(f"comment on macro table {obj.name} is {_literal(obj.comment)}")
    else:  # a scalar macro (a function used by other views and macros)
        con.execute(f"comment on macro {obj.name} is {_literal(obj.comment)}")
