"""Issue 6 probes against `brainwh serve`: load during a publish, hostile inputs, guessing."""

from __future__ import annotations

import concurrent.futures
import shutil
import threading
import time

import pytest
from serving import serving

pytestmark = [pytest.mark.server]

psycopg = pytest.importorskip("psycopg")


@pytest.mark.slow
def test_32_clients_querying_while_a_build_publishes(tiny_db, tiny_release, tmp_path):
    """0 errors; sessions opened before the publish finish on the old data, new ones see new.

    32 sessions, each 20 pairs of queries, half of them after the new file is published (the
    first round ran 100 pairs each: 67 s of the suite for the same two facts)."""
    from warehouse.build import run

    db = tmp_path / "brainwh.duckdb"
    shutil.copyfile(tiny_db, db)
    with serving(db, "--max-connections", "40", log_dir=tmp_path) as server:
        with psycopg.connect(server.dsn()) as probe:
            (old_cells,) = probe.execute("select count(*) from cells").fetchone()
        assert old_cells > 0
        connected = threading.Barrier(33)
        published = threading.Event()

        def client(number: int) -> tuple[int, set[int]]:
            seen: set[int] = set()
            with psycopg.connect(server.dsn(), autocommit=True) as con:
                connected.wait(60)
                for i in range(20):
                    if i == 10:
                        published.wait(120)  # half the queries after the new file is out
                    seen.add(con.execute("select count(*) from cells").fetchone()[0])
                    con.execute("select cell_type, n_cells from composition where "
                                "region_acronym = %s and level = 'class'", ["MOp"]).fetchall()
            return number, seen

        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            futures = [pool.submit(client, n) for n in range(32)]
            connected.wait(60)
            run(db, [str(tiny_release / "ontology")], fresh=True)  # a file with no cells
            published.set()
            results = [future.result(timeout=300) for future in futures]
        assert len(results) == 32
        assert all(seen == {old_cells} for _, seen in results), "an open session changed file"
        with psycopg.connect(server.dsn()) as fresh:
            assert fresh.execute("select count(*) from cells").fetchone() == (0,)
        assert "Traceback" not in server.stderr()


def test_a_very_long_query_is_answered_or_refused_cleanly(tiny_db, tmp_path):
    with serving(tiny_db, log_dir=tmp_path) as server:
        labels = ", ".join(f"'label-{i:06d}'" for i in range(100_000))  # ~1.6 MB of SQL
        with psycopg.connect(server.dsn(), autocommit=True) as con:
            try:
                count = con.execute(
                    f"select count(*) from cells where cell_label in ({labels})").fetchone()
                assert count == (0,)
            except psycopg.Error as error:  # refused: with a message, and the session goes on
                assert str(error)
            assert con.execute("select count(*) > 0 from cells").fetchone() == (True,)
        deep = "select " + "(" * 5_000 + "1" + ")" * 5_000
        with psycopg.connect(server.dsn(), autocommit=True) as con:
            with pytest.raises(psycopg.Error):
                con.execute(deep)
            assert con.execute("select 1").fetchone() == (1,)
        assert "Traceback" not in server.stderr()


def test_repeated_wrong_passwords_neither_crash_nor_reveal_users(tiny_db, tmp_path):
    with serving(tiny_db, "--password", "right-one", log_dir=tmp_path) as server:
        def attempt(n: int) -> str:
            user = "brainwh" if n % 2 else f"guess{n}"
            try:
                psycopg.connect(server.dsn(user=user, password=f"wrong-{n}"))
            except psycopg.OperationalError as error:
                return str(error)
            return "connected"

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(attempt, range(40)))
        elapsed = time.monotonic() - started
        assert "connected" not in answers
        for n, answer in enumerate(answers):
            user = "brainwh" if n % 2 else f"guess{n}"
            assert f'password authentication failed for user "{user}"' in answer
            assert "does not exist" not in answer and "connect as user" not in answer
        assert elapsed >= 40 / 8 * 0.4, "failed logins are answered without delay"
        with psycopg.connect(server.dsn(password="right-one")) as con:  # still serving
            assert con.execute("select 1").fetchone() == (1,)
        assert server.process.poll() is None
        assert "Traceback" not in server.stderr()
