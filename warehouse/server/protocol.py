"""The Postgres wire protocol: limits before login, the login, the message loop.

Before login a client is a stranger, and costs little: at most `max_pending` connections may
be logging in at once (others are refused at once), each has `login_timeout` seconds from
connect to logged in, the startup packet may be at most 10,000 bytes (Postgres' limit) and
each password message a few kilobytes; nothing larger is ever read into memory. With a
password, every user name gets the same SCRAM-SHA-256 challenge and a failed login the same
answer after the same delay, so the user list cannot be probed. A connection slot
(`max_connections`) is taken only after login, so stalled strangers never lock users out.

After login, messages are read up to `max_message_bytes`; each runs as a task that a
CancelRequest can cancel. Rows stream a batch at a time with back-pressure (`drain`).
A client that goes away mid-result ends its session quietly; an unexpected error is one log
line and a generic message to the client, never Python's text.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import struct

from warehouse.server import copy as copy_out
from warehouse.server import pgmimic as wire
from warehouse.server import policy, sqltext
from warehouse.server.pgmimic import PgError, unpack_int32
from warehouse.server.session import (
    OUT_OF_MEMORY,
    Portal,
    ServerState,
    Statement,
    WarehouseSession,
    escape,
    log,
)

PROTOCOL_VIOLATION = "08P01"
IN_FAILED_TRANSACTION = "25P02"
INVALID_NAME = "26000"
TOO_MANY = "53300"


class Closed(Exception):
    """The client went away."""


class Refused(Exception):
    """Login refused; the FATAL message has been sent."""


def fatal(code: str, message: str, hint: str | None = None) -> bytes:
    fields = {"S": "FATAL", "V": "FATAL", "C": code, "M": message}
    if hint:
        fields["H"] = hint
    return wire.error_response(fields)


def error(err: PgError) -> bytes:
    return wire.error_response({"S": "ERROR", "V": "ERROR", "C": err.sqlstate, "M": err.message,
                                **err.fields})


class Stream:
    """Framed reads with size limits, and writes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exactly(self, n: int) -> bytes:
        try:
            return await self.reader.readexactly(n)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as err:
            raise Closed from err

    async def read_message(self, limit: int) -> tuple[bytes, bytes]:
        header = await self.exactly(5)
        length = unpack_int32(header, 1)
        if length < 4:
            raise PgError(PROTOCOL_VIOLATION, "invalid message length")
        if length - 4 > limit:
            raise PgError("54000", f"message of {length} bytes is larger than this server "
                          f"accepts ({limit} bytes)")
        return header[:1], await self.exactly(length - 4) if length > 4 else b""

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    async def drain(self) -> None:
        try:
            await self.writer.drain()
        except (ConnectionError, OSError) as err:
            raise Closed from err


class _AuthStream:
    """What the SCRAM exchange reads and writes through: password messages size-limited."""

    def __init__(self, stream: Stream, limit: int) -> None:
        self.stream, self.limit = stream, limit

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    async def drain(self) -> None:
        await self.stream.drain()

    async def read_message(self) -> tuple[bytes, bytes]:
        try:
            return await self.stream.read_message(self.limit)
        except PgError as err:  # a frame too large to read is not a wrong password
            raise UnreadableFrame(err) from None


class UnreadableFrame(Exception):
    """A login message that cannot be read (too large, bad length): the connection's end."""

    def __init__(self, err: PgError) -> None:
        super().__init__(err.message)
        self.err = err


