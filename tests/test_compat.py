"""The published file opens in DuckDB 1.x tools; Parquet exports carry UUIDs Spark reads.

The DuckDB CLI 1.x comes from PyPI (`duckdb-cli`, the newest CLI there), installed into a
test-owned virtualenv under .test-tools/ by the set-up below; the tests skip, saying why,
only when it cannot be installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".test-tools"


@pytest.fixture(scope="session")
def duckdb_1x_cli() -> Path:
    venv = TOOLS / "duckdb-cli-1"
    cli = venv / "bin" / "duckdb"
    if not cli.exists():
        try:
            if not (venv / "bin" / "pip").exists():
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                               capture_output=True, timeout=120)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "duckdb-cli>=1.4,<2"],
                           check=True, capture_output=True, timeout=300)
        except (subprocess.SubprocessError, OSError) as error:
            shutil.rmtree(venv, ignore_errors=True)
            pytest.skip(f"cannot install the DuckDB 1.x CLI from PyPI (duckdb-cli): {error}")
    return cli


def _cli(cli: Path, db: Path, sql: str) -> str:
    done = subprocess.run([str(cli), "-readonly", "-csv", str(db), sql], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_a_built_warehouse_opens_in_the_duckdb_1x_cli(duckdb_1x_cli, tiny_db):
    import duckdb

    version = subprocess.run([str(duckdb_1x_cli), "--version"], capture_output=True,
                             text=True).stdout
    assert version.startswith("v1."), version
    local = duckdb.connect(str(tiny_db), read_only=True)
    try:
        for sql in ("select count(*) from cells",
                    "select count(*), round(sum(fraction), 6) from composition",
                    "select count(*) from compare_composition('MOp', 'STRd', 'class')",
                    "select count(*) from differential_search(['FL'], ['Str'])",
                    "select count(*) from structure_descendants('VISp', 'mouse')"):
            want = local.execute(sql).fetchone()
            got = _cli(duckdb_1x_cli, tiny_db, sql).splitlines()[1]
            assert got == ",".join(str(value) for value in want), sql
    finally:
        local.close()


@pytest.mark.slow
def test_an_ingest_into_a_published_file_keeps_it_readable(duckdb_1x_cli, tiny_db,
                                                           tiny_release, tmp_path, cli):
    db = tmp_path / "brainwh.duckdb"
    shutil.copyfile(tiny_db, db)
    result = cli("ingest", "ephys", str(tiny_release / "cell_types"), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert int(_cli(duckdb_1x_cli, db, "select count(*) from ephys_features")
               .splitlines()[1]) > 0


def test_uuids_are_exported_as_text(cli, tiny_db, tmp_path):
    import duckdb
    import pyarrow.parquet as pq

    out = tmp_path / "cells.parquet"
    result = cli("export", "select cell_label, abc_sample_id from cells order by cell_label",
                 "--out", str(out), "--db", str(tiny_db))
    assert result.exit_code == 0, result.stderr
    column = pq.ParquetFile(out).schema.column(1)
    assert column.physical_type == "BYTE_ARRAY"
    assert str(column.logical_type) == "String"  # not UUID: Spark 4 cannot read that
    local = duckdb.connect(str(tiny_db), read_only=True)
    try:
        assert local.execute("select typeof(abc_sample_id) from cells limit 1").fetchone() == \
            ("UUID",)  # the warehouse itself keeps UUIDs
        want = [str(value) for (value,) in local.execute(
            "select abc_sample_id from cells order by cell_label").fetchall()]
    finally:
        local.close()
    assert pq.read_table(out).column("abc_sample_id").to_pylist() == want
