"""pgJDBC (DBeaver, Metabase, Tableau, DataGrip): DatabaseMetaData and prepared statements.

One JVM run (JdbcConformance.java, launched as a single-file program) makes every check and
prints one line each; the tests below read those lines.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server, pytest.mark.slow]

PROGRAM = Path(__file__).with_name("JdbcConformance.java")


@pytest.fixture(scope="module")
def results(server, java_and_jdbc, tmp_path_factory) -> dict[str, tuple[bool, str]]:
    java, jar = java_and_jdbc
    url = f"jdbc:postgresql://{server.host}:{server.port}/brainwh?user={server.user}" \
          "&sslmode=disable"
    done = subprocess.run([java, "-cp", str(jar), str(PROGRAM), url], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path_factory.mktemp("jdbc"))
    assert done.returncode == 0, done.stderr
    out = {}
    for line in done.stdout.splitlines():
        status, name, value = (line.split(" ", 2) + [""])[:3]
        out[name] = (status == "ok", value)
    return out


def ok(results, name: str) -> str:
    passed, value = results[name]
    assert passed, f"{name}: {value}"
    return value


def test_metadata_lists_catalog_schemas_tables_views(results, local):
    assert ok(results, "catalogs") == "[brainwh]"
    assert "main" in ok(results, "schemas")
    tables = [name for (name,) in local.execute(
        "select table_name from duckdb_tables() where schema_name = 'main' "
        "order by table_name").fetchall()]
    assert ok(results, "tables") == "[" + ", ".join(tables) + "]"
    assert "composition" in ok(results, "views")
    assert ok(results, "table_types").startswith("[")


def test_metadata_columns_with_types_and_remarks(results):
    columns = ok(results, "columns")
    assert "structure_id:int8:-5" in columns and "acronym:text:12" in columns
    assert "depth:int4:4" in columns
    assert ok(results, "view_column_remarks") == "cells of that type in the region"
    assert ok(results, "table_remarks") == "true"


@pytest.mark.parametrize("name", ["primary_keys", "imported_keys", "exported_keys",
                                  "cross_reference", "index_info", "best_row"])
def test_keys_and_indexes_are_answered_empty(results, name):
    assert ok(results, name) == "0"  # the warehouse declares no keys or indexes


def test_type_info_functions_and_the_rest(results):
    assert int(ok(results, "type_info")) >= 20
    functions = ok(results, "functions")
    assert "compare_composition" in functions and "differential_search" in functions
    # the result, three arguments and the optional method
    assert ok(results, "function_columns") == "5"
    for name in ("procedures", "udts", "privileges", "version_columns", "keywords",
                 "product"):
        ok(results, name)


def test_prepared_statements_of_every_common_type(results):
    assert ok(results, "prepared_types") == \
        "42|42|MOp!|1.5|12.34|2000-01-02|2024-01-02 03:04:05.0|true|true"
    assert ok(results, "date_parameter") == "true|1999-12-31"


def test_prepared_statements_server_side_metadata_arrays_macros(results, local):
    want = local.execute("select count(*) from cells where region_of_interest_acronym = 'MOp' "
                         "and cluster_alias > 100").fetchone()[0]
    assert ok(results, "prepared_columns") == str(want)
    assert ok(results, "parameter_metadata") == "3:int8,text,int8"
    assert ok(results, "result_metadata") == "2:int8,text"
    assert ok(results, "array_parameter") == "2"
    want = local.execute("select count(*) from compare_composition('MOp', 'STRd', 'class')"
                         ).fetchone()[0]
    assert ok(results, "macro_call") == str(want)
    assert ok(results, "fetch_size") == "25000"
    assert ok(results, "error_then_continue") == "42P01:1"
