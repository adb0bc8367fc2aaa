"""Sample Allen Mouse Brain Atlas (ISH) release, laid out as `brainwh fetch ish` saves it
(`ingest.mouse_ish.cache_layout`): SectionDataSet rows with their nested genes (a JSON list),
StructureUnionize pages (RMA envelopes of 2,000 rows), energy grid zips and a grid annotation.

Real where it can be: the marker genes' experiment ids, planes and Entrez ids are Allen's
(`MARKERS`, from DJFernandes/ABIgeneRMINC `inst/extdata/ABI_genes.csv`, commit 78ef012, a
listing of the 26,061 non-failed Mouse Brain experiments), the rows have the real keys, and at
`full` the counts are the real ones: 26,061 non-failed experiments (21,716 sagittal, 4,345
coronal) for 19,940 genes, experiments per gene drawn from the real histogram (14,970 genes
with one, 4,247 with two, ...), plus ~2% failed ones. Other genes are named after the AHBA
probes' human genes in mouse case (`PPP1R1B` -> `Ppp1r1b`), without Entrez ids.

Made up: the annotation (`ish_atlas`), the expression (each gene a baseline plus regional
programs: striatal genes in striatum, Slc17a7 in cortex and hippocampus, Pvalb in the
reticular nucleus and moderately in cortex, ...), the noise, the -1 voxels (sagittal grids
cover ML <= 29, the left hemisphere just past the midline; coronal grids lose a few sections),
and the unionizes (computed from each grid, or from the model for experiments without one;
every structure's row sums everything below it, as Allen's do). A few P56 experiments also
carry unionize rows of developing-mouse (graph 17) structures, which the load skips.

Grids: all experiments at `tiny`; at `small` the markers' and the coronal ones; at `full` the
4,345 non-failed coronal experiments (Allen's own correlation-search set `mouse_coronal`;
all 26,061 would be ~16 GB of grids).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ingest.mouse_ish import cache_layout
from ingest.mouse_ish.schema import GRID_SHAPE, GRID_VOXELS
from ingest.sample import ish_atlas
from ingest.sample.ontology import data_file

FULL_GENES = 19_940
FULL_CORONAL = 4_345
FULL_SAGITTAL = 21_716
# genes with 1, 2, ... experiments in the real listing (26,061 experiments, 19,940 genes)
PER_GENE = {1: 14970, 2: 4247, 3: 494, 4: 176, 5: 31, 6: 10, 7: 3, 8: 1, 9: 1, 10: 1,
            19: 3, 20: 3}
FAILED_SHARE = 0.02
SCALES = {  # background genes (None: up to the real count), grids
    "tiny": (6, "all"),
    "small": (200, "markers and coronal"),
    "full": (None, "coronal"),
}
TINY_MARKERS = ("Ppp1r1b", "Drd1a", "Penk", "Slc17a7", "Satb2", "Pvalb", "Gad1", "Pcp2",
                "Tcf7l2", "Prox1", "Th", "Snap25")
PIXELS_PER_VOXEL = 5000.0  # ~ a 200 um voxel's share of the sections' pixels
INTENSITY = 150.0  # mean intensity of an expressing pixel: density = energy / intensity
# where each program raises expression (mouse acronyms, their subtrees), and how much
PROGRAMS = {
    "striatum": (["STR"], 14.0),
    "cortex": (["Isocortex", "HPF"], 11.0),
    "dentate": (["DG"], 12.0),
    "reticular": (["RT"], 18.0),
    "interneurons": (["Isocortex"], 3.5),
    "thalamus": (["TH"], 8.0),
    "cerebellum": (["CBX"], 12.0),
    "hypothalamus": (["LHA", "PVH", "ARH"], 16.0),
    "dopamine": (["SNc", "VTA"], 20.0),
    "serotonin": (["DR", "CS"], 20.0),
    "pallidum": (["PAL"], 8.0),
    "olfactory": (["MOB"], 12.0),
    "inhibitory": (["STR", "PAL", "RT", "CBX", "HY"], 6.0),
    "neuronal": (["grey"], 4.0),
}
# gene: Entrez id, (plane, SectionDataSet id) of its real experiments, programs
MARKERS = {
    "Ppp1r1b": (19049, [("sagittal", 576432), ("coronal", 73732146)], ["striatum"]),
    "Drd1a": (13488, [("sagittal", 71307280), ("coronal", 352)], ["striatum"]),
    "Drd2": (13489, [("sagittal", 359), ("coronal", 357)], ["striatum"]),
    "Penk": (18619, [("coronal", 74881286), ("sagittal", 69116554)], ["striatum"]),
    "Tac1": (21333, [("sagittal", 1039), ("coronal", 1038)], ["striatum"]),
    "Gpr88": (64378, [("sagittal", 79677355), ("coronal", 79567811)], ["striatum"]),
    "Rgs9": (19739, [("coronal", 73521819), ("sagittal", 71020884)], ["striatum"]),
    "Pde10a": (23984, [("sagittal", 70300702), ("coronal", 71924204)], ["striatum"]),
    "Adora2a": (11540, [("sagittal", 69855739), ("coronal", 72109410)], ["striatum"]),
    "Slc17a7": (72961, [("coronal", 75081210), ("sagittal", 69014470), ("coronal", 70436317)],
                ["cortex"]),
    "Satb2": (212712, [("sagittal", 70593343), ("coronal", 73992708)], ["cortex"]),
    "Neurod6": (11922, [("sagittal", 79544834), ("coronal", 698)], ["cortex"]),
    "Nrgn": (64011, [("coronal", 69153759), ("sagittal", 737)], ["cortex", "striatum"]),
    "Pvalb": (19293, [("coronal", 868), ("sagittal", 75457591), ("coronal", 79556738),
                      ("sagittal", 75496201)], ["reticular", "interneurons"]),
    "Gad1": (14415, [("sagittal", 480), ("coronal", 479), ("coronal", 79556706)],
             ["inhibitory"]),
    "Gad2": (14417, [("sagittal", 79903740), ("coronal", 79591669)], ["inhibitory"]),
    "Pcp2": (18545, [("sagittal", 74357592), ("coronal", 79490073)], ["cerebellum"]),
    "Car8": (12319, [("sagittal", 192), ("coronal", 191)], ["cerebellum"]),
    "Tcf7l2": (21416, [("sagittal", 100055049), ("coronal", 72339557)], ["thalamus"]),
    "Slc17a6": (140919, [("sagittal", 71724696), ("coronal", 73818754)], ["thalamus"]),
    "Pmch": (110312, [("coronal", 55), ("sagittal", 56)], ["hypothalamus"]),
    "Avp": (11998, [("sagittal", 132), ("coronal", 131)], ["hypothalamus"]),
    "Prox1": (19130, [("sagittal", 69289763), ("coronal", 73520980)], ["dentate"]),
    "C1ql2": (226359, [("coronal", 71587929), ("sagittal", 68845789)], ["dentate"]),
    "Th": (21823, [("coronal", 1056), ("sagittal", 1058)], ["dopamine"]),
    "Slc6a3": (13162, [("coronal", 978), ("sagittal", 979)], ["dopamine"]),
    "Tph2": (216343, [("coronal", 74511925), ("sagittal", 71378535)], ["serotonin"]),
    "Cdhr1": (170677, [("coronal", 72104186), ("sagittal", 71662897)], ["olfactory"]),
    "Snap25": (20614, [("sagittal", 1855), ("coronal", 1854)], ["neuronal"]),
    "Syt1": (20979, [("coronal", 1014), ("sagittal", 1015)], ["neuronal"]),
}
GRAPH17 = [112892315, 112892319, 112892323]  # developing-mouse structures (DR-lw, ...)


@dataclass
class Experiment:
    experiment_id: int
    gene: str
    plane: str
    failed: bool
    has_grid: bool = False


@dataclass
class Gene:
    symbol: str
    gene_id: int
    entrez: int | None
    programs: list[tuple[str, float]]  # (program, level)
    base: float


def _symbols(rng) -> list[str]:
    with gzip.open(data_file("ahba_probes_reannotated.csv.gz"), "rt", newline="") as handle:
        human = sorted({r["gene_symbol"] for r in csv.DictReader(handle)})
    mouse = [s[:1].upper() + s[1:].lower() for s in human if s[:1].isalpha()]
    taken = {m.lower() for m in MARKERS}
    return [s for s in dict.fromkeys(mouse) if s.lower() not in taken]


def make_genes(scale: str, rng) -> list[Gene]:
    background, _grids = SCALES[scale]
    symbols = _symbols(rng)
    n_background = FULL_GENES - len(MARKERS) if background is None else background
    if n_background > len(symbols):  # named like Allen's predicted genes
        symbols += [f"Gm{10000 + k}" for k in range(n_background - len(symbols))]
    chosen = sorted(rng.choice(len(symbols), size=n_background, replace=False).tolist())
    genes = [Gene(symbol, 10000 + 7 * k, entrez, [(p, PROGRAMS[p][1]) for p in programs],
                  float(rng.uniform(0.3, 1.5)))
             for k, (symbol, (entrez, _experiments, programs)) in enumerate(MARKERS.items())
             if scale != "tiny" or symbol in TINY_MARKERS]
    names = list(PROGRAMS)
    for k, index in enumerate(chosen):
        programs = [(str(names[j]), float(rng.lognormal(0.5, 0.8)))
                    for j in rng.choice(len(names), size=rng.integers(0, 3), replace=False)]
        genes.append(Gene(symbols[index], 100000 + 7 * k, None, programs,
                          float(rng.lognormal(-1.2, 1.0))))
    return genes


def make_experiments(genes: list[Gene], scale: str, rng) -> list[Experiment]:
    experiments: list[Experiment] = []
    used: set[int] = set()
    markers = [g for g in genes if g.symbol in MARKERS]
    for gene in markers:  # their real experiments (at tiny, two)
        for plane, experiment_id in MARKERS[gene.symbol][1][:2 if scale == "tiny" else None]:
            experiments.append(Experiment(experiment_id, gene.symbol, plane, False))
            used.add(experiment_id)
    others = [g for g in genes if g.symbol not in MARKERS]
    counts = np.array(list(PER_GENE), dtype=np.int64)
    weights = np.array(list(PER_GENE.values()), dtype=np.float64)
    per_gene = rng.choice(counts, size=len(others), p=weights / weights.sum())
    if scale == "full":  # the real totals: trim or pad the draw to 26,061 experiments
        target = FULL_CORONAL + FULL_SAGITTAL - sum(len(MARKERS[g.symbol][1]) for g in markers)
        while per_gene.sum() > target:
            per_gene[rng.integers(len(per_gene))] = 1
            per_gene[per_gene > 1] -= (per_gene.sum() > target) & (rng.random() < 0.5)
            per_gene = np.maximum(per_gene, 1)
        while per_gene.sum() < target:
            per_gene[rng.integers(len(per_gene))] += 1
    planned = []
    for gene, count in zip(others, per_gene.tolist(), strict=True):
        for k in range(count):
            planned.append((gene.symbol, k))
    n_coronal = FULL_CORONAL - sum(1 for e in experiments if e.plane == "coronal") \
        if scale == "full" else max(1, len(planned) // 6)
    second = [i for i, (_g, k) in enumerate(planned) if k == 1]
    first = [i for i, (_g, k) in enumerate(planned) if k == 0]
    pool = second + rng.permutation(first).tolist()
    coronal = set(pool[:n_coronal])
    ids = _experiment_ids(len(planned) + len(planned) // 40 + 10, used, rng)
    for i, (symbol, _k) in enumerate(planned):
        experiments.append(Experiment(ids.pop(), symbol, "coronal" if i in coronal
                                      else "sagittal", False))
    n_failed = max(1, round(len(experiments) * FAILED_SHARE))
    for symbol in rng.choice([g.symbol for g in genes], size=n_failed).tolist():
        experiments.append(Experiment(ids.pop(), symbol, str(rng.choice(["coronal", "sagittal"])),
                                      True))
    return sorted(experiments, key=lambda e: e.experiment_id)


def _experiment_ids(count: int, used: set[int], rng) -> list[int]:
    """Ids in the real ranges: most 68,000,000-81,000,000, some small and some 100,000,000+."""
    found: set[int] = set()
    while len(found) < count:
        draw = rng.integers(68_000_000, 81_000_000, size=count * 2)
        found.update(int(v) for v in draw if int(v) not in used)
    return sorted(found)[:count][::-1]


@dataclass
class Model:
    annotation: np.ndarray
    leaves: np.ndarray  # structure ids annotated, sorted
    leaf_of: np.ndarray  # per brain voxel: index into leaves
    brain: np.ndarray  # raw voxel indices of the brain
    members: dict[str, np.ndarray]  # program -> boolean over leaves
    structures: np.ndarray  # every structure with voxels (leaves and their ancestors)
    rollup: np.ndarray  # (leaves, structures) 0/1: leaf counts toward structure
    left_voxels: np.ndarray  # per leaf: voxels with ML <= 29 (a sagittal grid's coverage)
    voxels: np.ndarray  # per leaf: voxels


def make_model(rows: list[dict]) -> Model:
    annotation = ish_atlas.build(rows)
    ontology = ish_atlas.Ontology(rows)
    brain = np.flatnonzero(annotation > 0)
    leaves, leaf_of = np.unique(annotation[brain], return_inverse=True)
    members = {}
    for program, (acronyms, _level) in PROGRAMS.items():
        roots = {ontology.id_of[a] for a in acronyms if a in ontology.id_of}
        members[program] = np.array([bool(roots & set(ontology.path[int(leaf)]))
                                     for leaf in leaves])
    structures = sorted({s for leaf in leaves.tolist() for s in ontology.path[leaf]})
    column = {s: k for k, s in enumerate(structures)}
    rollup = np.zeros((len(leaves), len(structures)))
    for k, leaf in enumerate(leaves.tolist()):
        rollup[k, [column[s] for s in ontology.path[leaf]]] = 1
    ml = brain // (GRID_SHAPE[0] * GRID_SHAPE[1])
    voxels = np.bincount(leaf_of, minlength=len(leaves))
    left = np.bincount(leaf_of, weights=ml <= 29, minlength=len(leaves))
    return Model(annotation, leaves, leaf_of, brain, members, np.array(structures), rollup,
                 left, voxels.astype(np.float64))


def leaf_means(gene: Gene, model: Model) -> np.ndarray:
    means = np.full(len(model.leaves), gene.base)
    for program, level in gene.programs:
        means = means + level * model.members[program]
    return means


def make_grid(experiment: Experiment, gene: Gene, model: Model, rng) -> np.ndarray:
    grid = np.full(GRID_VOXELS, -1.0, dtype=np.float32)
    index = np.arange(GRID_VOXELS)
    ap = index % GRID_SHAPE[0]
    ml = index // (GRID_SHAPE[0] * GRID_SHAPE[1])
    sectioned = (ml <= 29) if experiment.plane == "sagittal" else np.ones(GRID_VOXELS, bool)
    outside = sectioned & (rng.random(GRID_VOXELS) < 0.45)  # tissue around the brain
    grid[outside] = (rng.gamma(1.0, 0.05, outside.sum())).astype(np.float32)
    means = leaf_means(gene, model)[model.leaf_of]
    values = means * rng.gamma(2.0, 0.5, len(means))
    values[rng.random(len(means)) < np.exp(-2.0 * means)] = 0.0  # no expressing pixel
    grid[model.brain] = np.round(values, 4).astype(np.float32)
    missing = ~sectioned
    if experiment.plane == "coronal":
        lost = rng.choice(67, size=rng.integers(0, 3), replace=False)
        missing |= np.isin(ap, lost)
        if rng.random() < 0.3:  # the olfactory bulb's sections, often lost
            missing |= ap < rng.integers(2, 9)
    else:
        missing |= ml == rng.integers(3, 29)
    missing[model.brain[rng.random(len(model.brain)) < 0.02]] = True  # edges, tears
    grid[missing] = -1.0
    return grid


def grid_zip(grid: np.ndarray) -> bytes:
    header = ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
              "TransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\nCenterOfRotation = 0 0 0\n"
              "AnatomicalOrientation = RAI\nElementSpacing = 200 200 200\nDimSize = 67 41 58\n"
              "ElementType = MET_FLOAT\nElementDataFile = energy.raw\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("energy.mhd", header)
        archive.writestr("energy.raw", grid.astype("<f4").tobytes())
    return buffer.getvalue()


def annotation_zip(annotation: np.ndarray) -> bytes:
    header = ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
              "CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\n"
              "CenterOfRotation = 0 0 0\nAnatomicalOrientation = RAI\n"
              "ElementSpacing = 200 200 200\nDimSize = 67 41 58\nElementType = MET_UINT\n"
              "ElementDataFile = gridAnnotation.raw\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("gridAnnotation.mhd", header)
        archive.writestr("gridAnnotation.raw", annotation.astype("<u4").tobytes())
    return buffer.getvalue()


def leaf_stats(experiment: Experiment, gene: Gene, model: Model, grid: np.ndarray | None,
               rng) -> tuple[np.ndarray, np.ndarray]:
    """Per leaf: voxels with data and the sum of their energies."""
    if grid is not None:
        values = grid[model.brain]
        valid = values >= 0
        n = np.bincount(model.leaf_of, weights=valid, minlength=len(model.leaves))
        total = np.bincount(model.leaf_of, weights=np.where(valid, values, 0),
                            minlength=len(model.leaves))
        return n, total
    coverage = model.left_voxels if experiment.plane == "sagittal" else model.voxels
    n = np.round(coverage * rng.uniform(0.9, 1.0, len(coverage)))
    return n, n * leaf_means(gene, model) * rng.gamma(20.0, 0.05, len(coverage))


def _significant(values: np.ndarray) -> np.ndarray:
    """6 significant digits, as the API prints its numbers."""
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = 5 - np.floor(np.log10(np.abs(values)))
    digits = np.where(np.isfinite(digits), digits, 0).astype(np.int64)
    scale = 10.0 ** digits
    return np.round(values * scale) / scale


def unionize_frame(stats: list[tuple[int, np.ndarray, np.ndarray]], model: Model, first_id: int,
                   rng) -> pl.DataFrame:
    """StructureUnionize rows of a batch of experiments: every structure with data."""
    experiments = np.array([e for e, _, _ in stats])
    n = np.stack([s for _, s, _ in stats]) * PIXELS_PER_VOXEL
    intensity = np.stack([t for _, _, t in stats]) * PIXELS_PER_VOXEL
    density_leaf = np.clip(np.divide(intensity, n * INTENSITY, out=np.zeros_like(n),
                                     where=n > 0), 0, 1)
    pixels = n @ model.rollup
    expressing_intensity = intensity @ model.rollup
    expressing = (density_leaf * n) @ model.rollup
    keep = pixels > 0
    rows, columns = np.nonzero(keep)
    pix = pixels[keep]
    energy = expressing_intensity[keep] / pix
    frame = pl.DataFrame({
        "expression_density": _significant(expressing[keep] / pix),
        "expression_energy": _significant(energy),
        "id": np.arange(first_id, first_id + len(pix), dtype=np.int64),
        "section_data_set_id": experiments[rows].astype(np.int64),
        "structure_id": model.structures[columns].astype(np.int64),
        "sum_expressing_pixel_intensity": _significant(expressing_intensity[keep]),
        "sum_expressing_pixels": _significant(expressing[keep]),
        "sum_pixel_intensity": _significant(pix * 40.0 + expressing_intensity[keep]),
        "sum_pixels": _significant(pix),
        "voxel_energy_cv": _significant(rng.uniform(0.4, 1.6, len(pix))),
        "voxel_energy_mean": _significant(energy / 40.0),
    })
    return frame


def write_pages(frame: pl.DataFrame, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = frame.write_ndjson().splitlines()
    total = len(lines)
    for start in range(0, total, 2000):
        page = lines[start:start + 2000]
        (folder / cache_layout.page_name(start)).write_text(
            f'{{"success": true, "id": 0, "start_row": {start}, "num_rows": {len(page)}, '
            f'"total_rows": {total}, "msg": [' + ",".join(page) + "]}")


def section_data_set(experiment: Experiment, gene: Gene, rng) -> dict:
    return {
        "blue_channel": None, "delegate": bool(rng.random() < 0.9),
        "expression": not experiment.failed, "failed": experiment.failed,
        "failed_facet": 734881840, "green_channel": None, "id": experiment.experiment_id,
        "name": None, "plane_of_section_id": 1 if experiment.plane == "coronal" else 2,
        "qc_date": f"2009-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}T"
                   f"{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}:00Z",
        "red_channel": None,
        "reference_space_id": 9 if experiment.plane == "coronal" else 10,
        "rnaseq_design_id": None, "section_thickness": 25.0,
        "specimen_id": int(69_000_000 + experiment.experiment_id % 9_000_000),
        "sphinx_id": int(rng.integers(1000, 200000)),
        "storage_directory": f"/external/aibssan/production32/prod{rng.integers(300, 400)}/"
                             f"image_series_{experiment.experiment_id}/",
        "weight": 5470,
        "genes": [{"acronym": gene.symbol, "alias_tags": None, "chromosome_id": None,
                   "ensembl_id": None, "entrez_id": gene.entrez,
                   "genomic_reference_update_id": 491928275, "homologene_id": None,
                   "id": gene.gene_id, "legacy_ensembl_gene_id": None, "name": None,
                   "organism_id": 2, "original_name": None, "original_symbol": gene.symbol,
                   "reference_genome_id": None, "sphinx_id": gene.gene_id % 100000,
                   "version_status": "no change"}],
    }


def _with_grid(experiment: Experiment, grids: str) -> bool:
    if experiment.failed:
        return False
    if grids == "all":
        return True
    if grids == "coronal":
        return experiment.plane == "coronal"
    return experiment.plane == "coronal" or experiment.gene in MARKERS


def write(directory: Path, scale: str, seed: int) -> None:
    rng = np.random.default_rng(seed + 14)
    with open(data_file("mouse_structures_graph1.csv"), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    model = make_model(rows)
    genes = make_genes(scale, rng)
    by_symbol = {g.symbol: g for g in genes}
    experiments = make_experiments(genes, scale, rng)
    folder = directory / "ish"
    (folder / "grids").mkdir(parents=True, exist_ok=True)
    (folder / cache_layout.ANNOTATION_FILE).write_bytes(annotation_zip(model.annotation))
    (folder / "SectionDataSet.json").write_text(json.dumps(
        [section_data_set(e, by_symbol[e.gene], rng) for e in experiments]))
    grids = SCALES[scale][1]
    by_id = {e.experiment_id: e for e in experiments}
    next_id = 453_000_000
    for number, batch in enumerate(cache_layout.batches(list(by_id))):
        stats = []
        for experiment_id in batch:
            experiment = by_id[experiment_id]
            gene = by_symbol[experiment.gene]
            grid = None
            if _with_grid(experiment, grids):
                grid = make_grid(experiment, gene, model, rng)
                (folder / "grids" / f"{experiment_id}.zip").write_bytes(grid_zip(grid))
            n, total = leaf_stats(experiment, gene, model, grid, rng)
            stats.append((experiment_id, n, total))
        frame = unionize_frame(stats, model, next_id, rng)
        next_id += len(frame)
        if number == 0 or rng.random() < 0.2:  # P56 experiments' graph-17 unionizes: skipped
            extra = frame.head(len(GRAPH17)).with_columns(
                pl.Series("structure_id", GRAPH17, dtype=pl.Int64),
                pl.Series("id", range(next_id, next_id + len(GRAPH17)), dtype=pl.Int64))
            next_id += len(GRAPH17)
            frame = pl.concat([frame, extra])
        write_pages(frame, folder / "StructureUnionize" / cache_layout.batch_folder(batch))
