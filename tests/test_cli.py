"""The command line as a user meets it: exit codes, streams, status, views, demo, publication."""

from __future__ import annotations

import shutil
import threading

import pytest

from tests.helpers import snapshot
from warehouse import publish


def test_help_lists_every_command(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("demo", "sample", "build", "ingest", "sql", "views", "status"):
        assert command in result.stdout


def test_usage_errors_exit_2(cli, tmp_path):
    assert cli("ingest", "nonsense", "x").exit_code == 2
    result = cli("sql", "select 1", "--db", str(tmp_path / "absent.duckdb"))
    assert result.exit_code == 2
    assert "no warehouse at" in result.stderr and "brainwh build" in result.stderr


def test_status_reports_tables_files_versions(cli, tiny_db):
    result = cli("status", "--db", str(tiny_db))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "cells" in out and "structures" in out and "composition" in out
    assert "metadata/WMB-10X/20241115/cell_metadata.csv" in out
    assert "WMB-10X 20241115" in out and "taxonomy CCN20230722" in out
    assert "md5 " in out and "bytes" in out


def test_views_lists_questions(cli):
    result = cli("views")
    assert result.exit_code == 0
    assert "composition  [view]" in result.stdout
    assert "compare_composition(region_a, region_b, level[, method])  [macro]" in result.stdout
    assert "grain:" in result.stdout


def test_catalog_carries_the_view_documentation(tiny_db):
    import duckdb

    con = duckdb.connect(str(tiny_db), read_only=True)
    (comment,) = con.execute("select comment from duckdb_views() where view_name = "
                             "'composition'").fetchone()
    assert "cell-type composition" in comment and "Grain:" in comment
    column_comment = con.execute("select comment from duckdb_columns() where table_name = "
                                 "'composition' and column_name = 'fraction'").fetchone()[0]
    assert "region's cells" in column_comment
    (macro_comment,) = con.execute("select distinct comment from duckdb_functions() where "
                                   "function_name = 'compare_composition'").fetchone()
    assert "enriched" in macro_comment
    con.close()


def test_sql_stdout_is_data_only(cli, tiny_db):
    result = cli("sql", "select count(*) as n from cells", "--db", str(tiny_db), "--format", "csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ['"n"', "3000"]
    assert result.stderr == ""


def test_failed_build_leaves_the_published_file_untouched(cli, tiny_db, tiny_release, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copyfile(tiny_db, db)
    before = snapshot(db)
    broken = tmp_path / "release"
    shutil.copytree(tiny_release, broken)
    cells = next(broken.rglob("cell_metadata.csv"))
    cells.write_text(cells.read_text().replace("WMB-10Xv3,", "WMB-10Xv3,oops,", 1))
    result = cli("build", str(broken), "--db", str(db))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert snapshot(db) == before
    assert publish.staging_files(db) == []


def test_second_writer_is_refused_with_exit_3(cli, tiny_release, tmp_path):
    db = tmp_path / "w.duckdb"
    entered, release = threading.Event(), threading.Event()

    def hold():
        with publish.build_lock(db):
            entered.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert entered.wait(10)
        result = cli("build", str(tiny_release), "--db", str(db))
        assert result.exit_code == 3
        assert "another build or ingest is already writing" in result.stderr
    finally:
        release.set()
        holder.join()
    assert not db.exists()


def test_build_replaces_atomically_and_cleans_leftovers(cli, tiny_release, tmp_path):
    db = tmp_path / "w.duckdb"
    leftover = db.with_name(f".{db.name}{publish.STAGING_MARK}99999")
    leftover.write_bytes(b"a killed build's file")
    result = cli("build", str(tiny_release), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert db.exists() and publish.staging_files(db) == []


def test_db_from_environment(cli, tiny_db):
    result = cli("sql", "select count(*) from structures where species = 'mouse'",
                 "--format", "csv", env={"BRAINWH_DB": str(tiny_db)})
    assert result.exit_code == 0 and result.stdout.splitlines()[1] == "1327"


@pytest.mark.slow
def test_demo_prints_the_three_answers(cli, tmp_path):
    result = cli("demo", "--data", str(tmp_path / "data"), "--scale", "tiny")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "Composition of MOp at subclass level" in out
    assert "MOp vs STRd" in out
    assert "Classes of Isocortex" in out
    assert "01 IT-ET Glut" in out and "Next, try:" in out
    assert (tmp_path / "brainwh.duckdb").exists()  # where every later command looks
