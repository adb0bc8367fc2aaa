"""`brainwh fetch` against a local stand-in for the Allen web services (tests/allen_site.py):
the real URL shapes (the ABC bucket over HTTPS with its S3 listing, structure graph downloads,
well-known-file downloads, RMA paging), started on 127.0.0.1 and stopped by PID; then `brainwh
build` on what was fetched gives the same warehouse as the files themselves.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import free_port, http_service

from tests.helpers import FIXTURES, nested_graph, table_counts
from tests.ish_site import add_ish

pytestmark = pytest.mark.slow
SITE = Path(__file__).resolve().parent / "allen_site.py"
AHBA_ZIPS = {9861: 178238387, 10021: 178238373, 12876: 178238359, 14380: 178238316,
             15496: 178238266, 15697: 178236545}


def _typed(value: str):
    """A CSV value as the API's JSON has it: numbers as numbers, "" as null."""
    if value == "":
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(value, value)


def _csv_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [{k: _typed(v) for k, v in row.items() if k} for row in csv.DictReader(handle)]


def build_site(site: Path, release: Path) -> Path:
    """The site's folder from the tiny sample release (and the real Cell Types tables: 2,331
    specimens, so the specimen query takes two 2,000-row pages)."""
    shutil.copytree(release / "releases", site / "abc" / "releases")
    shutil.copytree(release / "metadata", site / "abc" / "metadata")
    shutil.copytree(release / "mapmycells", site / "abc" / "mapmycells")
    graphs = site / "api" / "structure_graph_download"
    graphs.mkdir(parents=True)
    with open(release / "ontology" / "mouse_structures_graph1.csv", newline="") as handle:
        mouse = [r for r in csv.DictReader(handle) if r["structure_id_path"]]
    (graphs / "1.json").write_text(json.dumps(nested_graph(mouse)))
    donors = sorted((release / "ahba").glob("normalized_microarray_donor*"))
    with open(donors[0] / "Ontology.csv", newline="") as handle:
        human = list(csv.DictReader(handle))
    (graphs / "10.json").write_text(json.dumps(nested_graph(human, ontology_id=12)))
    downloads = site / "api" / "well_known_file_download"
    downloads.mkdir(parents=True)
    for folder in donors:
        uid = int(folder.name.removeprefix("normalized_microarray_donor"))
        target = downloads / str(AHBA_ZIPS[uid])
        with zipfile.ZipFile(target, "w") as archive:
            for member in sorted(folder.iterdir()):
                archive.write(member, member.name)
        target.with_name(target.name + ".name").write_text(f"{folder.name}.zip")
    models = site / "api" / "models"
    models.mkdir(parents=True)
    for model, path in (("ApiCellTypesSpecimenDetail",
                         FIXTURES / "cell_types_specimen_details.csv"),
                        ("EphysFeature", FIXTURES / "ephys_features.csv"),
                        ("NeuronReconstruction",
                         release / "cell_types" / "morphology_features.csv")):
        (models / f"{model}.json").write_text(json.dumps(_csv_rows(path)))
    add_ish(site, release)
    return site


def running(site: Path):
    """The stand-in Allen site over `site`, on a free port of 127.0.0.1."""
    return http_service([sys.executable, str(SITE), str(site), "{port}"], site.parent, "site")


@pytest.fixture(scope="module")
def site(tiny_release, tmp_path_factory) -> Iterator[tuple[Path, str]]:
    folder = build_site(tmp_path_factory.mktemp("allen") / "site", tiny_release)
    with running(folder) as url:
        yield folder, url


def fetch(cli, url: str, cache: Path, *names: str, retries: int = 3):
    return cli("fetch", *names, "--cache", str(cache), "--abc-url", f"{url}/abc",
               "--api-url", url, "--ahba-url", url, "--download-url", url,
               "--retries", str(retries),
               "--retry-wait", "0.05")


def faults(site: Path, table: dict) -> None:
    (site / "faults-used.json").unlink(missing_ok=True)
    (site / "faults.json").write_text(json.dumps(table))


def test_fetch_all_then_build(site, cli, tiny_db, tmp_path):
    folder, url = site
    faults(folder, {})
    cache = tmp_path / "allen"
    result = fetch(cli, url, cache, "all")
    assert result.exit_code == 0, result.stderr
    assert "ABC release 20250531" in result.stderr  # the newest, from the bucket listing
    assert f"next: brainwh build {cache}" in result.stderr
    assert (cache / "abc" / "releases" / "20250531" / "manifest.json").is_file()
    assert (cache / "ahba" / "normalized_microarray_donor9861.zip").is_file()
    assert json.loads((cache / "cell_types" / "cells.json").read_text())[0]["specimen__id"]
    db = tmp_path / "w.duckdb"
    built = cli("build", str(cache), "--db", str(db))
    assert built.exit_code == 0, built.stderr
    counts, reference = table_counts(db), table_counts(tiny_db)
    for table in ("cells", "cell_types", "regions_of_interest", "ahba_samples", "ahba_probes",
                  "structures", "morphology_features", "spatial_cells", "parcellations",
                  "parcellation_terms", "ish_experiments", "ish_genes",
                  "ish_structure_expression", "ish_grids", "ish_grid_missing",
                  "ish_grid_voxels", "ish_regional_means"):
        assert counts[table] == reference[table], table
    assert counts["ephys_specimens"] == 2331 and counts["ephys_features"] == 1337
    # a second fetch finds everything in place
    again = fetch(cli, url, cache, "all")
    assert again.exit_code == 0, again.stderr
    assert "downloading" not in again.stderr and "already here" in again.stderr


