"""A hand-made Allen Mouse Brain Atlas (ISH) release whose answers the tests compute with numpy.

Real shapes: SectionDataSet rows have the keys of the real rows in BlueBrain/Atlas-Download-Tools
(`tests/data/sync/SectionDataSet.txt`, commit b7df901a) and AllenSDK's fixtures (the ones in
DATA_FORMATS.md §5.2); the grid zips hold `energy.mhd` + `energy.raw` with the header the real
downloads carry (DJFernandes/ABIgeneRMINC `inst/extdata/Nrp1_P56_coronal_74272479_200um.zip`,
commit 78ef012) and the annotation zip `gridAnnotation.mhd` + `.raw` (MET_UINT) like the real
`P56_Mouse_gridAnnotation.zip` (same repository). The experiment ids, genes, planes and Entrez
ids are real (ABIgeneRMINC's `ABI_genes.csv`, same commit); the grids, annotation boxes and
unionize values are made up here.

What it exercises: two experiments of one gene (Pvalb coronal and sagittal), a failed
experiment (Gad1), an experiment without a grid (Slc17a7 sagittal: unionizes only), a sagittal
grid with no data right of the midline, -1 voxels inside structures (missing) and a whole
structure side without data, a voxel annotated with a parent structure itself (STR), a
structure outside grey matter (VS), a Developing Mouse experiment and a graph-17 unionize row
(both skipped), and a row repeated across two pages (loaded once).
"""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHAPE = (67, 41, 58)  # AP, DV, ML
N = 67 * 41 * 58
MIDLINE = 29

# (structure id, acronym): boxes of the annotation, (ap range, dv range, ml range)
BOXES = [
    (672, "CP", (20, 23), (14, 17), (20, 23)), (672, "CP", (20, 23), (14, 17), (34, 37)),
    (56, "ACB", (18, 20), (22, 24), (24, 26)), (56, "ACB", (18, 20), (22, 24), (31, 33)),
    (477, "STR", (24, 25), (18, 19), (27, 28)),  # annotated with the parent itself
    (262, "RT", (32, 34), (20, 22), (18, 20)), (262, "RT", (32, 34), (20, 22), (37, 39)),
    (322, "SSp", (25, 29), (3, 5), (8, 12)), (322, "SSp", (25, 29), (3, 5), (45, 49)),
    (648, "MOp5", (15, 17), (4, 6), (14, 16)), (648, "MOp5", (15, 17), (4, 6), (41, 43)),
    (382, "CA1", (38, 41), (10, 12), (16, 19)), (382, "CA1", (38, 41), (10, 12), (38, 41)),
    (73, "VS", (30, 31), (14, 15), (28, 30)),
]
# id, acronym, name, entrez (Allen gene ids made up)
GENES = {
    "Pvalb": (19293001, "parvalbumin", 19293),
    "Slc17a7": (72961001, "solute carrier family 17 member 7", 72961),
    "Ppp1r1b": (19049001, "protein phosphatase 1, regulatory inhibitor subunit 1B", 19049),
    "Gad1": (14415001, "glutamate decarboxylase 1", 14415),
}
# experiment id, gene, plane, failed, has grid
EXPERIMENTS = [
    (75081210, "Slc17a7", "coronal", False, True),
    (69014470, "Slc17a7", "sagittal", False, False),
    (868, "Pvalb", "coronal", False, True),
    (75457591, "Pvalb", "sagittal", False, True),
    (73732146, "Ppp1r1b", "coronal", False, True),
    (79556706, "Gad1", "coronal", True, True),
]
DEV_MOUSE = 100042562  # a Developing Mouse Brain experiment (reference space 11): skipped
GRAPH17_STRUCTURE = 112892315  # DR-lw of the developing mouse ontology: its rows are skipped
# where each gene is high: (acronyms, level)
PATTERNS = {
    "Slc17a7": (["SSp", "MOp5", "CA1"], 12.0),
    "Pvalb": (["RT", "SSp"], 9.0),
    "Ppp1r1b": (["CP", "ACB", "STR"], 15.0),
    "Gad1": (["CP", "RT"], 7.0),
}


@dataclass
class Release:
    root: Path
    annotation: np.ndarray  # flat, voxel index order
    grids: dict[int, np.ndarray] = field(default_factory=dict)  # flat float32 energy
    unionize: dict[tuple[int, int], dict] = field(default_factory=dict)
    paths: dict[int, tuple[int, ...]] = field(default_factory=dict)  # structure -> id path


