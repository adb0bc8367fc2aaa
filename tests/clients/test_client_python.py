"""Python drivers: psycopg 3 and psycopg2 (lists, dates, COPY), asyncpg, pg8000 and
SQLAlchemy's reflection on pg8000."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import io

import pytest
from conftest import need

pytestmark = pytest.mark.server

MOP = "select count(*) from cells where region_of_interest_acronym = {r} and cluster_alias > {n}"


def _count(local, sql: str, params=None):
    return local.execute(sql, params or []).fetchone()[0]


# ----------------------------------------------------------------------------- psycopg 3

def test_psycopg_lists_go_where_lists_go(server, local):
    import psycopg

    want = local.execute("select gene_symbol from differential_search(['FL'], ['Str']) "
                         "order by gene_symbol").fetchall()
    with psycopg.connect(server.dsn()) as con:
        got = con.execute("select gene_symbol from differential_search(%s, %s) "
                          "order by gene_symbol", [["FL"], ["Str"]]).fetchall()
        assert got == want and got
        ids = con.execute("select structure_id from structures where acronym = any(%s) "
                          "order by 1", [["MOp", "VISp"]]).fetchall()
        assert len(ids) == 2
        assert con.execute("select %s::integer[]", [[1, 2, None]]).fetchone() == ([1, 2, None],)
        # a text that looks like an array stays text where text goes
        assert con.execute("select %s || ''", ["{a,b}"]).fetchone() == ("{a,b}",)


def test_psycopg_arrays_in_binary_both_ways(server, local):
    import psycopg

    with psycopg.connect(server.dsn()) as con:
        assert con.execute("select %b::int[], %b::text[], %b", [
            [1, 2, None], ["a", "b c"], [dt.date(2000, 1, 1)]]).fetchone() == \
            ([1, 2, None], ["a", "b c"], [dt.date(2000, 1, 1)])
        assert con.execute("select count(*) from differential_search(%b, %b)",
                           [["FL"], ["Str"]]).fetchone() == local.execute(
            "select count(*) from differential_search(['FL'], ['Str'])").fetchone()
        assert con.cursor(binary=True).execute(
            "select [1, 2]::int[], ['a', null], [date '2000-01-01']").fetchone() == \
            ([1, 2], ["a", None], [dt.date(2000, 1, 1)])


def test_psycopg_dates_and_timestamps(server):
    import psycopg

    with psycopg.connect(server.dsn()) as con:
        row = con.execute("select %s::date + 1, %s + interval 1 hour, %s",
                          [dt.date(1999, 12, 31), dt.datetime(2024, 1, 2, 3, 4, 5),
                           dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)]).fetchone()
    assert row[:2] == (dt.date(2000, 1, 1), dt.datetime(2024, 1, 2, 4, 4, 5))
    assert row[2] == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize("options", ["", "(format csv, header)", "(format binary)"])
def test_psycopg_copy_to_stdout(server, local, options):
    import psycopg

    query = "select structure_id, acronym, depth, null::date as d from structures " \
            "where species = 'mouse' order by structure_id"
    want = local.execute(query).fetchall()
    with psycopg.connect(server.dsn()) as con:
        with con.cursor().copy(f"copy ({query}) to stdout {options}") as copy:
            if "binary" in options:
                copy.set_types(["int8", "text", "int4", "date"])
                rows = list(copy.rows())
            elif "csv" in options:
                text = b"".join(bytes(chunk) for chunk in copy).decode()
                lines = text.splitlines()
                assert lines[0] == "structure_id,acronym,depth,d"
                rows = [(int(a), b, int(c), d or None) for a, b, c, d in
                        (line.split(",") for line in lines[1:])]
            else:
                rows = [(int(a), b, int(c), d) for a, b, c, d in copy.rows()]
    assert rows == want


def test_psycopg_copy_of_a_table_and_refusals(server, local):
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as con:
        with con.cursor().copy("copy structures (acronym) to stdout") as copy:
            assert len(list(copy.rows())) == _count(local, "select count(*) from structures")
        for sql in ("copy structures to '/tmp/x.csv'", "copy structures from stdin"):
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction, match="read-only"):
                with con.cursor().copy(sql):
                    pass
        assert con.execute("select 1").fetchone() == (1,)


# ------------------------------------------------------------------------------ psycopg2

def test_psycopg2_arrays_dates_and_copy(server, local):
    import psycopg2

    con = psycopg2.connect(server.dsn())
    try:
        cursor = con.cursor()
        cursor.execute("select count(*) from structures where acronym = any(%s)",
                       (["MOp", "VISp"],))
        assert cursor.fetchone() == (2,)
        cursor.execute("select %s::date + 1", (dt.date(2000, 2, 28),))
        assert cursor.fetchone() == (dt.date(2000, 2, 29),)
        out = io.StringIO()
        cursor.copy_expert("copy (select acronym, depth from structures order by structure_id "
                           "limit 3) to stdout with csv header", out)
        want = local.execute("select acronym, depth from structures order by structure_id "
                             "limit 3").fetchall()
        assert out.getvalue().splitlines() == ["acronym,depth"] + [f"{a},{d}" for a, d in want]
    finally:
        con.close()


# -------------------------------------------------------------------------------- asyncpg

def test_asyncpg_parameters_arrays_and_copy(server, local):
    asyncpg = need("asyncpg")

    async def run():
        con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                    database="brainwh")
        try:
            count = await con.fetchval(MOP.format(r="$1", n="$2"), "MOp", 100)
            day = await con.fetchval("select $1::date + 1", dt.date(2024, 2, 28))
            acronyms = await con.fetch("select acronym from structures "
                                       "where acronym = any($1::text[]) order by 1",
                                       ["MOp", "VISp"])
            limited = await con.fetch("select structure_id from structures where depth > $1 "
                                      "order by structure_id limit $2", 3, 5)
            statement = await con.prepare("select structure_id, acronym, depth from structures "
                                          "where structure_id = $1")
            types = [(a.name, a.type.name) for a in statement.get_attributes()]
            params = [p.name for p in statement.get_parameters()]
            row = await statement.fetchrow(385)
            buffer = io.BytesIO()
            await con.copy_from_query("select acronym, depth from structures "
                                      "order by structure_id limit 2", output=buffer,
                                      format="csv")
            return count, day, acronyms, limited, types, params, row, buffer.getvalue()
        finally:
            await con.close()

    count, day, acronyms, limited, types, params, row, copied = asyncio.run(run())
    assert count == _count(local, MOP.format(r="?", n="?"), ["MOp", 100])
    assert day == dt.date(2024, 2, 29)
    assert [r[0] for r in acronyms] == ["MOp", "VISp"]
    assert len(limited) == 5
    assert types == [("structure_id", "int8"), ("acronym", "text"), ("depth", "int4")]
    assert params == ["int8"]
    assert row is None or row["structure_id"] == 385
    want = local.execute("select acronym, depth from structures order by structure_id "
                         "limit 2").fetchall()
    assert copied.decode().splitlines() == [f"{a},{d}" for a, d in want]


# -------------------------------------------------------------------- pg8000, SQLAlchemy

def test_pg8000_native_and_dbapi(server, local):
    need("pg8000")
    import pg8000.dbapi
    import pg8000.native

    con = pg8000.native.Connection(server.user, host=server.host, port=server.port,
                                   database="brainwh")
    try:
        assert con.run(MOP.format(r=":r", n=":n"), r="MOp", n=100) == \
            [[_count(local, MOP.format(r="?", n="?"), ["MOp", 100])]]
        assert con.run("select :d::date + 1, :x * 2.0, :s || '!'", d=dt.date(2000, 1, 1),
                       x=decimal.Decimal("1.5"), s="a") == \
            [[dt.date(2000, 1, 2), decimal.Decimal("3.00"), "a!"]]
    finally:
        con.close()
    db = pg8000.dbapi.connect(server.user, host=server.host, port=server.port,
                              database="brainwh")
    try:
        cursor = db.cursor()
        cursor.execute("select acronym from structures where structure_id = %s", (385,))
        assert [tuple(row) for row in cursor.fetchall()] == local.execute(
            "select acronym from structures where structure_id = 385").fetchall()
    finally:
        db.close()


def test_sqlalchemy_reflection_on_pg8000(server, local):
    need("pg8000")
    import sqlalchemy

    engine = sqlalchemy.create_engine(server.url("pg8000"))
    try:
        inspector = sqlalchemy.inspect(engine)
        tables = set(inspector.get_table_names())
        assert {"cells", "structures", "ingest_log"} <= tables
        assert "composition" in inspector.get_view_names()
        columns = {c["name"]: c for c in inspector.get_columns("composition")}
        assert isinstance(columns["n_cells"]["type"], sqlalchemy.BigInteger)
        assert columns["n_cells"]["comment"] == "cells of that type in the region"
        assert inspector.get_pk_constraint("structures")["constrained_columns"] == []
        assert inspector.get_foreign_keys("cells") == []
        assert inspector.get_indexes("structures") == []
        table = sqlalchemy.Table("structures", sqlalchemy.MetaData(), autoload_with=engine)
        with engine.connect() as con:
            count = con.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(table)
                                .where(table.c.depth > sqlalchemy.bindparam("d"))
                                , {"d": 3}).scalar()
        assert count == _count(local, "select count(*) from structures where depth > 3")
    finally:
        engine.dispose()
