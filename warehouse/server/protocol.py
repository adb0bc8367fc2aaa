"""pg_mimic's server and connection, with what brainwh needs on top.

- Rows stream: a portal's result goes out a batch at a time with back-pressure (`drain`),
  instead of being collected into one list first, so 1M rows need no more memory than a batch.
- Who may connect: the configured user, to database `brainwh`, within the connection limit,
  checked before authentication (with a password, SCRAM-SHA-256 then checks the password).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import struct

from pg_mimic import PgServer, messages
from pg_mimic.connection import Connection, command_tag
from pg_mimic.errors import IN_FAILED_SQL_TRANSACTION, PgError
from pg_mimic.middleware import is_transaction_end
from pg_mimic.results import encode_row
from pg_mimic.stream import ConnectionClosed, PgStream

from warehouse import progress
from warehouse.server.session import DuckPortal, ServerState

# pg_mimic logs every wrong password with a traceback; brainwh logs one line per failed login.
logging.getLogger("pg_mimic.auth").setLevel(logging.ERROR)


def _fatal(code: str, message: str, hint: str | None = None) -> bytes:
    fields = {"S": "FATAL", "V": "FATAL", "C": code, "M": message}
    if hint:
        fields["H"] = hint
    return messages.make_error_response(fields)


class WarehouseConnection(Connection):
    state: ServerState

    async def _authenticate(self) -> bool:
        config = self.state.config
        refusal = None
        if self.username != config.user and config.password_required:
            # the same answer as a wrong password, so the user name cannot be guessed apart
            return await self._refuse_login()
        if self.username != config.user:
            refusal = ("28000", f'role "{self.username}" does not exist',
                       f"connect as user {config.user}")
        elif self.database != config.database:
            refusal = ("3D000", f'database "{self.database}" does not exist',
                       f"connect to database {config.database}")
        elif self.state.sessions >= config.max_connections:
            refusal = ("53300", "sorry, too many clients already",
                       f"this server takes {config.max_connections} connections "
                       "(brainwh serve --max-connections)")
        if refusal:
            self.stream.write(_fatal(*refusal))
            await self.stream.drain()
            return False
        self.state.sessions += 1
        self._counted = True
        plugin = self.server.auth_plugin_factory(self.username)
        if await plugin.authenticate(self.stream, self.username, self.server.identity_provider):
            self.stream.write(messages.make_authentication_ok())
            return True
        return await self._refuse_login()

    async def _refuse_login(self) -> bool:
        """A failed login: answered after a delay (no fast guessing), naming no valid user."""
        progress.note(f"brainwh serve: failed login for user {self.username!r}")
        await asyncio.sleep(self.state.config.auth_failure_delay)
        self.stream.write(_fatal("28P01",
                                 f'password authentication failed for user "{self.username}"'))
        await self.stream.drain()
        return False

    async def run(self) -> None:
        self._counted = False
        try:
            await super().run()
        finally:
            if self._counted:
                self.state.sessions -= 1

    async def _stream(self, portal: DuckPortal, formats: list[int], max_rows: int) -> int:
        sent = 0
        async for data, rows in portal.chunks(max_rows, formats):
            self.stream.write(data)
            sent += rows
            await self.stream.drain()
        return sent

    async def _execute_one_simple_statement(self, sql: str) -> None:
        if self.tx_status == b"E" and not is_transaction_end(sql):
            raise PgError(IN_FAILED_SQL_TRANSACTION,
                          "current transaction is aborted, commands ignored")
        if not sql.strip():
            self.stream.write(messages.make_empty_query_response())
            return
        statement = await self.session.prepare(sql, [])
        columns = await statement.describe()
        portal = statement.bind([])
        if columns is not None:
            self.stream.write(messages.make_row_description(
                [messages.FieldSpec(name=c.name, oid=c.oid, format_code=0) for c in columns]))
        if isinstance(portal, DuckPortal):
            count = await self._stream(portal, [], 0)
            portal.close()
        else:
            rows, _ = await portal.execute(0)
            for row in rows:
                self.stream.write(messages.make_data_row(encode_row(row, columns or [])))
            count = len(rows)
        tag = f"SELECT {count}" if isinstance(portal, DuckPortal) else command_tag(statement.sql,
                                                                                  count)
        self.stream.write(messages.make_command_complete(tag))

    async def _handle_bind(self, parsed) -> None:
        old = self.portals.get(parsed.portal_name)
        if old is not None and isinstance(old.portal, DuckPortal):
            old.portal.close()
        await super()._handle_bind(parsed)

    async def _handle_execute(self, parsed) -> None:
        entry = self._get_portal(parsed.portal_name)
        if not isinstance(entry.portal, DuckPortal):
            await super()._handle_execute(parsed)
            return
        if self.tx_status == b"E" and not is_transaction_end(entry.sql):
            raise PgError(IN_FAILED_SQL_TRANSACTION,
                          "current transaction is aborted, commands ignored")
        entry.rows_returned += await self._stream(entry.portal, entry.result_format_codes,
                                                  parsed.max_rows)
        if entry.portal.suspended:
            self.stream.write(messages.make_portal_suspended())
        else:
            self.stream.write(messages.make_command_complete(f"SELECT {entry.rows_returned}"))

    async def _handle_close(self, parsed) -> None:
        entry = self.portals.get(parsed.name)
        if entry is not None and isinstance(entry.portal, DuckPortal):
            entry.portal.close()
        await super()._handle_close(parsed)


class WarehouseServer(PgServer):
    """PgServer whose connections are `WarehouseConnection`s sharing one `ServerState`."""

    def __init__(self, state: ServerState, **kwargs) -> None:
        from warehouse.server.session import WarehouseSession

        super().__init__(session_factory=lambda: WarehouseSession(state),
                         server_version="16.0", **kwargs)
        self.state = state

    async def _handle_client(self, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        stream = PgStream(reader, writer)
        try:
            startup_params = await self._negotiate_startup(stream)
        except ConnectionClosed:
            return
        if startup_params is None:
            return
        session = self.session_factory()
        if inspect.isawaitable(session):
            session = await session
        pid = self._allocate_pid()
        secret = struct.unpack("!i", os.urandom(4))[0]
        connection = WarehouseConnection(stream, session, self, pid, secret, startup_params)
        connection.state = self.state
        self._connections[pid] = connection
        try:
            await connection.run()
        finally:
            self._connections.pop(pid, None)
