"""Postgres catalog SQL, as clients send it, rewritten to run on DuckDB against our catalog.

Clients (psql, SQLAlchemy, JDBC drivers, BI tools) introspect a server with `pg_catalog` and
`information_schema` queries. We parse each one with sqlglot's Postgres dialect, point its
catalog tables at the Postgres-shaped tables `warehouse.server.catalog` builds, replace the
catalog and session functions DuckDB lacks (or answers differently) with our macros or with
the session's values, and let DuckDB run the result with the client's parameters bound.
Queries that touch no catalog object are not rewritten at all: they go to DuckDB as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from warehouse.server import sqltext
from warehouse.server.pgmimic import parse_array_literal

PG_SCHEMA = "memory.brainwh_pg"
IS_SCHEMA = "memory.brainwh_is"

# Functions answered by our macros in PG_SCHEMA (see catalog.MACROS).
MACRO_FUNCTIONS = {
    "format_type", "pg_get_userbyid", "pg_table_is_visible", "pg_type_is_visible",
    "pg_function_is_visible", "pg_collation_is_visible", "pg_get_expr", "pg_get_indexdef",
    "pg_get_constraintdef", "pg_get_viewdef", "pg_get_partkeydef", "pg_get_serial_sequence",
    "pg_get_function_result", "pg_get_function_arguments", "pg_get_function_identity_arguments",
    "pg_get_triggerdef", "pg_get_statisticsobjdef_columns", "pg_relation_size",
    "pg_total_relation_size", "pg_table_size", "pg_indexes_size", "pg_size_pretty",
    "pg_encoding_to_char", "obj_description", "col_description", "shobj_description",
    "to_regtype", "to_regclass", "has_table_privilege", "has_schema_privilege",
    "has_database_privilege", "has_column_privilege", "has_any_column_privilege",
    "pg_has_role", "pg_is_in_recovery", "txid_current", "pg_postmaster_start_time",
    "pg_get_keywords", "regclass_oid", "regclass_name", "regtype_oid", "regtype_name",
    "pg_is_other_temp_schema", "pg_my_temp_schema", "pg_tablespace_location",
    "pg_get_function_sqlbody", "pg_get_ruledef", "current_schemas", "regnamespace_oid",
    "regnamespace_name", "pg_relation_is_publishable", "array_remove", "_pg_expandarray",
    "array_upper", "array_lower", "regtype_names",
}
# Functions whose value is the session's (filled in from `Session`).
SESSION_FUNCTIONS = {"version", "current_setting", "pg_backend_pid", "current_user",
                     "session_user", "current_role", "current_database", "current_catalog",
                     "current_schema", "inet_server_addr", "inet_server_port"}
_REG_TYPES = {"regclass", "regtype", "regnamespace"}
_OTHER_REG = {"regproc", "regprocedure", "regoper", "regoperator", "regrole",
              "regconfig", "regdictionary", "regcollation", "oid", "xid", "cid", "tid"}
_CATALOG_WORDS = MACRO_FUNCTIONS | SESSION_FUNCTIONS | _REG_TYPES | {"information_schema"}
_REGEX_OPS = {"~": (False, False), "!~": (True, False), "~*": (False, True), "!~*": (True, True)}


@dataclass
class SessionValues:
    user: str
    database: str
    pid: int
    version: str
    settings: dict[str, str]


def mentions_catalog(sql: str) -> bool:
    """Might the statement read the catalog or session values? (Words outside literals.)"""
    lowered = sql.lower()
    if "pg_" not in lowered and not any(word in lowered for word in _CATALOG_WORDS):
        return False
    used = sqltext.words(sql)
    return bool(used & _CATALOG_WORDS) or any(word.startswith("pg_") for word in used)


# Postgres syntax sqlglot cannot parse, rewritten in the text first (name, pattern, replacement).
TEXT_RULES = [
    ("OID arrays to type names", re.compile(r"([\w.]+)::(?:pg_catalog\.)?regtype\[\]"),
     r"pg_catalog.regtype_names(\1)"),
]


def parse(sql: str) -> exp.Expression | None:
    for _name, pattern, replacement in TEXT_RULES:
        sql = pattern.sub(replacement, sql)
    try:
        expressions = sqlglot.parse(sql, dialect="postgres")
    except Exception:  # noqa: BLE001 - not Postgres SQL we can read: DuckDB's to judge
        return None
    if len(expressions) != 1 or expressions[0] is None:
        return None
    return expressions[0]


def _function_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


def _is_catalog_table(table: exp.Table, user_tables: set[str]) -> bool:
    schema = (table.db or "").lower()
    if schema in ("pg_catalog", "information_schema"):
        return True
    return not schema and table.name.lower().startswith("pg_") and \
        table.name.lower() not in user_tables


def names_catalog(sql: str, user_tables: set[str]) -> bool:
    """Does the text name a catalog table (for queries sqlglot cannot parse)?"""
    used = sqltext.words(sql)
    return bool(used & {"pg_catalog", "information_schema"}) or any(
        word.startswith("pg_") and word not in user_tables and word not in MACRO_FUNCTIONS
        and word not in SESSION_FUNCTIONS for word in used)


def is_catalog_query(tree: exp.Expression, user_tables: set[str]) -> bool:
    """Does the statement read the catalog or ask for something only the session knows?"""
    for table in tree.find_all(exp.Table):
        if _is_catalog_table(table, user_tables):
            return True
    for node in tree.find_all(exp.Func, exp.CurrentUser, exp.SessionUser, exp.CurrentSchema):
        if isinstance(node, exp.CurrentUser | exp.SessionUser | exp.CurrentSchema):
            return True
        name = _function_name(node)
        if name in MACRO_FUNCTIONS or name in SESSION_FUNCTIONS:
            return True
    if any(_type_name(node) in _REG_TYPES | _OTHER_REG for node in tree.find_all(exp.Cast)):
        return True
    return any(isinstance(node.parent, exp.Dot) and str(node.parent.this).lower()
               in ("pg_catalog", "information_schema") for node in tree.find_all(exp.Anonymous))


@dataclass
class Context:
    session: SessionValues
    user_tables: set[str]


@dataclass(frozen=True)
class Rule:
    """One rewrite: its name (for logs and tests) and what it does to the tree, in place."""
    name: str
    apply: Callable[[exp.Expression, Context], None]


def _catalog_tables(tree: exp.Expression, context: Context) -> None:
    """pg_catalog.x and information_schema.x -> our tables (aliased by their own name)."""
    for table in list(tree.find_all(exp.Table)):
        if isinstance(table.this, exp.Func):  # FROM pg_catalog.unnest(...)
            table.set("db", None)
        elif _is_catalog_table(table, context.user_tables):
            schema = IS_SCHEMA if (table.db or "").lower() == "information_schema" else PG_SCHEMA
            catalog, db = schema.split(".")
            if not table.alias:  # columns may say pg_catalog.pg_class.relname
                table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            table.set("catalog", exp.to_identifier(catalog))
            table.set("db", exp.to_identifier(db))


def _qualified_names(tree: exp.Expression, context: Context) -> None:
    """pg_catalog.pg_class.relname -> pg_class.relname; pg_catalog.f(...) -> f(...)."""
    for column in list(tree.find_all(exp.Column)):
        if (column.args.get("db") and str(column.args["db"]).lower()
                in ("pg_catalog", "information_schema")):
            column.set("db", None)
            column.set("catalog", None)
    for dot in list(tree.find_all(exp.Dot)):
        if str(dot.this).lower() in ("pg_catalog", "information_schema") \
                and isinstance(dot.expression, exp.Func):
            dot.replace(dot.expression)


def _regex_operators(tree: exp.Expression, context: Context) -> None:
    """x ~ 'p', !~, ~*, !~* (psql writes OPERATOR(pg_catalog.~)) -> regexp_matches."""
    for node in list(tree.find_all(exp.Operator)):
        operator = str(node.args.get("operator", "")).split(".")[-1].strip()
        if operator in _REGEX_OPS:
            node.replace(_regex(node.this, node.expression, *_REGEX_OPS[operator]))


def _collations(tree: exp.Expression, context: Context) -> None:
    """x COLLATE pg_catalog.default -> x."""
    for node in list(tree.find_all(exp.Collate)):
        node.replace(node.this)


def _reg_names(tree: exp.Expression, context: Context) -> None:
    """x::regclass::text (a name through an OID type) -> the name."""
    for node in list(tree.find_all(exp.Cast)):
        inner = node.this
        if _type_name(node) in ("text", "varchar", "name") and isinstance(inner, exp.Cast) \
                and _type_name(inner) in _REG_TYPES:
            node.replace(_macro(f"{_type_name(inner)}_name", inner.this))


def _reg_casts(tree: exp.Expression, context: Context) -> None:
    """::regclass/::regtype/::regnamespace -> OID lookups; other OID types -> BIGINT."""
    for node in reversed(list(tree.find_all(exp.Cast))):
        _rewrite_cast(node)


def _array_literals(tree: exp.Expression, context: Context) -> None:
    """'{a,b}'::text[] and x = ANY('{a,b}') (Postgres array literals) -> ['a', 'b']."""
    for node in list(tree.find_all(exp.Cast)):
        if isinstance(node.this, exp.Literal) and node.this.is_string and (
                node.to.is_type(exp.DataType.Type.ARRAY) or _type_name(node).endswith("[]")):
            _to_list(node, node.this.this)
    for node in list(tree.find_all(exp.Any, exp.All)):
        inner = node.this.this if isinstance(node.this, exp.Paren) else node.this
        if isinstance(inner, exp.Literal) and inner.is_string and inner.this.startswith("{"):
            _to_list(inner, inner.this)


def _to_list(node: exp.Expression, text: str) -> None:
    try:
        items = parse_array_literal(text)
    except ValueError:
        return
    node.replace(exp.Array(expressions=[exp.null() if item is None else
                                        exp.Literal.string(str(item)) for item in _flat(items)]))


def _column_names(tree: exp.Expression, context: Context) -> None:
    """An unaliased function call is named after the function, as Postgres names it
    (`count(1)` is column `count`), so ORDER BY count and clients' lookups find it."""
    for select in tree.find_all(exp.Select):
        for index, expression in enumerate(select.expressions):
            call = expression.this if isinstance(expression, exp.Window) else expression
            if isinstance(call, exp.Func) and not isinstance(expression, exp.Alias):
                name = _function_name(call)
                if name and name.isidentifier() and not name.startswith(("pg_", "memory")):
                    select.expressions[index] = exp.alias_(expression, name)


