"""node-postgres (`pg`): parameters, arrays, dates, macros, named statements, errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

SCRIPT = Path(__file__).with_name("node_conformance.js")


def test_node_postgres(server, local, node_pg):
    node, folder = node_pg
    done = subprocess.run([node, str(SCRIPT), str(folder), str(server.port)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert out["any"] == [{"acronym": "MOp"}, {"acronym": "VISp"}]
    assert out["params"] == [{"n": local.execute(
        "select count(*) from structures where depth > 3 and species = 'mouse'").fetchone()[0]}]
    assert out["types"] == [{"d": "2000-01-01T00:00:00.000Z", "t": "2024-01-02T03:04:05.000Z",
                             "a": [1, 2], "n": "2.500"}]  # DuckDB numeric: 3 decimals
    assert out["macro"] == [{"n": local.execute(
        "select count(*) from compare_composition('MOp', 'STRd', 'class')").fetchone()[0]}]
    assert out["lists"] == [{"n": local.execute(
        "select count(*) from differential_search(['FL'], ['Str'])").fetchone()[0]}]
    ids = dict(local.execute("select acronym, structure_id::varchar from structures "
                             "where acronym in ('MOp', 'VISp') and species = 'mouse'").fetchall())
    assert out["named"] == [[ids["MOp"]]] and out["named_again"] == [[ids["VISp"]]]
    assert out["error"] == "42P01"
    assert out["after_error"] == [{"one": 1}]
