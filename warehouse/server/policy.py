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
"""

from __future__ import annotations

import re

import duckdb
from pg_mimic import PgError, ResultColumn, StaticStatement
from pg_mimic.types import TEXT

READ_ONLY = "25006"
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
_ROLLBACK_TO = re.compile(r"^\s*ROLLBACK\s+(?:WORK\s+|TRANSACTION\s+)?TO\b", re.IGNORECASE)
_DEALLOCATE = re.compile(r"^\s*DEALLOCATE\s+(?:PREPARE\s+)?(\S+?)\s*;?\s*$", re.IGNORECASE)
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s*(\([^)]*\)\s*)?(ANALY[SZ]E\s+)?(VERBOSE\s+)?",
                      re.IGNORECASE)
_SHOW_NAMES = {"transaction isolation level": "transaction_isolation", "time zone": "timezone"}


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
    }


def timeout_ms(value: str) -> int:
    """A statement_timeout value (`5000`, `'5s'`, `'2min'`, `0`) in milliseconds."""
    match = re.fullmatch(r"\s*'?\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h)?\s*'?\s*", value, re.I)
    if not match:
        raise PgError("22023", f'invalid value for parameter "statement_timeout": {value}')
    number, unit = float(match.group(1)), (match.group(2) or "ms").lower()
    return int(number * {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000}[unit])


def guard(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but one query, before DuckDB runs it."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as error:
        raise PgError(SYNTAX_ERROR, str(error).strip()) from None
    if len(statements) != 1:
        raise PgError(SYNTAX_ERROR, "send one statement at a time")
    kind = statements[0].type.name
    if kind == "EXPLAIN":  # EXPLAIN ANALYZE runs its statement: that must be a query too
        inner = _EXPLAIN.sub("", statements[0].query, count=1)
        if inner.strip():
            guard(con, inner)
        return
    if kind not in ALLOWED_TYPES:
        words = {"SET": "SET (and USE) of DuckDB settings", "COPY": "COPY",
                 "ATTACH": "ATTACH", "LOAD": "INSTALL and LOAD", "PRAGMA": "PRAGMA",
                 "EXPORT": "EXPORT DATABASE"}
        what = words.get(kind, f"{kind} statements")
        raise PgError(READ_ONLY, f"{what} cannot be run here: this brainwh server is read-only "
                      "and answers queries (SELECT, EXPLAIN) only",
                      H="read files and change settings in your own DuckDB session instead")


def _done(tag: str, effect=None) -> StaticStatement:
    return StaticStatement(tag, None, [], effect)


async def session_commands(ctx) -> StaticStatement | None:
    """Middleware for pg_mimic: SET/RESET/SHOW and the transaction commands with no effect."""
    sql = ctx.sql
    connection = ctx.connection
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


def _set(connection, name: str, value: str | None) -> StaticStatement:
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


def _show(connection, name: str) -> StaticStatement | None:
    if name == "all":
        rows = sorted(connection.session_vars.items())
        return StaticStatement("SHOW", [ResultColumn("name", TEXT), ResultColumn("setting", TEXT)],
                               rows)
    key = _SHOW_NAMES.get(name, name)
    if key not in connection.session_vars:
        return None  # SHOW TABLES and friends: DuckDB's
    return StaticStatement("SHOW", [ResultColumn(key, TEXT)], [(connection.session_vars[key],)])
