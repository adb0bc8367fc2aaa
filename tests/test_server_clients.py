"""`brainwh serve` with real Postgres clients: psql, psycopg 3, psycopg2, SQLAlchemy, pandas."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import decimal

import duckdb
import pytest
from serving import psql, serving

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(tiny_db, tmp_path_factory):
    with serving(tiny_db, log_dir=tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.fixture(scope="module")
def local(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    yield con
    con.close()


def _count(local, sql: str, params=None) -> int:
    return local.execute(sql, params or []).fetchone()[0]


# ------------------------------------------------------------------------------ psql

def test_psql_lists_tables(server, local):
    out = psql(server, r"\dt")
    for table in ("cells", "structures", "cell_types", "ingest_log"):
        assert f" main   | {table} " in out
    assert "composition" not in out


def test_psql_lists_views(server):
    out = psql(server, r"\dv")
    assert " main   | composition " in out
    assert "| view " in out
    assert " cells " not in out


def test_psql_describes_a_view_with_column_types_and_comments(server):
    out = psql(server, r"\d composition")
    assert 'View "main.composition"' in out
    assert "region_acronym" in out and "text" in out
    assert "n_cells" in out and "bigint" in out
    assert "double precision" in out
    described = psql(server, r"\d+ composition")
    assert "cells of that type in the region" in described  # the column comment


def test_psql_runs_a_query(server, local):
    out = psql(server, "select count(*) as n from cells where region_of_interest_acronym = 'MOp'")
    expected = _count(local, "select count(*) from cells where region_of_interest_acronym = 'MOp'")
    assert f" {expected}\n" in out
    assert "(1 row)" in out


# ---------------------------------------------------------------------------- psycopg 3

def test_psycopg_binds_text_number_and_date_parameters(server, local):
    import psycopg

    with psycopg.connect(server.dsn()) as con:
        row = con.execute(
            "select count(*) from cells where region_of_interest_acronym = %s "
            "and cluster_alias > %s", ["MOp", 100]).fetchone()
        assert row[0] == _count(local, "select count(*) from cells where "
                                "region_of_interest_acronym = 'MOp' and cluster_alias > 100")
        assert con.execute("select %s::date + 1, %s + 1, %s || '!', %s * 2",
                           [dt.date(2024, 1, 31), 41, "MOp", 1.25]).fetchone() == \
            (dt.date(2024, 2, 1), 42, "MOp!", 2.5)
        # a value is bound, never pasted into the SQL
        assert con.execute("select count(*) from cells where region_of_interest_acronym = %s",
                           ["MOp' or '1'='1"]).fetchone() == (0,)


def test_psycopg_prepared_statements(server, local):
    import psycopg

    sql = "select n_cells from composition where region_acronym = %s and level = %s " \
          "order by n_cells desc limit 1"
    with psycopg.connect(server.dsn(), prepare_threshold=0) as con:
        for region in ("MOp", "STRd", "MOp", "HIP"):
            got = con.execute(sql, [region, "class"], prepare=True).fetchone()
            want = local.execute(sql.replace("%s", "?"), [region, "class"]).fetchone()
            assert got == want
        macro = con.execute("select cell_type, difference from compare_composition(%s, %s, %s) "
                            "order by difference desc limit 1", ["MOp", "STRd", "class"],
                            prepare=True).fetchone()
        assert macro[1] > 0


def test_psycopg_binary_results(server):
    import psycopg

    with psycopg.connect(server.dsn()) as con:
        cursor = con.cursor(binary=True)
        row = cursor.execute(
            "select 1::integer, 2::bigint, 'x', 1.5::double, date '2024-01-02', "
            "1.25::decimal(5,2), true, [1, 2], timestamp '2024-01-02 03:04:05'").fetchone()
    assert row == (1, 2, "x", 1.5, dt.date(2024, 1, 2), decimal.Decimal("1.25"), True, [1, 2],
                   dt.datetime(2024, 1, 2, 3, 4, 5))
    with psycopg.connect(server.dsn()) as con:
        rows = con.cursor(binary=True).execute(
            "select * from (values (-7::smallint, date '1969-07-20', "
            "timestamptz '1969-07-20 20:17:40+00', false, -0.5::float), "
            "(null, null, null, null, null)) t(a, b, c, d, e) order by a nulls last").fetchall()
    assert rows == [(-7, dt.date(1969, 7, 20), dt.datetime(1969, 7, 20, 20, 17, 40, tzinfo=dt.UTC),
                     False, -0.5), (None, None, None, None, None)]


def test_psycopg_types_and_nulls(server):
    import psycopg

    with psycopg.connect(server.dsn()) as con:
        row = con.execute("select [1, 2] as l, {'a': 1} as s, interval '1 day 3 hours' as i, "
                          "'ab'::blob as b, null as n, 'nan'::double as f, "
                          "timestamptz '2024-01-02 03:04:05+00' as z").fetchone()
    assert row[:5] == ([1, 2], {"a": 1}, dt.timedelta(days=1, hours=3), b"ab", None)
    assert row[5] != row[5]  # NaN
    assert row[6] == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_psycopg_streams_a_large_result(server):
    import psycopg

    with psycopg.connect(server.dsn()) as con:
        cursor = con.execute("select i, i * 2 as twice, 'row ' || i as label "
                             "from range(200000) t(i)")
        rows = cursor.fetchall()
    assert len(rows) == 200_000
    assert rows[-1] == (199_999, 399_998, "row 199999")


def test_client_side_streaming_and_no_server_side_cursors(server):
    import psycopg

    with psycopg.connect(server.dsn()) as con:
        assert sum(1 for _ in con.cursor().stream("select * from range(50000)")) == 50_000
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="server-side cursors"):
            with con.cursor(name="named") as cursor:
                cursor.execute("select 1")


def test_sql_errors_are_clear_and_the_session_goes_on(server):
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as con:
        with pytest.raises(psycopg.errors.UndefinedTable, match="nope"):
            con.execute("select * from nope")
        assert con.execute("select 1").fetchone() == (1,)


# ------------------------------------------------------------------------------- psycopg2

def test_psycopg2_parameters_and_results(server, local):
    import psycopg2

    con = psycopg2.connect(server.dsn())
    try:
        cursor = con.cursor()
        cursor.execute("select count(*) from cells where donor_sex = %s and x > %s",
                       ("F", 1.5))
        assert cursor.fetchone()[0] == _count(
            local, "select count(*) from cells where donor_sex = 'F' and x > 1.5")
        cursor.execute("select %s + interval 1 day, %s", (dt.date(2024, 1, 1), "a'b"))
        assert cursor.fetchone() == (dt.datetime(2024, 1, 2), "a'b")
    finally:
        con.close()


# ---------------------------------------------------------------------- SQLAlchemy, pandas

@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_sqlalchemy_inspector(server, local, driver):
    import sqlalchemy

    engine = sqlalchemy.create_engine(server.url(driver))
    try:
        inspector = sqlalchemy.inspect(engine)
        assert "main" in inspector.get_schema_names()
        tables = inspector.get_table_names()
        assert {"cells", "structures", "cell_types", "ingest_log"} <= set(tables)
        assert "composition" not in tables
        assert {"composition"} <= set(inspector.get_view_names())
        columns = {c["name"]: c for c in inspector.get_columns("structures")}
        want = [name for (name,) in local.execute(
            "select column_name from duckdb_columns() where table_name = 'structures' "
            "order by column_index").fetchall()]
        assert list(columns) == want
        assert isinstance(columns["structure_id"]["type"], sqlalchemy.BigInteger)
        assert isinstance(columns["acronym"]["type"], sqlalchemy.Text)
        view_columns = {c["name"]: c for c in inspector.get_columns("composition")}
        assert isinstance(view_columns["fraction"]["type"], sqlalchemy.Float)
        assert view_columns["n_cells"]["comment"] == "cells of that type in the region"
        assert "composition" in (inspector.get_table_comment("composition")["text"] or "")
        table = sqlalchemy.Table("composition", sqlalchemy.MetaData(), autoload_with=engine)
        with engine.connect() as con:
            count = con.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(table)
                                .where(table.c.level == "class")).scalar()
        assert count == _count(local, "select count(*) from composition where level = 'class'")
    finally:
        engine.dispose()


def test_pandas_read_sql(server, local):
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(server.url())
    try:
        frame = pd.read_sql(sqlalchemy.text(
            "select * from composition where level = :level and region_kind = 'roi' "
            "order by region_acronym, cell_type"), engine, params={"level": "class"})
        table = pd.read_sql_table("structures", engine)
    finally:
        engine.dispose()
    want = local.execute("select * from composition where level = 'class' and "
                         "region_kind = 'roi' order by region_acronym, cell_type").df()
    assert frame.shape == want.shape
    assert frame["n_cells"].sum() == want["n_cells"].sum()
    assert list(frame["cell_type"]) == list(want["cell_type"])
    assert len(table) == _count(local, "select count(*) from structures")


# ------------------------------------------------------------------------------ concurrency

def test_sixteen_concurrent_clients(server, local):
    import psycopg

    sql = "select count(*), sum(cluster_alias) from cells where cluster_alias %% 16 = %s"

    def client(i: int):
        with psycopg.connect(server.dsn()) as con:
            results = [con.execute(sql, [i]).fetchone() for _ in range(5)]
            assert len(set(results)) == 1
            return results[0]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        got = list(pool.map(client, range(16)))
    want = [local.execute(sql.replace("%%", "%").replace("%s", "?"), [i]).fetchone()
            for i in range(16)]
    assert got == want


# --------------------------------------------------------- the protocol as JDBC drives it

def _message(tag: bytes, payload: bytes) -> bytes:
    import struct

    return tag + struct.pack("!i", len(payload) + 4) + payload


def _read(sock) -> tuple[bytes, bytes]:
    import struct

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "server closed the connection"
            data += chunk
        return data

    head = exactly(5)
    return head[:1], exactly(struct.unpack("!i", head[1:])[0] - 4)


def test_execute_with_a_row_limit_suspends_the_portal(server):
    """JDBC with setFetchSize: Execute(portal, n) returns n rows and PortalSuspended."""
    import socket
    import struct

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        params = b"user\0brainwh\0database\0brainwh\0\0"
        sock.sendall(struct.pack("!ii", len(params) + 8, 196608) + params)
        while _read(sock)[0] != b"Z":
            pass
        sql = b"select i from range(7) t(i) order by i"
        sock.sendall(_message(b"P", b"\0" + sql + b"\0" + struct.pack("!h", 0))
                     + _message(b"B", b"p1\0\0" + struct.pack("!hhh", 0, 0, 0))
                     + _message(b"E", b"p1\0" + struct.pack("!i", 3))
                     + _message(b"E", b"p1\0" + struct.pack("!i", 3))
                     + _message(b"E", b"p1\0" + struct.pack("!i", 3))
                     + _message(b"S", b""))
        seen: list[bytes] = []
        rows: list[int] = []
        while True:
            tag, payload = _read(sock)
            assert tag != b"E", payload
            if tag == b"D":
                (length,) = struct.unpack("!i", payload[2:6])
                rows.append(int(payload[6:6 + length]))
            seen.append(tag)
            if tag == b"Z":
                break
        sock.sendall(_message(b"X", b""))
    assert rows == list(range(7))
    assert seen.count(b"s") == 2  # PortalSuspended after the first two Executes
    assert seen[-2] == b"C"  # CommandComplete after the rest