def _flat(items):
    for item in items:
        if isinstance(item, list):
            yield from _flat(item)
        else:
            yield item


def _regproc_zero(tree: exp.Expression, context: Context) -> None:
    """typreceive != 0: regproc columns hold names ('-' for none), as Postgres prints them."""
    for node in list(tree.find_all(exp.EQ, exp.NEQ)):
        for column, other in ((node.this, node.expression), (node.expression, node.this)):
            if isinstance(column, exp.Column) and column.name.lower() in _REGPROC_COLUMNS \
                    and isinstance(other, exp.Literal) and other.this == "0":
                other.replace(exp.Literal.string("-"))


def _session_values(tree: exp.Expression, context: Context) -> None:
    """version(), current_user, current_setting(...), ... -> this session's values."""
    _rewrite_functions(tree, context.session)


RULES = [
    Rule("catalog tables", _catalog_tables),
    Rule("qualified names", _qualified_names),
    Rule("regex operators", _regex_operators),
    Rule("collations", _collations),
    Rule("array literals", _array_literals),
    Rule("Postgres column names", _column_names),
    Rule("names through OID types", _reg_names),
    Rule("OID type casts", _reg_casts),
    Rule("regproc compared with 0", _regproc_zero),
    Rule("session values and catalog functions", _session_values),
]
_REGPROC_COLUMNS = {"typreceive", "typsend", "typinput", "typoutput", "typmodin", "typmodout",
                    "typanalyze", "typsubscript", "aggfnoid", "prosupport"}


