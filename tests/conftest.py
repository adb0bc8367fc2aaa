"""Shared fixtures: an isolated home, the tiny sample release, a built warehouse, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No test reads or writes the user's ./brainwh.duckdb or $BRAINWH_DB."""
    monkeypatch.delenv("BRAINWH_DB", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def tiny_release(tmp_path_factory) -> Path:
    """The `tiny` sample release (every generator), written once per test session."""
    from ingest.sample import write_release

    directory = tmp_path_factory.mktemp("release") / "sample-tiny"
    write_release(directory, scale="tiny", seed=7)
    return directory


@pytest.fixture(scope="session")
def tiny_db(tiny_release, tmp_path_factory) -> Path:
    """A warehouse built from the tiny release. Read-only use only: copy it to change it."""
    from warehouse.build import run

    db_path = tmp_path_factory.mktemp("warehouse") / "tiny.duckdb"
    run(db_path, [str(tiny_release)], fresh=True)
    return db_path


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def brainwh(*args: str, env: dict[str, str] | None = None, input: str | None = None,
            timeout: float = 600) -> Result:
    """Run the real `brainwh` command in a subprocess (exit codes and streams as a user sees)."""
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "warehouse", *args], capture_output=True, text=True,
        env=full_env, input=input, timeout=timeout,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli():
    return brainwh


@pytest.fixture
def run(capsysbinary):
    """Run `brainwh ARGS...` in this process (its `main`, so errors map to exit codes as for a
    user): faster than `cli` for commands that need no separate process."""
    from warehouse.cli import main

    def invoke(*args: str) -> Result:
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as done:
            code = done.code or 0
        captured = capsysbinary.readouterr()
        return Result(code, captured.out.decode(), captured.err.decode())

    return invoke
