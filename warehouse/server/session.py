"""Sessions, statements and portals on DuckDB.

A client session holds a handle on one version of the warehouse file (see `handles`). Each
statement is translated once, in a worker thread and inside the statement timeout (catalog
queries rewritten, everything checked by `policy.guard`); describing it binds it with NULL
parameters and never runs it. Each execution (portal) gets its own DuckDB cursor, binds the
client's parameters as values (never into the SQL text), and streams Arrow batches that
`encode` turns into DataRow (or `copy` into CopyData) messages. DuckDB work runs in a thread
pool, so one slow query does not hold up the other sessions, and is interrupted on a
statement timeout or a client's cancel request.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from warehouse import __version__
from warehouse.server import copy, encode, params, policy, rewrite
from warehouse.server.handles import Handle, Published
from warehouse.server.pgmimic import (
    PgError,
    data_row,
    decode_param,
    encode_value,
    encode_value_binary,
)
from warehouse.server.pgmimic import oids as pg
from warehouse.server.pgtypes import UNKNOWN, PgType, pg_type

QUERY_CANCELED = "57014"
OUT_OF_MEMORY = "53200"
FEATURE_NOT_SUPPORTED = "0A000"
_SQLSTATES = {
    duckdb.ParserException: "42601",
    duckdb.CatalogException: "42P01",
    duckdb.BinderException: "42703",
    duckdb.ConversionException: "22P02",
    duckdb.PermissionException: "42501",
    duckdb.InvalidInputException: "22023",
    duckdb.InterruptException: QUERY_CANCELED,
    duckdb.OutOfMemoryException: OUT_OF_MEMORY,
}
MAX_CATALOG_SQL = 1024 * 1024  # catalog queries longer than this are not rewritten
LONG_SQL = 64 * 1024  # statements longer than this are parsed outside the GIL


@dataclass
class ServerConfig:
    user: str = "brainwh"
    database: str = "brainwh"
    statement_timeout_ms: int = 0  # 0: no limit
    max_connections: int = 32
    batch_rows: int = 16_384
    log_queries: bool = False
    password_required: bool = False
    auth_failure_delay: float = 0.5  # seconds before a failed login is answered (slows guessing)
    login_timeout: float = 10.0  # seconds from connect to logged in
    max_pending: int = 64  # connections not logged in yet
    max_startup_bytes: int = 10_000  # Postgres' own limit
    max_auth_bytes: int = 8_192  # SCRAM messages are ~100 bytes
    max_message_bytes: int = 64 * 2**20  # a query or Bind after login
    batch_bytes: int = 8 * 2**20  # encode big batches in slices of about this size
    hide: list[str] = field(default_factory=list)  # server paths never shown to clients


class ServerState:
    """What every session shares: the published file, the settings, the worker threads."""

    def __init__(self, published: Published, config: ServerConfig) -> None:
        self.published = published
        self.config = config
        self.executor = ThreadPoolExecutor(max_workers=config.max_connections + 2,
                                           thread_name_prefix="brainwh-sql")
        self.sessions = 0
        self.version = (f"PostgreSQL 16.0 (brainwh {__version__}, DuckDB {duckdb.__version__}) "
                        "on x86_64-pc-linux-gnu, read-only")

    async def run(self, function: Callable, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    def redact(self, text: str) -> str:
        for path in sorted(self.config.hide, key=len, reverse=True):
            if path and len(path) > 1:
                text = text.replace(path, "<server path>")
        return text


def log(text: str) -> None:
    """One log line on stderr; control characters escaped, so nothing can forge a line."""
    print(escape(text), file=sys.stderr, flush=True)


def escape(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029]",
                  lambda m: repr(m.group())[1:-1], text)


def pg_error(error: duckdb.Error, state: ServerState) -> PgError:
    lines = [line for line in state.redact(str(error)).strip().splitlines() if line.strip()]
    code = next((code for kind, code in _SQLSTATES.items() if isinstance(error, kind)), "XX000")
    extra = {"D": "\n".join(lines[1:])} if len(lines) > 1 else {}
    return PgError(code, lines[0] if lines else type(error).__name__, **extra)


@dataclass(eq=False)
class Statement:
    """A parsed statement: a DuckDB query, a COPY of one, a static answer, or empty."""
    sql: str
    kind: str  # query, copy, static, empty
    duck_sql: str = ""
    declared: list[int] = field(default_factory=list)
    param_oids: list[int] | None = None  # known after describe()
    static: policy.Static | None = None
    copy: copy.CopySpec | None = None
    columns: list[tuple[str, PgType]] | None = None  # as described to the client
    catalog: bool = False  # a rewritten catalog query


class WarehouseSession:
    def __init__(self, state: ServerState, connection) -> None:
        self.state = state
        self.connection = connection
        self.handle: Handle | None = None
        self.control: duckdb.DuckDBPyConnection | None = None
        self.portals: set[Portal] = set()

    async def open(self) -> None:
        connection = self.connection
        self.handle = await self.state.run(self.state.published.acquire)
        self.control = await self.state.run(self.handle.cursor)
        connection.defaults = policy.default_settings(
            connection.username, connection.startup_params.get("application_name", ""),
            self.state.config.statement_timeout_ms)
        connection.session_vars.update(connection.defaults)

    async def close(self) -> None:
        for portal in list(self.portals):
            portal.close()
        if self.control is not None:
            self.control.close()
        if self.handle is not None:
            self.state.published.release(self.handle)
            self.handle = None

    def timeout_seconds(self) -> float | None:
        value = self.connection.session_vars.get("statement_timeout", "0")
        client = int(value) if value.isdigit() else 0
        cap = self.state.config.statement_timeout_ms
        limits = [ms for ms in (client, cap) if ms > 0]
        return min(limits) / 1000 if limits else None

    async def timed(self, function: Callable, started: float, interrupt=None):
        """Run `function` in a worker thread within the statement timeout from `started`."""
        future = asyncio.get_running_loop().run_in_executor(self.state.executor, function)
        timeout = self.timeout_seconds()
        remaining = None if timeout is None else max(0.0, started + timeout - time.monotonic())
        try:
            return await asyncio.wait_for(asyncio.shield(future), remaining)
        except TimeoutError:
            if interrupt is not None and not future.done():
                interrupt()
            await _settled(future)
            raise PgError(QUERY_CANCELED, "canceling statement due to statement timeout",
                          H=f"the limit is {timeout:g} s (SET statement_timeout; "
                          "brainwh serve --statement-timeout)") from None
        except asyncio.CancelledError:
            if interrupt is not None and not future.done():
                interrupt()
            await _settled(future)
            raise
        except duckdb.Error as error:
            raise pg_error(error, self.state) from None
        except MemoryError:
            raise PgError(OUT_OF_MEMORY, "out of memory: the server's memory limit was reached",
                          H="ask for fewer or smaller rows (brainwh serve --memory-limit)"
                          ) from None

    # ------------------------------------------------------------------ statements

    async def prepare(self, sql: str, declared: list[int]) -> Statement:
        if not sql.strip():
            return Statement(sql, "empty")
        static = policy.session_commands(sql, self.connection)
        if static is not None:
            return Statement(sql, "static", static=static)
        spec = copy.parse(sql)
        text = spec.query if spec is not None else sql
        duck_sql, catalog = await self.timed(lambda: self.translate(text), time.monotonic())
        return Statement(sql, "copy" if spec else "query", duck_sql=duck_sql,
                         declared=[0 if oid == UNKNOWN else oid for oid in declared],
                         copy=spec, catalog=catalog)

    def translate(self, sql: str) -> tuple[str, bool]:
        """The DuckDB SQL for a client statement (catalog queries rewritten), checked.

        Runs in a worker thread: a megabyte of SQL must not stall the other sessions.
        """
        assert self.handle is not None and self.control is not None
        text = sql.strip().rstrip(";")
        catalog = False
        if len(text) <= MAX_CATALOG_SQL and rewrite.mentions_catalog(text):
            tree = rewrite.parse(text)
            if tree is None and rewrite.names_catalog(text, self.handle.user_tables):
                raise PgError(FEATURE_NOT_SUPPORTED, "brainwh serve cannot read this catalog "
                              "query (its SQL parser does not know part of its syntax)",
                              H="please report this query")
            if tree is not None and rewrite.is_catalog_query(tree, self.handle.user_tables):
                connection = self.connection
                values = rewrite.SessionValues(
                    user=connection.username, database=self.state.config.database,
                    pid=connection.pid, version=self.state.version,
                    settings=connection.session_vars)
                text = rewrite.rewrite(tree, values, self.handle.user_tables)
                catalog = True
        if self.state.config.log_queries:
            shown = sql.strip()
            if text != shown.rstrip(";"):
                shown += f" -> {text}"
            log(f"[{self.connection.pid}] {shown[:10_000]}")
        policy.guard(self.control, text)
        return text, catalog

    async def param_types(self, statement: Statement) -> list[int]:
        """Each parameter's OID: as declared, else from where it stands (never by running)."""
        if statement.param_oids is None:
            if statement.kind in ("query", "copy"):
                assert self.handle is not None
                columns = self.handle.columns
                statement.param_oids = await self.timed(
                    lambda: params.infer(statement.duck_sql, statement.declared, columns),
                    time.monotonic())
            else:
                statement.param_oids = [oid or pg.TEXT for oid in statement.declared]
        return statement.param_oids

    async def describe(self, statement: Statement) -> tuple[list[int], list | None]:
        """Parameter OIDs and result columns for a client's Describe, without running it.

        The columns come from binding the query with a sample value of each parameter's type;
        the rows sent later are encoded as described, whatever the bound values turn out.
        """
        oids = await self.param_types(statement)
        if statement.columns is None and statement.kind == "query":
            probe = Portal(self, statement, [params.sample(oid) for oid in oids], [], [])
            try:
                await probe.start(execute=False)
                statement.columns = probe.columns
            finally:
                probe.close()
        if statement.kind == "static" and statement.static.columns is not None:
            return oids, [(name, PgType(oid, "")) for name, oid in statement.static.columns]
        return oids, statement.columns

    def bind(self, statement: Statement, raw: list[bytes | None], formats: list[int],
             result_formats: list[int]) -> Portal:
        oids = statement.param_oids or statement.declared
        values, untyped = [], []
        for index, data in enumerate(raw):
            oid = oids[index] if index < len(oids) else 0
            binary = (formats[0] if len(formats) == 1 else
                      formats[index] if index < len(formats) else 0) == 1
            if data is None:
                values.append(None)
                continue
            if binary and not oid:
                raise PgError(FEATURE_NOT_SUPPORTED, f"binary parameter ${index + 1} needs a "
                              "type: declare it, or send it as text")
            try:
                text = decode_param(oid, data, binary)
            except (ValueError, UnicodeError) as error:
                raise PgError("22P03", f"invalid value for parameter ${index + 1}: {error}"
                              ) from None
            declared = statement.declared[index] if index < len(statement.declared) else 0
            if not declared and oid in (0, pg.TEXT) and isinstance(text, str):
                untyped.append(index)
            values.append(params.value(oid, text))
        return Portal(self, statement, values, untyped, result_formats)


