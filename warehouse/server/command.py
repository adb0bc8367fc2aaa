"""`brainwh serve`: the warehouse over the Postgres wire protocol, read-only and locked down."""

from __future__ import annotations

import asyncio
import os
import re
import resource
import shutil
import signal
import tempfile
from pathlib import Path

import click

from warehouse import config, progress
from warehouse.errors import UsageError

PASSWORD_ENV = "BRAINWH_SERVER_PASSWORD"
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


class Size(click.ParamType):
    """A size such as 512MB, 4GB or 2GiB, in bytes."""
    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*", str(value), re.I)
        if not match:
            self.fail(f"{value!r} is not a size such as 512MB or 4GB", param, ctx)
        return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])


def default_memory_limit() -> int:
    """A quarter of the machine's memory, at least 1 GB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 8 * 10**9
    return max(10**9, total // 4)


def _vm_data() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cap_memory(limit: int, threads: int) -> None:
    """Make the process's data segment at most what it uses now + `limit` (+ thread stacks):
    an allocation beyond fails, and DuckDB answers that query with "out of memory"."""
    if not hasattr(resource, "RLIMIT_DATA"):
        return
    cap = _vm_data() + limit + threads * 8 * 2**20
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))


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
@click.option("--port", type=click.IntRange(0, 65535), default=5433, show_default=True,
              help="TCP port to listen on (0: a free one, printed at start; Postgres' own is 5432)")
@click.option("--user", default="brainwh", show_default=True, help="the user clients connect as")
@click.option("--password", default=None, envvar=PASSWORD_ENV, show_envvar=True,
              help="require this password (SCRAM-SHA-256); without it, no password is asked")
@click.option("--statement-timeout", type=click.FloatRange(min=0), default=300.0,
              show_default=True, help="seconds a query may run (0: no limit)")
@click.option("--max-connections", type=click.IntRange(min=1), default=32, show_default=True,
              help="logged-in clients at once")
@click.option("--login-timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="seconds a client has from connecting to being logged in")
@click.option("--max-pending", type=click.IntRange(min=1), default=64, show_default=True,
              help="connections that may be logging in at once")
@click.option("--memory-limit", type=Size(), default=None,
              help="memory the server's queries may use, e.g. 4GB (default: a quarter of RAM)")
@click.option("--temp-limit", type=Size(), default="10GB", show_default=True,
              help="disk space a query may spill to, in a private temporary folder")
@click.option("--log-queries", is_flag=True, help="print each statement (and its DuckDB "
              "translation) on stderr")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="warehouse file (default: $BRAINWH_DB, else ./brainwh.duckdb)")
def serve_command(host: str, port: int, user: str, password: str | None,
                  statement_timeout: float, max_connections: int, login_timeout: float,
                  max_pending: int, memory_limit: int | None, temp_limit: int,
                  log_queries: bool, db_path: Path | None) -> None:
    """Serve the warehouse to Postgres clients (psql, psycopg, SQLAlchemy, BI tools).

    Read-only: clients run queries; file access from SQL, COPY, ATTACH, INSTALL and SET of
    DuckDB settings are refused. Connect as --user to database `brainwh`, e.g.
    `psql "host=127.0.0.1 port=5433 user=brainwh dbname=brainwh"`. When `brainwh build`
    publishes a new file, new connections get it; open ones keep the file they started on.
    """
    from warehouse.server.handles import Published, Resources
    from warehouse.server.protocol import WarehouseServer
    from warehouse.server.session import ServerConfig, ServerState

    path = config.database_path(db_path)
    memory_limit = memory_limit or default_memory_limit()
    temp_root = Path(tempfile.mkdtemp(prefix="brainwh-serve-"))
    try:
        resources = Resources(memory_limit=memory_limit * 3 // 4, temp_root=temp_root,
                              temp_limit=temp_limit)
        published = Published(path, resources)
        published.start()
        hide = {str(path), str(path.resolve()), str(path.parent.resolve()), str(temp_root),
                str(Path(tempfile.gettempdir()).resolve()), os.getcwd()}
        settings = ServerConfig(user=user, statement_timeout_ms=int(statement_timeout * 1000),
                                max_connections=max_connections, log_queries=log_queries,
                                password_required=bool(password), login_timeout=login_timeout,
                                max_pending=max_pending, hide=sorted(hide - {"/", ""}))
        state = ServerState(published, settings)
        if not password and host not in ("127.0.0.1", "localhost", "::1"):
            progress.note(f"warning: serving on {host} without a password: anyone who can "
                          f"reach this port can read the warehouse (set --password or "
                          f"${PASSWORD_ENV})")
        server = WarehouseServer(state, password=password or None)
        cap_memory(memory_limit, max_connections + 8)

        def announce(bound: int) -> str:
            return (f"brainwh serve: {path} on postgresql://{user}@{host}:{bound}/brainwh "
                    f"(read-only{', password required' if password else ''}; memory limit "
                    f"{memory_limit / 1e9:.1f} GB; pid {os.getpid()})")

        try:
            asyncio.run(_serve(server, host, port, announce))
        finally:
            state.executor.shutdown(wait=False, cancel_futures=True)
            published.close()
    finally:
        shutil.rmtree(temp_root, ignore_errors=True)
