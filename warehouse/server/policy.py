"""What a client may do: queries only, and the session settings Postgres drivers send.

- Every statement that reaches DuckDB must be one SELECT (incl. DESCRIBE, SHOW, SUMMARIZE,
  VALUES) or EXPLAIN; COPY, ATTACH, INSTALL/LOAD, SET/USE, PRAGMA, CALL, writes and DDL are
  refused here, before DuckDB sees them (DuckDB's own lock-down refuses file access from
  inside a SELECT, e.g. `read_csv('/etc/hostname')`).
- `SET` of a client setting drivers send (application_name, DateStyle, extra_float_digits,
  search_path, statement_timeout, ...) is accepted for the session; `SET` of anything else,
  which would be a DuckDB setting, is refused with a clear error.
- `SAVEPOINT`, `RELEASE`, `ROLLBACK TO`, `DISCARD`, `DEALLOCATE`, `SET TRANSACTION ...` are
  accepted: there is nothing to undo on a read-only server.
- Functions that would show the server's paths or settings (`duckdb_databases()`,
  `duckdb_settings()`, ...), run SQL from a string (`query()`), or read files (`read_text`,
  `glob`, `'file.csv'` as a table) are refused by name, from DuckDB's own parse of the
  statement (`json_serialize_sql`), so a string literal that mentions them does not count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from warehouse.server import sqltext
from warehouse.server.pgmimic import PgError
from warehouse.server.pgmimic import oids as pg

READ_ONLY = "25006"
FEATURE_NOT_SUPPORTED = "0A000"
INSUFFICIENT_PRIVILEGE = "42501"
SYNTAX_ERROR = "42601"

ALLOWED_TYPES = {"SELECT", "EXPLAIN"}
CLIENT_SETTINGS = {
    "application_name", "client_encoding", "datestyle", "intervalstyle", "extra_float_digits",
    "search_path", "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
    "idle_session_timeout", "client_min_messages", "standard_conforming_strings", "timezone",
    "bytea_output", "default_transaction_read_only", "default_transaction_isolation",
    "transaction_isolation", "transaction_read_only", "jit", "plan_cache_mode",
    "row_security", "escape_string_warning", "lc_messages", "lc_monetary", "lc_numeric",
    "lc_time", "geqo", "enable_seqscan", "work_mem", "join_collapse_limit",
    "from_collapse_limit", "max_parallel_workers_per_gather", "synchronous_commit",
}

_SET = re.compile(r"^\s*SET\s+(?:(SESSION|LOCAL|GLOBAL)\s+)?(?!(?:SESSION\s+)?CHARACTERISTICS\b|"
                  r"TRANSACTION\b)(TIME\s+ZONE|[\w.\"]+)\s*(?:TO\b|=)?\s*(.*?)\s*;?\s*$",
                  re.IGNORECASE | re.DOTALL)
_RESET = re.compile(r"^\s*RESET\s+([\w.\"]+)\s*;?\s*$", re.IGNORECASE)
_SHOW = re.compile(r"^\s*SHOW\s+(.+?)\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_NO_OP = re.compile(
    r"^\s*(SAVEPOINT|RELEASE|DISCARD|SET\s+(?:SESSION\s+CHARACTERISTICS|TRANSACTION)|"
    r"CLOSE\s+ALL|UNLISTEN)\b", re.IGNORECASE)
_DECLARE = re.compile(r"^\s*DECLARE\s+\S+\s+.*\bCURSOR\b", re.IGNORECASE | re.DOTALL)
_TRANSACTION = re.compile(r"^\s*(BEGIN|START|COMMIT|END|ROLLBACK|ABORT)\b", re.IGNORECASE)
_ROLLBACK_TO = re.compile(r"^\s*ROLLBACK\s+(?:WORK\s+|TRANSACTION\s+)?TO\b", re.IGNORECASE)
_DEALLOCATE = re.compile(r"^\s*DEALLOCATE\s+(?:PREPARE\s+)?(\S+?)\s*;?\s*$", re.IGNORECASE)
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s*(\([^)]*\)\s*)?(ANALY[SZ]E\s+)?(VERBOSE\s+)?",
                      re.IGNORECASE)
_SHOW_NAMES = {"transaction isolation level": "transaction_isolation", "time zone": "timezone"}


# Server settings clients read with SHOW or current_setting (pgJDBC: max_index_keys).
_NO_SUCH_SETTING_BUT_POSTGRES_HAS = {"max_index_keys": "32", "block_size": "8192",
                                     "max_function_args": "100", "max_identifier_length": "63",
                                     "server_version_num": "160000", "ssl": "off"}


def default_settings(user: str, application: str, timeout_ms: int) -> dict[str, str]:
    return {
        "server_version": "16.0", "server_encoding": "UTF8", "client_encoding": "UTF8",
        "datestyle": "ISO, MDY", "intervalstyle": "postgres", "timezone": "UTC",
        "integer_datetimes": "on", "standard_conforming_strings": "on",
        "search_path": "main", "transaction_isolation": "read committed",
        "default_transaction_isolation": "read committed",
        "transaction_read_only": "on", "default_transaction_read_only": "on",
        "max_identifier_length": "63", "is_superuser": "off", "session_authorization": user,
        "application_name": application, "statement_timeout": str(timeout_ms),
        "lc_collate": "C", "lc_ctype": "C", "jit": "off", "max_connections": "100",
        **_NO_SUCH_SETTING_BUT_POSTGRES_HAS,
    }


def ends_transaction(sql: str) -> bool:
    """COMMIT / END / ROLLBACK / ABORT: allowed in a failed transaction."""
    return bool(re.match(r"\s*(COMMIT|END|ROLLBACK|ABORT)\b", sql, re.IGNORECASE))


def timeout_ms(value: str) -> int:
    """A statement_timeout value (`5000`, `'5s'`, `'2min'`, `0`) in milliseconds."""
    match = re.fullmatch(r"\s*'?\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h)?\s*'?\s*", value, re.I)
    if not match:
        raise PgError("22023", f'invalid value for parameter "statement_timeout": {value}')
    number, unit = float(match.group(1)), (match.group(2) or "ms").lower()
    return int(number * {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000}[unit])


# Functions refused by name: they show server paths or settings, run SQL from a string (which
# no check could see), or read files (DuckDB still lets them read its own temp directory).
DENIED_FUNCTIONS = {
    "query", "query_table", "duckdb_databases", "duckdb_settings", "current_setting",
    "duckdb_extensions", "duckdb_temporary_files", "duckdb_secrets", "which_secret",
    "duckdb_logs", "duckdb_logs_parsed", "duckdb_log_contexts", "getenv",
    "duckdb_external_file_cache", "pragma_database_list", "pragma_database_size",
    "pragma_metadata_info", "pragma_storage_info", "pragma_user_agent", "glob",
    "sniff_csv", "checkpoint", "force_checkpoint",
}
DENIED_PREFIXES = ("read_", "parquet_", "iceberg_", "delta_")
_INSPECT = """
select coalesce(j->>'error', 'false') = 'true', j->>'error_message',
       json_array_length(j->'statements'),
       regexp_extract_all(j, '"function_name":"((?:[^"\\\\]|\\\\.)*)"', 1),
       regexp_extract_all(j, '"table_name":"((?:[^"\\\\]|\\\\.)*)"', 1)
