"""Bad MERFISH and parcellation input: one clear message (file, line, column), exit 1, and the
warehouse as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import ingest_refused, snapshot, write_csv
from tests.spatial_release import (
    CCF,
    COORDINATES_HEADER,
    MERFISH,
    METADATA_HEADER,
    PARCELLATION,
    merfish_rows,
    write_merfish,
    write_spatial_release,
)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return write_spatial_release(tmp_path_factory.mktemp("good") / "release")


@pytest.fixture(scope="module")
def built(release, tmp_path_factory) -> Path:
    from warehouse.build import run

    db = tmp_path_factory.mktemp("built") / "loaded.duckdb"
    run(db, [str(release)], fresh=True)
    return db


@pytest.fixture
def loaded(built, tmp_path) -> Path:
    """A copy of a warehouse holding the good release (each test may change its copy)."""
    db = tmp_path / "loaded.duckdb"
    shutil.copyfile(built, db)
    return db


def refused(kind: str, target: Path, db: Path, fragments, *, hint: bool = False) -> str:
    """`brainwh ingest KIND target`, in this process: a DataError holding every fragment, and
    every table as before (tests through the CLI check exit code 1 and no traceback)."""
    from warehouse.build import run
    from warehouse.errors import DataError

    before = snapshot(db)
    with pytest.raises(DataError) as caught:
        run(db, [str(target)], kind=kind, fresh=False)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    if hint:
        assert caught.value.hint, message
    assert snapshot(db) == before
    return message


def _broken(tmp_path: Path, mutate) -> Path:
    """The MERFISH files of the good release, changed by `mutate(metadata, ccf, rec)`."""
    metadata, ccf, reconstructed = merfish_rows()
    mutate(metadata, ccf, reconstructed)
    root = tmp_path / "broken"
    write_merfish(root, (metadata, ccf, reconstructed))
    return root


def test_a_coordinates_cell_missing_from_the_metadata(cli, loaded, tmp_path):
    def drop(metadata, ccf, rec):
        label = ccf[4][0]
        metadata[:] = [row for row in metadata if row[0] != label]

    target = _broken(tmp_path, drop)
    ingest_refused(cli, "spatial", target, loaded, [
        "ccf_coordinates.csv", "line 6", "column 'cell_label'", "is not in the MERFISH "
        "cell_metadata.csv"], hint=True)


def test_an_unknown_parcellation_index(loaded, tmp_path):
    target = _broken(tmp_path, lambda m, ccf, rec: (ccf[2].__setitem__(4, 9999),
                                                     _same_in(rec, ccf[2][0], 9999)))
    refused("spatial", target, loaded, [
        "ccf_coordinates.csv", "line 4", "column 'parcellation_index'",
        "parcellation_index 9999 is not in the loaded parcellation"], hint=True)


def _same_in(rows, label, index):
    for row in rows:
        if row[0] == label:
            row[4] = index


def test_non_numeric_coordinates(cli, loaded, tmp_path):
    target = _broken(tmp_path, lambda m, ccf, rec: rec[6].__setitem__(2, "dorsal"))
    ingest_refused(cli, "spatial", target, loaded, [
        "reconstructed_coordinates.csv", "line 8", "column 'y'",
        "expected a number, found 'dorsal'"])


def test_non_numeric_section_coordinates(loaded, tmp_path):
    target = _broken(tmp_path, lambda m, ccf, rec: m[2].__setitem__(8, "7,2"))
    refused("spatial", target, loaded, [
        "MERFISH-C57BL6J-638850/20241115/cell_metadata.csv", "line 4"])


def test_the_coordinate_files_disagree_on_a_parcellation(loaded, tmp_path):
    target = _broken(tmp_path, lambda m, ccf, rec: _same_in(rec, ccf[10][0], 51))
    refused("spatial", target, loaded, [
        "ccf_coordinates.csv", "line 12", "column 'parcellation_index'",
        "reconstructed_coordinates.csv"])


def test_a_duplicate_cell(loaded, tmp_path):
    target = _broken(tmp_path, lambda m, ccf, rec: ccf.append(list(ccf[3])))
    refused("spatial", target, loaded, [
        "ccf_coordinates.csv", "line 28", "duplicate cell_label", "also on line 5"])


def test_an_empty_coordinate(loaded, tmp_path):
    target = _broken(tmp_path, lambda m, ccf, rec: ccf[0].__setitem__(3, ""))
    refused("spatial", target, loaded, [
        "ccf_coordinates.csv", "line 2", "column 'z'", "z is empty"])


def test_coordinates_alone_are_refused(loaded, tmp_path):
    _, ccf, _ = merfish_rows()
    target = write_csv(tmp_path / "lone" / CCF / "ccf_coordinates.csv", COORDINATES_HEADER, ccf)
    refused("spatial", target.parent, loaded, [
        "MERFISH coordinates without their cell_metadata.csv"], hint=True)


def test_cells_of_another_taxonomy_are_refused(loaded, tmp_path):
    """MERFISH cells of release 20230630 (old schema) name CCN20230504's cluster aliases."""
    metadata, ccf, rec = merfish_rows()
    root = tmp_path / "old"
    header = [*METADATA_HEADER[:-1], "matrix_label", "low_quality_mapping"]
    write_csv(root / "metadata" / "MERFISH-C57BL6J-638850" / "20230630" / "cell_metadata.csv",
              header, [[*row[:-1], row[1], "False"] for row in metadata])
    for name, rows in (("ccf_coordinates.csv", ccf), ("reconstructed_coordinates.csv", rec)):
        write_csv(root / CCF / name, COORDINATES_HEADER, rows)
    refused("spatial", root, loaded, [
        "annotated with taxonomy CCN20230504", "the loaded taxonomy is CCN20230722"],
        hint=True)


