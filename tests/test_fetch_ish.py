"""`brainwh fetch ish` against the local Allen site (tests/allen_site.py, the ISH part from
tests/ish_site.py): RMA paging of SectionDataSet and StructureUnionize (the unionize pages kept
as the API sent them), grid zips, the grid annotation; a 500 retried, a cut download resumed, a
malformed page refused with its URL; `--genes` and `--grids`. That a build of what was fetched
gives the same ISH tables as the sample files themselves is checked once, with every other
source, by tests/test_fetch.py::test_fetch_all_then_build (a second build here cost ~10 s)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_fetch import build_site, faults, fetch, running

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tiny_release, tmp_path_factory):
    folder = build_site(tmp_path_factory.mktemp("allen_ish") / "site", tiny_release)
    with running(folder) as url:
        yield folder, url


def fetch_ish(cli, url: str, cache: Path, *options: str):
    return cli("fetch", "ish", "--cache", str(cache), "--api-url", url, "--download-url", url,
               "--retries", "3", "--retry-wait", "0.05", *options)


def unionize_pages(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "ish" / "StructureUnionize").glob("*/*.json")
                  if not p.name.startswith("."))


def test_fetch_ish_keeps_pages_grids_and_annotation(site, cli, tmp_path):
    folder, url = site
    faults(folder, {})
    cache = tmp_path / "allen"
    result = fetch(cli, url, cache, "ish")
    assert result.exit_code == 0, result.stderr
    experiments = json.loads((cache / "ish" / "SectionDataSet.json").read_text())
    assert experiments and all("genes" in row for row in experiments)
    pages = unionize_pages(cache)
    assert len(pages) > 1  # paged: at most 2,000 rows a page, kept as envelopes
    for page in pages:
        document = json.loads(page.read_text())
        assert document["success"] is True and len(document["msg"]) <= 2000
    assert (cache / "ish" / "P56_Mouse_gridAnnotation.zip").is_file()
    assert (cache / "ontology" / "structure_graph_download" / "1.json").is_file()
    grids = sorted(p.name for p in (cache / "ish" / "grids").glob("*.zip"))
    assert grids == sorted(p.name for p in (folder / "grid").glob("*.zip"))
    # a second fetch finds everything in place, pages included
    again = fetch(cli, url, cache, "ish")
    assert again.exit_code == 0, again.stderr
    assert "downloading" not in again.stderr


def test_genes_and_grids_choose_what_to_fetch(site, cli, tmp_path):
    folder, url = site
    faults(folder, {})
    cache = tmp_path / "c"
    result = fetch_ish(cli, url, cache, "--genes", "Pvalb,Slc17a7", "--grids", "coronal")
    assert result.exit_code == 0, result.stderr
    rows = json.loads((cache / "ish" / "SectionDataSet-Pvalb_Slc17a7.json").read_text())
    assert {g["acronym"] for row in rows for g in row["genes"]} == {"Pvalb", "Slc17a7"}
    ids = {row["id"] for row in rows}
    fetched = {row["section_data_set_id"] for page in unionize_pages(cache)
               for row in json.loads(page.read_text())["msg"]}
    assert fetched == ids
    coronal = {row["id"] for row in rows if row["plane_of_section_id"] == 1
               and not row["failed"]}
    assert {int(p.stem) for p in (cache / "ish" / "grids").glob("*.zip")} == coronal
    unknown = fetch_ish(cli, url, cache, "--genes", "pvalb,Pvalb")
    assert unknown.exit_code == 2, unknown.stderr
    assert "no Mouse Brain ISH experiment for pvalb" in unknown.stderr
    assert "case-sensitive" in unknown.stderr
    misplaced = cli("fetch", "ontology", "--cache", str(cache), "--genes", "Pvalb")
    assert misplaced.exit_code == 2 and "apply to the ish source" in misplaced.stderr


def test_a_server_error_on_a_page_is_retried(site, cli, tmp_path):
    folder, url = site
    faults(folder, {"/api/v2/data/query.json?criteria=model::StructureUnionize":
                    {"status": 500, "times": 2}})
    result = fetch_ish(cli, url, tmp_path / "c", "--grids", "none")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("retrying") == 2 and "HTTP 500" in result.stderr


def test_an_interrupted_grid_download_resumes(site, cli, tmp_path):
    folder, url = site
    first = folder / "grid" / "868.zip"  # Pvalb's coronal experiment
    faults(folder, {f"/grid_data/download/{first.stem}": {"cut": 1000}})
    cache = tmp_path / "c"
    result = fetch_ish(cli, url, cache, "--genes", "Pvalb", "--grids", "coronal")
    assert result.exit_code == 0, result.stderr
    assert "connection dropped at byte 1,000" in result.stderr
    assert f"resuming {url}/grid_data/download/{first.stem}?include=energy from byte 1,000" \
        in result.stderr
    assert (cache / "ish" / "grids" / first.name).read_bytes() == first.read_bytes()


def test_a_malformed_page_is_refused_with_its_url(site, cli, tmp_path):
    folder, url = site
    cache = tmp_path / "c"
    # the first pages arrive, then the API answers with a maintenance page
    faults(folder, {"/api/v2/data/query.json?criteria=model::StructureUnionize":
                    {"body": "<html>maintenance</html>", "times": 99}})
    result = fetch_ish(cli, url, cache, "--grids", "none")
    assert result.exit_code == 1, result.stderr
    assert f"{url}/api/v2/data/query.json?criteria=model::StructureUnionize" in result.stderr
    assert "not JSON" in result.stderr and "Traceback" not in result.stderr
    assert not unionize_pages(cache)  # nothing malformed was kept
    faults(folder, {"/api/v2/data/query.json?criteria=model::StructureUnionize":
                    {"body": json.dumps({"success": True, "start_row": 0, "total_rows": 5,
                                         "msg": "oops"})}})
    result = fetch_ish(cli, url, cache, "--grids", "none")
    assert result.exit_code == 1 and "did not answer with rows" in result.stderr
    faults(folder, {})
    result = fetch_ish(cli, url, cache, "--grids", "none")
    assert result.exit_code == 0, result.stderr
    assert unionize_pages(cache)
