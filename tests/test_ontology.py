"""Structure ontology ingest: real mouse graph, all formats, and every validation error."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.helpers import MOUSE_ONTOLOGY, ingest_refused, nested_graph, snapshot, write_csv
from tests.helpers import query_rows as query

DEPTH_COUNTS = {0: 1, 1: 5, 2: 18, 3: 61, 4: 109, 5: 130, 6: 262, 7: 324, 8: 272, 9: 139, 10: 6}


def ingest(run, db: Path, *paths: Path):
    return run("ingest", "ontology", *map(str, paths), "--db", str(db))


@pytest.fixture(scope="module")
def mouse_db(tmp_path_factory) -> Path:
    from warehouse.build import run

    db = tmp_path_factory.mktemp("onto") / "w.duckdb"
    run(db, [str(MOUSE_ONTOLOGY)], kind="ontology", fresh=True)
    return db


def test_real_mouse_ontology_loads_with_real_counts(mouse_db):
    assert query(mouse_db, "select count(*) from structures where species = 'mouse'") == [(1327,)]
    by_depth = dict(query(mouse_db, "select depth, count(*) from structures group by depth"))
    assert by_depth == DEPTH_COUNTS
    # the closure has one row per (structure, ancestor incl. itself) = sum of (depth + 1)
    (closure,) = query(mouse_db, "select count(*) from structure_ancestors")[0]
    assert closure == sum((d + 1) * n for d, n in DEPTH_COUNTS.items())
    assert query(mouse_db, "select count(*) from structure_ancestors where distance = 0") == [
        (1327,)]


def test_void_row_is_skipped_with_a_note(tmp_path, run):
    result = ingest(run, tmp_path / "w.duckdb", MOUSE_ONTOLOGY)
    assert result.exit_code == 0, result.stderr
    assert "void" in result.stderr and "skipped 1 row" in result.stderr
    assert query(tmp_path / "w.duckdb", "select count(*) from structures where acronym = 'void'"
                 ) == [(0,)]


def test_ancestor_chain_of_frp1(mouse_db):
    chain = query(mouse_db, """
        select s.acronym from structure_ancestors a
        join structures s on s.structure_id = a.ancestor_id and s.species = a.species
        where a.structure_id = 68 order by a.distance desc""")
    assert [a for (a,) in chain] == ["root", "grey", "CH", "CTX", "CTXpl", "Isocortex", "FRP",
                                     "FRP1"]
    assert query(mouse_db, "select parent_structure_id, depth, structure_id_path from structures "
                 "where structure_id = 68") == [(184, 7, "/997/8/567/688/695/315/184/68/")]


def test_structure_descendants_macro(mouse_db):
    rows = query(mouse_db, "select acronym, distance from structure_descendants('VISp', 'mouse')")
    assert dict(rows) == {"VISp": 0, "VISp1": 1, "VISp2/3": 1, "VISp4": 1, "VISp5": 1,
                          "VISp6a": 1, "VISp6b": 1}
    (n_isocortex,) = query(mouse_db, "select count(*) from structure_descendants('Isocortex', "
                           "'mouse')")[0]
    expected = query(mouse_db, "select count(*) from structures where structure_id_path like "
                     "'%/315/%'")[0][0]
    assert n_isocortex == expected > 200
    with pytest.raises(duckdb.Error, match="unknown human structure acronym 'VISp'"):
        query(mouse_db, "select count(*) from structure_descendants('VISp', 'human')")


def _flat_rows() -> list[dict]:
    with open(MOUSE_ONTOLOGY, newline="") as handle:
        return [r for r in csv.DictReader(handle) if r["structure_id_path"]]


def _nested(rows: list[dict]) -> dict:
    return nested_graph(rows)


def test_nested_structure_graph_json_gives_the_same_tree(tmp_path, run, mouse_db):
    path = tmp_path / "structure_graph_download" / "1.json"
    path.parent.mkdir()
    path.write_text(json.dumps(_nested(_flat_rows())))
    result = ingest(run, tmp_path / "n.duckdb", path)
    assert result.exit_code == 0, result.stderr
    sql = "select structure_id, acronym, parent_structure_id, depth, structure_id_path, " \
          "color_hex_triplet from structures order by structure_id"
    assert query(tmp_path / "n.duckdb", sql) == query(mouse_db, sql)


def test_flat_json_envelope(tmp_path, run):
    rows = _flat_rows()
    path = tmp_path / "structures_graph1.json"
    path.write_text(json.dumps({"success": True, "msg": rows}))
    result = ingest(run, tmp_path / "j.duckdb", path)
    assert result.exit_code == 0, result.stderr
    assert query(tmp_path / "j.duckdb", "select count(*) from structures") == [(1327,)]


AHBA_HEADER = ["id", "acronym", "name", "parent_structure_id", "hemisphere", "graph_order",
               "structure_id_path", "color_hex_triplet"]
AHBA_ROWS = [
    [4005, "Br", "brain", "", "", 0, "/4005/", "F0F0F0"],
    [4006, "GM", "gray matter", 4005, "", 1, "/4005/4006/", "E0E0E0"],
    [4008, "CA1", "a human CA1 (acronym also used in mouse)", 4006, "L", 2, "/4005/4006/4008/",
     "AABBCC"],
]


def test_ahba_ontology_is_human_and_acronyms_are_scoped_by_species(tmp_path, run):
    db = tmp_path / "h.duckdb"
    assert ingest(run, db, MOUSE_ONTOLOGY).exit_code == 0
    ahba = write_csv(tmp_path / "donor" / "Ontology.csv", AHBA_HEADER, AHBA_ROWS)
    result = ingest(run, db, ahba)
    assert result.exit_code == 0, result.stderr
    rows = query(db, "select species, graph_id, structure_id, hemisphere from structures "
                 "where acronym = 'CA1' order by species")
    assert rows == [("human", 10, 4008, "L"), ("mouse", 1, 382, None)]
    assert query(db, "select acronym from structure_descendants('GM', 'human') order by 1") == [
        ("CA1",), ("GM",)]


# ------------------------------------------------------------------------ bad input

def _broken_flat(tmp_path: Path, mutate) -> Path:
    with open(MOUSE_ONTOLOGY, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    mutate(header, rows)
    return write_csv(tmp_path / "bad" / "structures_graph1.csv", header, rows)


def _set(header, rows, acronym, column, value):
    for row in rows:
        if row[header.index("acronym")] == acronym:
            row[header.index(column)] = value
            return
    raise AssertionError(acronym)


def _line_of(acronym: str) -> int:
    with open(MOUSE_ONTOLOGY, newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            if row["acronym"] == acronym:
                return number
    raise AssertionError(acronym)


CASES = {
    "cycle": (lambda h, r: _set(h, r, "VISp", "structure_id_path", "/997/8/385/567/385/"),
              ["cycle", "385", "VISp"]),
    "path disagrees with parent": (
        lambda h, r: _set(h, r, "VISp4", "parent_structure_id", "315"),
        ["VISp4", "parent 315 disagrees", f"line {_line_of('VISp4')}"]),
    "duplicate id": (lambda h, r: r.append(list(r[5])), ["duplicate structure id"]),
    "duplicate acronym": (lambda h, r: _set(h, r, "VISp4", "acronym", "VISp5"),
                          ["duplicate acronym 'VISp5'"]),
    "id not a number": (lambda h, r: _set(h, r, "VISp4", "id", "seven"),
                        [f"line {_line_of('VISp4')}", "column 'id'", "whole number"]),
    "missing column": (lambda h, r: [h.__setitem__(h.index("structure_id_path"), "path_ids")],
                       ["missing column(s) structure_id_path", "line 1"]),
    "path not ending in self": (lambda h, r: _set(h, r, "FRP1", "structure_id_path",
                                                  "/997/8/567/688/695/315/184/"),
                                ["FRP1", "does not end with its own id"]),
    "missing parent": (lambda h, r: r.__delitem__(next(i for i, row in enumerate(r)
                                                       if row[h.index("acronym")] == "FRP")),
                       ["parent 184 is not in the file"]),
}


@pytest.fixture
def loaded(mouse_db, tmp_path) -> Path:
    """A warehouse that already holds the mouse ontology (so we can see nothing is lost): a copy
    of the module's build, one per test."""
    db = tmp_path / "loaded.duckdb"
    shutil.copyfile(mouse_db, db)
    return db


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_flat_ontology_is_refused_and_nothing_is_lost(case, tmp_path, run, loaded):
    mutate, expected = CASES[case]
    path = _broken_flat(tmp_path, mutate)
    ingest_refused(run, "ontology", path, loaded, [str(path), *expected])


