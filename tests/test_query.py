"""`brainwh sql`: ad-hoc SQL on a read-only connection, four formats, bound parameters."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys

import duckdb
import pyarrow.parquet as pq
import pytest

COUNT_MOP = ("select count(*) as n from cells where region_of_interest_acronym = $region "
             "and cluster_alias > $alias")


@pytest.fixture(scope="module")
def local(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    yield con
    con.close()


def _expected(local, sql: str, params=None) -> list[tuple]:
    return local.execute(sql, params or []).fetchall()


def test_query_argument_as_a_table(cli, tiny_db, local):
    result = cli("sql", "select acronym, name from structures where acronym = 'MOp' "
                 "and species = 'mouse'", "--db", str(tiny_db))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["acronym", "name"]
    assert lines[2].split(maxsplit=1) == ["MOp", "Primary motor area"]
    assert lines[-1] == "(1 row)"
    assert result.stderr == ""


def test_csv_has_every_row(cli, tiny_db, local):
    result = cli("sql", "select region_acronym, cell_type, n_cells from composition "
                 "where level = 'class' order by all", "--format", "csv", "--db", str(tiny_db))
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    want = _expected(local, "select region_acronym, cell_type, n_cells from composition "
                     "where level = 'class' order by all")
    assert rows[0] == ["region_acronym", "cell_type", "n_cells"]
    assert [(a, b, int(c)) for a, b, c in rows[1:]] == want


def test_json_is_valid_for_every_type(cli, tiny_db):
    result = cli("sql", "select [1, 2] as l, {'a': 1} as s, 'nan'::double as f, "
                 "1.50::decimal(4,2) as d, date '2024-01-02' as day, interval 1 day as i, "
                 "'ab'::blob as b, null as n, loaded_at from ingest_log limit 1",
                 "--format", "json", "--db", str(tiny_db))
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["l"] == [1, 2] and row["s"] == {"a": 1} and row["f"] is None
    assert row["d"] == "1.50" and row["day"] == "2024-01-02" and row["i"] == "1 day 00:00:00"
    assert row["b"] == "\\x6162" and row["n"] is None and row["loaded_at"].startswith("20")


def test_parquet_out_file(cli, tiny_db, tmp_path, local):
    out = tmp_path / "structures.parquet"
    result = cli("sql", "select * from structures order by structure_id", "--format", "parquet",
                 "--out", str(out), "--db", str(tiny_db))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    table = pq.read_table(out)
    assert table.num_rows == _expected(local, "select count(*) from structures")[0][0]
    assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "ZSTD"


def test_parquet_to_a_pipe(tiny_db):
    done = subprocess.run([sys.executable, "-m", "warehouse", "sql", "select 1 as x",
                           "--format", "parquet", "--db", str(tiny_db)], capture_output=True)
    assert done.returncode == 0
    assert pq.read_table(io.BytesIO(done.stdout)).to_pylist() == [{"x": 1}]


def test_query_from_a_file_and_from_stdin(cli, tiny_db, tmp_path):
    query = tmp_path / "q.sql"
    query.write_text("select 40 + 2 as answer;\n")
    for args, stdin in ((["-f", str(query)], None), (["-f", "-"], "select 42 as answer"),
                        ([], "select 42 as answer")):
        result = cli("sql", *args, "--format", "csv", "--db", str(tiny_db), input=stdin)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.splitlines() == ["\"answer\"", "42"]


def test_parameters_are_bound(cli, tiny_db, local):
    result = cli("sql", COUNT_MOP, "--param", "region=MOp", "--param", "alias=100",
                 "--format", "csv", "--db", str(tiny_db))
    assert result.exit_code == 0, result.stderr
    want = _expected(local, COUNT_MOP, {"region": "MOp", "alias": 100})[0][0]
    assert result.stdout.splitlines()[1] == str(want)
    # an injection attempt is just a value that matches nothing
    sneaky = cli("sql", COUNT_MOP, "--param", "region=MOp' or '1'='1", "--param", "alias=0",
                 "--format", "csv", "--db", str(tiny_db))
    assert sneaky.exit_code == 0, sneaky.stderr
    assert sneaky.stdout.splitlines()[1] == "0"
    # text values keep leading zeros and work where DuckDB needs a number or a date
    typed = cli("sql", "select $label as label, (select count(*) from structures "
                "where species = 'mouse' limit $n) as n,"
                " $day::date + 1 as next", "--param", "label=007", "--param", "n=3",
                "--param", "day=2024-01-31", "--format", "json", "--db", str(tiny_db))
    assert typed.exit_code == 0, typed.stderr
    assert json.loads(typed.stdout) == [{"label": "007", "n": 1327, "next": "2024-02-01"}]


def test_missing_parameter_is_one_clear_error(cli, tiny_db):
    result = cli("sql", COUNT_MOP, "--param", "region=MOp", "--db", str(tiny_db))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: query failed:")
    assert "--param" in result.stderr


def test_bad_param_syntax_is_a_usage_error(cli, tiny_db):
    result = cli("sql", "select 1", "--param", "no-equals-sign", "--db", str(tiny_db))
    assert result.exit_code == 2
    assert "is not name=value" in result.stderr


def test_sql_error_is_one_message_and_exit_1(cli, tiny_db):
    result = cli("sql", "select * from no_such_table", "--db", str(tiny_db))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: query failed: Catalog Error: Table with name "
                               "no_such_table does not exist")
    assert lines[-1].startswith("  hint:")


@pytest.mark.parametrize(("query", "duckdb_lines", "hint"), [
    ("select * from compositon", ['Did you mean "composition"?'], "`brainwh views`"),
    ("select region_acronmy from composition",
     ['Candidate bindings: "region_acronym"'], "`brainwh views`"),
    ("select * from compare_composition('MOp')",
     ["Candidate macros:", "compare_composition(a_region, b_region, at_level, of_method"],
     "`brainwh views`"),
    ("select * from ephys_by_region where layer = 5",
     ["Could not convert string", "LINE 1: ", "where layer = 5"],
     "layer is a text column"),
    ("select * from compare_composition('MOp', 'STRd', 'Class')",
     ["compare_composition: unknown level 'Class' (did you mean 'class'?"], None),
])
def test_duckdbs_own_lines_reach_the_user_then_ours(run, tiny_db, query, duckdb_lines, hint):
    for command in (["sql", query], ["export", query, "--out", "x.parquet"]):
        result = run(*command, "--db", tiny_db)
        assert result.exit_code == 1, result.stderr
        assert "Traceback" not in result.stderr
        for line in duckdb_lines:
            assert line in result.stderr, (line, result.stderr)
        hints = [n for n, line in enumerate(result.stderr.splitlines()) if "hint:" in line]
        if hint is None:
            assert not hints, result.stderr
        else:
            assert hint in result.stderr.splitlines()[-1]
            assert hints == [len(result.stderr.splitlines()) - 1]  # ours comes last


def test_the_warehouse_is_read_only_here(cli, tiny_db):
    result = cli("sql", "create table t (a integer)", "--db", str(tiny_db))
    assert result.exit_code == 1
    assert "read-only" in result.stderr and "brainwh build" in result.stderr


def test_no_warehouse_is_a_usage_error(cli, tmp_path):
    result = cli("sql", "select 1", "--db", str(tmp_path / "none.duckdb"))
    assert result.exit_code == 2
    assert "no warehouse at" in result.stderr


def test_no_query_is_a_usage_error(cli, tiny_db):
    result = cli("sql", "--db", str(tiny_db), input="")
    assert result.exit_code == 2


def test_a_writer_holding_the_file_is_exit_3(cli, tiny_db, tmp_path):
    db = tmp_path / "busy.duckdb"
    shutil.copyfile(tiny_db, db)
    writer = duckdb.connect(str(db))
    try:
        result = cli("sql", "select 1", "--db", str(db))
    finally:
        writer.close()
    assert result.exit_code == 3
    assert "in use by another process" in result.stderr


def test_readers_share_the_file(cli, tiny_db):
    """Many read-only readers at once: a notebook, the DuckDB CLI, `brainwh sql`, the server."""
    other = duckdb.connect(str(tiny_db), read_only=True)
    try:
        result = cli("sql", "select count(*) as n from structures", "--format", "csv",
                     "--db", str(tiny_db))
        assert result.exit_code == 0, result.stderr
        assert other.execute("select count(*) from structures").fetchone()[0] == \
            int(result.stdout.splitlines()[1])
    finally:
        other.close()


@pytest.mark.parametrize(("query", "notes"), [
    # a structure no dissection region lies within and no parcellation covers (CA1 and DG
    # have rows once MERFISH cells are loaded, as in the sample release)
    ("select * from composition where region_acronym = 'IPF' and level = 'class'",
     ["note: no row of composition has region_acronym = 'IPF'",
      "whole dissection region lies within it", "MERFISH cells lie in its parcellations"]),
    ("select * from regional_expression where structure_acronym = 'CB'",
     ["note: no row of regional_expression has structure_acronym = 'CB' (did you mean 'Cb'?)"]),
    ("select * from ephys_by_region e where e.layer in ('7', '5') and structure_acronym = 'ViSp'",
     ["note: no row of ephys_by_region has layer = '7' (expected one of", "'2/3'",
      "structure_acronym = 'ViSp' (did you mean 'VISp'?)"]),
])
def test_an_empty_answer_says_which_value_occurs_nowhere(run, tiny_db, query, notes):
    result = run("sql", query, "--format", "csv", "--db", tiny_db)
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1  # the header only
    for note in notes:
        assert note in result.stderr, (note, result.stderr)
    assert "layer = '5'" not in result.stderr  # values that occur get no note


def test_a_non_empty_answer_has_no_notes(run, tiny_db):
    result = run("sql", "select * from composition where region_acronym = 'MOp' limit 1",
                 "--db", tiny_db)
    assert result.exit_code == 0 and result.stderr == ""
