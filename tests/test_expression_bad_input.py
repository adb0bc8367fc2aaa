"""Bad expression files are refused with the file and the dataset named, and the warehouse left
exactly as it was: a truncated HDF5 file, missing datasets, wrong shapes, broken JSON, NaN
sums, impossible counts, clusters of another taxonomy, a broken marker lookup or gene.csv."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.expression_release import TRUE_COUNTS, write_release
from tests.helpers import ingest_refused, snapshot
from warehouse.errors import DataError


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from warehouse.build import run

    root = tmp_path_factory.mktemp("bad-expression")
    release = write_release(root / "release", TRUE_COUNTS)
    db = root / "w.duckdb"
    run(db, [str(release.root)], fresh=True)
    return release, db


def copy_of(path: Path, folder: Path) -> Path:
    target = folder / path.name
    shutil.copyfile(path, target)
    return target


def rewrite(path: Path, change: Callable[[h5py.File], None]) -> None:
    with h5py.File(path, "r+") as handle:
        change(handle)


def replace(handle: h5py.File, name: str, data) -> None:
    del handle[name]
    handle.create_dataset(name, data=data)


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def other_taxonomy(handle: h5py.File) -> None:
    """The 2023 taxonomy's labels (CCN20230504_CLUS_...), in the clusters and the tree."""
    for name in ("cluster_to_row", "taxonomy_tree"):
        text = handle[name][()].decode()
        replace(handle, name, text.replace("CS20230722", "CCN20230504").replace(
            "CCN20230722", "CCN20230504").encode())


def nan_sum(handle: h5py.File) -> None:
    values = handle["sum"][()]
    values[3, 2] = np.nan
    replace(handle, "sum", values)


def too_many_expressing(handle: h5py.File) -> None:
    values = handle["ge1"][()]
    values[1, 0] = handle["n_cells"][1] + 1
    replace(handle, "ge1", values)


def one_gene_fewer(handle: h5py.File) -> None:
    genes = json.loads(handle["col_names"][()].decode())
    replace(handle, "col_names", json.dumps(genes[:-1]).encode())