def voxel_index(ap: int, dv: int, ml: int) -> int:
    return ap + 67 * (dv + 41 * ml)


def ontology_paths() -> dict[int, tuple[int, ...]]:
    with open(FIXTURES / "mouse_structures_graph1.csv", newline="") as handle:
        return {int(r["id"]): tuple(int(p) for p in r["structure_id_path"].strip("/").split("/"))
                for r in csv.DictReader(handle) if r["structure_id_path"]}


def make_annotation() -> np.ndarray:
    volume = np.zeros(N, dtype=np.uint32)
    for structure, _acronym, (a0, a1), (d0, d1), (m0, m1) in BOXES:
        for ap in range(a0, a1 + 1):
            for dv in range(d0, d1 + 1):
                for ml in range(m0, m1 + 1):
                    volume[voxel_index(ap, dv, ml)] = structure
    return volume


def make_grid(gene: str, plane: str, annotation: np.ndarray, rng) -> np.ndarray:
    acronyms, level = PATTERNS[gene]
    high = {s for s, a, *_ in BOXES if a in acronyms}
    grid = rng.gamma(1.5, 0.4, N).astype(np.float32)  # background, also outside the brain
    grid[rng.random(N) < 0.3] = 0.0  # many voxels with no expression at all
    for structure in high:
        where = annotation == structure
        grid[where] = (level * rng.uniform(0.6, 1.4, where.sum())).astype(np.float32)
    grid[rng.random(N) < 0.15] = -1.0  # outside sections, edges
    if plane == "sagittal":
        ml = np.arange(N) // (67 * 41)
        grid[ml >= MIDLINE] = -1.0  # sagittal experiments cover the left hemisphere
    return grid


def write_grid_zip(path: Path, grid: np.ndarray, *, extra: dict[str, bytes] | None = None
                   ) -> None:
    header = ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
              "TransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\nCenterOfRotation = 0 0 0\n"
              "AnatomicalOrientation = RAI\nElementSpacing = 200 200 200\nDimSize = 67 41 58\n"
              "ElementType = MET_FLOAT\nElementDataFile = energy.raw\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("energy.mhd", header)
        archive.writestr("energy.raw", grid.astype("<f4").tobytes())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)


def write_annotation_zip(path: Path, annotation: np.ndarray) -> None:
    header = ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
              "CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\n"
              "CenterOfRotation = 0 0 0\nAnatomicalOrientation = RAI\n"
              "ElementSpacing = 200 200 200\nDimSize = 67 41 58\nElementType = MET_UINT\n"
              "ElementDataFile = gridAnnotation.raw\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("gridAnnotation.mhd", header)
        archive.writestr("gridAnnotation.raw", annotation.astype("<u4").tobytes())


def section_data_set(experiment: int, gene: str | None, plane: str, failed: bool) -> dict:
    space = {"coronal": 9, "sagittal": 10}.get(plane, 11)
    row = {"blue_channel": None, "delegate": False, "expression": True, "failed": failed,
           "failed_facet": 734881840, "green_channel": None, "id": experiment, "name": None,
           "plane_of_section_id": 1 if plane == "coronal" else 2,
           "qc_date": "2009-05-02T22:48:46Z", "red_channel": None, "reference_space_id": space,
           "rnaseq_design_id": None, "section_thickness": 25.0,
           "specimen_id": 70000000 + experiment % 1000000, "sphinx_id": 33103,
           "storage_directory": f"/external/aibssan/production32/prod329/image_series_"
                                f"{experiment}/", "weight": 5470, "genes": []}
    if gene is not None:
        gene_id, name, entrez = GENES[gene]
        row["genes"] = [{"acronym": gene, "alias_tags": None, "chromosome_id": 33,
                         "ensembl_id": None, "entrez_id": entrez,
                         "genomic_reference_update_id": 491928275, "homologene_id": None,
                         "id": gene_id, "legacy_ensembl_gene_id": None, "name": name,
                         "organism_id": 2, "original_name": name, "original_symbol": gene,
                         "reference_genome_id": None, "sphinx_id": 1,
                         "version_status": "no change"}]
    return row


def envelope(rows: list[dict], start: int = 0, total: int | None = None) -> dict:
    return {"success": True, "id": 0, "start_row": start, "num_rows": len(rows),
            "total_rows": total if total is not None else len(rows), "msg": rows}