from (select json_serialize_sql($1) as j)
"""
_KIND_WORDS = {"SET": "SET (and USE) of DuckDB settings", "USE": "USE", "COPY": "COPY",
               "ATTACH": "ATTACH", "DETACH": "DETACH", "INSTALL": "INSTALL and LOAD",
               "LOAD": "INSTALL and LOAD", "PRAGMA": "PRAGMA", "EXPORT": "EXPORT DATABASE"}


def guard(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but one query, before DuckDB runs it (call in a worker thread)."""
    ((failed, message, count, functions, tables),) = con.execute(_INSPECT, [sql]).fetchall()
    if failed:
        kind = sqltext.first_word(sql)
        if kind == "EXPLAIN":  # EXPLAIN ANALYZE runs its statement: that must be a query too
            inner = _EXPLAIN.sub("", sql, count=1)
            if inner.strip():
                guard(con, inner)
            return
        if "Only SELECT" not in (message or ""):
            raise PgError(SYNTAX_ERROR, message or "syntax error")
        if kind in ("SELECT", "WITH", "FROM", "VALUES", "PIVOT", "UNPIVOT"):
            raise PgError(FEATURE_NOT_SUPPORTED, "this statement cannot be answered by brainwh "
                          "serve (PIVOT as a statement, or several statements)",
                          H="send one SELECT; PIVOT works as a subquery: "
                          "select * from (pivot ...)")
        what = _KIND_WORDS.get(kind, f"{kind or 'this kind of'} statements")
        raise PgError(READ_ONLY, f"{what} cannot be run here: this brainwh server is read-only "
                      "and answers queries (SELECT, EXPLAIN) only",
                      H="read files and change settings in your own DuckDB session instead")
    if count != 1:
        raise PgError(SYNTAX_ERROR, "send one statement at a time")
    for name in functions:
        name = json.loads(f'"{name}"').lower()
        if name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES):
            raise PgError(INSUFFICIENT_PRIVILEGE, f"{name}() is not available on this brainwh "
                          "server: it reads files, runs SQL from text or shows the server's "
                          "settings and paths", H="query the warehouse's tables and views")
    for name in tables:
        name = json.loads(f'"{name}"')
        if name.lower() in DENIED_FUNCTIONS or name.lower().startswith(DENIED_PREFIXES):
            raise PgError(INSUFFICIENT_PRIVILEGE, f"{name} is not available on this brainwh "
                          "server: it shows the server's settings and paths",
                          H="query the warehouse's tables and views")
        if any(char in name for char in "/\\.:*?"):
            raise PgError(INSUFFICIENT_PRIVILEGE, "reading files from SQL is disabled on this "
                          "brainwh server (file system operations are disabled)",
                          H="query the warehouse's tables and views")


