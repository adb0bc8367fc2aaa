"""`brainwh serve`: rows per second streaming 1M rows to psycopg, next to the same query
in-process (DuckDB's Python client fetching tuples, and Arrow).

No target is asserted; the ratio shows what the Postgres wire costs. The query is 1M rows of
`cells` when the cells bench warehouse has them, and always a 1M-row `range()` query.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.common import line, timed

ROWS = 1_000_000
SYNTHETIC = (f"select i as id, i * 7 as n, 'cell ' || i as label, i / 3.0 as x "
             f"from range({ROWS}) t(i)")
CELLS = (f"select cell_label, region_of_interest_acronym, cluster_alias, x, y "
         f"from cells limit {ROWS}")


def _warehouse(workdir: Path) -> Path:
    """The cells bench warehouse if `bench.cells` built one, else a small one built here."""
    for candidate in (workdir / "cells-bench.duckdb", workdir / "server-bench.duckdb"):
        if candidate.exists():
            return candidate
    from bench.cells import ensure_release

    release = ensure_release(workdir, "tiny")
    db = workdir / "server-bench.duckdb"
    subprocess.run([sys.executable, "-m", "warehouse", "build", str(release), "--db", str(db)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(db: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "serve", "--db", str(db), "--port", str(port),
         "--statement-timeout", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("brainwh serve did not start")


def _stop(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def run(workdir: Path, args) -> None:
    import duckdb
    import psycopg

    db = _warehouse(workdir)
    con = duckdb.connect(str(db), read_only=True)
    queries = [("range(), 4 columns", SYNTHETIC)]
    if con.execute("select count(*) from cells").fetchone()[0] >= ROWS:
        queries.append(("cells, 5 columns", CELLS))
    served = workdir / "server-served.duckdb"  # a copy, so the server holds no other bench file
    shutil.copyfile(db, served)
    port = _free_port()
    process = _start(served, port)
    dsn = f"host=127.0.0.1 port={port} user=brainwh dbname=brainwh"
    try:
        for label, query in queries:
            print(f"  {label}: {ROWS:,} rows", flush=True)
            tuples = timed(lambda q=query: con.execute(q).fetchall(), repeat=3)
            arrow = timed(lambda q=query: con.sql(q).to_arrow_table(), repeat=3)

            def fetch(binary: bool, q: str = query) -> None:
                with psycopg.connect(dsn) as client:
                    rows = client.cursor(binary=binary).execute(q).fetchall()
                    assert len(rows) == ROWS

            text = timed(lambda: fetch(False), repeat=3)
            binary = timed(lambda: fetch(True), repeat=3)
            line("in-process, DuckDB fetchall (tuples)", f"{ROWS / tuples:,.0f} rows/s")
            line("in-process, DuckDB Arrow", f"{ROWS / arrow:,.0f} rows/s")
            line("brainwh serve -> psycopg, text", f"{ROWS / text:,.0f} rows/s",
                 f"{tuples / text:.2f}x the in-process tuple rate")
            line("brainwh serve -> psycopg, binary", f"{ROWS / binary:,.0f} rows/s",
                 f"{tuples / binary:.2f}x the in-process tuple rate")
    finally:
        _stop(process)
        con.close()
        served.unlink(missing_ok=True)
