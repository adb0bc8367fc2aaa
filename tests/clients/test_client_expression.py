"""The mouse expression macros over `brainwh serve` (psycopg 3, parameters bound): the same
answers as a plain DuckDB connection, and a wrong argument is the same error."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.server

QUERIES = [
    ("select gene_symbol, mean_in, mean_out, rank from cell_type_markers(%s, %s, %s) "
     "order by rank limit 20", ["L2/3 IT CTX Glut", "subclass", "rest"]),
    ("select cell_type, n_cells, mean_expression from gene_expression_by_cell_type(%s, %s) "
     "order by cell_type", ["Drd1", "class"]),
    ("select method, region_kind, region_acronym, mean_expression, n_cells "
     "from region_expression where gene_symbol = %s "
     "order by method, region_kind, region_acronym", ["Drd1"]),
    ("select region_acronym, gene_symbol, rank from mouse_region_markers "
     "where region_kind = 'roi' and region_acronym = %s order by rank", ["STRd"]),
]


def test_the_expression_questions_over_the_server(server, local):
    import psycopg

    with psycopg.connect(server.dsn()) as con:
        for sql, params in QUERIES:
            want = local.execute(sql.replace("%s", "?"), params).fetchall()
            got = con.execute(sql, params).fetchall()
            assert got == want and got, sql
        with pytest.raises(psycopg.Error, match="unknown gene .*'drd1'.*did you mean 'Drd1'"):
            con.execute("select * from gene_expression_by_cell_type(%s, 'class')",
                        ["drd1"]).fetchall()