def rewrite(tree: exp.Expression, session: SessionValues, user_tables: set[str]) -> str:
    """The DuckDB SQL for a catalog query: every rule in `RULES`, in order."""
    tree = tree.copy()
    context = Context(session, user_tables)
    for rule in RULES:
        rule.apply(tree, context)
    return tree.sql(dialect="duckdb")


def _setting_lookup(key: exp.Expression, settings: dict[str, str]) -> exp.Expression:
    """current_setting(key), key a literal or a parameter: a lookup in the session's values."""
    rows = ", ".join(f"({_quote(name)}, {_quote(value)})" for name, value in settings.items())
    lookup = sqlglot.parse_one(
        f"(select setting from (values {rows or '(NULL, NULL)'}) as s(name, setting) "
        "where name = lower(cast(__key as varchar)))", dialect="duckdb")
    for column in lookup.find_all(exp.Column):
        if column.name == "__key":
            column.replace(key.copy())
    return lookup


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _regex(this, pattern, negate: bool, insensitive: bool) -> exp.Expression:
    args = [this, pattern] + ([exp.Literal.string("i")] if insensitive else [])
    match = exp.Anonymous(this="regexp_matches", expressions=args)
    return exp.Not(this=match) if negate else match


def _type_name(cast: exp.Cast) -> str:
    to = cast.to
    if isinstance(to, exp.ObjectIdentifier):
        return str(to.this).lower()
    if isinstance(to, exp.DataType):
        kind = to.args.get("kind")
        if isinstance(kind, exp.Dot):
            return str(kind.expression.this).lower()
        if isinstance(kind, exp.Identifier):
            return str(kind.this).lower()
        return to.sql(dialect="postgres").lower().removeprefix("pg_catalog.")
    return ""