def test_bad_nested_json_names_the_json_path(tmp_path, run, loaded):
    tree = _nested(_flat_rows())
    tree["msg"][0]["children"][0]["children"][1]["id"] = "x1"
    path = tmp_path / "structure_graph_download" / "1.json"
    path.parent.mkdir()
    path.write_text(json.dumps(tree))
    before = snapshot(loaded)
    result = ingest(run, loaded, path)
    assert result.exit_code == 1
    assert "msg[0].children[0].children[1].id" in result.stderr
    assert snapshot(loaded) == before


def test_truncated_json_and_empty_file(tmp_path, run, loaded):
    path = tmp_path / "structure_graph_download" / "1.json"
    path.parent.mkdir()
    path.write_text(json.dumps(_nested(_flat_rows()))[:5000])
    result = ingest(run, loaded, path)
    assert result.exit_code == 1 and "not valid JSON" in result.stderr and "line 1" in result.stderr
    empty = tmp_path / "structures_empty.csv"
    empty.write_text("")
    result = ingest(run, loaded, empty)
    assert result.exit_code == 1 and "the file is empty" in result.stderr


def test_an_ontology_is_recognised_by_content_under_any_name(tmp_path, run, loaded):
    renamed = shutil.copyfile(MOUSE_ONTOLOGY, tmp_path / "mystery.csv")
    assert ingest(run, loaded, renamed).exit_code == 0
    other = tmp_path / "mystery2.csv"
    other.write_text("a,b\n1,2\n")
    result = ingest(run, loaded, other)
    assert result.exit_code == 1
    assert "not a file this source knows" in result.stderr and "Ontology.csv" in result.stderr