@dataclass
class Static:
    """A statement answered without DuckDB: its tag, columns (name, OID), rows, side effect."""
    tag: str
    columns: list[tuple[str, int]] | None = None
    rows: list[tuple] = field(default_factory=list)
    effect: Callable[[], None] | None = None


def _done(tag: str, effect=None) -> Static:
    return Static(tag, None, [], effect)


def session_commands(sql: str, connection) -> Static | None:
    """SET/RESET/SHOW, transaction control and the commands with no effect; None otherwise.

    `connection` has `tx_status`, `session_vars`, `defaults` and `statements`.
    """
    sql = sql.strip()
    if match := _TRANSACTION.match(sql):
        word = match.group(1).upper()
        tag = {"START": "BEGIN", "END": "COMMIT", "ABORT": "ROLLBACK"}.get(word, word)

        def status() -> None:
            connection.tx_status = b"T" if tag == "BEGIN" else b"I"
        if not _ROLLBACK_TO.match(sql):
            return _done(tag, status)
    if _DECLARE.match(sql):
        raise PgError("0A000", "server-side cursors (DECLARE ... CURSOR) are not supported by "
                      "brainwh serve", H="results stream anyway: use a client-side cursor "
                      "(psycopg: cursor.stream(); JDBC: setFetchSize)")
    if _ROLLBACK_TO.match(sql):
        def back() -> None:
            if connection.tx_status == b"E":
                connection.tx_status = b"T"
        return _done("ROLLBACK", back)
    if _NO_OP.match(sql):
        return _done(sql.split()[0].upper())
    if match := _DEALLOCATE.match(sql):
        name = match.group(1).strip('"')
        return _done("DEALLOCATE", lambda: connection.statements.pop(name, None)
                     if name.upper() != "ALL" else None)
    if match := _SET.match(sql):
        name = " ".join(match.group(2).lower().strip('"').split())
        name = "timezone" if name == "time zone" else name
        return _set(connection, name, match.group(3).strip())
    if match := _RESET.match(sql):
        name = match.group(1).lower().strip('"')
        if name == "all":
            return _done("RESET", lambda: connection.session_vars.update(connection.defaults))
        return _set(connection, name, None)
    if match := _SHOW.match(sql):
        return _show(connection, " ".join(match.group(1).lower().strip('"').split()))
    return None


def _set(connection, name: str, value: str | None) -> Static:
    if name not in CLIENT_SETTINGS:
        raise PgError(INSUFFICIENT_PRIVILEGE,
                      f'setting "{name}" cannot be changed: this brainwh server is read-only '
                      "and its configuration is locked",
                      H="client settings such as application_name, DateStyle, search_path "
                      "and statement_timeout can be set")
    if value is None or value.upper() == "DEFAULT":
        value = connection.defaults.get(name, "")
    value = value.strip("'\"") if name != "statement_timeout" else str(timeout_ms(value))

    def apply() -> None:
        connection.session_vars[name] = value

    return _done("SET", apply)


def _show(connection, name: str) -> Static | None:
    if name == "all":
        rows = sorted(connection.session_vars.items())
        return Static("SHOW", [("name", pg.TEXT), ("setting", pg.TEXT)], rows)
    key = _SHOW_NAMES.get(name, name)
    if key not in connection.session_vars:
        return None  # SHOW TABLES and friends: DuckDB's
    return Static("SHOW", [(key, pg.TEXT)], [(connection.session_vars[key],)])
