"""A hand-made AHBA release (two donors, 31 samples, 9 probes) whose answers the tests compute
independently with numpy and scipy.

What it exercises: a gene with two probes (DRD1), a non-RefSeq probe (A_32_P885445: gene_symbol
is the probe name, no Entrez id), nested structures (a sample annotated to SFG itself and others
to its left and right banks, which share the acronym SFG-i), a midline structure (cc), and a
gene with a huge effect and almost no noise (SLC17A7 in cortex) for tiny p-values.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ONTOLOGY_HEADER = ["id", "acronym", "name", "parent_structure_id", "hemisphere", "graph_order",
                   "structure_id_path", "color_hex_triplet"]
# id, acronym, name, parent, hemisphere
STRUCTURES = [
    (4005, "Br", "brain", None, ""),
    (4006, "GM", "gray matter", 4005, ""),
    (4008, "CX", "cerebral cortex", 4006, ""),
    (4009, "FL", "frontal lobe", 4008, ""),
    (4010, "SFG", "superior frontal gyrus", 4009, ""),
    (4011, "SFG-i", "superior frontal gyrus, left, inferior bank of gyrus", 4010, "L"),
    (4012, "SFG-i", "superior frontal gyrus, right, inferior bank of gyrus", 4010, "R"),
    (4013, "MFG", "middle frontal gyrus, left", 4009, "L"),
    (4020, "TL", "temporal lobe", 4008, ""),
    (4021, "STG", "superior temporal gyrus, left", 4020, "L"),
    (4275, "CN", "cerebral nuclei", 4006, ""),
    (4277, "Str", "striatum", 4275, ""),
    (4278, "Cd", "caudate nucleus, left", 4277, "L"),
    (4279, "Pu", "putamen, left", 4277, "L"),
    (4696, "Cb", "cerebellum", 4006, ""),
    (4697, "CbCx", "cerebellar cortex, left", 4696, "L"),
    (9218, "WM", "white matter", 4005, ""),
    (9219, "cc", "corpus callosum", 9218, ""),
    (9352, "SS", "sulci & spaces", 4005, ""),  # no samples
]
# donor uid -> the structure of each sample, in SampleAnnot order
DONORS = {
    9861: [4011, 4011, 4012, 4012, 4010, 4013, 4013, 4021, 4021, 4278, 4278, 4278, 4279,
           4279, 4697, 4697, 9219],
    12876: [4011, 4011, 4013, 4013, 4021, 4021, 4278, 4278, 4278, 4279, 4279, 4697, 4697,
            9219],
}
# probe_id, probe_name, gene_id, gene_symbol, entrez_id ("" = non-RefSeq), chromosome
PROBES = [
    (1058685, "A_23_P20713", 729, "PPP1R1B", "84152", "17"),
    (1058686, "A_23_P2283", 1001, "DRD1", "1812", "5"),
    (1058687, "CUST_1974_PI417557136", 1001, "DRD1", "1812", "5"),
    (1058690, "A_23_P1111", 1002, "PCP2", "126006", "19"),
    (1058691, "A_23_P2222", 1003, "SLC17A7", "57030", "19"),
    (1058692, "A_23_P3333", 1004, "MBP", "4155", "18"),
    (1058693, "A_23_P4444", 1005, "GAPDH", "2597", "12"),
    (1058694, "A_23_P5555", 1006, "ACTB", "60", "7"),
    (1071209, "A_32_P885445", 1012197, "A_32_P885445", "", ""),
]
WELL_BASE = {9861: 1000, 12876: 5000}


@dataclass
class Release:
    root: Path
    donors: dict[int, Path]  # uid -> folder
    values: dict[int, np.ndarray]  # uid -> probes x samples, as written (parsed back)
    present: dict[int, np.ndarray]


def path_of(structure_id: int) -> list[int]:
    by_id = {s[0]: s for s in STRUCTURES}
    path = [structure_id]
    while by_id[path[0]][3] is not None:
        path.insert(0, by_id[path[0]][3])
    return path


def _signal(probe: tuple, structure_id: int) -> float:
    lineage = path_of(structure_id)
    gene = probe[3]
    base = {"PPP1R1B": 5.0, "DRD1": 4.0, "PCP2": 3.5, "SLC17A7": 4.0, "MBP": 6.0,
            "GAPDH": 11.0, "ACTB": 12.0}.get(gene, 3.0)
    if gene in ("PPP1R1B", "DRD1") and 4277 in lineage:
        base += 3.0
    if gene == "PCP2" and 4696 in lineage:
        base += 4.0
    if gene == "SLC17A7" and 4008 in lineage:
        base += 8.0
    if gene == "MBP" and 9218 in lineage:
        base += 3.0
    if probe[1] == "CUST_1974_PI417557136":  # DRD1's second probe reads lower
        base -= 1.0
    return base


def write(root: Path, seed: int = 11) -> Release:
    rng = np.random.default_rng(seed)
    release = Release(root, {}, {}, {})
    for uid, structures in DONORS.items():
        folder = root / f"normalized_microarray_donor{uid}"
        folder.mkdir(parents=True, exist_ok=True)
        _ontology(folder / "Ontology.csv")
        _probes(folder / "Probes.csv")
        _samples(folder / "SampleAnnot.csv", uid, structures, rng)
        values = np.array([[_signal(p, s) for s in structures] for p in PROBES])
        noise = np.where(np.array([p[3] == "SLC17A7" for p in PROBES])[:, None], 1e-3, 0.3)
        values += rng.normal(0, 1, values.shape) * noise
        present = (rng.random(values.shape) < 0.7).astype(int)
        lines = [",".join([str(p[0]), *(f"{v:.11f}" for v in row)])
                 for p, row in zip(PROBES, values, strict=True)]
        (folder / "MicroarrayExpression.csv").write_text("\n".join(lines) + "\n")
        lines = [",".join([str(p[0]), *map(str, row)])
                 for p, row in zip(PROBES, present, strict=True)]
        (folder / "PACall.csv").write_text("\n".join(lines) + "\n")
        release.donors[uid] = folder
        # the test's own reading of what was written (numpy, not polars or DuckDB)
        release.values[uid] = np.loadtxt(folder / "MicroarrayExpression.csv", delimiter=",")[:, 1:]
        release.present[uid] = np.loadtxt(folder / "PACall.csv", delimiter=",")[:, 1:]
    return release


def _ontology(path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ONTOLOGY_HEADER)
        for order, (sid, acronym, name, parent, hemisphere) in enumerate(STRUCTURES):
            writer.writerow([sid, acronym, name, "" if parent is None else parent, hemisphere,
                             order, "/" + "/".join(map(str, path_of(sid))) + "/", "AABBCC"])


def _probes(path: Path) -> None:
    lines = ["probe_id,probe_name,gene_id,gene_symbol,gene_name,entrez_id,chromosome"]
    for pid, name, gene_id, symbol, entrez, chromosome in PROBES:
        if entrez:
            lines.append(f'{pid},"{name}",{gene_id},"{symbol}","{symbol}, a gene",{entrez},'
                         f"{chromosome}")
        else:
            lines.append(f"{pid},{name},{gene_id},{name},AGILENT probe {name} (non-RefSeq),,")
    path.write_text("\n".join(lines) + "\n")


def _samples(path: Path, uid: int, structures: list[int], rng) -> None:
    by_id = {s[0]: s for s in STRUCTURES}
    lines = ["structure_id,slab_num,well_id,slab_type,structure_acronym,structure_name,"
             "polygon_id,mri_voxel_x,mri_voxel_y,mri_voxel_z,mni_x,mni_y,mni_z"]
    for k, sid in enumerate(structures):
        _, acronym, name, _parent, _hemisphere = by_id[sid]
        slab = "CB" if sid == 4697 else "CX"
        lines.append(f'{sid},{k + 1},{WELL_BASE[uid] + k},{slab},"{acronym}","{name}",'
                     f"{100000 + k},{90 + k},{100 - k},{80 + k},{-20.0 - k},{1.5 * k},{-3.0}")
    path.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------ independent answers

def gene_values(release: Release) -> tuple[list[str], dict[int, np.ndarray]]:
    """Gene symbols (RefSeq only) and, per donor, genes x samples means of their probes."""
    genes = sorted({p[3] for p in PROBES if p[4]})
    out = {}
    for uid, values in release.values.items():
        out[uid] = np.array([values[[k for k, p in enumerate(PROBES) if p[3] == g]].mean(axis=0)
                             for g in genes])
    return genes, out


def members(structure_id: int) -> dict[int, np.ndarray]:
    """Per donor, which samples are in the structure or below it."""
    return {uid: np.array([structure_id in path_of(s) for s in structures])
            for uid, structures in DONORS.items()}


def in_any(acronyms: list[str]) -> dict[int, np.ndarray]:
    ids = [s[0] for s in STRUCTURES if s[1] in acronyms]
    out = {uid: np.zeros(len(structures), dtype=bool) for uid, structures in DONORS.items()}
    for sid in ids:
        for uid, mask in members(sid).items():
            out[uid] |= mask
    return out