class WarehouseServer:
    """Listens, logs clients in within the limits, runs a `Connection` for each."""

    def __init__(self, state: ServerState, password: str | None = None) -> None:
        self.state = state
        self.password = password
        self.pending = 0
        self.connections: dict[int, Connection] = {}
        self._next_pid = 10_000
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start_server(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, host=host, port=port,
                                                  limit=2**16)

    def sockets(self):
        return self._server.sockets if self._server is not None else None

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            close_clients = getattr(self._server, "close_clients", None)
            if close_clients is not None:
                close_clients()
        for task in list(self._tasks):
            task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        stream = Stream(reader, writer)
        try:
            await self._client(stream)
        except (Closed, Refused, ConnectionError, OSError, asyncio.CancelledError):
            pass
        except Exception as err:  # noqa: BLE001 - one line, never a traceback or a crash
            log(f"brainwh serve: internal error: {type(err).__name__}: {err}")
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _client(self, stream: Stream) -> None:
        config = self.state.config
        if self.pending >= config.max_pending:
            await self._refuse(stream, TOO_MANY, "too many connections are logging in",
                               "try again in a few seconds")
        self.pending += 1
        try:
            async with asyncio.timeout(config.login_timeout):
                login = await self._login(stream)
        except TimeoutError:
            await self._refuse(stream, "08006", "canceling authentication due to timeout",
                               f"log in within {config.login_timeout:g} s")
        finally:
            self.pending -= 1
        if login is None:
            return
        if self.state.sessions >= config.max_connections:
            await self._refuse(stream, TOO_MANY, "sorry, too many clients already",
                               f"this server takes {config.max_connections} connections "
                               "(brainwh serve --max-connections)")
        self.state.sessions += 1
        pid = self._next_pid
        self._next_pid += 1
        connection = Connection(self, stream, pid, login)
        self.connections[pid] = connection
        try:
            await connection.run()
        finally:
            self.connections.pop(pid, None)
            self.state.sessions -= 1

    async def _refuse(self, stream: Stream, code: str, message: str, hint: str | None = None):
        stream.write(fatal(code, message, hint))
        try:
            async with asyncio.timeout(1):
                await stream.drain()
        except TimeoutError:
            pass
        raise Refused

    async def _startup(self, stream: Stream) -> dict[str, str] | None:
        config = self.state.config
        for _ in range(3):  # SSLRequest, GSSENCRequest, then the startup packet
            length = unpack_int32(await stream.exactly(4))
            if length < 8 or length > config.max_startup_bytes:
                await self._refuse(stream, PROTOCOL_VIOLATION, "invalid length of startup packet")
            body = await stream.exactly(length - 4)
            code, payload = unpack_int32(body), body[4:]
            if code in (wire.SSL_REQUEST, wire.GSSENC_REQUEST):
                stream.write(b"N")  # no TLS: the client may go on in the clear
                await stream.drain()
                continue
            if code == wire.CANCEL_REQUEST:
                pid, secret = wire.parse_cancel_request(payload)
                target = self.connections.get(pid)
                if target is not None and target.secret == secret:
                    target.cancel()
                return None
            major, minor = code >> 16, code & 0xFFFF
            if major != 3:
                await self._refuse(stream, "0A000", f"unsupported frontend protocol {major}."
                                   f"{minor}: server supports 3.0 to 3.0")
            try:
                startup = wire.parse_startup_message(payload)
            except (ValueError, UnicodeError, IndexError):
                await self._refuse(stream, PROTOCOL_VIOLATION, "invalid startup packet layout")
            unknown = [key for key in startup if key.startswith("_pq_.")]
            if minor > 0 or unknown:  # NegotiateProtocolVersion: we speak 3.0, no options
                body = wire.pack_int32(3 << 16) + wire.pack_int32(len(unknown)) + b"".join(
                    key.encode() + b"\0" for key in unknown)
                stream.write(wire.message(b"v", body))
            return {key: value for key, value in startup.items() if not key.startswith("_pq_.")}
        await self._refuse(stream, PROTOCOL_VIOLATION, "expected a startup packet")

    async def _login(self, stream: Stream) -> dict[str, str] | None:
        config = self.state.config
        startup = await self._startup(stream)
        if startup is None:
            return None
        user = startup.get("user", "")
        database = startup.get("database") or user
        if not user:
            await self._refuse(stream, "28000", "no user name specified in startup packet")
        if self.password:
            # every user name gets the same exchange; an unknown one a password nobody knows
            expected = self.password if user == config.user else secrets.token_hex(32)
            try:
                accepted = await wire.scram_login(_AuthStream(stream, config.max_auth_bytes),
                                                  expected)
            except UnreadableFrame as unreadable:
                log(f"brainwh serve: login message refused for user {user!r}: {unreadable}")
                await self._refuse(stream, unreadable.err.sqlstate, unreadable.err.message)
            if not accepted:
                log(f"brainwh serve: failed login for user {user!r}")
                await asyncio.sleep(config.auth_failure_delay)
                await self._refuse(stream, "28P01",
                                   f'password authentication failed for user "{user}"')
        elif user != config.user:
            await self._refuse(stream, "28000", f'role "{user}" does not exist',
                               f"connect as user {config.user}")
        if database != config.database:
            await self._refuse(stream, "3D000", f'database "{database}" does not exist',
                               f"connect to database {config.database}")
        return startup


