"""Bad Allen Mouse Brain Atlas input: exit code 1, one message naming the file and the row
(JSON path or line), column or voxel, no traceback, and the published warehouse unchanged."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests import ish_release
from tests.helpers import ingest_refused

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, Path]:
    from warehouse.build import run

    root = tmp_path_factory.mktemp("ish_bad") / "release"
    ish_release.write(root)
    db = root.parent / "good.duckdb"
    run(db, [str(root)], fresh=True)
    return root, db


@pytest.fixture
def cli(run):
    """`brainwh` in this process (its `main`: the same exit codes, messages and tracebacks a
    user would see), without a new interpreter for each of the cases."""
    return run


@pytest.fixture
def setup(good, tmp_path) -> tuple[Path, Path]:
    root, db = good
    copy = tmp_path / "release"
    shutil.copytree(root, copy)
    target = tmp_path / "w.duckdb"
    shutil.copyfile(db, target)
    return copy, target


def refused(cli, target: Path, db: Path, *fragments: str) -> str:
    return ingest_refused(cli, "ish", target, db, fragments, hint=True)


def edit_json(path: Path, edit) -> None:
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


def rewrite_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    contents.update(members)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            if data is not None:
                archive.writestr(name, data)


# ------------------------------------------------------------------ metadata

def test_truncated_section_data_sets(cli, setup):
    root, db = setup
    path = root / "ish" / "SectionDataSet.json"
    path.write_text(path.read_text()[:700])
    refused(cli, root, db, str(path), "line 1", "not valid JSON")


def test_a_plane_that_is_not_coronal_or_sagittal(cli, setup):
    root, db = setup
    path = root / "ish" / "SectionDataSet.json"
    edit_json(path, lambda d: d["msg"][2].update(plane_of_section_id=3,
                                                 reference_space_id=None))
    refused(cli, root, db, str(path), "msg[2].plane_of_section_id",
            "neither 1 (coronal) nor 2 (sagittal)")


def test_a_missing_failed_flag(cli, setup):
    root, db = setup
    path = root / "ish" / "SectionDataSet.json"
    edit_json(path, lambda d: d["msg"][1].pop("failed"))
    refused(cli, root, db, str(path), "msg[1].failed", "failed is missing")


def test_an_experiment_twice_with_different_values(cli, setup):
    root, db = setup
    path = root / "ish" / "SectionDataSet.json"
    edit_json(path, lambda d: d["msg"].append({**d["msg"][0], "failed": True}))
    refused(cli, root, db, str(path), "msg[7].id", "appears twice with different values",
            "msg[0]")


def test_a_gene_csv_with_a_bad_entrez_id(cli, setup):
    root, db = setup
    path = root / "ish" / "Gene.csv"
    lines = path.read_text().splitlines()
    fields = lines[2].split(",")
    fields[-3] = "abc"
    lines[2] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    refused(cli, root, db, str(path), "line 3", "entrez_id", "expected a whole number, "
            "found 'abc'")


# ------------------------------------------------------------------ unionizes

def page(root: Path, number: int = 0) -> Path:
    return root / "ish" / f"StructureUnionize_{number}.json"


def test_a_measure_that_is_not_a_number(cli, setup):
    root, db = setup
    edit_json(page(root), lambda d: d["msg"][5].update(expression_energy="high"))
    refused(cli, root, db, str(page(root)), "msg[5].expression_energy",
            "expected a number, found 'high'")


def test_negative_pixels_and_a_density_above_one(cli, setup):
    root, db = setup
    edit_json(page(root, 1), lambda d: d["msg"][3].update(sum_pixels=-5.0))
    refused(cli, root, db, str(page(root, 1)), "msg[3].sum_pixels",
            "expected a number 0 or more, found -5.0")
    edit_json(page(root, 1), lambda d: d["msg"][3].update(sum_pixels=5.0,
                                                          expression_density=1.7))
    refused(cli, root, db, str(page(root, 1)), "msg[3].expression_density",
            "expected a number between 0 and 1, found 1.7")


def test_a_row_without_a_structure(cli, setup):
    root, db = setup
    edit_json(page(root), lambda d: d["msg"][7].pop("structure_id"))
    refused(cli, root, db, str(page(root)), "msg[7].structure_id", "structure_id is missing")


def test_a_failed_query_page(cli, setup):
    root, db = setup
    edit_json(page(root), lambda d: d.update(success=False))
    refused(cli, root, db, str(page(root)), "$.success", "failed query")


def test_two_different_rows_for_one_structure(cli, setup):
    root, db = setup
    first = json.loads(page(root).read_text())["msg"][0]
    edit_json(page(root, 1), lambda d: d["msg"].append({**first, "expression_energy": 99.0}))
    message = refused(cli, root, db, str(page(root, 1)), "two different rows for structure",
                      f"experiment {first['section_data_set_id']}")
    assert "StructureUnionize_0.json, msg[0]" in message


def test_unionizes_without_the_mouse_ontology(cli, setup, tmp_path):
    root, _db = setup
    from warehouse.build import run

    empty = tmp_path / "empty.duckdb"
    run(empty, [str(root / "ish" / "Gene.csv")], kind="ish", fresh=True)
    refused(cli, page(root), empty, "mouse ontology (graph 1) is not loaded")


# ------------------------------------------------------------------ grids and annotation

def grid(root: Path, experiment: int = 868) -> Path:
    return root / "grids" / f"{experiment}.zip"


def test_a_cut_grid_zip(cli, setup):
    root, db = setup
    data = grid(root).read_bytes()
    grid(root).write_bytes(data[: len(data) // 2])
    refused(cli, root, db, str(grid(root)), "not a readable zip file", "fetch it again")


def test_a_grid_with_a_short_raw_file(cli, setup):
    root, db = setup
    rewrite_zip(grid(root), {"energy.raw": b"\0" * 1000})
    refused(cli, root, db, f"{grid(root)}!energy.raw", "expected 637,304 bytes",
            "found 1,000")


def test_a_grid_with_an_impossible_value(cli, setup):
    root, db = setup
    values = np.zeros(ish_release.N, dtype="<f4")
    values[ish_release.voxel_index(30, 20, 10)] = -2.0
    rewrite_zip(grid(root), {"energy.raw": values.tobytes()})
    refused(cli, root, db, f"{grid(root)}!energy.raw", "voxel (ap 30, dv 20, ml 10)",
            "energy -2.0", "-1 for no data")


def test_a_grid_of_another_size(cli, setup):
    root, db = setup
    with zipfile.ZipFile(grid(root)) as archive:
        header = archive.read("energy.mhd").decode()
    rewrite_zip(grid(root), {"energy.mhd": header.replace("DimSize = 67 41 58",
                                                          "DimSize = 133 81 115").encode()})
    refused(cli, root, db, f"{grid(root)}!energy.mhd", "DimSize", "67 x 41 x 58",
            "'133 81 115'")


def test_a_grid_whose_experiment_is_unknown(cli, setup):
    root, db = setup
    renamed = root / "grids" / "energy_grid.zip"
    grid(root).rename(renamed)
    refused(cli, root, db, str(renamed), "cannot tell which experiment",
            "<SectionDataSet id>.zip")


def test_an_annotation_with_a_structure_not_in_the_ontology(cli, setup):
    root, db = setup
    annotation = ish_release.make_annotation()
    annotation[ish_release.voxel_index(10, 10, 10)] = 999999999
    ish_release.write_annotation_zip(root / "P56_Mouse_gridAnnotation.zip", annotation)
    refused(cli, root, db, "P56_Mouse_gridAnnotation.zip!gridAnnotation.raw",
            "not in the mouse ontology", "999999999 at voxel (ap 10, dv 10, ml 10)")


def test_grids_without_an_annotation(cli, setup, tmp_path):
    root, _db = setup
    from warehouse.build import run

    fresh = tmp_path / "fresh.duckdb"
    run(fresh, [str(root / "mouse_structures_graph1.csv")], kind="ontology", fresh=True)
    refused(cli, root / "grids", fresh, "need the grid annotation", "is not loaded")


def test_a_new_annotation_without_its_grids(cli, setup):
    root, db = setup
    refused(cli, root / "P56_Mouse_gridAnnotation.zip", db,
            "changes the layout of every grid", "load the grid zips with it")
