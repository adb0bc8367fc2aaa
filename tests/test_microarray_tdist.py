"""Student's t tail in pure SQL (sql/t_dist_sf.sql and friends) and in numpy (ingest/ahba/tdist)
against scipy: tails near 0.5, near the switch between the two continued fractions, and tiny
tails, for the degrees of freedom an AHBA Welch test can have (1 to ~4,000)."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
from scipy import stats

from ingest.ahba import tdist
from warehouse.config import sql_dir


@pytest.fixture(scope="module")
def con():
    """An in-memory DuckDB with only the SQL macros: nothing registered from Python."""
    con = duckdb.connect()
    for name in ("betainc_cf", "t_dist_tail", "t_dist_sf"):
        con.execute((sql_dir() / f"{name}.sql").read_text())
    yield con
    con.close()


def grid() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 4000
    df = np.concatenate([np.exp(rng.uniform(0, np.log(4000), n)), [1, 1.5, 2, 3702, 3702]])
    t = np.concatenate([rng.normal(0, 3, n // 2), rng.uniform(-3, 3, n // 4),
                        rng.uniform(-60, 60, n // 4), [0.5, 1e-8, 30, 40, -40]])
    # and the switch between the two branches, t^2 = 3 df / (df + 2)
    edge = np.sqrt(3 * df[:500] / (df[:500] + 2))
    return np.concatenate([t, edge * 1.0001, -edge * 0.9999]), np.concatenate(
        [df, df[:500], df[:500]])


def test_sql_t_dist_sf_agrees_with_scipy(con):
    t, df = grid()
    got = np.array([r[0] for r in con.execute(
        "select t_dist_sf(t, df) from (select unnest(?) as t, unnest(?) as df)",
        [t.tolist(), df.tolist()]).fetchall()])
    expected = stats.t.sf(t, df)
    normal = expected > 1e-300  # below that both underflow to (near) zero
    assert np.all(np.abs(got[normal] - expected[normal]) <= 1e-8 * expected[normal])
    assert np.all(got[~normal] < 1e-290)
    assert expected.min() < 1e-250  # tiny tails were tested


def test_sql_t_dist_sf_edges(con):
    rows = con.execute(
        "select t_dist_sf(0, 10), t_dist_sf('infinity'::double, 5), "
        "t_dist_sf('-infinity'::double, 5), t_dist_sf(null, 5), t_dist_sf(2, 0), "
        "t_dist_sf('nan'::double, 3)").fetchone()
    assert rows == (0.5, 0.0, 1.0, None, None, None)


def test_numpy_t_sf_and_bh_agree_with_scipy():
    t, df = grid()
    got = tdist.t_sf(t, df)
    expected = stats.t.sf(t, df)
    normal = expected > 1e-300
    assert np.all(np.abs(got[normal] - expected[normal]) <= 1e-8 * expected[normal])
    p = np.random.default_rng(1).uniform(0, 1, 500) ** 4
    assert np.allclose(tdist.bh(p), stats.false_discovery_control(p), rtol=1e-12)


def test_sql_t_dist_sf_for_welch_tests_over_millions_of_cells(con):
    """Single-cell Welch tests have up to millions of degrees of freedom (4 M WMB-10X cells)."""
    rng = np.random.default_rng(5)
    df = np.exp(rng.uniform(np.log(4000), np.log(1e7), 3000))
    t = np.concatenate([rng.normal(0, 3, 1500), rng.uniform(-60, 60, 1400),
                        np.sqrt(3 * df[:100] / (df[:100] + 2)) * 1.0001])
    got = np.array([r[0] for r in con.execute(
        "select t_dist_sf(t, df) from (select unnest(?) as t, unnest(?) as df)",
        [t.tolist(), df.tolist()]).fetchall()])
    expected = stats.t.sf(t, df)
    normal = expected > 1e-300
    assert np.all(np.abs(got[normal] - expected[normal]) <= 2e-7 * expected[normal])