def _macro(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=f"{PG_SCHEMA}.{name}", expressions=list(args))


def _rewrite_cast(node: exp.Cast) -> None:
    target = _type_name(node)
    inner = node.this
    if target in _REG_TYPES:
        node.replace(_macro(f"{target}_oid", inner))
    elif target in ("regproc", "regprocedure"):  # regproc columns hold function names
        if isinstance(inner, exp.Literal) and inner.is_string:
            node.replace(exp.Literal.string(inner.this.split(".")[-1].split("(")[0]))
        else:
            node.replace(exp.cast(inner, "VARCHAR"))
    elif target in _OTHER_REG:
        node.replace(exp.cast(inner, "BIGINT"))
    elif target in ("name", '"char"', "char", "text"):
        node.replace(exp.cast(inner, "VARCHAR"))
    elif target in ("int2vector", "oidvector", "_oid", "oid[]", "_text", "text[]"):
        node.replace(inner)


def _rewrite_functions(tree: exp.Expression, session: SessionValues) -> None:
    replacements = {
        "version": exp.Literal.string(session.version),
        "pg_backend_pid": exp.Literal.number(session.pid),
        "current_user": exp.Literal.string(session.user),
        "session_user": exp.Literal.string(session.user),
        "current_role": exp.Literal.string(session.user),
        "current_database": exp.Literal.string(session.database),
        "current_catalog": exp.Literal.string(session.database),
        "current_schema": exp.Literal.string("main"),
        "inet_server_addr": exp.null(),
        "inet_server_port": exp.null(),
    }
    for node in list(tree.find_all(exp.CurrentUser, exp.SessionUser, exp.CurrentSchema)):
        node.replace(exp.Literal.string("main" if isinstance(node, exp.CurrentSchema)
                                        else session.user))
    for node in list(tree.find_all(exp.Func)):
        name = _function_name(node)
        if name == "current_setting":
            key = node.expressions[0] if isinstance(node, exp.Anonymous) else node.this
            node.replace(_setting_lookup(key, session.settings))
        elif name in replacements:
            node.replace(replacements[name].copy())
        elif name in MACRO_FUNCTIONS and isinstance(node, exp.Anonymous):
            node.set("this", f"{PG_SCHEMA}.{name}")
        elif name in MACRO_FUNCTIONS:  # a function sqlglot knows, e.g. array_remove
            node.replace(_macro(name, *[arg for arg in node.iter_expressions()]))
        elif name == "current_schemas":
            node.replace(_macro("current_schemas", node.this))
        elif name == "json_build_object":
            node.replace(exp.Anonymous(this="json_object", expressions=node.expressions))


def column_names(tree: exp.Expression) -> list[str] | None:
    """The output column names of a query, as Postgres would name them."""
    selects = getattr(tree, "selects", None)
    if not selects:
        return None
    return [select.alias_or_name or "?column?" for select in selects]