def unionize_rows(release: Release, experiment: int, rng, grid: np.ndarray | None) -> None:
    """Allen-like unionizes: per annotated leaf, pixels and expressing intensity from the
    grid's valid voxels (1,000 pixels a voxel), summed into every ancestor."""
    leaves = sorted({s for s, *_ in BOXES})
    totals: dict[int, np.ndarray] = {}
    for leaf in leaves:
        where = release.annotation == leaf
        if grid is not None:
            values = grid[where]
            valid = values[values >= 0]
            pixels = 1000.0 * len(valid)
            intensity = 1000.0 * float(valid.sum())
        else:
            pixels = 1000.0 * where.sum()
            intensity = pixels * rng.uniform(0.5, 8.0)
        expressing = pixels * rng.uniform(0.05, 0.6)
        row = np.array([pixels, expressing, intensity * 1.7, intensity])
        for ancestor in release.paths[leaf]:
            totals[ancestor] = totals.get(ancestor, 0) + row
    for structure, (pixels, expressing, all_intensity, intensity) in sorted(totals.items()):
        release.unionize[(experiment, structure)] = {
            "expression_density": expressing / pixels if pixels else 0.0,
            "expression_energy": intensity / pixels if pixels else 0.0,
            "id": 400000000 + len(release.unionize), "section_data_set_id": experiment,
            "structure_id": structure, "sum_expressing_pixel_intensity": intensity,
            "sum_expressing_pixels": expressing, "sum_pixel_intensity": all_intensity,
            "sum_pixels": pixels, "voxel_energy_cv": 0.9, "voxel_energy_mean": 0.2}


def write(root: Path, seed: int = 5) -> Release:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURES / "mouse_structures_graph1.csv",
                    root / "mouse_structures_graph1.csv")
    release = Release(root, make_annotation(), paths=ontology_paths())
    write_annotation_zip(root / "P56_Mouse_gridAnnotation.zip", release.annotation)
    rows = []
    for experiment, gene, plane, failed, has_grid in EXPERIMENTS:
        rows.append(section_data_set(experiment, gene, plane, failed))
        grid = make_grid(gene, plane, release.annotation, rng) if has_grid else None
        if grid is not None:
            release.grids[experiment] = grid
        unionize_rows(release, experiment, rng, grid)
    # missing voxels inside cells with data, and a whole cell without data
    pvalb = release.grids[868]
    cp_left = [voxel_index(21, 15, ml) for ml in (20, 21)]
    pvalb[cp_left] = -1.0
    rt_right = (release.annotation == 262) & (np.arange(N) // (67 * 41) >= MIDLINE)
    pvalb[rt_right] = -1.0
    sagittal = release.grids[75457591]
    sagittal[voxel_index(26, 4, 9)] = -1.0
    # Pvalb coronal's unionize follows its grid as edited
    for key in [k for k in release.unionize if k[0] == 868]:
        del release.unionize[key]
    unionize_rows(release, 868, rng, pvalb)
    rows.append(section_data_set(DEV_MOUSE, "Gad1", "E15.5", False))
    rows[-1]["plane_of_section_id"] = 1
    ish = root / "ish"
    ish.mkdir(exist_ok=True)
    (ish / "SectionDataSet.json").write_text(json.dumps(envelope(rows)))
    with open(ish / "Gene.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "acronym", "name", "entrez_id", "organism_id", "chromosome_id"])
        for symbol, (gene_id, name, entrez) in GENES.items():
            writer.writerow([gene_id, symbol, name, entrez, 2, 33])
    unionize = list(release.unionize.values())
    unionize.append({**unionize[0], "id": 453852509, "structure_id": GRAPH17_STRUCTURE,
                     "section_data_set_id": 75457591})
    unionize.append({**unionize[0], "id": 453852510, "section_data_set_id": DEV_MOUSE})
    half = len(unionize) // 2
    pages = [unionize[:half + 1], unionize[half:]]  # one row on both pages
    for number, page in enumerate(pages):
        start = 0 if number == 0 else half
        (ish / f"StructureUnionize_{number}.json").write_text(
            json.dumps(envelope(page, start, len(unionize))))
    for experiment, grid in release.grids.items():
        write_grid_zip(root / "grids" / f"{experiment}.zip", grid)
    return release
