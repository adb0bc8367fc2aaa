"""User files are sacred: whatever a user types, nothing brainwh did not write is deleted or
overwritten, and the mistake is one clear message with exit code 2, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.helpers import MOUSE_ONTOLOGY, snapshot
from warehouse import publish


def _user_files(folder: Path) -> dict[str, bytes]:
    """A folder a user keeps: files and a subfolder, as `myresults/` in issue 9."""
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes")
    (folder / "sub" / "figure.csv").write_text("a,b\n1,2\n")
    (folder / "results.parquet").write_bytes(b"PAR1 not from brainwh")
    return _contents(folder)


def _contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


# ---------------------------------------------------------------------------- export --out

@pytest.mark.parametrize(("out", "extra", "fragments"), [
    ("myresults", [], ["holds files brainwh did not write", "--out myresults/composition.parquet"]),
    ("myresults/", [], ["holds files brainwh did not write"]),
    ("myresults", ["--partition-by", "level"], ["--out myresults/composition"]),
    ("myresults/notes.txt", [], ["is a file brainwh did not write"]),
    ("myresults/results.parquet", [], ["is a file brainwh did not write"]),
    (".", [], ["is the current folder"]),
    (".", ["--partition-by", "level"], ["is the current folder"]),
    ("myresults/sub/..", ["--partition-by", "level"], ["holds files brainwh did not write"]),
])
def test_export_never_replaces_user_files(run, tiny_db, tmp_path, out, extra, fragments):
    before = _user_files(tmp_path / "myresults")
    result = run("export", "composition", "--out", out, *extra, "--db", tiny_db)
    _refused(result, *fragments)
    assert _contents(tmp_path / "myresults") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["myresults"]  # no temporary left


def test_export_above_the_current_folder_is_refused(run, tiny_db, tmp_path, monkeypatch):
    inner = tmp_path / "project" / "analysis"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    _refused(run("export", "composition", "--out", "..", "--partition-by", "level",
                 "--db", tiny_db), "is the current folder or above it")
    assert inner.is_dir()


def test_export_to_home_is_refused_when_it_holds_files(run, tiny_db, tmp_path, monkeypatch):
    home = tmp_path / "home"
    before = _user_files(home / "Documents")
    monkeypatch.setenv("HOME", str(home))
    _refused(run("export", "composition", "--out", "~/Documents", "--db", tiny_db),
             "holds files brainwh did not write")
    assert _contents(home / "Documents") == before


def test_a_folder_given_for_one_file_is_refused(run, tiny_db, tmp_path):
    _refused(run("export", "composition", "--out", "new/", "--db", tiny_db),
             "names a folder, and this export is one file", "--partition-by")
    assert not (tmp_path / "new").exists()


def test_export_writes_into_user_folders_and_replaces_its_own(run, tiny_db, tmp_path):
    before = _user_files(tmp_path / "myresults")
    file_out = tmp_path / "myresults" / "composition.parquet"
    folder_out = tmp_path / "myresults" / "by_level"
    for _ in range(2):  # the second time replaces the first export
        assert run("export", "composition", "--out", file_out, "--db", tiny_db).exit_code == 0
        assert run("export", "composition", "--out", folder_out, "--partition-by", "level",
                   "--db", tiny_db).exit_code == 0
    assert pq.read_metadata(file_out).metadata[b"brainwh.query"]
    # an earlier export of either shape may be replaced by the other
    assert run("export", "composition", "--out", folder_out, "--db", tiny_db).exit_code == 0
    assert folder_out.is_file()
    after = _contents(tmp_path / "myresults")
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) == set(before) | {"composition.parquet", "by_level"}


def test_an_empty_folder_takes_a_partitioned_export(run, tiny_db, tmp_path):
    (tmp_path / "made").mkdir()
    assert run("export", "composition", "--out", tmp_path / "made", "--partition-by", "level",
               "--db", tiny_db).exit_code == 0
    assert {p.name for p in (tmp_path / "made").iterdir()} >= {"level=class", "level=subclass"}
    (tmp_path / "empty").mkdir()
    _refused(run("export", "composition", "--out", tmp_path / "empty", "--db", tiny_db),
             "is a folder, and it is empty")


def test_a_user_file_inside_an_earlier_export_stops_its_replacement(run, tiny_db, tmp_path):
    out = tmp_path / "by_level"
    assert run("export", "composition", "--out", out, "--partition-by", "level",
               "--db", tiny_db).exit_code == 0
    (out / "README.txt").write_text("what these files are")
    _refused(run("export", "composition", "--out", out, "--partition-by", "level",
                 "--db", tiny_db), "README.txt")
    assert (out / "README.txt").read_text() == "what these files are"


# ------------------------------------------------------------------------------- sql --out

def test_sql_out_creates_its_folder_and_never_overwrites_unasked(run, tiny_db, tmp_path):
    out = tmp_path / "new" / "folder" / "answer.csv"
    assert run("sql", "select 1 as a", "--format", "csv", "--out", out,
               "--db", tiny_db).exit_code == 0
    assert out.read_text() == '"a"\n1\n'
    _refused(run("sql", "select 2 as a", "--format", "csv", "--out", out, "--db", tiny_db),
             "already exists", "--force")
    assert out.read_text() == '"a"\n1\n'
    assert run("sql", "select 2 as a", "--format", "csv", "--out", out, "--force",
               "--db", tiny_db).exit_code == 0
    assert out.read_text() == '"a"\n2\n'
    _refused(run("sql", "select 1", "--out", tmp_path / "new", "--db", tiny_db), "is a folder")
    assert sorted(p.name for p in out.parent.iterdir()) == ["answer.csv"]


def test_a_failed_query_leaves_no_file(run, tiny_db, tmp_path):
    out = tmp_path / "answer.csv"
    result = run("sql", "select * from nothing_here", "--out", out, "--db", tiny_db)
    assert result.exit_code == 1
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------- --db that is not a warehouse

@pytest.mark.parametrize("command", [
    ["sql", "select 1"], ["status"], ["export", "composition", "--out", "x.parquet"],
    ["ingest", "ontology", str(MOUSE_ONTOLOGY)], ["build", str(MOUSE_ONTOLOGY)],
])
def test_db_that_is_not_a_duckdb_file_is_refused_untouched(run, tmp_path, command):
    notes = tmp_path / "notes.duckdb"
    notes.write_text("my notes, not a database\n")
    result = run(*command, "--db", notes)
    _refused(result, "notes.duckdb is not a DuckDB database", "will not open or overwrite it")
    assert notes.read_text() == "my notes, not a database\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.duckdb"]  # no lock, no copy


def test_an_empty_db_file_is_not_a_warehouse_but_build_may_fill_it(run, tmp_path):
    empty = tmp_path / "new.duckdb"
    empty.touch()
    _refused(run("sql", "select 1", "--db", empty), "is an empty file, not a warehouse")
    assert run("build", str(MOUSE_ONTOLOGY), "--db", empty).exit_code == 0
    assert snapshot(empty)["structures"][0] == 1327
    assert publish.staging_files(empty) == []


def test_a_db_folder_is_refused(run, tmp_path):
    (tmp_path / "warehouse").mkdir()
    result = run("status", "--db", tmp_path / "warehouse")
    assert result.exit_code == 2 and "Traceback" not in result.stderr


def test_export_staging_is_removed_when_the_copy_fails(run, tiny_db, tmp_path):
    shutil.copyfile(tiny_db, tmp_path / "w.duckdb")
    result = run("export", "select 1 / 0 as x, error('boom') as y", "--out",
                 tmp_path / "x.parquet", "--db", tmp_path / "w.duckdb")
    assert result.exit_code == 1 and "boom" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb"]
