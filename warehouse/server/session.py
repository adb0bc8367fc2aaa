"""The bridge from pg_mimic's sessions, statements and portals to DuckDB.

A client session holds a handle on one version of the warehouse file (see `handles`). Each
statement is translated once (catalog queries rewritten, everything checked by
`policy.guard`); each execution (portal) gets its own DuckDB cursor, binds the client's
parameters as values (never into the SQL text), and streams Arrow batches that `encode` turns
into DataRow messages. DuckDB work runs in a thread pool, so one slow query does not hold up
the other sessions, and is interrupted on a statement timeout or a client's cancel request.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import pyarrow as pa
from pg_mimic import Portal, ResultColumn, Session, Statement
from pg_mimic.errors import FEATURE_NOT_SUPPORTED, PgError
from pg_mimic.middleware import resolve, transaction_control

from warehouse import __version__
from warehouse.server import encode, policy, rewrite
from warehouse.server.handles import Handle, Published
from warehouse.server.pgtypes import TEXT_TYPE, PgType, param_value, pg_type

QUERY_CANCELED = "57014"
_SQLSTATES = {
    duckdb.ParserException: "42601",
    duckdb.CatalogException: "42P01",
    duckdb.BinderException: "42703",
    duckdb.ConversionException: "22P02",
    duckdb.PermissionException: "42501",
    duckdb.InvalidInputException: "22023",
    duckdb.InterruptException: QUERY_CANCELED,
    duckdb.OutOfMemoryException: "53200",
}


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


def pg_error(error: duckdb.Error) -> PgError:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    state = next((code for kind, code in _SQLSTATES.items() if isinstance(error, kind)), "XX000")
    extra = {"D": "\n".join(lines[1:])} if len(lines) > 1 else {}
    return PgError(state, lines[0] if lines else type(error).__name__, **extra)


class WarehouseSession(Session):
    middleware = (policy.session_commands, transaction_control)

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.handle: Handle | None = None
        self.control: duckdb.DuckDBPyConnection | None = None
        self.portals: set[DuckPortal] = set()

    async def init(self, connection) -> None:
        await super().init(connection)
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

    async def prepare(self, sql: str, param_oids: list[int | None]) -> Statement:
        answered = await resolve(self._connection, sql, param_oids, self.middleware)
        if answered is not None:
            return answered
        duck_sql, fallback = self.translate(sql)
        return DuckStatement(self, sql, param_oids, duck_sql, fallback)

    def translate(self, sql: str) -> tuple[str, list[str] | None]:
        """The DuckDB SQL for a client statement (catalog queries rewritten), checked.

        For a catalog query, also the names of the columns it selects: when DuckDB cannot run
        it (a corner of pg_catalog we do not model), the answer is no rows of those columns,
        which is the truth for the features we lack (publications, policies, partitions).
        """
        assert self.handle is not None and self.control is not None
        text = sql.strip().rstrip(";")
        fallback = None
        if _mentions_catalog(text):
            tree = rewrite.parse(text)
            if tree is not None and rewrite.is_catalog_query(tree, self.handle.user_tables):
                connection = self._connection
                values = rewrite.SessionValues(
                    user=connection.username, database=self.state.config.database,
                    pid=connection.pid, version=self.state.version,
                    settings=connection.session_vars)
                text = rewrite.rewrite(tree, values, self.handle.user_tables)
                fallback = rewrite.column_names(tree)
        if self.state.config.log_queries:
            shown = sql.strip()
            if text != shown.rstrip(";"):
                shown += f"\n  -> {text}"
            print(f"[{self._connection.pid}] {shown}", file=sys.stderr, flush=True)
        policy.guard(self.control, text)
        return text, fallback

    def timeout_seconds(self) -> float | None:
        value = self._connection.session_vars.get("statement_timeout", "0")
        client = int(value) if value.isdigit() else 0
        cap = self.state.config.statement_timeout_ms
        limits = [ms for ms in (client, cap) if ms > 0]
        return min(limits) / 1000 if limits else None


_CATALOG_WORDS = ("pg_", "information_schema", "version", "current_", "session_user",
                  "privilege", "to_reg", "description", "format_type", "regclass", "regtype")


def _mentions_catalog(sql: str) -> bool:
    lowered = sql.lower()
    return any(word in lowered for word in _CATALOG_WORDS)


class DuckStatement(Statement):
    def __init__(self, session: WarehouseSession, sql: str, param_oids: list[int | None],
                 duck_sql: str, fallback: list[str] | None = None) -> None:
        self.session = session
        self.sql = sql
        self.param_oids = param_oids
        self.duck_sql = duck_sql
        self.fallback = fallback
        self._pending: DuckPortal | None = None

    async def describe(self) -> list[ResultColumn] | None:
        if self._pending is None:
            if self.param_oids:  # before any Bind: the shape, with NULL parameters
                probe = DuckPortal(self, [None] * len(self.param_oids))
                try:
                    return await probe.describe()
                finally:
                    probe.close()
            self._pending = DuckPortal(self, [])
        return await self._pending.describe()

    def bind(self, params: list) -> Portal:
        pending = self._pending
        if pending is not None and not params and not pending.params and not pending.bound:
            portal = pending
        else:
            if pending is not None and not pending.bound:
                pending.close()
            oids = self.param_oids
            portal = DuckPortal(self, [param_value(oids[i] if i < len(oids) else None, value)
                                       for i, value in enumerate(params)])
        portal.bound = True
        self._pending = portal
        return portal


class DuckPortal(Portal):
    """One execution: a cursor, a lazily executed relation, an Arrow batch reader."""

    def __init__(self, statement: DuckStatement, params: list) -> None:
        self.session = statement.session
        self.sql = statement.duck_sql
        self.fallback = statement.fallback
        self.params = params
        self.bound = False
        self.cursor: duckdb.DuckDBPyConnection | None = None
        self.relation = None
        self.reader: pa.RecordBatchReader | None = None
        self.leftover: pa.RecordBatch | None = None
        self.types: list[PgType] | None = None
        self.columns: list[ResultColumn] | None = None
        self.started = 0.0
        self.exhausted = False
        self.suspended = False
        self.session.portals.add(self)

    async def describe(self) -> list[ResultColumn] | None:
        if self.cursor is None:
            await self._start()
        return self.columns

    async def _start(self) -> None:
        handle = self.session.handle
        assert handle is not None
        self.started = time.monotonic()
        self.cursor = await self.session.state.run(handle.cursor)
        try:
            self.relation = await self._call(
                lambda: self.cursor.sql(self.sql, params=self.params or None))
        except PgError as error:
            if not self.fallback or error.sqlstate not in ("42P01", "42703", "42883"):
                raise
            if self.session.state.config.log_queries:
                print(f"  (answered with no rows: {error.message})", file=sys.stderr)
            self.types = [TEXT_TYPE] * len(self.fallback)
            self.columns = [ResultColumn(name, TEXT_TYPE.oid) for name in self.fallback]
            return
        if self.relation is None:
            return
        self.types = [pg_type(kind) for kind in self.relation.types]
        self.columns = [ResultColumn(name, t.oid)
                        for name, t in zip(self.relation.columns, self.types, strict=True)]

    async def _call(self, function: Callable):
        future = asyncio.get_running_loop().run_in_executor(self.session.state.executor, function)
        timeout = self.session.timeout_seconds()
        remaining = None if timeout is None else max(0.0, self.started + timeout
                                                     - time.monotonic())
        try:
            return await asyncio.wait_for(asyncio.shield(future), remaining)
        except TimeoutError:
            self._interrupt(future)
            await _settled(future)
            raise PgError(QUERY_CANCELED, "canceling statement due to statement timeout",
                          H=f"the limit is {timeout:g} s (SET statement_timeout; "
                          "brainwh serve --statement-timeout)") from None
        except asyncio.CancelledError:
            self._interrupt(future)
            await _settled(future)
            raise
        except duckdb.Error as error:
            raise pg_error(error) from None
        except ValueError as error:  # a type pg_mimic cannot send in binary
            raise PgError(FEATURE_NOT_SUPPORTED, str(error)) from None

    def _interrupt(self, future) -> None:
        if self.cursor is not None and not future.done():
            self.cursor.interrupt()

    def _next_chunk(self, limit: int, formats: list[int]) -> tuple[bytes, int]:
        if self.reader is None:
            self.reader = self.relation.to_arrow_reader(self.session.state.config.batch_rows)
        batch, self.leftover = self.leftover, None
        while batch is None or batch.num_rows == 0:
            try:
                batch = self.reader.read_next_batch()
            except StopIteration:
                return b"", -1
        if limit and batch.num_rows > limit:
            batch, self.leftover = batch.slice(0, limit), batch.slice(limit)
        return encode.data_rows(batch, self.types, formats), batch.num_rows

    async def chunks(self, max_rows: int, formats: list[int]) -> AsyncIterator[tuple[bytes, int]]:
        """DataRow messages for up to `max_rows` rows (0: all), a batch at a time."""
        if self.cursor is None:
            await self._start()
        self.suspended = False
        sent = 0
        while self.relation is not None and not self.exhausted:
            limit = max_rows - sent if max_rows > 0 else 0
            if max_rows > 0 and limit <= 0:
                self.suspended = True
                return
            data, rows = await self._call(lambda limit=limit: self._next_chunk(limit, formats))
            if rows < 0:
                self.exhausted = True
                self.close()
                return
            sent += rows
            yield data, rows

    async def execute(self, max_rows: int) -> tuple[list[tuple], bool]:
        """pg_mimic's row interface (our connection streams `chunks` instead)."""
        raise PgError(FEATURE_NOT_SUPPORTED, "this portal streams its rows")

    def close(self) -> None:
        self.reader = None
        self.relation = None
        self.leftover = None
        if self.cursor is not None:
            try:
                self.cursor.close()
            except duckdb.Error:
                pass
        self.session.portals.discard(self)


async def _settled(future) -> None:
    try:
        await future
    except BaseException:  # noqa: BLE001 - the interrupted query's own error is expected
        pass
