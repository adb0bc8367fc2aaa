"""`brainwh serve` keeps working while `brainwh build` publishes a new warehouse file."""

from __future__ import annotations

import shutil
import threading

import pytest
from serving import serving

pytestmark = [pytest.mark.server, pytest.mark.slow]

psycopg = pytest.importorskip("psycopg")


def test_new_connections_get_the_new_file_open_ones_keep_the_old(tiny_db, tiny_release,
                                                                  tmp_path):
    from warehouse.build import run

    db = tmp_path / "brainwh.duckdb"
    shutil.copyfile(tiny_db, db)
    with serving(db, log_dir=tmp_path) as server:
        old = psycopg.connect(server.dsn(), autocommit=True)
        (cells_before,) = old.execute("select count(*) from cells").fetchone()
        assert cells_before > 0

        failures: list[BaseException] = []
        stop = threading.Event()

        def keep_querying() -> None:  # the server answers throughout the build
            try:
                with psycopg.connect(server.dsn(), autocommit=True) as con:
                    while not stop.is_set():
                        assert con.execute("select count(*) from cells").fetchone() == \
                            (cells_before,)
            except BaseException as error:  # noqa: BLE001
                failures.append(error)

        reader = threading.Thread(target=keep_querying)
        reader.start()
        try:
            # a new build with the ontology only: no cells in the new file
            run(db, [str(tiny_release / "ontology")], fresh=True)
        finally:
            stop.set()
            reader.join(timeout=30)
        assert not failures

        new = psycopg.connect(server.dsn(), autocommit=True)
        assert new.execute("select count(*) from cells").fetchone() == (0,)
        assert new.execute("select count(*) from structures").fetchone()[0] > 0
        # the open session still reads the file it started with, which stays valid
        assert old.execute("select count(*) from cells").fetchone() == (cells_before,)
        assert old.execute("select count(*) from composition").fetchone()[0] > 0
        old.close()
        new.close()
        with psycopg.connect(server.dsn()) as again:
            assert again.execute("select count(*) from cells").fetchone() == (0,)
        assert "new warehouse file" in server.stderr()


def test_serve_without_a_warehouse_is_a_usage_error(cli, tmp_path):
    result = cli("serve", "--db", str(tmp_path / "missing.duckdb"), "--port", "0")
    assert result.exit_code == 2
    assert "no warehouse at" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_a_usage_error(cli, tiny_db):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("serve", "--db", str(tiny_db), "--port", str(port), timeout=60)
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
