"""Every table macro checks every argument in SQL: a wrong region, level, species, structure or
gene is an error naming the macro, the value and the closest valid values, never an empty or
one-sided answer; valid arguments whose data is missing say why. Raised in SQL, so a plain
DuckDB connection and a Postgres client of `brainwh serve` get the same text."""

from __future__ import annotations

import re

import duckdb
import pytest
from serving import serving

from warehouse.views import saved_objects

# macro -> (a wrong call, fragments its error must hold); every table macro in sql/ needs one.
# LV (lateral ventricle, under "sulci & spaces") is a real human structure no sample lies in.
BAD_CALLS = {
    "compare_composition": [
        ("compare_composition('MOp', 'FOO', 'class')",
         ["compare_composition:", "unknown region", "'FOO'"]),
        ("compare_composition('mop', 'STRd', 'class')",
         ["unknown region", "'mop'", "did you mean 'MOp'?"]),
        ("compare_composition('MOp', 'STRd', 'Class')",
         ["unknown level 'Class'", "did you mean 'class'?",
          "expected one of 'neurotransmitter', 'class', 'subclass', 'supertype', 'cluster'"]),
        ("compare_composition('MOp', 'STRd', null)", ["compare_composition: level is null"]),
        # a real structure no dissection region lies within: say why, and what to use
        ("compare_composition('CA1', 'MOp', 'class', 'dissection')",
         ["no cells are counted in 'CA1' (method dissection)", "whole dissection region",
          "the dissection regions overlapping CA1: HIP", "it has MERFISH cells"]),
        ("compare_composition('MOp', 'DG', 'subclass', 'dissection')",
         ["no cells are counted in 'DG'", "overlapping DG: HIP"]),
        ("compare_composition('CA1', 'DG', 'class', 'Spatial')",
         ["unknown method 'Spatial'", "did you mean 'spatial'?"]),
        # a dissection region has no MERFISH cells
        ("compare_composition('MO-FRP', 'CA1', 'class', 'spatial')",
         ["no MERFISH cells are counted in 'MO-FRP' (method spatial)"]),
    ],
    "spatial_profile": [
        ("spatial_profile('CAX')",
         ["spatial_profile:", "unknown mouse structure acronym 'CAX'"]),
        ("spatial_profile('ca1')", ["'ca1'", "did you mean 'CA1'?"]),
        ("spatial_profile('CA1', bin_mm := 0)",
         ["spatial_profile: bin_mm must be a positive number of millimetres"]),
    ],
    "structure_descendants": [
        ("structure_descendants('NOPE', 'mouse')",
         ["structure_descendants:", "unknown mouse structure acronym 'NOPE'"]),
        ("structure_descendants('Cb', 'mouse')", ["'Cb'", "did you mean 'CB'?"]),
        ("structure_descendants('CB', 'human')",
         ["unknown human structure acronym 'CB'", "did you mean 'Cb'?"]),
        ("structure_descendants('VISp', 'Mouse')",
         ["unknown species 'Mouse'", "did you mean 'mouse'?"]),
    ],
    "differential_search": [
        ("differential_search(['STR'], ['CX'])",
         ["differential_search:", "unknown target structure", "'STR'", "did you mean 'Str'?"]),
        ("differential_search(['Str'], ['cx', 'Nope'])",
         ["unknown contrast structure", "'cx' (did you mean 'CX'?)", "'Nope'"]),
        ("differential_search([], ['CX'])", ["differential_search: no target structure"]),
        ("differential_search(['LV'], ['CX'])",
         ["differential_search target: no sample lies in 'LV' or below it"]),
    ],
    "differential_search_probes": [
        ("differential_search_probes(['Str'], ['Cx'])",
         ["differential_search_probes:", "'Cx'", "did you mean 'CX'?"]),
        ("differential_search_probes(['Str'], ['LV'])",
         ["differential_search_probes contrast: no sample lies in 'LV'"]),
    ],
    "gene_expression_by_cell_type": [
        ("gene_expression_by_cell_type('drd1', 'class')",
         ["gene_expression_by_cell_type:", "unknown gene", "'drd1'", "did you mean 'Drd1'?"]),
        ("gene_expression_by_cell_type('Drd1', 'Class')",
         ["unknown level 'Class'", "did you mean 'class'?"]),
        ("gene_expression_by_cell_type(null, 'class')",
         ["gene_expression_by_cell_type: gene (a symbol or an Ensembl id, as in gene.csv) is "
          "null"]),
    ],
    "cell_type_markers": [
        ("cell_type_markers('L2/3 IT CTX Glut', 'subclass', 'Rest')",
         ["cell_type_markers:", "unknown contrast 'Rest'", "did you mean 'rest'?"]),
        ("cell_type_markers('L2/3 IT CTX Glu', 'subclass', 'rest')",
         ["unknown subclass", "'L2/3 IT CTX Glu'", "did you mean 'L2/3 IT CTX Glut'"]),
        ("cell_type_markers('L2/3 IT CTX Glut', 'sub-class', 'rest')",
         ["unknown level 'sub-class'", "did you mean 'subclass'?"]),
    ],
    "correlation_search": [
        ("correlation_search('ppp1r1b', ['Br'])",
         ["correlation_search:", "unknown gene", "'ppp1r1b'", "did you mean 'PPP1R1B'?"]),
        ("correlation_search('PPP1R1B', ['BR'])",
         ["unknown structure", "'BR'", "did you mean 'Br'?"]),
        ("correlation_search('PPP1R1B', ['LV'])",
         ["correlation_search: no sample lies in 'LV' or below it"]),
    ],
    "mouse_differential_search": [
        ("mouse_differential_search(['Str'], ['Isocortex'])",
         ["mouse_differential_search:", "unknown target structure", "'Str'",
          "did you mean 'STR'?"]),
        ("mouse_differential_search(['STR'], [])", ["mouse_differential_search: no contrast"]),
        ("mouse_differential_search(['STR'], ['SF'])",
         ["mouse_differential_search contrast: no annotated grid voxel in 'SF' or below it"]),
    ],
    "mouse_differential_search_unionize": [
        ("mouse_differential_search_unionize(['STR'], ['isocortex'])",
         ["mouse_differential_search_unionize:", "'isocortex'", "did you mean 'Isocortex'?"]),
    ],
    "mouse_correlation_search": [
        ("mouse_correlation_search('ppp1r1b', [])",
         ["mouse_correlation_search:", "unknown gene or experiment", "'ppp1r1b'",
          "did you mean 'Ppp1r1b'?"]),
        ("mouse_correlation_search('Ppp1r1b', ['cp'])",
         ["unknown structure (mouse acronym) 'cp'", "did you mean 'CP'?"]),
    ],
    "mouse_grid": [
        ("mouse_grid('pvalb')", ["mouse_grid:", "'pvalb'", "did you mean 'Pvalb'?"]),
    ],
}
TABLE_MACROS = sorted(o.name for o in saved_objects()
                      if re.search(r"\bas\s+table\b", o.sql, re.IGNORECASE))


