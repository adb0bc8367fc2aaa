"""Ctrl-C (SIGINT) stops `brainwh sql` and `brainwh export` at once, with exit code 130, the
one word "interrupted", no traceback and no temporary file left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

# minutes of work: the test fails on its timeout if Ctrl-C is ignored
LONG_QUERY = ("select a.range as a, b.range as b, md5(a.range::varchar) as h "
              "from range(100000000) a, range(100) b")


def _interrupt(args: list[str], cwd, started: float = 3.0) -> tuple[int, str, float]:
    process = subprocess.Popen([sys.executable, "-m", "warehouse", *args], cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(started)  # past the imports: the query is running
        assert process.poll() is None, process.stderr.read()
        sent = time.monotonic()
        os.kill(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        return process.returncode, stderr, time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_ctrl_c_stops_a_query(tiny_db, tmp_path, fmt):
    code, stderr, seconds = _interrupt(["sql", LONG_QUERY, "--format", fmt, "--out",
                                        str(tmp_path / "out"), "--db", str(tiny_db)], tmp_path)
    assert code == 130, stderr
    assert stderr.strip() == "interrupted"
    assert seconds < 10
    assert list(tmp_path.iterdir()) == []  # neither the answer nor its temporary file


@pytest.mark.parametrize("partition", [[], ["--partition-by", "a"]])
def test_ctrl_c_stops_an_export(tiny_db, tmp_path, partition):
    code, stderr, seconds = _interrupt(["export", LONG_QUERY, "--out",
                                        str(tmp_path / "big.parquet"), *partition,
                                        "--db", str(tiny_db)], tmp_path)
    assert code == 130, stderr
    assert stderr.strip() == "interrupted"
    assert seconds < 10
    assert list(tmp_path.iterdir()) == []
