"""psql, the meta-commands people use: \\dt \\dv \\d+ \\df \\sv \\copy."""

from __future__ import annotations

import csv

import pytest
from serving import psql

pytestmark = pytest.mark.server


def test_dt_and_dv_list_tables_and_views(server, local):
    tables = {name for (name,) in local.execute(
        "select table_name from duckdb_tables() where schema_name = 'main'").fetchall()}
    out = psql(server, r"\dt")
    assert {line.split("|")[1].strip() for line in out.splitlines()
            if line.startswith(" main ")} == tables
    views = psql(server, r"\dv")
    assert " main   | composition " in views and "| view " in views


def test_d_plus_shows_types_and_comments(server):
    out = psql(server, r"\d+ composition")
    assert 'View "main.composition"' in out
    assert "n_cells" in out and "bigint" in out and "double precision" in out
    assert "cells of that type in the region" in out
    assert "View definition:" in out


def test_df_lists_the_macros_with_their_arguments(server, local):
    out = psql(server, r"\df")
    macros = {name for (name,) in local.execute(
        "select function_name from duckdb_functions() where function_type in "
        "('macro', 'table_macro') and database_name = current_database()").fetchall()}
    listed = {line.split("|")[1].strip() for line in out.splitlines()
              if line.startswith(" main ")}
    assert macros and macros == listed
    line = next(line for line in out.splitlines() if "| compare_composition " in line)
    assert "SETOF record" in line and "a_region, b_region, at_level" in line


def test_sv_prints_the_view_definition(server):
    out = psql(server, r"\sv composition")
    assert out.startswith("CREATE OR REPLACE VIEW main.composition AS")
    assert "roi_cluster_counts" in out


def test_copy_writes_csv_and_text_files(server, local, tmp_path):
    target = tmp_path / "structures.csv"
    out = psql(server, rf"\copy (select structure_id, acronym, name from structures "
               rf"where species = 'mouse' order by structure_id) to '{target}' csv header")
    want = local.execute("select structure_id, acronym, name from structures "
                         "where species = 'mouse' order by structure_id").fetchall()
    assert f"COPY {len(want)}" in out
    with open(target, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["structure_id", "acronym", "name"]
    assert [(int(a), b, c) for a, b, c in rows[1:]] == want
    text = tmp_path / "structures.tsv"
    psql(server, rf"\copy structures (acronym, depth) to '{text}'")
    lines = text.read_text().splitlines()
    assert len(lines) == local.execute("select count(*) from structures").fetchone()[0]
    assert all(len(line.split("\t")) == 2 for line in lines)
