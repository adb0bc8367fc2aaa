"""Provenance that survives: absolute source paths (meaningful once an export leaves the build
folder), every copy of a file logged, and a later load replacing only its own part of the log.
"""

from __future__ import annotations

import shutil

from tests.helpers import MOUSE_ONTOLOGY, query_rows


def test_paths_are_absolute_and_a_partial_reload_keeps_the_rest_of_the_log(
        tiny_release, tmp_path, cli, monkeypatch):
    shutil.copytree(tiny_release, tmp_path / "release")
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "w.duckdb"
    result = cli("build", "release", "--db", "w.duckdb")  # relative paths, as users type them
    assert result.exit_code == 0, result.stderr
    uris = [uri for (uri,) in query_rows(db, "select source_uri from ingest_log")]
    assert uris and all(uri.startswith(str(tmp_path / "release") + "/") for uri in uris)
    human = query_rows(db, "select source_uri, notes from ingest_log where kind = 'ontology' "
                       "and scope = 'human' order by source_uri")
    assert len(human) == 6  # every donor's Ontology.csv, identical copies loaded once
    assert sum(1 for _, notes in human if (notes or "").startswith("identical to")) == 5
    result = cli("ingest", "ontology", str(MOUSE_ONTOLOGY), "--db", "w.duckdb")
    assert result.exit_code == 0, result.stderr
    assert query_rows(db, "select source_uri from ingest_log where kind = 'ontology' and "
                      "scope = 'mouse'") == [(str(MOUSE_ONTOLOGY),)]
    assert query_rows(db, "select source_uri, notes from ingest_log where kind = 'ontology' "
                      "and scope = 'human' order by source_uri") == human
    assert query_rows(db, "select count(*) from structures where species = 'human'")[0][0] > 0
