"""A Postgres-shaped catalog of the warehouse, built in DuckDB next to it.

`build(con)` describes the attached warehouse (database `brainwh`, schema `main`) in the
tables and columns Postgres clients read: `pg_namespace`, `pg_class`, `pg_attribute`,
`pg_type`, `pg_description`, `pg_database`, ... in schema `memory.brainwh_pg`, and
`information_schema.tables/columns/views/schemata` in `memory.brainwh_is`. The catalog
functions clients call (`format_type`, `pg_get_viewdef`, `obj_description`, ...) are DuckDB
macros over those tables. The warehouse file is read-only, so this is built once per file.

Tables and views are shown in schema `main` (DuckDB's name for it), so the names a BI tool
reads from the catalog are the names DuckDB resolves.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from warehouse.server.pgtypes import pg_type, pg_type_rows
from warehouse.server.rewrite import IS_SCHEMA, PG_SCHEMA

MAIN_OID = 2200
CATALOG_OID = 11
INFO_OID = 13000
OWNER_OID = 10
FIRST_OID = 16384
PG_CLASS_OID = 1259
PG_PROC_OID = 1255
# The fixed-width types: (typlen, category); the rest are variable-length (-1).
_TYPE_SHAPES = {"bool": (1, "B"), "int2": (2, "N"), "int4": (4, "N"), "int8": (8, "N"),
                "float4": (4, "N"), "float8": (8, "N"), "oid": (4, "N"), "char": (1, "Z"),
                "date": (4, "D"), "time": (8, "D"), "timestamp": (8, "D"),
                "timestamptz": (8, "D"), "timetz": (12, "D"), "interval": (16, "T"),
                "uuid": (16, "U"), "name": (64, "S")}
_CATEGORIES = {"numeric": "N", "text": "S", "varchar": "S", "bpchar": "S", "bytea": "U",
               "json": "U", "jsonb": "U", "record": "P", "void": "P", "trigger": "P"}
# Postgres' I/O function names: `int4recv`, but `date_recv` (drivers such as ADBC read them).
_PLAIN_IO = {"bool", "int2", "int4", "int8", "float4", "float8", "text", "varchar", "bpchar",
             "bytea", "name", "char", "oid"}


def type_row(oid: int, name: str, display: str, element: int, array: int) -> dict:
    """One pg_type row, with the I/O function names and sizes Postgres has."""
    if element:
        io = {"typinput": "array_in", "typoutput": "array_out", "typreceive": "array_recv",
              "typsend": "array_send"}
    elif name in ("record", "void", "unknown", "trigger"):
        io = {"typinput": f"{name}_in", "typoutput": f"{name}_out", "typreceive": f"{name}_recv",
              "typsend": f"{name}_send"}
    else:
        sep = "" if name in _PLAIN_IO else "_"
        io = {"typinput": f"{name}{sep}in", "typoutput": f"{name}{sep}out",
              "typreceive": f"{name}{sep}recv", "typsend": f"{name}{sep}send"}
    length, category = _TYPE_SHAPES.get(name, (-1, _CATEGORIES.get(name, "U")))
    return {"oid": oid, "typname": name, "display": display, "typnamespace": CATALOG_OID,
            "typowner": OWNER_OID, "typlen": -1 if element else length,
            "typbyval": 0 < length <= 8 and name not in ("name",) and not element,
            "typtype": "p" if name in ("record", "void", "unknown", "trigger") else "b",
            "typcategory": "A" if element else category, "typispreferred": False,
            "typisdefined": True, "typdelim": ",", "typrelid": 0, "typelem": element,
            "typarray": array, "typbasetype": 0, "typtypmod": -1, "typndims": 0,
            "typcollation": 100 if category == "S" else 0, "typnotnull": False,
            "typalign": "d" if length == 8 else "i", "typstorage": "p" if length > 0 else "x",
            "typdefault": None, "typacl": None, **io}


def _functions(con: duckdb.DuckDBPyConnection, first: int) -> list[dict]:
    """The warehouse's macros as pg_proc rows (\\df and BI tools list them)."""
    rows = con.execute(
        "select function_name, function_type, parameters, comment, macro_definition "
        "from duckdb_functions() where database_name = 'brainwh' and schema_name = 'main' "
        "and function_type in ('macro', 'table_macro') order by function_name").fetchall()
    out = []
    for index, (name, kind, parameters, comment, body) in enumerate(rows):
        table = kind == "table_macro"
        out.append({"oid": FIRST_OID + first + index, "proname": name, "table": table,
                    "nargs": len(parameters), "arguments": ", ".join(parameters),
                    "argnames": list(parameters),
                    "result": "SETOF record" if table else "unknown", "prosrc": body,
                    "comment": comment})
    return out
