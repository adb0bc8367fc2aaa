"""Starting and stopping real `brainwh serve` processes for the server tests.

Each server is a subprocess on 127.0.0.1 with a free port, stopped by its PID (SIGTERM, then
SIGKILL) when the test or module is done.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    user: str = "brainwh"
    host: str = "127.0.0.1"

    def dsn(self, **extra: str) -> str:
        fields = {"host": self.host, "port": str(self.port), "user": self.user,
                  "dbname": "brainwh", "connect_timeout": "10", **extra}
        return " ".join(f"{key}={value}" for key, value in fields.items())

    def url(self, driver: str = "psycopg", password: str | None = None) -> str:
        secret = f":{password}" if password else ""
        return f"postgresql+{driver}://{self.user}{secret}@{self.host}:{self.port}/brainwh"

    def stderr(self) -> str:
        return self._stderr_path.read_text() if self._stderr_path.exists() else ""


def wait_for_port(process: subprocess.Popen, port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"brainwh serve exited with {process.returncode}:\n"
                               f"{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"brainwh serve did not listen on {port}:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    """Stop a server we started, by its PID."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def serving(db: Path, *args: str, env: dict[str, str] | None = None,
            log_dir: Path | None = None) -> Iterator[Server]:
    port = free_port()
    log_dir = log_dir or db.parent
    stderr_path = log_dir / f"serve-{port}.log"
    full_env = {key: value for key, value in os.environ.items()
                if key != "BRAINWH_SERVER_PASSWORD"}
    full_env.update(env or {})
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "warehouse", "serve", "--db", str(db), "--port", str(port),
             *args],
            cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=stderr)
    server = Server(port=port, process=process)
    server._stderr_path = stderr_path
    try:
        wait_for_port(process, port, stderr_path)
        yield server
    finally:
        stop(process)


@contextmanager
def http_service(command: list[str], log_dir: Path, name: str) -> Iterator[str]:
    """A server process on 127.0.0.1 (the free port replaces `{port}` in `command`), stopped
    by its PID; yields its base URL."""
    port = free_port()
    log = log_dir / f"{name}-{port}.log"
    with open(log, "w") as out:
        process = subprocess.Popen([part.format(port=port) for part in command], stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for_port(process, port, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def moto_server(log_dir: Path):
    """A moto S3 server; yields its endpoint URL."""
    return http_service([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                         "{port}"], log_dir, "moto")


def static_files(root: Path, log_dir: Path):
    """`python -m http.server` over `root` (index pages list folders)."""
    return http_service([sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1",
                         "--directory", str(root)], log_dir, "http")


def psql(server: Server, *commands: str) -> str:
    """Run psql's `-c` commands against a running server; skip when psql is not installed."""
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed (apt-get install postgresql-client; `make test` "
                    "tries this)")
    args = ["psql", server.dsn(), "-X", "-v", "ON_ERROR_STOP=1"]
    for command in commands:
        args += ["-c", command]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ERROR" not in done.stderr, done.stderr
    return done.stdout
