"""Building from the folders real users have, made of real rows (tests/fixtures/real/, with
their provenance in PROVENANCE.md): an abc_atlas_access cache with a dozen datasets and two
manifests, the 2023 taxonomy, abagen's data folder, AllenSDK CellTypesCache folders, and the
Allen API's and BrainGlobe's ontology files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import query_rows, real_abc_cache, snapshot

REAL = Path(__file__).resolve().parent / "fixtures" / "real"


def abc_cache(tmp_path: Path) -> Path:
    return real_abc_cache(tmp_path)


def test_an_abc_atlas_access_cache_builds_what_brainwh_loads_and_lists_the_rest(tmp_path, run):
    cache = abc_cache(tmp_path)
    plan = run("sources", str(cache), "--format", "json")
    assert plan.exit_code == 0, plan.stderr
    entries = json.loads(plan.stdout)
    loaded = {e["file"].removeprefix(str(cache) + "/") for e in entries if e["status"] == "load"}
    assert "metadata/WMB-10X/20241115/cell_metadata.csv" in loaded
    assert "metadata/MERFISH-C57BL6J-638850/20241115/cell_metadata.csv" in loaded
    assert "metadata/Allen-CCF-2020/20230630/parcellation.csv" in loaded
    assert not any("WHB" in f or "Zhuang" in f or "/views/parcellation" in f for f in loaded)
    not_loaded = {e["dataset"] for e in entries if e["status"] == "not loaded" and e["dataset"]}
    assert {"WHB-10Xv3", "WHB-taxonomy", "Zhuang-ABCA-1", "Zhuang-ABCA-1-CCF"} <= not_loaded
    skipped = [e for e in entries if e["status"] == "skipped"]
    assert {e["version"] for e in skipped} == {"20231215"}  # the older WMB-10X copy
    assert all("not in ABC release 20250531" in e["reason"] for e in skipped)

    db = tmp_path / "w.duckdb"
    result = run("build", str(cache), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert "ABC release 20250531" in result.stderr
    assert "not loaded: WHB-10Xv3" in result.stderr
    # the real rows' answers (PROVENANCE.md): 5 cells of alias 1 in RHP, 29 ROIs, 12 clusters
    assert query_rows(db, "select count(*), count(distinct donor_label), any_value("
                "region_of_interest_acronym) from cells") == [(5, 2, "RHP")]
    assert query_rows(db, "select count(*) from regions_of_interest") == [(29,)]
    # the five real MERFISH cells, in their CCF parcellations (DG-po, TRN, P, arb)
    assert query_rows(db, "select count(*), count(distinct parcellation_index) "
                      "from spatial_cells") == [(5, 4)]
    assert query_rows(db, "select supertype, subclass, taxonomy_version, "
                      "taxonomy_component_version from cell_types where cluster_alias = 1") == [
        ("0082 L2 IT PPP-APr Glut_3", "018 L2 IT PPP-APr Glut", "CCN20230722", "20231215")]
    assert query_rows(db, "select neurotransmitter, count(*) from cell_types group by 1 order by 1"
                ) == [("GABA", 1), ("Glut", 7), ("NA", 4)]
    assert query_rows(db, "select distinct release from ingest_log where kind in ('cells', "
                "'taxonomy')") == [("20250531",)]
    # answers and extracts say which taxonomy, and which folder of it, named the cell types
    assert query_rows(db, "select distinct taxonomy_version, taxonomy_component_version from "
                "composition") == [("CCN20230722", "20231215")]
    out = tmp_path / "composition.parquet"
    assert run("export", "composition", "--out", str(out), "--db", str(db)).exit_code == 0
    import pyarrow.parquet as pq

    metadata = pq.read_metadata(out).metadata
    assert metadata[b"brainwh.taxonomy_version"] == b"CCN20230722"
    assert metadata[b"brainwh.taxonomy_folder"] == b"WMB-taxonomy/20231215"


def _newer_manifest(cache: Path, release: str, cells_version: str) -> None:
    """What abc_atlas_access leaves behind: a newer manifest naming versions not on disk."""
    text = (cache / "releases" / "20250531" / "manifest.json").read_text()
    text = text.replace('"version": "20250531"', f'"version": "{release}"', 1)
    text = text.replace("WMB-10X/20241115", f"WMB-10X/{cells_version}").replace(
        '"version": "20241115"', f'"version": "{cells_version}"')
    target = cache / "releases" / release / "manifest.json"
    target.parent.mkdir(parents=True)
    target.write_text(text)


def test_a_newer_manifest_naming_files_not_on_disk_is_passed_over(tmp_path, run):
    cache = abc_cache(tmp_path)
    _newer_manifest(cache, "20250630", "20250630")
    db = tmp_path / "w.duckdb"
    result = run("build", str(cache), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert "ABC release 20250531 chosen: newer manifest(s) name files that are not on disk " \
           "(20250630 lists metadata/WMB-10X/20250630/cell_metadata.csv" in result.stderr
    assert query_rows(db, "select count(*) from cells") == [(5,)]
    # release 20231215 has no MapMyCells files and an older gene.csv than the one on disk, and
    # its MERFISH cells are not the 20241115 ones this cache holds: building it would leave those
    # out, which is refused ...
    for dataset in ("MERFISH-C57BL6J-638850", "MERFISH-C57BL6J-638850-CCF"):
        shutil.rmtree(cache / "metadata" / dataset)
    older = tmp_path / "older.duckdb"
    refused = run("build", str(cache), "--release", "20231215", "--db", str(older))
    assert refused.exit_code == 1 and "release 20231215 does not list mapmycells/" in \
        refused.stderr
    # ... and with only its own files on disk, --release works locally too
    shutil.rmtree(cache / "mapmycells")
    (cache / "metadata" / "WMB-10X" / "20241115" / "gene.csv").unlink()
    result = run("build", str(cache), "--release", "20231215", "--db", str(older))
    assert result.exit_code == 0, result.stderr
    assert query_rows(older, "select distinct component_version from ingest_log where kind = "
                "'cells'") == [("20231215",)]
    assert query_rows(older, "select count(*) from cells") == [(5,)]
    # --release with other locations that have no manifest (an ontology folder beside it)
    both = tmp_path / "both.duckdb"
    result = run("build", str(cache), str(REAL / "allen_api" / "1.json"), "--release",
                 "20231215", "--db", str(both))
    assert result.exit_code == 0, result.stderr
    assert query_rows(both, "select count(*) from structures") == [(23,)]


def test_a_release_that_would_leave_files_out_stops_the_build(tmp_path, run):
    """Only an old cell_metadata on disk, and a manifest that does not list it: exit 1,
    naming the release and the file, instead of publishing a warehouse without cells."""
    cache = abc_cache(tmp_path)
    shutil.rmtree(cache / "metadata" / "WMB-10X" / "20241115")
    (cache / "releases" / "20231215" / "manifest.json").unlink()
    db = tmp_path / "w.duckdb"
    result = run("build", str(cache), "--db", str(db))
    assert result.exit_code == 1, result.stderr
    assert "20250531 does not list metadata/WMB-10X/20231215/cell_metadata.csv" in result.stderr
    assert "Traceback" not in result.stderr and not db.exists()
    forced = run("build", str(cache), "--release", "20250531", "--db", str(db))
    assert forced.exit_code == 1
    assert "release 20250531 does not list metadata/WMB-10X/20231215/cell_metadata.csv" in \
        forced.stderr
    unknown = run("build", str(cache), "--release", "20240101", "--db", str(db))
    assert unknown.exit_code == 2 and "release 20240101 is not under" in unknown.stderr


def test_the_2023_taxonomy_is_recognised_and_never_mixed_with_later_cells(tmp_path, run):
    old = REAL / "abc_taxonomy_20230630"
    db = tmp_path / "old.duckdb"
    result = run("build", str(old), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    # CCN20230504 (labels CS20230305_*): alias 1 is 0081, with a division above its class
    assert query_rows(db, "select supertype, division, taxonomy_version from cell_types where "
                "cluster_alias = 1") == [("0081 L2 IT PPP-APr Glut_3",
                                          "1 Pallium glutamatergic", "CCN20230504")]
    # 20241115 cells with the 2023 taxonomy, pivoted view only: refused naming both versions
    mixed = tmp_path / "mixed"
    cache = abc_cache(tmp_path)
    shutil.copytree(cache / "metadata" / "WMB-10X" / "20241115",
                    mixed / "metadata" / "WMB-10X" / "20241115")
    taxonomy = mixed / "metadata" / "WMB-taxonomy" / "20230630"
    (taxonomy / "views").mkdir(parents=True)
    source = old / "metadata" / "WMB-taxonomy" / "20230630"
    shutil.copyfile(source / "cluster.csv", taxonomy / "cluster.csv")
    shutil.copyfile(source / "views" / "cluster_to_cluster_annotation_membership_pivoted.csv",
                    taxonomy / "views" / "cluster_to_cluster_annotation_membership_pivoted.csv")
    before = snapshot(db)
    result = run("build", str(mixed), "--db", str(db))
    assert result.exit_code == 1, result.stderr
    assert "CCN20230722" in result.stderr and "CCN20230504" in result.stderr
    assert snapshot(db) == before


def test_abagens_data_folder_loads_the_microarray_and_lists_rnaseq(tmp_path, run):
    db = tmp_path / "w.duckdb"
    result = run("build", str(REAL / "abagen_data"), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert "Allen Human Brain Atlas RNA-seq" in result.stderr
    assert query_rows(db, "select count(*) from ahba_donors where n_samples is not null") == [(2,)]
    assert query_rows(db, "select count(*) from ahba_samples") == [(5,)]
    assert query_rows(db, "select count(*) from ahba_probes") == [(6,)]


@pytest.mark.parametrize("folder", ["allensdk_cell_types", "allensdk_cell_types_simplified",
                                    "allensdk_cell_types_legacy"])
def test_allensdk_cell_types_caches_load(folder, tmp_path, run):
    db = tmp_path / "w.duckdb"
    result = run("build", str(REAL / folder), str(REAL / "allen_api" / "1.json"),
                 "--db", str(db))
    assert result.exit_code == 0, result.stderr
    if folder == "allensdk_cell_types_legacy":  # features only (its cells.json is lost)
        assert query_rows(db, "select count(*) from ephys_features") == [(6,)]
        return
    assert query_rows(db, "select species, count(*) from ephys_specimens group by 1 "
                      "order by 1") == [("human", 2), ("mouse", 4)]
    # the mouse cells are at layer level in the ontology, whichever form cells.json has
    assert query_rows(db, "select structure_acronym from ephys_specimens where species = 'mouse' "
                "order by specimen_id") == [("VISp4",), ("VISp5",), ("VISp2/3",), ("VISpm4",)]
    assert query_rows(db, "select dendrite_type, count(*) from ephys_specimens group by 1 "
                      "order by 1") == [("aspiny", 2), ("spiny", 4)]
    if folder == "allensdk_cell_types":
        # features joined: ephys_by_region is no longer empty (real vrest of 469801138)
        assert query_rows(db, "select n_cells, round(mean_vrest, 2) from ephys_by_region where "
                    "structure_acronym = 'VISp4' and layer = 'all' and dendrite_type = 'all'"
                    ) == [(1, -72.04)]


@pytest.mark.parametrize("name", ["1.json", "query_model_Structure_graph1.json",
                                  "allensdk_reference_space/structures.json",
                                  "allen_mouse_25um_v1.2/structures.json"])
def test_every_ontology_file_form_loads_with_colours(name, tmp_path, run):
    db = tmp_path / "w.duckdb"
    result = run("ingest", "ontology", str(REAL / "allen_api" / name), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert query_rows(db, "select count(*), count(color_hex_triplet) from structures") == [(23, 23)]
    assert query_rows(db, "select color_hex_triplet from structures where acronym = 'VISp'"
                ) == [("08858C",)]
    assert query_rows(db, "select count(*) from structure_ancestors a join structures s on "
                "s.structure_id = a.ancestor_id where s.acronym = 'Isocortex'") == [(11,)]


def test_the_sample_release_as_an_abc_atlas_access_cache_builds_the_same(tmp_path, run, tiny_db):
    cache = tmp_path / "cache"
    result = run("sample", str(cache), "--scale", "tiny", "--seed", "7", "--layout", "abc-cache")
    assert result.exit_code == 0, result.stderr
    db = tmp_path / "w.duckdb"
    result = run("build", str(cache), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert "ABC release 20250531 chosen: newer manifest(s) name files that are not on disk " \
           "(20250630 lists metadata/WMB-10X/20250630/" in result.stderr
    assert "skipped: " in result.stderr and "WMB-10X/20231215/cell_metadata.csv" in \
        result.stderr
    assert "not loaded: WHB-10Xv3" in result.stderr and "not loaded: Zhuang-ABCA-1" in \
        result.stderr
    assert "abc_atlas_access's cache bookkeeping" in result.stderr
    for table in ("cells", "cell_types", "regions_of_interest", "structures"):
        assert query_rows(db, f"select count(*) from {table}") == query_rows(
            tiny_db, f"select count(*) from {table}"), table