# Catalog tables clients may join against but we have no rows for.
EMPTY = {
    "pg_attrdef": "oid bigint, adrelid bigint, adnum integer, adbin varchar",
    "pg_collation": "oid bigint, collname varchar, collnamespace bigint",
    "pg_constraint": "oid bigint, conname varchar, connamespace bigint, contype varchar, "
                     "condeferrable boolean, condeferred boolean, convalidated boolean, "
                     "conrelid bigint, contypid bigint, conindid bigint, conparentid bigint, "
                     "confrelid bigint, confupdtype varchar, confdeltype varchar, "
                     "confmatchtype varchar, conkey smallint[], confkey smallint[], "
                     "conislocal boolean, coninhcount integer, connoinherit boolean",
    "pg_index": "indexrelid bigint, indrelid bigint, indnatts smallint, indnkeyatts smallint, "
                "indisunique boolean, indisprimary boolean, indisexclusion boolean, "
                "indimmediate boolean, indisclustered boolean, indisvalid boolean, "
                "indisreplident boolean, indkey smallint[], indclass bigint[], "
                "indoption smallint[], "
                "indexprs varchar, indpred varchar, indnullsnotdistinct boolean",
    "pg_inherits": "inhrelid bigint, inhparent bigint, inhseqno integer, inhdetachpending boolean",
    "pg_rewrite": "oid bigint, rulename varchar, ev_class bigint, ev_type varchar, "
                  "is_instead boolean",
    "pg_trigger": "oid bigint, tgrelid bigint, tgname varchar, tgenabled varchar, "
                  "tgisinternal boolean, tgconstraint bigint, tgparentid bigint",
    "pg_policy": "oid bigint, polname varchar, polrelid bigint, polcmd varchar, "
                 "polpermissive boolean, polroles bigint[], polqual varchar, polwithcheck varchar",
    "pg_statistic_ext": "oid bigint, stxrelid bigint, stxname varchar, stxnamespace bigint, "
                        "stxkeys smallint[], stxkind varchar[], stxstattarget integer",
    "pg_publication": "oid bigint, pubname varchar, puballtables boolean",
    "pg_publication_rel": "oid bigint, prpubid bigint, prrelid bigint",
    "pg_publication_namespace": "oid bigint, pnpubid bigint, pnnspid bigint",
    "pg_partitioned_table": "partrelid bigint, partstrat varchar, partnatts smallint",
    "pg_sequence": "seqrelid bigint, seqtypid bigint, seqstart bigint, seqincrement bigint, "
                   "seqmax bigint, seqmin bigint, seqcache bigint, seqcycle boolean",
    "pg_foreign_table": "ftrelid bigint, ftserver bigint, ftoptions varchar[]",
    "pg_extension": "oid bigint, extname varchar, extowner bigint, extnamespace bigint, "
                    "extversion varchar",
    "pg_enum": "oid bigint, enumtypid bigint, enumsortorder float, enumlabel varchar",
    "pg_depend": "classid bigint, objid bigint, objsubid integer, refclassid bigint, "
                 "refobjid bigint, refobjsubid integer, deptype varchar",
    "pg_matviews": "schemaname varchar, matviewname varchar, matviewowner varchar, "
                   "definition varchar",
    "pg_event_trigger": "oid bigint, evtname varchar",
    "pg_opclass": "oid bigint, opcmethod bigint, opcname varchar, opcnamespace bigint, "
                  "opcdefault boolean, opcintype bigint",
    "pg_auth_members": "roleid bigint, member bigint, grantor bigint, admin_option boolean",
}

