"""Bad AHBA input: exit code 1, one message naming the donor, file, line and column, no
traceback, and the published warehouse left exactly as it was."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from tests import ahba_release
from tests.helpers import ingest_refused


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, Path]:
    """The hand-made release and a warehouse built from it."""
    from warehouse.build import run

    root = tmp_path_factory.mktemp("ahba_bad") / "ahba"
    ahba_release.write(root)
    db = root.parent / "good.duckdb"
    run(db, [str(root)], fresh=True)
    return root, db


@pytest.fixture
def setup(good, tmp_path) -> tuple[Path, Path]:
    root, db = good
    copy = tmp_path / "ahba"
    shutil.copytree(root, copy)
    target = tmp_path / "w.duckdb"
    shutil.copyfile(db, target)
    return copy, target


def folder(root: Path, uid: int) -> Path:
    return root / f"normalized_microarray_donor{uid}"


def edit_line(path: Path, line: int, edit) -> None:
    lines = path.read_text().split("\n")
    lines[line - 1] = edit(lines[line - 1])
    path.write_text("\n".join(lines))


def set_field(path: Path, line: int, field: int, value: str) -> None:
    def edit(text: str) -> str:
        fields = text.split(",")
        fields[field] = value
        return ",".join(fields)
    edit_line(path, line, edit)


def expect_error(run, root: Path, db: Path, *needles: str) -> str:
    return ingest_refused(run, "microarray", root, db, needles)


def test_probe_sets_differ(run, setup):
    root, db = setup
    set_field(folder(root, 12876) / "Probes.csv", 3, 0, "999")
    expect_error(run, root, db, "donor 12876 (H0351.1009)", "normalized_microarray_donor12876",
                 "Probes.csv, line 3, column 'probe_id'", "probe_id 999 is not in donor 9861")


def test_probe_missing_from_a_donor(run, setup):
    root, db = setup
    path = folder(root, 12876) / "Probes.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    expect_error(run, root, db, "donor 12876", "Probes.csv", "column 'probe_id'",
                 "probe_id 1071209 (line 10 of donor 9861 (H0351.2001)'s Probes.csv) is missing")


def test_matrix_columns_must_match_sample_annot(run, setup):
    root, db = setup
    path = folder(root, 9861) / "SampleAnnot.csv"
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")
    expect_error(run, root, db, "donor 9861 (H0351.2001)", "MicroarrayExpression.csv, line 1",
                 "18 fields, expected 17")


def test_structure_not_in_the_ontology(run, setup):
    root, db = setup
    set_field(folder(root, 12876) / "SampleAnnot.csv", 4, 0, "123456")
    expect_error(run, root, db, "donor 12876", "SampleAnnot.csv, line 4, column 'structure_id'",
                 "structure_id 123456 is not in the human ontology")


def test_value_that_is_not_a_number(run, setup):
    root, db = setup
    set_field(folder(root, 9861) / "MicroarrayExpression.csv", 3, 5, "abc")
    expect_error(run, root, db, "donor 9861", "MicroarrayExpression.csv, line 3",
                 "column '5 (SampleAnnot.csv row 5, well_id 1004)'",
                 "expected a number, found 'abc'")


def test_empty_value(run, setup):
    root, db = setup
    set_field(folder(root, 12876) / "MicroarrayExpression.csv", 2, 14, "")
    expect_error(run, root, db, "donor 12876", "MicroarrayExpression.csv, line 2",
                 "column '14 (SampleAnnot.csv row 14", "found an empty value")


def test_pacall_must_be_zero_or_one(run, setup):
    root, db = setup
    set_field(folder(root, 9861) / "PACall.csv", 6, 2, "2")
    expect_error(run, root, db, "donor 9861", "PACall.csv, line 6", "column '2 (SampleAnnot",
                 "expected 0 or 1, found '2'")


def test_short_row(run, setup):
    root, db = setup
    edit_line(folder(root, 9861) / "MicroarrayExpression.csv", 7,
              lambda text: text.rsplit(",", 1)[0])
    expect_error(run, root, db, "donor 9861", "MicroarrayExpression.csv, line 7",
                 "17 fields, expected 18")


def test_matrix_probe_not_in_probes(run, setup):
    root, db = setup
    set_field(folder(root, 12876) / "MicroarrayExpression.csv", 4, 0, "42")
    expect_error(run, root, db, "donor 12876", "MicroarrayExpression.csv, line 4",
                 "column '0 (probe_id)'", "probe_id 42 is not in Probes.csv")


def test_missing_file(run, setup):
    root, db = setup
    (folder(root, 9861) / "PACall.csv").unlink()
    expect_error(run, root, db, "donor 9861", "PACall.csv missing from the folder")


def test_duplicate_well_across_donors(run, setup):
    root, db = setup
    set_field(folder(root, 12876) / "SampleAnnot.csv", 3, 2, "1000")
    expect_error(run, root, db, "donor 12876", "SampleAnnot.csv, line 3, column 'well_id'",
                 "well_id 1000 is also a sample of another donor")


def test_no_human_ontology(run, setup, tmp_path):
    root, _db = setup
    for uid in ahba_release.DONORS:
        (folder(root, uid) / "Ontology.csv").unlink()
    fresh = tmp_path / "fresh.duckdb"
    result = run("ingest", "microarray", str(root), "--db", str(fresh))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "no human ontology is loaded" in result.stderr and "SampleAnnot.csv" in result.stderr
    assert not fresh.exists()


def test_corrupt_zip_and_a_donor_given_twice(run, setup, tmp_path):
    root, db = setup
    bad = tmp_path / "zips" / "normalized_microarray_donor14380.zip"
    bad.parent.mkdir()
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    expect_error(run, bad.parent, db, "normalized_microarray_donor14380.zip",
                 "not a readable zip file")
    with zipfile.ZipFile(root / "normalized_microarray_donor9861.zip", "w") as archive:
        for path in folder(root, 9861).iterdir():
            archive.write(path, path.name)
    expect_error(run, root, db, "donor 9861 (H0351.2001) appears twice")