class Connection:
    """One logged-in client: its session, prepared statements, portals and message loop."""

    def __init__(self, server: WarehouseServer, stream: Stream, pid: int,
                 startup: dict[str, str]) -> None:
        self.server = server
        self.state: ServerState = server.state
        self.stream = stream
        self.pid = pid
        self.secret = struct.unpack("!i", os.urandom(4))[0]
        self.startup_params = startup
        self.username = startup.get("user", "")
        self.tx_status = b"I"
        self.session_vars: dict[str, str] = {}
        self.defaults: dict[str, str] = {}
        self.statements: dict[str, Statement] = {}
        self.portals: dict[str, Portal] = {}
        self.session = WarehouseSession(self.state, self)
        self._task: asyncio.Task | None = None
        self._cancelled = False
        self._skip_to_sync = False

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._cancelled = True
            self._task.cancel()

    async def run(self) -> None:
        try:
            await self.session.open()
            self.stream.write(wire.authentication_ok())
            status = {"server_version": "16.0", "server_encoding": "UTF8",
                      "client_encoding": "UTF8", "DateStyle": "ISO, MDY",
                      "IntervalStyle": "postgres", "integer_datetimes": "on",
                      "standard_conforming_strings": "on", "TimeZone": "UTC",
                      "is_superuser": "off", "session_authorization": self.username,
                      "application_name": self.startup_params.get("application_name", "")}
            for name, value in status.items():
                self.stream.write(wire.parameter_status(name, value))
            self.stream.write(wire.backend_key_data(self.pid, self.secret))
            self.stream.write(wire.ready_for_query(self.tx_status))
            await self.stream.drain()
            await self._loop()
        finally:
            await self.session.close()

    async def _loop(self) -> None:
        limit = self.state.config.max_message_bytes
        while True:
            try:
                tag, payload = await self.stream.read_message(limit)
            except PgError as err:  # too large or malformed: nothing more can be read
                self.stream.write(fatal(err.sqlstate, err.message))
                await self.stream.drain()
                return
            if tag == wire.TERMINATE:
                return
            if self._skip_to_sync and tag != wire.SYNC:
                continue
            self._cancelled = False
            self._task = asyncio.ensure_future(self._dispatch(tag, payload))
            try:
                await self._task
            except asyncio.CancelledError:
                if not self._cancelled:
                    raise
                self._fail(PgError("57014", "canceling statement due to user request"), tag)
            finally:
                self._task = None
            if tag in (wire.QUERY, wire.SYNC):
                self._skip_to_sync = False
                self.stream.write(wire.ready_for_query(self.tx_status))
            await self.stream.drain()

    def _fail(self, err: PgError, tag: bytes) -> None:
        self.stream.write(error(err))
        if self.tx_status != b"I":
            self.tx_status = b"E"
        if tag != wire.QUERY:
            self._skip_to_sync = True

    async def _dispatch(self, tag: bytes, payload: bytes) -> None:
        try:
            if tag == wire.QUERY:
                await self._simple_query(wire.parse_query(payload))
            elif tag == wire.PARSE:
                await self._parse(wire.parse_parse(payload))
            elif tag == wire.BIND:
                await self._bind(wire.parse_bind(payload))
            elif tag == wire.DESCRIBE:
                await self._describe(wire.parse_describe(payload))
            elif tag == wire.EXECUTE:
                await self._execute(wire.parse_execute(payload))
            elif tag == wire.CLOSE:
                self._close(wire.parse_close(payload))
            elif tag in (wire.SYNC, wire.FLUSH, wire.COPY_DATA, wire.COPY_DONE, wire.COPY_FAIL):
                pass  # Postgres ignores copy-in messages outside a COPY FROM
            else:
                raise PgError(PROTOCOL_VIOLATION, f"unsupported message type {escape(repr(tag))}")
        except PgError as err:
            self._fail(err, tag)
        except (Closed, asyncio.CancelledError):
            raise
        except MemoryError:
            self._fail(PgError(OUT_OF_MEMORY, "out of memory: the server's memory limit was "
                               "reached"), tag)
        except (ValueError, IndexError, struct.error, UnicodeError):
            self._fail(PgError(PROTOCOL_VIOLATION, "malformed message"), tag)
        except Exception as err:  # noqa: BLE001 - a bug: one log line, a generic answer
            log(f"brainwh serve: [{self.pid}] internal error: {type(err).__name__}: {err}")
            self._fail(PgError("XX000", "internal error in brainwh serve (see the server's "
                               "log)"), tag)

    # ------------------------------------------------------------------ simple query

    async def _simple_query(self, sql: str) -> None:
        statements = [text for text in sqltext.split(sql) if text.strip()]
        if not statements:
            self.stream.write(wire.empty_query_response())
            return
        for text in statements:
            self._check_transaction(text)
            statement = await self.session.prepare(text, [])
            portal = self.session.bind(statement, [], [], [])
            try:
                await self._run_portal(portal, 0, describe=True)
            finally:
                portal.close()

    def _check_transaction(self, sql: str) -> None:
        if self.tx_status == b"E" and not policy.ends_transaction(sql):
            raise PgError(IN_FAILED_TRANSACTION,
                          "current transaction is aborted, commands ignored")

    async def _run_portal(self, portal: Portal, max_rows: int, describe: bool) -> None:
        if portal.statement.kind == "empty":
            self.stream.write(wire.empty_query_response())
            return
        columns = await portal.describe()
        if portal.copy is not None:
            if portal.cursor is None:
                await portal.start(execute=True)
            self.stream.write(copy_out.out_response(portal.copy, len(portal.columns or [])))
        elif describe and columns is not None:
            self.stream.write(wire.row_description(_fields(columns, portal.formats)))
        async for data in portal.chunks(max_rows):
            self.stream.write(data)
            await self.stream.drain()
        if portal.suspended:
            self.stream.write(wire.portal_suspended())
            return
        if portal.copy is not None:
            trailer = copy_out.trailer(portal.copy)
            if trailer:
                self.stream.write(wire.message(b"d", trailer))
            self.stream.write(wire.message(b"c"))
        self.stream.write(wire.command_complete(portal.tag()))

    # ---------------------------------------------------------------- extended query

    async def _parse(self, parsed) -> None:
        if len(parsed.param_oids) > 65_535:
            raise PgError(PROTOCOL_VIOLATION, "too many parameters")
        statement = await self.session.prepare(parsed.sql, parsed.param_oids)
        if parsed.statement_name:
            old = self.statements.get(parsed.statement_name)
            if old is not None:
                raise PgError("42P05", f'prepared statement "{parsed.statement_name}" '
                              "already exists")
        self.statements[parsed.statement_name] = statement
        self.stream.write(wire.parse_complete())

    def _statement(self, name: str) -> Statement:
        try:
            return self.statements[name]
        except KeyError:
            raise PgError(INVALID_NAME, f'prepared statement "{name}" does not exist') from None

    def _portal(self, name: str) -> Portal:
        try:
            return self.portals[name]
        except KeyError:
            raise PgError(INVALID_NAME, f'portal "{name}" does not exist') from None

    async def _bind(self, parsed) -> None:
        statement = self._statement(parsed.statement_name)
        if statement.param_oids is None and statement.kind in ("query", "copy"):
            binary = any(code == 1 for code in parsed.param_format_codes)
            undeclared = len(parsed.params) > len([o for o in statement.declared if o])
            if binary and undeclared:  # decoding binary needs the types we would describe
                await self.session.param_types(statement)
        old = self.portals.pop(parsed.portal_name, None)
        if old is not None:
            old.close()
        portal = self.session.bind(statement, parsed.params, parsed.param_format_codes,
                                   parsed.result_format_codes)
        self.portals[parsed.portal_name] = portal
        self.stream.write(wire.bind_complete())

    async def _describe(self, parsed) -> None:
        if parsed.kind == wire.TARGET_STATEMENT:
            statement = self._statement(parsed.name)
            oids, columns = await self.session.describe(statement)
            self.stream.write(wire.parameter_description(oids))
            formats: list[int] = []
        else:
            portal = self._portal(parsed.name)
            if portal.copy is not None:
                self.stream.write(wire.no_data())
                return
            columns = await portal.describe()
            formats = portal.formats
        if columns is None or (parsed.kind == wire.TARGET_STATEMENT
                               and self._statement(parsed.name).kind == "copy"):
            self.stream.write(wire.no_data())
        else:
            self.stream.write(wire.row_description(_fields(columns, formats)))

    async def _execute(self, parsed) -> None:
        portal = self._portal(parsed.portal_name)
        self._check_transaction(portal.statement.sql)
        await self._run_portal(portal, parsed.max_rows if parsed.max_rows > 0 else 0,
                               describe=False)

    def _close(self, parsed) -> None:
        if parsed.kind == wire.TARGET_STATEMENT:
            self.statements.pop(parsed.name, None)
        else:
            portal = self.portals.pop(parsed.name, None)
            if portal is not None:
                portal.close()
        self.stream.write(wire.close_complete())


def _fields(columns, formats: list[int]) -> list:
    specs = []
    for index, (name, pgtype) in enumerate(columns):
        code = formats[0] if len(formats) == 1 else (formats[index] if formats else 0)
        specs.append(wire.FieldSpec(name=name, oid=pgtype.oid, type_modifier=pgtype.typmod,
                                    format_code=code))
    return specs

