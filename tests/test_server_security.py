"""`brainwh serve` is read-only and locked down: no files, no settings, password when asked."""

from __future__ import annotations

import concurrent.futures

import pytest
from serving import serving

pytestmark = pytest.mark.server

psycopg = pytest.importorskip("psycopg")


@pytest.fixture(scope="module")
def server(tiny_db, tmp_path_factory):
    with serving(tiny_db, "--statement-timeout", "1", "--max-connections", "4",
                 log_dir=tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.mark.parametrize(("sql", "error", "words"), [
    ("select * from read_csv('/etc/hostname')", "InsufficientPrivilege",
     "read_csv() is not available"),
    ("select * from read_text('/etc/passwd')", "InsufficientPrivilege",
     "read_text() is not available"),
    ("select * from read_blob('/tmp/*')", "InsufficientPrivilege",
     "read_blob() is not available"),
    ("select * from glob('/etc/*')", "InsufficientPrivilege", "glob() is not available"),
    ("select * from '/etc/hostname'", "InsufficientPrivilege",
     "file system operations are disabled"),
    ("select path from duckdb_databases()", "InsufficientPrivilege",
     "duckdb_databases() is not available"),
    ("select * from duckdb_settings()", "InsufficientPrivilege",
     "duckdb_settings() is not available"),
    ("select * from duckdb_temporary_files()", "InsufficientPrivilege", "is not available"),
    ("select * from pragma_database_list", "InsufficientPrivilege", "is not available"),
    ("select * from query('select path from duckdb_databases()')", "InsufficientPrivilege",
     "query() is not available"),
    ("copy (select 1) to '/tmp/brainwh-copy.csv'", "ReadOnlySqlTransaction",
     "COPY to or from a file"),
    ("copy cells from stdin", "ReadOnlySqlTransaction", "COPY FROM STDIN"),
    ("copy cells to '/tmp/brainwh-copy.parquet' (format parquet)", "ReadOnlySqlTransaction",
     "read-only"),
    ("attach '/tmp/brainwh-other.duckdb' as other", "ReadOnlySqlTransaction", "ATTACH"),
    ("install httpfs", "ReadOnlySqlTransaction", "INSTALL and LOAD"),
    ("load parquet", "ReadOnlySqlTransaction", "INSTALL and LOAD"),
    ("set enable_external_access = true", "InsufficientPrivilege",
     'setting "enable_external_access" cannot be changed'),
    ("set threads = 1", "InsufficientPrivilege", 'setting "threads" cannot be changed'),
    ("set global memory_limit = '1GB'", "InsufficientPrivilege", "cannot be changed"),
    ("reset allowed_directories", "InsufficientPrivilege", "cannot be changed"),
    ("pragma enable_profiling", "ReadOnlySqlTransaction", "read-only"),
    ("use memory", "ReadOnlySqlTransaction", "USE"),
    ("create table memory.main.t as select 1", "ReadOnlySqlTransaction", "CREATE"),
    ("create temp table t (a integer)", "ReadOnlySqlTransaction", "read-only"),
    ("delete from cells", "ReadOnlySqlTransaction", "read-only"),
    ("export database '/tmp/brainwh-export'", "ReadOnlySqlTransaction", "EXPORT"),
    ("explain analyze create table memory.main.t as select 1", "ReadOnlySqlTransaction",
     "CREATE"),
    ("select * from query('create table memory.main.t as select 1')", "InsufficientPrivilege",
     "query() is not available"),
])
def test_refused_with_a_clear_error(server, sql, error, words):
    with psycopg.connect(server.dsn(), autocommit=True) as con:
        with pytest.raises(psycopg.Error) as caught:
            con.execute(sql)
        assert type(caught.value).__name__ == error
        assert words in str(caught.value)
        assert con.execute("select count(*) > 0 from cells").fetchone() == (True,)


def test_queries_of_every_read_only_kind_run(server):
    with psycopg.connect(server.dsn(), autocommit=True) as con:
        for sql in ("with a as (select 1 as x) select * from a", "describe cells",
                    "summarize structures", "show tables", "values (1, 2)",
                    "explain select count(*) from cells",
                    "explain analyze select count(*) from cells", "from structures limit 1"):
            assert con.execute(sql).fetchall(), sql


def test_client_settings_are_accepted(server):
    with psycopg.connect(server.dsn(), autocommit=True) as con:
        con.execute("set application_name = 'notebook'")
        con.execute("SET DateStyle TO 'ISO, MDY'")
        con.execute("set statement_timeout = '5s'")
        assert con.execute("show application_name").fetchone() == ("notebook",)
        assert con.execute("show statement_timeout").fetchone() == ("5000",)
        assert con.execute("select current_setting('application_name')").fetchone() == \
            ("notebook",)


def test_statement_timeout_cancels_a_long_query(server):
    with psycopg.connect(server.dsn(), autocommit=True) as con:
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            con.execute("select sum(a.i * b.i) from range(100000) a(i), range(100000) b(i)")
        assert con.execute("select 42").fetchone() == (42,)
        con.execute("set statement_timeout = 200")
        with pytest.raises(psycopg.errors.QueryCanceled):
            con.execute("select sum(a.i * b.i) from range(100000) a(i), range(100000) b(i)")


def test_cancel_request_stops_a_query(server):
    import threading

    with psycopg.connect(server.dsn(), autocommit=True) as con:
        threading.Timer(0.3, con.cancel).start()
        with pytest.raises(psycopg.errors.QueryCanceled, match="user request"):
            con.execute("select sum(a.i * b.i) from range(100000) a(i), range(100000) b(i)")
        assert con.execute("select 1").fetchone() == (1,)


def test_connection_limit(server):
    open_ = [psycopg.connect(server.dsn()) for _ in range(4)]
    try:
        with pytest.raises(psycopg.OperationalError, match="too many clients"):
            psycopg.connect(server.dsn())
    finally:
        for con in open_:
            con.close()
    with psycopg.connect(server.dsn()) as con:  # a slot is free again
        assert con.execute("select 1").fetchone() == (1,)


def test_only_the_configured_user_and_database(server):
    with pytest.raises(psycopg.OperationalError, match='role "postgres" does not exist'):
        psycopg.connect(server.dsn(user="postgres"))
    with pytest.raises(psycopg.OperationalError, match='database "postgres" does not exist'):
        psycopg.connect(server.dsn(dbname="postgres"))


def _listening_addresses(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":
                found.add(address)
    return found


def test_binds_loopback_only_by_default(server):
    addresses = _listening_addresses(server.port)
    if not addresses:
        pytest.skip("/proc/net/tcp is not readable here")
    assert addresses == {"0100007F"}  # 127.0.0.1


def test_password_enables_scram_authentication(tiny_db, tmp_path):
    env = {"BRAINWH_SERVER_PASSWORD": "s3cret-pw"}
    with serving(tiny_db, env=env, log_dir=tmp_path) as server:
        with psycopg.connect(server.dsn(password="s3cret-pw")) as con:
            assert con.execute("select 1").fetchone() == (1,)
            assert con.info.pgconn.used_password
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(server.dsn(password="wrong"))
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.dsn(password=""))
        assert "password required" in server.stderr()


def test_password_option_other_user_and_parallel_logins(tiny_db, tmp_path):
    with serving(tiny_db, "--password", "pw-2", "--user", "analyst", log_dir=tmp_path) as server:
        # with a password, a wrong user gets the wrong-password answer: no user enumeration
        with pytest.raises(psycopg.OperationalError,
                           match='password authentication failed for user "brainwh"'):
            psycopg.connect(server.dsn(password="pw-2"))
        server.user = "analyst"

        def login(_):
            with psycopg.connect(server.dsn(password="pw-2")) as con:
                return con.execute("select count(*) from structures").fetchone()[0]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            counts = set(pool.map(login, range(8)))
        assert len(counts) == 1