def test_a_parcellation_membership_of_an_unknown_index(loaded, release, tmp_path):
    folder = tmp_path / "ccf" / PARCELLATION
    shutil.copytree(release / PARCELLATION, folder)
    membership = folder / "parcellation_to_parcellation_term_membership.csv"
    lines = membership.read_text().splitlines(keepends=True)
    lines[7] = lines[7].replace(",811,", ",812,", 1)
    membership.write_text("".join(lines))
    refused("parcellation", folder, loaded, [
        "parcellation_to_parcellation_term_membership.csv", "line 8",
        "column 'parcellation_index'", "812 is not in parcellation.csv"])


def test_a_parcellation_reloaded_without_the_cells_indices(loaded, release, tmp_path):
    folder = tmp_path / "ccf" / PARCELLATION
    shutil.copytree(release / PARCELLATION, folder)
    for name in ("parcellation.csv", "parcellation_to_parcellation_term_membership.csv"):
        path = folder / name
        path.write_text("".join(line for line in path.read_text().splitlines(keepends=True)
                                if "AllenCCF-Annotation-2020-56," not in line))
    refused("parcellation", folder, loaded, [
        "parcellation.csv", "2 MERFISH cell(s) are in parcellations this file lacks (e.g. 51)"])


def test_a_bad_parcellation_label(loaded, release, tmp_path):
    folder = tmp_path / "ccf" / PARCELLATION
    shutil.copytree(release / PARCELLATION, folder)
    path = folder / "parcellation.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace("AllenCCF-Annotation-2020-", "CCF-")
    path.write_text("".join(lines))
    refused("parcellation", folder, loaded, [
        "parcellation.csv", "line 4", "column 'label'",
        "expected AllenCCF-Annotation-<year>-<structure id>"])


def test_metadata_without_a_required_column(loaded, tmp_path):
    metadata, ccf, rec = merfish_rows()
    root = tmp_path / "nocluster"
    header = [c if c != "cluster_alias" else "cluster" for c in METADATA_HEADER]
    write_csv(root / MERFISH / "cell_metadata.csv", header, metadata)
    write_csv(root / CCF / "ccf_coordinates.csv", COORDINATES_HEADER, ccf)
    refused("spatial", root, loaded, ["cell_metadata.csv", "line 1",
                                                  "missing column(s) cluster_alias"])


def test_a_membership_naming_a_term_parcellation_term_csv_lacks(loaded, release, tmp_path):
    folder = tmp_path / "ccf" / PARCELLATION
    shutil.copytree(release / PARCELLATION, folder)
    membership = folder / "parcellation_to_parcellation_term_membership.csv"
    lines = membership.read_text().splitlines(keepends=True)
    term = lines[5].split(",")[1]
    lines[5] = lines[5].replace(f",{term},", f",{term}-X,", 1)
    membership.write_text("".join(lines))
    refused("parcellation", folder, loaded, [
        "parcellation_to_parcellation_term_membership.csv", "line 6",
        "column 'parcellation_term_label'", f"term '{term}-X' is not in parcellation_term.csv",
        "different versions"])
