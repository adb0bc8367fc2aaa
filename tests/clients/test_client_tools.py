"""pgcli's start-up queries, the ADBC PostgreSQL driver, connectorx and polars."""

from __future__ import annotations

import pytest
from conftest import need

pytestmark = pytest.mark.server


def test_pgcli_start_up_queries_and_special_commands(server, local):
    need("pgcli")
    need("pgspecial")
    from pgcli.pgexecute import PGExecute
    from pgspecial.main import PGSpecial

    executor = PGExecute("brainwh", server.user, None, server.host, server.port, "")
    tables = {name for (name,) in local.execute(
        "select table_name from duckdb_tables() where schema_name = 'main'").fetchall()}
    try:  # what pgcli's completer loads when it starts
        assert "main" in executor.search_path()
        assert "main" in executor.schemata()
        assert {name for _, name in executor.tables()} == tables
        assert "composition" in {name for _, name in executor.views()}
        columns = list(executor.table_columns())
        assert ("main", "structures", "acronym", "text", False, None) in columns
        assert any(row[1] == "composition" for row in executor.view_columns())
        functions = {f.func_name for f in executor.functions()}
        assert {"compare_composition", "differential_search"} <= functions
        assert list(executor.datatypes()) == []
        assert list(executor.foreignkeys()) == []
        assert executor.databases() == ["brainwh"]
        list(executor.casing())
        special = PGSpecial()
        title, rows, headers, *_ = next(iter(executor.run(r"\dt", pgspecial=special)))
        assert {row[1] for row in rows} == tables
        _, rows, *_ = next(iter(executor.run(r"\d structures", pgspecial=special)))
        assert ["acronym", "text", ""] in [list(row) for row in rows]
    finally:
        executor.conn.close()


def test_adbc_driver(server, local):
    need("adbc_driver_postgresql", "adbc-driver-postgresql")
    import adbc_driver_postgresql.dbapi as adbc

    uri = f"postgresql://{server.user}@{server.host}:{server.port}/brainwh"
    with adbc.connect(uri) as con:
        cursor = con.cursor()
        cursor.execute("select structure_id, acronym, depth from structures "
                       "where depth > $1 order by structure_id", parameters=(3,))
        table = cursor.fetch_arrow_table()
        cursor.close()
        objects = con.adbc_get_objects(depth="tables").read_all().to_pylist()
        schema = con.adbc_get_table_schema("structures", db_schema_filter="main")
    want = local.execute("select structure_id, acronym, depth from structures "
                         "where depth > 3 order by structure_id").fetchall()
    assert list(zip(*[table.column(i).to_pylist() for i in range(3)], strict=True)) == want
    names = {t["table_name"] for o in objects for s in o["catalog_db_schemas"] or []
             for t in s["db_schema_tables"] or []}
    assert {"cells", "structures", "composition"} <= names
    assert schema.field("structure_id").type == "int64"


@pytest.mark.parametrize("protocol", ["binary", "csv", "cursor"])
def test_connectorx(server, local, protocol):
    cx = need("connectorx")
    uri = f"postgresql://{server.user}@{server.host}:{server.port}/brainwh"
    query = "select structure_id, acronym, depth, color_hex_triplet from structures"
    table = cx.read_sql(uri, query, return_type="arrow", protocol=protocol)
    want = local.execute(query).fetchall()
    got = list(zip(*[table.column(i).to_pylist() for i in range(4)], strict=True))
    assert sorted(got, key=str) == sorted(want, key=str)


def test_polars_read_database_uri(server, local):
    import polars as pl

    need("connectorx")
    uri = f"postgresql://{server.user}@{server.host}:{server.port}/brainwh"
    frame = pl.read_database_uri("select * from composition where level = 'class'", uri)
    assert frame.shape == local.sql(
        "select * from composition where level = 'class'").pl().shape