CASES = {
    "missing dataset": (lambda h: h.__delitem__("col_names"),
                        ["no dataset 'col_names'", "it has"]),
    "wrong shape (sum)": (one_gene_fewer, ["dataset 'sum' has shape (8, 12), expected (8, 11)"]),
    "wrong shape (n_cells)": (lambda h: replace(h, "n_cells", np.ones(5, dtype=np.int64)),
                              ["dataset 'n_cells' has shape (5,), expected (8,)"]),
    "n_cells not integers": (lambda h: replace(h, "n_cells", np.ones(8) * 0.5),
                             ["dataset 'n_cells' has type float64, expected integers"]),
    "cluster_to_row not JSON": (lambda h: replace(h, "cluster_to_row", b"{not json"),
                                ["dataset 'cluster_to_row' is not valid JSON"]),
    "row out of range": (lambda h: replace(h, "cluster_to_row", json.dumps(
        {k: (v if v else 99) for k, v in json.loads(h["cluster_to_row"][()]).items()}).encode()),
        ["dataset 'cluster_to_row'", "has row 99, expected a row number 0-7"]),
    "NaN sum": (nan_sum, ["dataset 'sum'", "is not a number"]),
    "ge1 above n_cells": (too_many_expressing, ["dataset 'ge1'", "but the cluster has"]),
    "another taxonomy": (other_taxonomy, ["taxonomy CCN20230504", "CCN20230722"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_statistics_file_is_refused_naming_the_dataset(built, tmp_path, case):
    from warehouse.build import run

    release, db = built
    path = copy_of(release.stats, tmp_path)
    change, fragments = CASES[case]
    rewrite(path, change)
    before = snapshot(db)
    with pytest.raises(DataError) as error:
        run(db, [str(path)], kind="expression", fresh=False)
    message = str(error.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert snapshot(db) == before


def test_a_truncated_download_exits_1_and_changes_nothing(built, tmp_path, cli):
    release, db = built
    path = copy_of(release.stats, tmp_path)
    truncated(path)
    ingest_refused(cli, "expression", path, db,
                   [str(path), "not a readable HDF5 file", "truncated"], hint=True)


def test_statistics_of_another_taxonomy_exit_1_naming_both(built, tmp_path, cli):
    release, db = built
    path = copy_of(release.stats, tmp_path)
    rewrite(path, other_taxonomy)
    ingest_refused(cli, "expression", path, db,
                   ["the statistics are for taxonomy CCN20230504, but the loaded taxonomy is "
                    "CCN20230722"], hint=True)


def test_statistics_without_a_taxonomy_are_refused(tmp_path):
    from warehouse.build import run

    release = write_release(tmp_path / "release", TRUE_COUNTS)
    db = tmp_path / "w.duckdb"
    run(db, [str(release.root / "ontology")], fresh=True)
    before = snapshot(db)
    with pytest.raises(DataError, match="no taxonomy is loaded"):
        run(db, [str(release.stats)], kind="expression", fresh=False)
    assert snapshot(db) == before


@pytest.mark.parametrize(("name", "content", "fragments"), [
    ("mouse_markers_230821.json", '{"None": ["ENSMUSG00000070570"], "CCN20230722_CLAS/x": 3}',
     ["CCN20230722_CLAS/x", "expected a list of gene identifiers, found int"]),
    ("mouse_markers_230821.json", '{"None": ["ENSMUSG00000070570"], "bad key": []}',
     ["key 'bad key' is neither"]),
    ("mouse_markers_230821.json", '{"None": ["ENSMUSG00000070570"], '
     '"CCN20230504_CLAS/CCN20230504_CLAS_01": []}',
     ["the marker lookup is for taxonomy CCN20230504, but the loaded taxonomy is CCN20230722"]),
    ("mouse_markers_230821.json", '{"None": ["ENSMUSG0000007',
     ["not valid JSON"]),
    ("gene.csv", "gene_identifier,name\nENSMUSG00000051951,x\n",
     ["missing column(s) gene_symbol"]),
])
def test_a_bad_marker_lookup_or_gene_list_is_refused(built, tmp_path, name, content,
                                                     fragments):
    from warehouse.build import run

    _release, db = built
    path = tmp_path / name
    path.write_text(content)
    before = snapshot(db)
    with pytest.raises(DataError) as error:
        run(db, [str(path)], kind="expression", fresh=False)
    for fragment in [str(path), *fragments]:
        assert fragment in str(error.value), str(error.value)
    assert snapshot(db) == before


def test_statistics_files_are_recognised_by_content_or_by_name(built, tmp_path):
    """HDF5 keeps the dataset names with the root group: near the start of a small file, but
    wherever the names outgrew its first heap in a big one (cell_type_mapper writes its JSON
    datasets first), so the file name `*precomputed_stats*` is recognised as well."""
    from pathlib import PurePosixPath

    from ingest import expression
    from ingest.probe import Probe

    release, _db = built
    renamed = copy_of(release.stats, tmp_path).rename(tmp_path / "renamed.h5")
    head = renamed.read_bytes()[:65536]
    assert expression.identify(Probe(PurePosixPath("renamed.h5"), renamed.stat().st_size,
                                     read_head=lambda n: head[:n])) == "precomputed_stats"
    bare = b"\x89HDF\r\n\x1a\n" + bytes(1000)
    for name, role in (("wmb_precomputed_stats.h5", "precomputed_stats"),
                       ("anndata.h5", None)):
        assert expression.identify(Probe(PurePosixPath(name), 1008,
                                         read_head=lambda n: bare[:n])) == role


def test_genes_without_a_gene_csv_row_are_reported(built, tmp_path):
    from warehouse.build import run

    release, db = built
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(db, copy)
    lines = (release.root / "metadata" / "WMB-10X" / "20241115" / "gene.csv").read_text()
    path = tmp_path / "gene.csv"
    path.write_text("\n".join(lines.splitlines()[:-2]) + "\n")  # the last two genes left out
    outcome = run(copy, [str(path)], kind="expression", fresh=False)
    assert any("2 gene(s) of the expression statistics are not in gene.csv" in note
               for note in outcome.notes), outcome.notes