@pytest.fixture(scope="module")
def local(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    yield con
    con.close()


def _error(con, call: str) -> str:
    with pytest.raises(duckdb.Error) as raised:
        con.execute(f"select * from {call}").fetchall()
    return str(raised.value)


def test_every_table_macro_has_wrong_argument_cases():
    assert TABLE_MACROS and set(TABLE_MACROS) <= set(BAD_CALLS), \
        f"add wrong-argument cases for {set(TABLE_MACROS) - set(BAD_CALLS)}"


@pytest.mark.parametrize(("call", "fragments"),
                         [case for name in BAD_CALLS for case in BAD_CALLS[name]],
                         ids=[case[0] for name in BAD_CALLS for case in BAD_CALLS[name]])
def test_a_wrong_argument_is_an_error_with_suggestions(local, call, fragments):
    message = _error(local, call)
    assert message.startswith("Invalid Input Error: "), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_count_over_a_wrong_call_is_still_an_error(local):
    """DuckDB drops plan branches it can prove empty; the checks must not be dropped with them."""
    for name in BAD_CALLS:
        call, fragments = BAD_CALLS[name][0]
        with pytest.raises(duckdb.Error, match=re.escape(fragments[-1])):
            local.execute(f"select count(*) from {call}").fetchall()


def test_right_arguments_still_answer(local):
    assert local.execute("select count(*) from compare_composition('MOp', 'STRd', 'class')"
                         ).fetchone()[0] > 0
    assert local.execute("select count(*) from structure_descendants('VISp', 'mouse')"
                         ).fetchone()[0] == 7
    assert local.execute("select count(*) from structure_descendants('Cb', 'human')"
                         ).fetchone()[0] > 0


@pytest.fixture(scope="module")
def ontology_only(tmp_path_factory):
    from tests.helpers import MOUSE_ONTOLOGY
    from warehouse.build import run

    db = tmp_path_factory.mktemp("onto") / "w.duckdb"
    run(db, [str(MOUSE_ONTOLOGY)], kind="ontology", fresh=True)
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


@pytest.mark.parametrize(("call", "fragment"), [
    # the human ontology is not loaded: even a count says so (statistics prove the answer
    # empty, and the checks still run)
    ("structure_descendants('VISp', 'human')",
     "unknown human structure acronym 'VISp' (none are loaded)"),
    ("compare_composition('MOp', 'STRd', 'class')",
     "compare_composition: no ABC cell metadata (10x or MERFISH) is loaded: load it with "
     "`brainwh build` or `brainwh ingest cells` or `brainwh ingest spatial`"),
    ("spatial_profile('CA1')", "spatial_profile: no MERFISH cell metadata is loaded"),
    ("correlation_search('PPP1R1B', ['Br'])",
     "no Allen Human Brain Atlas microarray data is loaded"),
    ("differential_search(['Str'], ['CX'])", "(none are loaded)"),
    ("gene_expression_by_cell_type('Drd1', 'class')",
     "gene_expression_by_cell_type: no ABC MapMyCells statistics file is loaded: load it "
     "with `brainwh build` or `brainwh ingest expression precomputed_stats_*.h5`"),
    ("cell_type_markers('L2/3 IT CTX Glut', 'subclass', 'rest')",
     "cell_type_markers: no ABC MapMyCells statistics file is loaded"),
    ("mouse_differential_search(['STR'], ['CP'])",
     "no Allen Mouse Brain Atlas 3-D expression grid data"),
    ("mouse_correlation_search('Pvalb', [])",
     "no Allen Mouse Brain Atlas 3-D expression grid data is loaded"),
    ("mouse_differential_search_unionize(['STR'], ['CP'])",
     "no Allen Mouse Brain Atlas structure unionize data is loaded"),
])
def test_missing_data_says_what_to_load(ontology_only, call, fragment):
    for select in ("*", "count(*)"):
        with pytest.raises(duckdb.Error, match=re.escape(fragment)):
            ontology_only.execute(f"select {select} from {call}").fetchall()


# ------------------------------------------------------------------ the shared checks

@pytest.fixture(scope="module")
def helpers():
    con = duckdb.connect()
    for obj in saved_objects():
        if obj.name.startswith(("require_", "did_you_mean")):
            con.execute(obj.sql)
    yield con
    con.close()


@pytest.mark.parametrize(("wanted", "allowed", "expected"), [
    ("mop", ["MOp", "MOs", "MO", "STRd"], " (did you mean 'MOp'? expected one of 'MOp', 'MOs', "
     "'MO', 'STRd')"),
    ("subclas", [f"v{i}" for i in range(20)] + ["subclass"], " (did you mean 'subclass'?)"),
    ("zzz", [f"v{i}" for i in range(20)], ""),
    ("x", [], " (none are loaded)"),
    ("x", ["a", "b"], " (expected one of 'a', 'b')"),
])
def test_did_you_mean(helpers, wanted, allowed, expected):
    assert helpers.execute("select did_you_mean(?, ?::varchar[])", [wanted, allowed]
                           ).fetchone()[0] == expected


def test_require_value_and_values(helpers):
    assert helpers.execute("select require_value('a', ['a', 'b'], 'letter', 'f')"
                           ).fetchone()[0] == "a"
    assert helpers.execute("select require_values(['b', 'a'], ['a', 'b'], 'letter', 'f')"
                           ).fetchone()[0] == ["b", "a"]
    with pytest.raises(duckdb.Error, match="f: unknown letter 'A' .did you mean 'a'"):
        helpers.execute("select require_value('A', ['a', 'b'], 'letter', 'f')").fetchall()
    with pytest.raises(duckdb.Error, match="f: unknown letter 'c' .* unknown letter 'd'"):
        helpers.execute("select require_values(['a', 'c', 'd', 'c'], ['a', 'b'], 'letter', 'f')"
                        ).fetchall()
    with pytest.raises(duckdb.Error, match="f: no letter given"):
        helpers.execute("select require_values([], ['a'], 'letter', 'f')").fetchall()
    assert helpers.execute("select require_loaded(3, 'letters', 'brainwh x', 'f')"
                           ).fetchone()[0] is True
    with pytest.raises(duckdb.Error, match="f: no letters is loaded: load it with `brainwh "
                                           "build` or `brainwh x`"):
        helpers.execute("select require_loaded(0, 'letters', 'brainwh x', 'f')").fetchall()


# ------------------------------------------------------------------- through the server

@pytest.mark.server
def test_a_postgres_client_gets_the_macro_error(tiny_db, tmp_path):
    psycopg = pytest.importorskip("psycopg")
    with serving(tiny_db, log_dir=tmp_path) as server, psycopg.connect(server.dsn()) as con:
        with pytest.raises(psycopg.Error) as raised:
            con.execute("select * from compare_composition(%s, %s, %s)",
                        ["mop", "STRd", "class"]).fetchall()
        assert "unknown region" in str(raised.value)
        assert "did you mean 'MOp'?" in str(raised.value)
        con.rollback()
        rows = con.execute("select count(*) from compare_composition('MOp', 'STRd', 'class')"
                           ).fetchone()
        assert rows[0] > 0