class Portal:
    """One execution: a cursor, a lazily executed relation, an Arrow batch reader."""

    def __init__(self, session: WarehouseSession, statement: Statement, values: list,
                 untyped: list[int], formats: list[int]) -> None:
        self.session = session
        self.statement = statement
        self.params = values
        self.untyped = untyped
        self.formats = formats
        self.cursor: duckdb.DuckDBPyConnection | None = None
        self.relation = None
        self.reader: pa.RecordBatchReader | None = None
        self.leftover: pa.RecordBatch | None = None
        self.types: list[PgType] | None = None
        self.names: list[str] = []
        self.columns: list[tuple[str, PgType]] | None = None
        self.started = 0.0
        self.sent = 0
        self.header_sent = False
        self.ended = False  # the reader has no more batches
        self.exhausted = False
        self.suspended = False
        if statement.kind == "static" and statement.static.columns is not None:
            self.columns = [(n, PgType(oid, "")) for n, oid in statement.static.columns]
        session.portals.add(self)

    @property
    def copy(self) -> copy.CopySpec | None:
        return self.statement.copy

    async def describe(self) -> list[tuple[str, PgType]] | None:
        if self.statement.kind == "query" and self.cursor is None:
            await self.start(execute=True)
        return self.columns

    async def start(self, execute: bool) -> None:
        session = self.session
        handle = session.handle
        assert handle is not None
        self.started = time.monotonic()
        for _attempt in range(len(self.untyped) + 1):
            try:
                await session.timed(lambda: self._open(execute), self.started, self._interrupt)
                break
            except PgError as error:
                if error.sqlstate not in ("22P02", "42703", "42601", "22023") \
                        or not self._reread(error.message):
                    raise self._explain(error) from None
        if self.relation is None:
            return
        described = self.statement.columns
        if described is not None and len(described) == len(self.types):
            self.types = [t for _, t in described]  # what the client was told it gets
        self.columns = [(name, t) for name, t in zip(self.names, self.types, strict=True)]

    def _open(self, execute: bool) -> None:
        """Bind (and with `execute`, start) the query: in a worker thread, as is everything
        that touches the relation (DuckDB binds its schema again when it is first read)."""
        if self.cursor is None:
            self.cursor = self.session.handle.cursor()
        sql = self.statement.duck_sql
        if len(sql) > LONG_SQL and not self.params:
            # DuckDB's relation API parses holding Python's GIL (a 2 MB query: ~1 s of every
            # other session's time); execute() parses without it, into a view read back
            self.cursor.execute(f"create or replace temp view bw_long_query as {sql}")
            sql = "select * from bw_long_query"
        self.relation = self.cursor.sql(sql, params=self.params or None)
        if self.relation is not None:
            self.names = list(self.relation.columns)
            self.types = [pg_type(kind) for kind in self.relation.types]
        if execute and self.relation is not None:
            self.reader = self.relation.to_arrow_reader(self.session.state.config.batch_rows)
            try:
                self.leftover = self.reader.read_next_batch()
            except StopIteration:
                self.leftover = None
                self.ended = True

    def _reread(self, message: str) -> bool:
        """After DuckDB refused a value: read untyped ones the Postgres way, if that helps."""
        changed = False
        lists = any(word in message.lower() for word in ("[]", "list", "unnest", "array"))
        for index in list(self.untyped):
            text = self.params[index]
            if not isinstance(text, str) or not (text in message or
                                                 (lists and text.lstrip().startswith("{"))):
                continue
            other = params.reread(text, message if text in message else "[]")
            if other is not None:
                self.untyped.remove(index)
                self.params[index] = other
                changed = True
        if changed:
            self.close_cursor_only()
        return changed

    def _explain(self, error: PgError) -> PgError:
        if not self.statement.catalog or error.sqlstate not in ("42P01", "42703", "42883",
                                                                "XX000"):
            return error
        return PgError(FEATURE_NOT_SUPPORTED, "this catalog query uses a part of pg_catalog "
                       f"that brainwh serve does not emulate: {error.message}",
                       H="brainwh serve answers the catalog queries of psql, JDBC, SQLAlchemy "
                       "and common BI tools; please report this query")

    def _interrupt(self) -> None:
        if self.cursor is not None:
            self.cursor.interrupt()

    def _encode(self, batch: pa.RecordBatch) -> bytes:
        spec = self.copy
        if spec is None:
            return encode.data_rows(batch, self.types, self.formats)
        first = b""
        if not self.header_sent:
            first = copy.header(spec, [name for name, _ in self.columns])
            self.header_sent = True
        return copy.copy_data(batch, self.types, spec, first)

    def _next_chunk(self, limit: int) -> tuple[bytes, int]:
        if self.reader is None:
            self.reader = self.relation.to_arrow_reader(self.session.state.config.batch_rows)
        batch, self.leftover = self.leftover, None
        if batch is None and self.ended:
            return b"", -1
        while batch is None or batch.num_rows == 0:
            try:
                batch = self.reader.read_next_batch()
            except StopIteration:
                return b"", -1
        rows = batch.num_rows
        if batch.nbytes > self.session.state.config.batch_bytes and rows > 1:
            rows = max(1, rows * self.session.state.config.batch_bytes // batch.nbytes)
        if limit and limit < rows:
            rows = limit
        if rows < batch.num_rows:
            batch, self.leftover = batch.slice(0, rows), batch.slice(rows)
        elif batch.num_rows < self.session.state.config.batch_rows:
            try:  # a small result: learn now that it has ended, saving a round trip
                self.leftover = self.reader.read_next_batch()
            except StopIteration:
                self.ended = True
        return self._encode(batch), batch.num_rows

    async def chunks(self, max_rows: int) -> AsyncIterator[bytes]:
        """Messages for up to `max_rows` rows (0: all), a batch at a time."""
        if self.statement.kind == "static":
            yield self._static_rows()
            self.exhausted = True
            return
        if self.cursor is None and not self.exhausted:
            await self.start(execute=True)
        self.suspended = False
        sent = 0
        while self.relation is not None and not self.exhausted:
            limit = max_rows - sent if max_rows > 0 else 0
            if max_rows > 0 and limit <= 0:
                self.suspended = True
                return
            data, rows = await self.session.timed(
                lambda limit=limit: self._next_chunk(limit), self.started, self._interrupt)
            if rows < 0:
                self.exhausted = True
                if self.copy is not None and not self.header_sent:
                    self.header_sent = True
                    first = copy.header(self.copy, [name for name, _ in self.columns or []])
                    if first:
                        yield copy.copy_data(None, [], self.copy, first)
                self.close()
                return
            sent += rows
            self.sent += rows
            yield data
            if self.ended and self.leftover is None:  # no round trip to learn the end
                self.exhausted = True
                self.close()
                return

    def _static_rows(self) -> bytes:
        static = self.statement.static
        if static.effect is not None:
            static.effect()
        out = []
        for row in static.rows:
            self.sent += 1
            fields = []
            for index, value in enumerate(row):
                oid = static.columns[index][1]
                code = self.formats[0] if len(self.formats) == 1 else (
                    self.formats[index] if self.formats else 0)
                fields.append(None if value is None else
                              encode_value_binary(oid, value) if code == 1 else
                              encode_value(oid, value).encode())
            out.append(fields)
        return b"".join(data_row(fields) for fields in out)

    def tag(self) -> str:
        if self.statement.kind == "static":
            return self.statement.static.tag
        return f"{'COPY' if self.copy is not None else 'SELECT'} {self.sent}"

    def close_cursor_only(self) -> None:
        self.reader = None
        self.relation = None
        self.leftover = None
        if self.cursor is not None:
            try:
                self.cursor.close()
            except duckdb.Error:
                pass
            self.cursor = None

    def close(self) -> None:
        self.close_cursor_only()
        self.session.portals.discard(self)


async def _settled(future) -> None:
    try:
        await future
    except BaseException:  # noqa: BLE001 - the interrupted query's own error is expected
        pass