def test_a_server_error_is_retried(site, cli, tmp_path):
    folder, url = site
    faults(folder, {"/api/v2/structure_graph_download/1.json": {"status": 500, "times": 2}})
    result = fetch(cli, url, tmp_path / "c", "ontology")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("retrying") == 2 and "HTTP 500" in result.stderr
    faults(folder, {"/api/v2/structure_graph_download/1.json": {"status": 503, "times": 9}})
    result = fetch(cli, url, tmp_path / "d", "ontology", retries=2)
    assert result.exit_code == 1
    assert "gave up after 2 attempts: HTTP 503" in result.stderr and "Traceback" not in \
        result.stderr


def test_an_interrupted_download_resumes(site, cli, tmp_path):
    folder, url = site
    zip_url = f"{url}/api/v2/well_known_file_download/178238387"
    faults(folder, {"/api/v2/well_known_file_download/178238387": {"cut": 1000}})
    cache = tmp_path / "c"
    result = fetch(cli, url, cache, "ahba")
    assert result.exit_code == 0, result.stderr
    assert "connection dropped at byte 1,000" in result.stderr
    assert f"resuming {zip_url} from byte 1,000" in result.stderr
    expected = (folder / "api" / "well_known_file_download" / "178238387").read_bytes()
    assert (cache / "ahba" / "normalized_microarray_donor9861.zip").read_bytes() == expected
    # a part file left by a killed fetch is resumed by the next one
    target = cache / "ahba" / "normalized_microarray_donor10021.zip"
    body = (folder / "api" / "well_known_file_download" / "178238373").read_bytes()
    target.unlink()
    target.with_name(f".{target.name}.source.json").unlink()
    target.with_name(f".{target.name}.part").write_bytes(body[:500])
    faults(folder, {})
    result = fetch(cli, url, cache, "ahba")
    assert result.exit_code == 0, result.stderr
    assert "from byte 500" in result.stderr and target.read_bytes() == body


def test_a_malformed_page_is_refused_with_its_url(site, cli, tmp_path):
    folder, url = site
    faults(folder, {"/api/v2/data/query.json?criteria=model::EphysFeature":
                    {"body": "<html>maintenance</html>", "times": 99}})
    cache = tmp_path / "c"
    result = fetch(cli, url, cache, "ephys")
    assert result.exit_code == 1, result.stderr
    assert f"{url}/api/v2/data/query.json?criteria=model::EphysFeature" in result.stderr
    assert "not JSON" in result.stderr and "Traceback" not in result.stderr
    # the specimen pages fetched before are kept; the next run resumes and completes
    faults(folder, {})
    result = fetch(cli, url, cache, "ephys")
    assert result.exit_code == 0, result.stderr
    assert "already here" in result.stderr
    assert len(json.loads((cache / "cell_types" / "ephys_features.json").read_text())) == 1337


def test_a_corrupt_download_fails_its_md5(site, cli, tmp_path):
    folder, url = site
    relative = "metadata/WMB-10X/20241115/region_of_interest_metadata.csv"
    original = (folder / "abc" / relative).read_bytes()
    tampered = bytearray(original)
    tampered[-2] = ord("#") if tampered[-2] != ord("#") else ord("%")
    (folder / "abc" / relative).write_bytes(bytes(tampered))
    faults(folder, {})
    try:
        result = fetch(cli, url, tmp_path / "c", "abc")
    finally:
        (folder / "abc" / relative).write_bytes(original)
    assert result.exit_code == 1
    assert f"{url}/abc/{relative}: md5 " in result.stderr and "does not match" in result.stderr
    assert not (tmp_path / "c" / "abc" / relative).exists()


def test_offline_and_unknown_sources_say_what_to_do(cli, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: retried, then given up
    result = cli("fetch", "ontology", "--cache", str(tmp_path), "--api-url", closed,
                 "--retries", "2", "--retry-wait", "0.05")
    assert result.exit_code == 1, result.stderr
    assert "gave up after 2 attempts" in result.stderr and "Connection refused" in result.stderr
    assert "run the same command again" in result.stderr and "Traceback" not in result.stderr
    nowhere = "http://no-such-host.invalid"  # no name resolution: offline, or a wrong URL
    result = cli("fetch", "ontology", "--cache", str(tmp_path), "--api-url", nowhere)
    assert result.exit_code == 2, result.stderr
    assert "cannot reach" in result.stderr and "run the same command again" in result.stderr
    unknown = cli("fetch", "everything", "--cache", str(tmp_path))
    assert unknown.exit_code == 2 and "abc, ontology, ahba, ephys, ish, all" in unknown.stderr
