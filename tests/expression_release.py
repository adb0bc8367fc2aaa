"""A hand-made ABC release whose cells' expression values are known, and the answers numpy and
scipy give on those cells (what the expression views and macros must return).

Eight clusters under three neurotransmitters, three classes, four subclasses and five
supertypes (so every level has a type with siblings), one of them with a single cell; twelve
genes with their real Ensembl ids (ingest/data/wmb10x_genes.tsv.gz), two of which share the
symbol Ptp4a1 as in the real gene.csv, one never expressed. Every cell has known log2(CPM+1)
values; the statistics file is written from them as cell_type_mapper's precompute tools do
(true counts: n_cells, sum, sumsq, ge1, gt1, gt0) or as the ABC release's file is (means only:
sum = the cluster means, n_cells = 1, nothing else), with its rows in another order than the
taxonomy's. MERFISH cells of four of the clusters lie in CCF structures (tests/spatial_release.py),
so composition has spatial rows too.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.sample.expression import read_clusters, taxonomy_tree, write_stats
from tests.helpers import CELL_HEADER, MOUSE_ONTOLOGY, write_csv, write_taxonomy
from tests.spatial_release import PARCELLATION, write_merfish, write_parcellation

# alias -> (neurotransmitter, class, subclass, supertype, cluster)
CLUSTERS = {
    5: ("Glut", "01 IT-ET Glut", "007 L2/3 IT CTX Glut", "0025 L2/3 IT CTX Glut_1",
        "0100 L2/3 IT CTX Glut_1"),
    6: ("Glut", "01 IT-ET Glut", "007 L2/3 IT CTX Glut", "0025 L2/3 IT CTX Glut_1",
        "0101 L2/3 IT CTX Glut_1"),
    7: ("Glut", "01 IT-ET Glut", "007 L2/3 IT CTX Glut", "0026 L2/3 IT CTX Glut_2",
        "0102 L2/3 IT CTX Glut_2"),
    8: ("Glut", "01 IT-ET Glut", "006 L4/5 IT CTX Glut", "0020 L4/5 IT CTX Glut_1",
        "0080 L4/5 IT CTX Glut_1"),
    128: ("GABA", "09 CNU-LGE GABA", "061 STR D1 Gaba", "0250 STR D1 Gaba_1",
          "0960 STR D1 Gaba_1"),  # a single cell
    129: ("GABA", "09 CNU-LGE GABA", "061 STR D1 Gaba", "0250 STR D1 Gaba_1",
          "0961 STR D1 Gaba_1"),
    3000: ("GABA", "09 CNU-LGE GABA", "062 STR D2 Gaba", "0255 STR D2 Gaba_1",
           "0970 STR D2 Gaba_1"),
    34380: ("NA", "31 OPC-Oligo", "327 Oligo NN", "1180 Oligo NN_1", "5280 Oligo NN_1"),
}
LEVELS = ("neurotransmitter", "class", "subclass", "supertype", "cluster")
# alias -> {ROI: cells}
CELLS = {5: {"MOp": 20, "MO-FRP": 10}, 6: {"MOp": 25}, 7: {"MOp": 20}, 8: {"MOp": 15},
         128: {"STRd": 1}, 129: {"STRd": 18}, 3000: {"STRd": 22},
         34380: {"MOp": 10, "STRd": 16}}
# (Ensembl id, symbol), real pairs; where each is expressed: {alias: (p, mu)} (else silent)
GLUT, GABA = (5, 6, 7, 8), (128, 129, 3000)
GENES = [
    ("ENSMUSG00000051951", "Xkr4", {a: (0.5, 1.5) for a in CLUSTERS}),
    ("ENSMUSG00000026064", "Ptp4a1", {a: (0.8, 2.5) for a in CLUSTERS}),
    ("ENSMUSG00000070570", "Slc17a7", {**{a: (0.95, 5.0) for a in GLUT}, 34380: (0.05, 1.0)}),
    ("ENSMUSG00000070880", "Gad1", {a: (0.9, 4.5) for a in GABA}),
    ("ENSMUSG00000021478", "Drd1", {128: (1.0, 4.0), 129: (0.85, 3.8)}),
    ("ENSMUSG00000032259", "Drd2", {3000: (0.9, 3.5), 129: (0.05, 1.2)}),
    ("ENSMUSG00000041607", "Mbp", {34380: (1.0, 6.5), 5: (0.1, 1.1)}),
    ("ENSMUSG00000027273", "Snap25", {a: (0.95, 4.5) for a in (*GLUT, *GABA)}),
    ("ENSMUSG00000042589", "Cux2", {5: (0.9, 3.0), 6: (0.8, 2.8), 7: (0.6, 2.0)}),
    ("ENSMUSG00000062372", "Otof", {7: (0.7, 2.2)}),
    ("ENSMUSG00000117310", "Ptp4a1", {a: (0.2, 1.0) for a in (5, 128, 34380)}),
    ("ENSMUSG00000095041", "AC149090.1", {}),  # never expressed
]
TRUE_COUNTS, MEANS_ONLY = "true counts", "means only"


@dataclass
class Release:
    root: Path
    stats: Path
    markers: Path
    labels: dict[str, dict[int, str]]  # level -> alias -> term label
    values: dict[int, np.ndarray]  # alias -> cells x genes, log2(CPM+1)
    roi: dict[int, np.ndarray]  # alias -> ROI of each cell
    file_rows: dict[str, int] = field(default_factory=dict)

    @property
    def genes(self) -> list[str]:
        return [gid for gid, _s, _p in GENES]

    def cells_of(self, level: str, label: str) -> np.ndarray:
        aliases = [a for a in CLUSTERS if self.labels[level][a] == label]
        return np.concatenate([self.values[a] for a in aliases])

    def all_cells(self) -> np.ndarray:
        return np.concatenate([self.values[a] for a in CLUSTERS])

    def label(self, level: str, alias: int) -> str:
        return self.labels[level][alias]


def cell_values(rng: np.random.Generator) -> dict[int, np.ndarray]:
    values = {}
    for alias, per_roi in CELLS.items():
        n = sum(per_roi.values())
        block = np.zeros((n, len(GENES)))
        for g, (_gid, _symbol, where) in enumerate(GENES):
            p, mu = where.get(alias, (0.0, 0.0))
            on = rng.random(n) < p
            block[on, g] = np.round(np.maximum(rng.normal(mu, 0.7, int(on.sum())), 0.05), 4)
        # values on the CPM >= 1 boundary (log2(CPM+1) = 1 exactly) and just under it
        if n > 3:
            block[0, 0], block[1, 0] = 1.0, 0.9999
        values[alias] = block
    return values


def write_release(root: Path, kind: str = TRUE_COUNTS, *, seed: int = 11,
                  chunks: bool = False) -> Release:
    rng = np.random.default_rng(seed)
    shutil.copyfile(MOUSE_ONTOLOGY, _mkdir(root / "ontology") / "mouse_structures_graph1.csv")
    counts = {alias: sum(per_roi.values()) for alias, per_roi in CELLS.items()}
    taxonomy = root / "metadata" / "WMB-taxonomy" / "20231215"
    write_taxonomy(taxonomy, CLUSTERS, counts)
    clusters = read_clusters(taxonomy)
    labels = {level: dict(zip(clusters.aliases.tolist(), clusters.labels[code], strict=True))
              for level, code in zip(LEVELS, ("NEUR", "CLAS", "SUBC", "SUPT", "CLUS"),
                                     strict=True)}
    values = cell_values(rng)
    roi = {alias: np.repeat(list(per_roi), list(per_roi.values()))
           for alias, per_roi in CELLS.items()}
    cells_dir = root / "metadata" / "WMB-10X" / "20241115"
    _write_cells(cells_dir, roi)
    write_csv(cells_dir / "gene.csv",
              ["gene_identifier", "gene_symbol", "name", "mapped_ncbi_identifier", "comment"],
              [[gid, symbol, "", "", "" if where else "no expression"]
               for gid, symbol, where in GENES])
    release = Release(root, root / "mapmycells" / "WMB-10X" / "20240831" /
                      "precomputed_stats_ABC_revision_230821.h5",
                      root / "mapmycells" / "WMB-10X" / "20240831" / "mouse_markers_230821.json",
                      labels, values, roi)
    order = [128, 34380, 5, 3000, 7, 129, 6, 8]  # file rows: not the taxonomy's order
    release.file_rows = {labels["cluster"][a]: row for row, a in enumerate(order)}
    write_statistics(release, kind, order, clusters, chunks=chunks)
    write_parcellation(root / PARCELLATION)
    write_merfish(root)
    release.markers.write_text(json.dumps({
        "None": ["ENSMUSG00000070570", "ENSMUSG00000070880", "ENSMUSG00000041607"],
        f"CCN20230722_CLAS/{labels['class'][5]}": ["ENSMUSG00000042589"],
        f"CCN20230722_SUBC/{labels['subclass'][128]}": ["ENSMUSG00000021478",
                                                        "ENSMUSG00000032259"],
        "metadata": {"generated_on": "test"}}, indent=2))
    return release


def write_statistics(release: Release, kind: str, order: list[int], clusters, *,
                     chunks: bool = False, path: Path | None = None) -> None:
    blocks = {"sum": [], "sumsq": [], "ge1": [], "gt1": [], "gt0": []}
    for alias in order:
        x = release.values[alias]
        blocks["sum"].append(x.sum(axis=0))
        blocks["sumsq"].append((x * x).sum(axis=0))
        blocks["ge1"].append((x >= 1).sum(axis=0))
        blocks["gt1"].append((x > 1).sum(axis=0))
        blocks["gt0"].append((x > 0).sum(axis=0))
    n = np.array([len(release.values[a]) for a in order])
    arrays = {name: np.array(rows) for name, rows in blocks.items()}
    if kind == MEANS_ONLY:
        arrays = {"sum": arrays["sum"] / n[:, None]}
        n = np.ones(len(order), dtype=np.int64)
    write_stats(path or release.stats, release.file_rows, release.genes, n, [(0, arrays)],
                taxonomy=taxonomy_tree(clusters), metadata={"src": f"test ({kind})"},
                chunks=chunks)


def _write_cells(folder: Path, roi: dict[int, np.ndarray]) -> None:
    rows, n = [], 0
    for alias, regions in roi.items():
        for region in regions:
            n += 1
            barcode = f"ACGTACGTACGT{n:04d}"
            rows.append([f"{barcode}-2{n:02d}_B01", barcode, f"2{n:02d}_B01",
                         "L8TX_201030_01_B01", "WMB-10Xv3-STR", "cell", "", "10Xv3", region,
                         "Snap25-IRES2-Cre;Ai14-550850", "Snap25-IRES2-Cre/wt;Ai14(RCL-tdT)/wt",
                         "F", "WMB-10Xv3", 1.5, -2.25, alias,
                         f"484be5df-5d44-4bfe-9652-{n:012d}"])
    write_csv(folder / "cell_metadata.csv", CELL_HEADER, rows)
    write_csv(folder / "region_of_interest_metadata.csv",
              ["label", "acronym", "name", "order", "color_hex_triplet"],
              [["WMB-MO-FRP", "MO-FRP", "Somatomotor - Frontal pole", 0, "#3DCC7C"],
               ["WMB-MOp", "MOp", "Primary motor area", 1, "#179968"],
               ["WMB-STRd", "STRd", "Striatum dorsal region", 18, "#aa11bb"]])


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# ------------------------------------------- the real file's schema, for the real-row cache

REAL_STATS_METADATA = {  # the keys garage/abc_230830/create_mean_file.py writes
    "src": "/allen/programs/celltypes/workgroups/rnaseqanalysis/shiny/Taxonomies/"
           "AIT21.0_mouse/cl.means.freeze.csv",
    "generated_on": "20230821"}


def write_real_schema_stats(cache: Path) -> Path:
    """`mapmycells/WMB-10X/20240831/precomputed_stats_ABC_revision_230821.h5` for the real-row
    cache (tests/fixtures/real/abc_cache), in the ABC release's form: what cell_type_mapper's
    `garage/abc_230830/create_mean_file.py` (AllenInstitute/cell_type_mapper @
    15f9b0b1767d4937f5fd0652d303b9590eb75249) writes: `sum` = cluster means (float64),
    `n_cells` = 1 for every cluster (int64), `cluster_to_row` keyed by cluster term label,
    `col_names` (Ensembl ids), `taxonomy_tree` (TaxonomyTree.from_data_release, supertype
    included), `metadata` {src, generated_on}; no sumsq, ge1, gt0, gt1.

    Real: the 12 clusters' labels, names and aliases (the cache's taxonomy), the 10 genes (the
    cache's gene.csv, the real file's first and last five). Synthetic: the means (no public
    copy of these values exists): the gene.csv rows marked `no expression` are 0 everywhere,
    the others 0.5 + (cluster ordinal mod 7) / 4 + gene index / 10. Written at test time
    (a 40 KB binary is not committed)."""
    taxonomy = cache / "metadata" / "WMB-taxonomy" / "20231215"
    clusters = read_clusters(taxonomy)
    genes_csv = cache / "metadata" / "WMB-10X" / "20241115" / "gene.csv"
    import csv

    with open(genes_csv, newline="", encoding="utf-8") as handle:
        genes = list(csv.DictReader(handle))
    labels = clusters.labels["CLUS"]  # in alias order, as the means table's columns [I]
    means = np.array([[0.0 if gene["comment"] == "no expression" else
                       0.5 + (int(label.rsplit("_", 1)[1]) % 7) / 4 + g / 10
                       for g, gene in enumerate(genes)] for label in labels])
    path = cache / "mapmycells" / "WMB-10X" / "20240831" / \
        "precomputed_stats_ABC_revision_230821.h5"
    write_stats(path, {label: row for row, label in enumerate(labels)},
                [gene["gene_identifier"] for gene in genes], np.ones(len(labels), np.int64),
                [(0, {"sum": means})], taxonomy=taxonomy_tree(clusters),
                metadata=REAL_STATS_METADATA)
    return path
