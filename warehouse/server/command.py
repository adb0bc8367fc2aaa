"""`brainwh serve`: the warehouse over the Postgres wire protocol, read-only and locked down."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import click

from warehouse import config, progress
from warehouse.errors import UsageError

PASSWORD_ENV = "BRAINWH_SERVER_PASSWORD"


async def _serve(server, host: str, port: int, announce) -> None:
    try:
        await server.start_server(host=host, port=port)
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}",
                         hint="choose another --port, or stop the program using it") from error
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sockets = server.sockets() or []
    progress.note(announce(sockets[0].getsockname()[1] if sockets else port))
    serving = asyncio.ensure_future(server.serve_forever())
    await stop.wait()
    server.close()
    serving.cancel()
    try:
        await serving
    except asyncio.CancelledError:
        pass
    progress.note("brainwh serve: stopped")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on (0.0.0.0: every interface; set a password first)")
@click.option("--port", type=click.IntRange(0, 65535), default=5433, show_default=True)
@click.option("--user", default="brainwh", show_default=True, help="the user clients connect as")
@click.option("--password", default=None, envvar=PASSWORD_ENV, show_envvar=True,
              help="require this password (SCRAM-SHA-256); without it, no password is asked")
@click.option("--statement-timeout", type=click.FloatRange(min=0), default=300.0,
              show_default=True, help="seconds a query may run (0: no limit)")
@click.option("--max-connections", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--log-queries", is_flag=True, help="print each statement (and its DuckDB "
              "translation) on stderr")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="warehouse file (default: $BRAINWH_DB, else ./brainwh.duckdb)")
def serve_command(host: str, port: int, user: str, password: str | None,
                  statement_timeout: float, max_connections: int, log_queries: bool,
                  db_path: Path | None) -> None:
    """Serve the warehouse to Postgres clients (psql, psycopg, SQLAlchemy, BI tools).

    Read-only: clients run queries; file access from SQL, COPY, ATTACH, INSTALL and SET of
    DuckDB settings are refused. Connect as --user to database `brainwh`, e.g.
    `psql "host=127.0.0.1 port=5433 user=brainwh dbname=brainwh"`. When `brainwh build`
    publishes a new file, new connections get it; open ones keep the file they started on.
    """
    from pg_mimic import ScramSha256AuthPlugin, SimpleIdentityProvider

    from warehouse.server.handles import Published
    from warehouse.server.protocol import WarehouseServer
    from warehouse.server.session import ServerConfig, ServerState

    path = config.database_path(db_path)
    published = Published(path)
    published.start()
    settings = ServerConfig(user=user, statement_timeout_ms=int(statement_timeout * 1000),
                            max_connections=max_connections, log_queries=log_queries,
                            password_required=bool(password))
    state = ServerState(published, settings)
    auth = {}
    if password:
        auth = {"auth_plugin_factory": lambda _user: ScramSha256AuthPlugin(),
                "identity_provider": SimpleIdentityProvider({user: password})}
    elif host not in ("127.0.0.1", "localhost", "::1"):
        progress.note(f"warning: serving on {host} without a password: anyone who can reach "
                      f"this port can read the warehouse (set --password or ${PASSWORD_ENV})")
    server = WarehouseServer(state, **auth)

    def announce(bound: int) -> str:
        return (f"brainwh serve: {path} on postgresql://{user}@{host}:{bound}/brainwh "
                f"(read-only{', password required' if password else ''}; pid {os.getpid()})")

    try:
        asyncio.run(_serve(server, host, port, announce))
    finally:
        state.executor.shutdown(wait=False, cancel_futures=True)
        published.close()