MACROS = f"""
create macro {PG_SCHEMA}.format_type(t, m) as (
    select case when t = 1700 and m >= 4 then 'numeric(' || ((m - 4) >> 16) || ','
                || ((m - 4) & 65535) || ')' else display end
    from {PG_SCHEMA}.pg_type where oid = t);
create macro {PG_SCHEMA}.pg_get_userbyid(o) as 'brainwh';
create macro {PG_SCHEMA}.pg_table_is_visible(o) as true;
create macro {PG_SCHEMA}.pg_type_is_visible(o) as true;
create macro {PG_SCHEMA}.pg_function_is_visible(o) as true;
create macro {PG_SCHEMA}.pg_collation_is_visible(o) as true;
create macro {PG_SCHEMA}.pg_is_other_temp_schema(o) as false;
create macro {PG_SCHEMA}.pg_my_temp_schema() as 0;
create macro {PG_SCHEMA}.pg_get_expr(e, r) as null::varchar, (e, r, p) as null::varchar;
create macro {PG_SCHEMA}.pg_get_indexdef(o) as null::varchar,
    (o, c, p) as null::varchar;
create macro {PG_SCHEMA}.pg_get_constraintdef(o) as null::varchar, (o, p) as null::varchar;
create macro {PG_SCHEMA}.pg_get_ruledef(o) as null::varchar, (o, p) as null::varchar;
create macro {PG_SCHEMA}.pg_get_triggerdef(o) as null::varchar, (o, p) as null::varchar;
create macro {PG_SCHEMA}.pg_get_statisticsobjdef_columns(o) as null::varchar;
create macro {PG_SCHEMA}.pg_get_partkeydef(o) as null::varchar;
create macro {PG_SCHEMA}.pg_get_serial_sequence(t, c) as null::varchar;
create macro {PG_SCHEMA}.pg_get_function_result(o) as
    (select result from {PG_SCHEMA}.bw_functions where oid = o);
create macro {PG_SCHEMA}.pg_get_function_arguments(o) as
    (select arguments from {PG_SCHEMA}.bw_functions where oid = o);
create macro {PG_SCHEMA}.pg_get_function_identity_arguments(o) as
    (select arguments from {PG_SCHEMA}.bw_functions where oid = o);
create macro {PG_SCHEMA}.pg_get_function_sqlbody(o) as
    (select prosrc from {PG_SCHEMA}.pg_proc where oid = o);
create macro {PG_SCHEMA}.pg_get_viewdef(o) as
    (select definition from {PG_SCHEMA}.bw_relations where oid = try_cast(o as bigint)),
    (o, p) as (select definition from {PG_SCHEMA}.bw_relations where oid = try_cast(o as bigint));
create macro {PG_SCHEMA}.pg_relation_size(o) as 0::bigint, (o, f) as 0::bigint;
create macro {PG_SCHEMA}.pg_total_relation_size(o) as 0::bigint;
create macro {PG_SCHEMA}.pg_table_size(o) as 0::bigint;
create macro {PG_SCHEMA}.pg_indexes_size(o) as 0::bigint;
create macro {PG_SCHEMA}.pg_size_pretty(n) as format_bytes(n::bigint);
create macro {PG_SCHEMA}.pg_tablespace_location(o) as '';
create macro {PG_SCHEMA}.pg_encoding_to_char(e) as 'UTF8';
create macro {PG_SCHEMA}.obj_description(o) as
    (select description from {PG_SCHEMA}.pg_description where objoid = o and objsubid = 0),
    (o, c) as (select description from {PG_SCHEMA}.pg_description
               where objoid = o and objsubid = 0);
create macro {PG_SCHEMA}.col_description(o, n) as
    (select description from {PG_SCHEMA}.pg_description where objoid = o and objsubid = n);
create macro {PG_SCHEMA}.shobj_description(o, c) as null::varchar;
create macro {PG_SCHEMA}.regclass_oid(x) as coalesce(
    try_cast(x::varchar as bigint),
    (select oid from {PG_SCHEMA}.pg_class
     where relname = replace(x::varchar, '"', '')
        or 'main.' || relname = replace(x::varchar, '"', '')),
    (select oid from {PG_SCHEMA}.bw_catalog_tables
     where relname = replace(x::varchar, '"', '')
        or 'pg_catalog.' || relname = replace(x::varchar, '"', '')));
create macro {PG_SCHEMA}.regclass_name(x) as coalesce(
    (select relname from {PG_SCHEMA}.pg_class where oid = try_cast(x::varchar as bigint)),
    x::varchar);
create macro {PG_SCHEMA}.regtype_oid(x) as coalesce(
    try_cast(x::varchar as bigint),
    (select oid from {PG_SCHEMA}.pg_type where typname = x::varchar or display = x::varchar));
create macro {PG_SCHEMA}.regtype_name(x) as coalesce(
    (select display from {PG_SCHEMA}.pg_type where oid = try_cast(x::varchar as bigint)),
    x::varchar);
create macro {PG_SCHEMA}.regnamespace_oid(x) as coalesce(
    try_cast(x::varchar as bigint),
    (select oid from {PG_SCHEMA}.pg_namespace where nspname = x::varchar));
create macro {PG_SCHEMA}.regnamespace_name(x) as coalesce(
    (select nspname from {PG_SCHEMA}.pg_namespace where oid = try_cast(x::varchar as bigint)),
    x::varchar);
create macro {PG_SCHEMA}.to_regtype(x) as
    (select oid from {PG_SCHEMA}.pg_type where typname = x::varchar or display = x::varchar);
create macro {PG_SCHEMA}.to_regclass(x) as
    (select oid from {PG_SCHEMA}.pg_class where relname = replace(x::varchar, '"', '')
        or 'main.' || relname = replace(x::varchar, '"', ''));
create macro {PG_SCHEMA}.has_table_privilege(a, b) as true, (a, b, c) as true;
create macro {PG_SCHEMA}.has_schema_privilege(a, b) as true, (a, b, c) as true;
create macro {PG_SCHEMA}.has_database_privilege(a, b) as true, (a, b, c) as true;
create macro {PG_SCHEMA}.has_column_privilege(a, b, c) as true, (a, b, c, d) as true;
create macro {PG_SCHEMA}.has_any_column_privilege(a, b) as true, (a, b, c) as true;
create macro {PG_SCHEMA}.pg_has_role(a, b) as false, (a, b, c) as false;
create macro {PG_SCHEMA}.pg_is_in_recovery() as false;
create macro {PG_SCHEMA}.pg_relation_is_publishable(o) as false;
create macro {PG_SCHEMA}.array_remove(a, x) as list_filter(a, lambda e: e is distinct from x);
create macro {PG_SCHEMA}._pg_expandarray(a) as
    unnest(list_transform(generate_series(1, len(a)), lambda i: {{'x': a[i], 'n': i}}));
create macro {PG_SCHEMA}.array_upper(a, d) as case when d = 1 then len(a) end;
create macro {PG_SCHEMA}.array_lower(a, d) as case when d = 1 and len(a) > 0 then 1 end;
create macro {PG_SCHEMA}.pg_get_keywords() as table
    select keyword_name as word, 'U' as catcode, true as barelabel,
           keyword_category as catdesc, 'can be bare label' as baredesc
    from duckdb_keywords();
create macro {PG_SCHEMA}.regtype_names(x) as case when x is not null then (
    select list(coalesce(t.display, s.o) order by s.i)
    from (select unnest(p) as o, generate_subscripts(p, 1) as i
          from (select string_split(trim(regexp_replace(x::varchar, '[^0-9]+', ' ', 'g')), ' ')
                as p)) s
    left join {PG_SCHEMA}.pg_type t on t.oid = try_cast(s.o as bigint)) end;
create macro {PG_SCHEMA}.txid_current() as 1::bigint;
create macro {PG_SCHEMA}.pg_postmaster_start_time() as get_current_timestamp();
create macro {PG_SCHEMA}.current_schemas(b) as
    case when b then ['pg_catalog', 'main'] else ['main'] end;
"""


