"""The sample release laid out as a real abc_atlas_access cache is: other datasets beside WMB
with the same file names, an older copy of the WMB cells, and several manifests (an older
release, and a newer one naming versions that were never downloaded, as abc_atlas_access
leaves behind when it fetches the newest manifest at start-up), plus the cache's bookkeeping.

Applied after the release is written (`brainwh sample DIR --layout abc-cache`), so the
20250531 manifest lists only the release's own files. The other datasets' headers are the real
ones (tests/fixtures/real/abc_cache/, with their provenance in PROVENANCE.md); their rows are
a few synthetic ones in the real value grammar.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

from ingest.sample.manifest import BUCKET_URL

OLDER_RELEASE, NEWER_RELEASE = "20231215", "20250630"
OTHER_DATASETS = {
    # dataset/version/file: (header, rows)
    "WHB-10Xv3/20241115/cell_metadata.csv": (
        ["cell_label", "cell_barcode", "barcoded_cell_sample_label", "library_label",
         "feature_matrix_label", "entity", "brain_section_label", "library_method",
         "donor_label", "donor_sex", "dataset_label", "x", "y", "cluster_alias",
         "region_of_interest_label", "anatomical_division_label", "abc_sample_id"],
        [["10X386_2:CATGGATTCTCGACGA", "CATGGATTCTCGACGA", "10X386_2", "LKTX_210825_01_B01",
          "WHB-10Xv3-Neurons", "nuclei", "H19.30.001.CX.51", "10Xv3", "H19.30.001", "M",
          "WHB-10Xv3", "7.5", "-15.2", "20", "Human MoAN", "Myelencephalon",
          "b3d3a6c0-3dc5-4738-af4c-96cc5ff60300"]]),
    "WHB-10Xv3/20241115/region_of_interest_structure_map.csv": (
        ["region_of_interest_label", "structure_identifier", "structure_symbol",
         "structure_name", "color_hex_triplet"],
        [["Human A13", "DHBA:10202", "A13", "caudal division of OFCi (area 13)", "#CAB781"]]),
    "WHB-taxonomy/20240330/cluster.csv": (
        ["cluster_alias", "number_of_cells", "label"], [["0", "34", "CS202210140_494"]]),
    "Zhuang-ABCA-1/20231215/cell_metadata.csv": (
        ["cell_label", "brain_section_label", "feature_matrix_label", "donor_label",
         "donor_genotype", "donor_sex", "cluster_alias", "x", "y", "z",
         "subclass_confidence_score", "cluster_confidence_score", "high_quality_transfer"],
        [["182941331246012878296807398333956011700", "Zhuang-ABCA-1.089", "Zhuang-ABCA-1",
          "Zhuang-ABCA-1", "wt/wt", "F", "704", "0.68", "3.37", "7.83", "0.97", "0.72",
          "True"]]),
}


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _manifest(directory: Path, release: str, wmb10x_version: str, files: list[Path]) -> None:
    """A manifest in the real schema naming `files` (those on disk get their md5) and the
    WMB-10X files at `wmb10x_version` (which may not be on disk)."""
    listing: dict = {}
    for path in files:
        relative = path.relative_to(directory).as_posix()
        top, dataset, version = relative.split("/")[:3]
        if dataset == "WMB-10X":
            version = wmb10x_version
            relative = relative.replace("/WMB-10X/20241115/", f"/WMB-10X/{wmb10x_version}/")
        on_disk = directory / relative
        entry = {"version": version, "relative_path": relative,
                 "url": f"{BUCKET_URL}/{relative}"}
        if on_disk.is_file():
            entry.update(size=on_disk.stat().st_size,
                         file_hash=hashlib.md5(on_disk.read_bytes()).hexdigest())
        listing.setdefault(dataset, {}).setdefault(top, {})[Path(relative).stem] = {
            "files": {"csv": entry}}
    target = directory / "releases" / release / "manifest.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"version": release, "resource_uri": "s3://allen-brain-cell-"
                                  "atlas/", "directory_listing": {},
                                  "file_listing": listing}, indent=2))


def apply(directory: Path) -> None:
    """Turn the release at `directory` into an abc_atlas_access cache layout."""
    metadata = directory / "metadata"
    for relative, (header, rows) in OTHER_DATASETS.items():
        _write_csv(metadata / relative, header, rows)
    wmb = sorted((metadata / "WMB-10X" / "20241115").glob("*.csv"))
    older = metadata / "WMB-10X" / OLDER_RELEASE
    older.mkdir(parents=True, exist_ok=True)
    for path in wmb:  # the older release's copy of the cells, as a cache accumulates them
        shutil.copyfile(path, older / path.name)
    taxonomy = sorted((metadata / "WMB-taxonomy").rglob("*.csv"))
    _manifest(directory, OLDER_RELEASE, OLDER_RELEASE, [*wmb, *taxonomy])
    _manifest(directory, NEWER_RELEASE, NEWER_RELEASE, [*wmb, *taxonomy])
    (directory / "_manifest_last_used.txt").write_text(
        f"releases/{NEWER_RELEASE}/manifest.json")
    downloaded = [str(p) for p in sorted(metadata.rglob("*.csv"))]
    (directory / "_downloaded_data.json").write_text(json.dumps(downloaded, indent=2))