_SCHEMAS = {
    "bw_relations": pa.schema([("oid", pa.int64()), ("relname", pa.string()),
                               ("relkind", pa.string()), ("natts", pa.int64()),
                               ("definition", pa.string())]),
    "bw_attributes": pa.schema([("attrelid", pa.int64()), ("attname", pa.string()),
                                ("atttypid", pa.int64()), ("attnum", pa.int64()),
                                ("atttypmod", pa.int64()), ("display", pa.string()),
                                ("relname", pa.string()), ("relkind", pa.string())]),
    "bw_functions": pa.schema([("oid", pa.int64()), ("proname", pa.string()),
                               ("table", pa.bool_()), ("nargs", pa.int64()),
                               ("arguments", pa.string()), ("argnames", pa.list_(pa.string())),
                               ("result", pa.string()), ("prosrc", pa.string()),
                               ("comment", pa.string())]),
    "pg_description": pa.schema([("objoid", pa.int64()), ("classoid", pa.int64()),
                                 ("objsubid", pa.int64()), ("description", pa.string())]),
}


def _load(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict]) -> None:
    table = pa.Table.from_pylist(rows, schema=_SCHEMAS.get(name))
    con.register("_bw_rows", table)
    try:
        con.execute(f"create table {PG_SCHEMA}.{name} as select * from _bw_rows")
    finally:
        con.unregister("_bw_rows")


def _relations(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str | None, str | None]]:
    return con.execute(
        """
        select name, kind, comment, definition from (
            select table_name as name, 'r' as kind, comment, null as definition
            from duckdb_tables() where database_name = 'brainwh' and schema_name = 'main'
              and not internal and not temporary
            union all
            select view_name, 'v', comment, sql from duckdb_views()
            where database_name = 'brainwh' and schema_name = 'main' and not internal
              and not temporary)
        order by name
        """).fetchall()


def build(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Create the catalog for the warehouse attached to `con` as `brainwh`.

    Returns each relation's columns and their type OIDs (lower-case names), for parameter
    types.
    """
    con.execute(f"create schema {PG_SCHEMA}")
    con.execute(f"create schema {IS_SCHEMA}")
    relations, attributes, descriptions = [], [], []
    for index, (name, kind, comment, definition) in enumerate(_relations(con)):
        oid = FIRST_OID + index
        quoted = '"' + name.replace('"', '""') + '"'
        rel = con.sql(f"select * from brainwh.main.{quoted}")
        relations.append({"oid": oid, "relname": name, "relkind": kind, "natts": len(rel.columns),
                          "definition": _view_body(definition)})
        if comment:
            descriptions.append({"objoid": oid, "classoid": PG_CLASS_OID, "objsubid": 0,
                                 "description": comment})
        for attnum, (column, duck_type) in enumerate(zip(rel.columns, rel.types, strict=True), 1):
            pgt = pg_type(duck_type)
            attributes.append({"attrelid": oid, "attname": column, "atttypid": pgt.oid,
                               "attnum": attnum, "atttypmod": pgt.typmod,
                               "display": pgt.name, "relname": name, "relkind": kind})
    for row in con.execute(
            "select table_name, column_name, comment from duckdb_columns() "
            "where database_name = 'brainwh' and schema_name = 'main' and comment is not null"
    ).fetchall():
        match = next((a for a in attributes if a["relname"] == row[0] and a["attname"] == row[1]),
                     None)
        if match:
            descriptions.append({"objoid": match["attrelid"], "classoid": PG_CLASS_OID,
                                 "objsubid": match["attnum"], "description": row[2]})
    _load(con, "bw_relations", relations)
    _load(con, "bw_attributes", attributes)
    _load(con, "pg_type", [type_row(*row) for row in pg_type_rows()])
    functions = _functions(con, len(relations))
    _load(con, "bw_functions", functions)
    descriptions.extend({"objoid": f["oid"], "classoid": PG_PROC_OID, "objsubid": 0,
                         "description": f["comment"]} for f in functions if f["comment"])
    _load(con, "pg_description", descriptions)
    con.execute(_CATALOG_SQL)
    for name, columns in EMPTY.items():
        con.execute(f"create table {PG_SCHEMA}.{name} ({columns})")
    con.execute(MACROS)
    con.execute(_INFORMATION_SCHEMA_SQL)
    columns: dict[str, dict[str, int]] = {}
    for attribute in attributes:
        columns.setdefault(attribute["relname"].lower(), {})[attribute["attname"].lower()] = \
            attribute["atttypid"]
    return columns


def _view_body(definition: str | None) -> str | None:
    if not definition:
        return None
    head, sep, body = definition.partition(" AS ")
    return " " + body if sep and head.upper().startswith("CREATE VIEW") else definition


_CATALOG_SQL = f"""
create table {PG_SCHEMA}.pg_proc as
    select oid, proname, {MAIN_OID}::bigint as pronamespace, {OWNER_OID}::bigint as proowner,
           14::bigint as prolang, 100::float as procost, case when "table" then 1000 else 0 end
           ::float as prorows, 0::bigint as provariadic, '-' as prosupport, 'f' as prokind,
           false as prosecdef, false as proleakproof, false as proisstrict,
           "table" as proretset, 's' as provolatile, 's' as proparallel,
           nargs::smallint as pronargs, 0::smallint as pronargdefaults,
           case when "table" then 2249 else 705 end::bigint as prorettype,
           trim(repeat('705 ', nargs::bigint)) as proargtypes,
           null::bigint[] as proallargtypes, null::varchar[] as proargmodes,
           argnames::varchar[] as proargnames, null::varchar as proargdefaults,
           null::bigint[] as protrftypes, prosrc, null::varchar as probin,
           null::varchar as prosqlbody, null::varchar[] as proconfig, null::varchar[] as proacl
    from {PG_SCHEMA}.bw_functions;
create table {PG_SCHEMA}.pg_language as
    select * from (values (12::bigint, 'internal', false, false), (13::bigint, 'c', false, false),
                          (14::bigint, 'sql', false, true)) t(oid, lanname, lanispl, lanpltrusted);
create table {PG_SCHEMA}.pg_namespace as
    select * from (values ({CATALOG_OID}, 'pg_catalog', {OWNER_OID}, null::varchar[]),
                          ({MAIN_OID}, 'main', {OWNER_OID}, null::varchar[]),
                          ({INFO_OID}, 'information_schema', {OWNER_OID}, null::varchar[]))
    t(oid, nspname, nspowner, nspacl);
create table {PG_SCHEMA}.pg_class as
    select oid, relname, {MAIN_OID}::bigint as relnamespace, 0::bigint as reltype,
           0::bigint as reloftype, {OWNER_OID}::bigint as relowner,
           case relkind when 'r' then 2 else 0 end::bigint as relam, 0::bigint as relfilenode,
           0::bigint as reltablespace, 0 as relpages, -1.0::float as reltuples,
           0 as relallvisible, 0::bigint as reltoastrelid, false as relhasindex,
           false as relisshared, 'p' as relpersistence, relkind, natts::smallint as relnatts,
           0::smallint as relchecks, false as relhasrules, false as relhastriggers,
           false as relhassubclass, false as relrowsecurity, false as relforcerowsecurity,
           true as relispopulated, 'd' as relreplident, false as relispartition,
           0::bigint as relrewrite, null::varchar[] as relacl, null::varchar[] as reloptions,
           null::varchar as relpartbound
    from {PG_SCHEMA}.bw_relations;
create table {PG_SCHEMA}.pg_attribute as
    select attrelid, attname, atttypid, -1::smallint as attlen, attnum::smallint as attnum,
           atttypmod, case when display like '%[]' then 1 else 0 end::smallint as attndims,
           false as attbyval, 'i' as attalign, 'x' as attstorage, false as attnotnull,
           false as atthasdef, false as atthasmissing, '' as attcompression,
           '' as attidentity, '' as attgenerated,
           false as attisdropped, true as attislocal, 0 as attinhcount, 0::bigint as attcollation,
           -1 as attstattarget, null::varchar[] as attacl, null::varchar[] as attoptions,
           null::varchar[] as attfdwoptions
    from {PG_SCHEMA}.bw_attributes;
create table {PG_SCHEMA}.bw_catalog_tables as
    select * from (values (1259, 'pg_class'), (1247, 'pg_type'), (1249, 'pg_attribute'),
                          (1255, 'pg_proc'), (2615, 'pg_namespace'), (2606, 'pg_constraint'),
                          (1262, 'pg_database'), (2610, 'pg_index'), (2609, 'pg_description'),
                          (2620, 'pg_trigger'), (2601, 'pg_am'), (3456, 'pg_collation'),
                          (2612, 'pg_language'), (3079, 'pg_extension'))
    t(oid, relname);
create table {PG_SCHEMA}.pg_am as
    select * from (values (2::bigint, 'heap', 't'), (403::bigint, 'btree', 'i'))
    t(oid, amname, amtype);
create table {PG_SCHEMA}.pg_database as
    select 16383::bigint as oid, 'brainwh' as datname, {OWNER_OID}::bigint as datdba,
           6 as encoding, 'c' as datlocprovider, false as datistemplate, true as datallowconn,
           -1 as datconnlimit, 'C' as datcollate, 'C' as datctype, null::varchar as daticulocale,
           null::varchar as daticurules, null::varchar[] as datacl, 1663::bigint as dattablespace;
create table {PG_SCHEMA}.pg_roles as
    select 'brainwh' as rolname, true as rolsuper, false as rolinherit, false as rolcreaterole,
           false as rolcreatedb, true as rolcanlogin, false as rolreplication,
           -1 as rolconnlimit, null::timestamp as rolvaliduntil, false as rolbypassrls,
           null::varchar[] as rolconfig, {OWNER_OID}::bigint as oid;
create table {PG_SCHEMA}.pg_user as
    select 'brainwh' as usename, {OWNER_OID}::bigint as usesysid, false as usecreatedb,
           true as usesuper;
create table {PG_SCHEMA}.pg_tablespace as
    select * from (values (1663::bigint, 'pg_default', {OWNER_OID}::bigint))
    t(oid, spcname, spcowner);
create table {PG_SCHEMA}.pg_settings as
    select *, null::varchar as unit, 'Preset Options' as category,
           null::varchar as short_desc, 'internal' as context, 'string' as vartype,
           'default' as source
    from (values ('server_version', '16.0'), ('server_version_num', '160000'),
                 ('server_encoding', 'UTF8'), ('max_identifier_length', '63'),
                 ('max_index_keys', '32'), ('max_function_args', '100'),
                 ('block_size', '8192'), ('standard_conforming_strings', 'on'),
                 ('default_transaction_read_only', 'on'), ('integer_datetimes', 'on'))
    t(name, setting);
create table {PG_SCHEMA}.pg_tables as
    select 'main' as schemaname, relname as tablename, 'brainwh' as tableowner,
           null::varchar as tablespace, false as hasindexes, false as hasrules,
           false as hastriggers, false as rowsecurity
    from {PG_SCHEMA}.bw_relations where relkind = 'r';
create table {PG_SCHEMA}.pg_views as
    select 'main' as schemaname, relname as viewname, 'brainwh' as viewowner, definition
    from {PG_SCHEMA}.bw_relations where relkind = 'v';
"""

_INFORMATION_SCHEMA_SQL = f"""
create table {IS_SCHEMA}.schemata as
    select 'brainwh' as catalog_name, nspname as schema_name, 'brainwh' as schema_owner,
           null::varchar as default_character_set_catalog,
           null::varchar as default_character_set_schema,
           null::varchar as default_character_set_name, null::varchar as sql_path
    from {PG_SCHEMA}.pg_namespace;
create table {IS_SCHEMA}.tables as
    select 'brainwh' as table_catalog, 'main' as table_schema, relname as table_name,
           case relkind when 'v' then 'VIEW' else 'BASE TABLE' end as table_type,
           null::varchar as self_referencing_column_name, null::varchar as reference_generation,
           null::varchar as user_defined_type_catalog, null::varchar as user_defined_type_schema,
           null::varchar as user_defined_type_name, 'NO' as is_insertable_into, 'NO' as is_typed,
           null::varchar as commit_action
    from {PG_SCHEMA}.bw_relations;
create table {IS_SCHEMA}.views as
    select 'brainwh' as table_catalog, 'main' as table_schema, relname as table_name,
           definition as view_definition, 'NONE' as check_option, 'NO' as is_updatable,
           'NO' as is_insertable_into, 'NO' as is_trigger_updatable,
           'NO' as is_trigger_deletable, 'NO' as is_trigger_insertable_into
    from {PG_SCHEMA}.bw_relations where relkind = 'v';
create table {IS_SCHEMA}.columns as
    select 'brainwh' as table_catalog, 'main' as table_schema, a.relname as table_name,
           a.attname as column_name, a.attnum as ordinal_position,
           null::varchar as column_default, 'YES' as is_nullable,
           case when a.display like '%[]' then 'ARRAY'
                when a.display like 'numeric(%' then 'numeric' else a.display end as data_type,
           null::integer as character_maximum_length, null::integer as character_octet_length,
           case when a.atttypmod >= 4 then (a.atttypmod - 4) >> 16 end as numeric_precision,
           case when a.atttypmod >= 4 then 10 end as numeric_precision_radix,
           case when a.atttypmod >= 4 then (a.atttypmod - 4) & 65535 end as numeric_scale,
           null::integer as datetime_precision, null::varchar as interval_type,
           'brainwh' as udt_catalog, 'pg_catalog' as udt_schema, t.typname as udt_name,
           'NO' as is_identity, 'NEVER' as is_generated, 'NO' as is_updatable,
           d.description as column_comment
    from {PG_SCHEMA}.bw_attributes a
    join {PG_SCHEMA}.pg_type t on t.oid = a.atttypid
    left join {PG_SCHEMA}.pg_description d on d.objoid = a.attrelid and d.objsubid = a.attnum;
create table {IS_SCHEMA}.table_constraints as
    select null::varchar as constraint_catalog, null::varchar as constraint_schema,
           null::varchar as constraint_name, null::varchar as table_catalog,
           null::varchar as table_schema, null::varchar as table_name,
           null::varchar as constraint_type where false;
create table {IS_SCHEMA}.key_column_usage as
    select null::varchar as constraint_catalog, null::varchar as constraint_schema,
           null::varchar as constraint_name, null::varchar as table_catalog,
           null::varchar as table_schema, null::varchar as table_name,
           null::varchar as column_name, null::integer as ordinal_position where false;
create table {IS_SCHEMA}.referential_constraints as
    select null::varchar as constraint_catalog, null::varchar as constraint_schema,
           null::varchar as constraint_name, null::varchar as unique_constraint_schema,
           null::varchar as unique_constraint_name where false;
create table {IS_SCHEMA}.routines as
    select null::varchar as routine_catalog, null::varchar as routine_schema,
           null::varchar as routine_name, null::varchar as routine_type where false;
"""
