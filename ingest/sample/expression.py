"""Sample ABC cell-type expression: WMB-10X `gene.csv`, MapMyCells' precomputed statistics
and marker lookup, in the real files' schemas and in the ABC release's form.

Written after `abc.write`, from the sample's own taxonomy and cells (its `cluster.csv` counts):

- `metadata/WMB-10X/20241115/gene.csv`: the real WMB-10X genes, in file order (Ensembl 98 /
  GENCODE vM23, as 10x's mm10-2020-A reference names them: `ingest/data/wmb10x_genes.tsv.gz`,
  32,285 ids and 32,245 symbols, from AllenInstitute/cell_type_mapper @ 15f9b0b1,
  `src/cell_type_mapper/test_utils/gene_mapping/cellranger_6_lookup.json`, the order of the
  ids sharing a symbol inferred). `full` has every gene, `small` and `tiny` a subset that
  keeps the markers below, both ids of `Ptp4a1` and the real file's first and last five rows
  (whose other columns are real, DATA_FORMATS.md §1.7); other genes' names are left empty.
  `comment` is `no expression` for the genes no sample cluster expresses.
- `mapmycells/WMB-10X/20240831/precomputed_stats_ABC_revision_230821.h5`: what cell_type_mapper
  `garage/abc_230830/create_mean_file.py` wrote for the release: `sum` = each cluster's mean
  log2(CPM+1) (float64, clusters x genes, rows in alias order), `n_cells` = 1 for every
  cluster, `cluster_to_row` keyed by cluster term label, `col_names` (Ensembl ids),
  `taxonomy_tree` (TaxonomyTree.from_data_release's serialization, supertype level included)
  and `metadata`; no `sumsq`, `ge1`, `gt0`, `gt1`. `full` is the real shape: 5,322 x 32,285,
  1.4 GB.
- `mapmycells/WMB-10X/20240831/mouse_markers_230821.json`: `{"None": [...],
  "CCN20230722_CLAS/<label>": [...], "CCN20230722_SUBC/<label>": [...], "metadata": {...}}`
  (supertype dropped, as for the release), the genes that tell each parent's children apart.

Biology: each cluster's mean is drawn from its own cells: of its n cells, k ~ Binomial(n, p)
express the gene at a level near mu (sum ~ k mu + sqrt(k) sigma N(0, 1)), p and mu following
the cell type programs the gene belongs to. Known markers sit where the literature puts them:
Slc17a7 in cortical glutamatergic types (Slc17a6 in the others), Gad1, Gad2 and Slc32a1 in
GABAergic ones, Drd1, Tac1 and Ppp1r1b in striatal D1 types and Drd2, Penk, Adora2a and
Ppp1r1b in D2 types, Gfap and Aqp4 in astrocytes, Mbp, Plp1 and Mog in oligodendrocytes, Snap25
in every neuron; every other gene follows a random class, subclass, supertype or
neurotransmitter program, everywhere (housekeeping) or nowhere.

`write_stats` writes any statistics file, true-count ones included (the tests' known cells).
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import polars as pl

from ingest.sample.abc import CELLS_VERSION, TAXONOMY, TAXONOMY_VERSION
from ingest.sample.ontology import data_file

STATS_VERSION = "20240831"
STATS_NAME = "precomputed_stats_ABC_revision_230821.h5"
MARKERS_NAME = "mouse_markers_230821.json"
SCALES = {"tiny": 300, "small": 3_000, "full": None}  # genes (None: all 32,285)
CODES = ("NEUR", "CLAS", "SUBC", "SUPT", "CLUS")
LEVEL_OF_CODE = dict(zip(CODES, ("neurotransmitter", "class", "subclass", "supertype",
                                 "cluster"), strict=True))
ROW_BLOCK = 256

# The real gene.csv's first and last five rows (DATA_FORMATS.md §1.7, ABC getting_started).
REAL_ROWS = {
    "ENSMUSG00000051951": ("X-linked Kx blood group related 4", "NCBIGene:497097", ""),
    "ENSMUSG00000089699": ("predicted gene 1992", "", ""),
    "ENSMUSG00000102331": ("predicted gene, 19938", "", ""),
    "ENSMUSG00000102343": ("predicted gene, 37381", "", ""),
    "ENSMUSG00000025900": ("retinitis pigmentosa 1 (human)", "NCBIGene:19888", ""),
    "ENSMUSG00000095523": ("PRAME family member 8-like", "NCBIGene:100038995",
                           "no expression"),
    "ENSMUSG00000095475": ("uncharacterized LOC545763", "NCBIGene:545763", "no expression"),
    "ENSMUSG00000094855": ("uncharacterized LOC620639", "NCBIGene:620639", "no expression"),
    "ENSMUSG00000095019": ("", "", "no expression"),
    "ENSMUSG00000095041": ("", "", ""),
}
SHARED_SYMBOL = "Ptp4a1"  # ENSMUSG00000026064 and ENSMUSG00000117310

# symbol -> [(level, pattern on the term name, p, mu)]: where the gene is expressed. A cluster
# takes the largest p (and its mu) among the rules it meets; elsewhere it is silent.
NEURON = ("neurotransmitter", r"^(?!NA$)")
MARKERS: dict[str, list[tuple[str, str, float, float]]] = {
    "Snap25": [(*NEURON, 0.95, 5.0)],
    "Slc17a7": [("class", r"^0[12] ", 0.95, 5.5), ("neurotransmitter", r"^Glut$", 0.3, 2.0)],
    "Slc17a6": [("neurotransmitter", r"Glut", 0.85, 4.5), ("class", r"^0[12] ", 0.05, 1.5)],
    "Gad1": [("neurotransmitter", r"GABA|Dopa|Hist", 0.95, 5.0)],
    "Gad2": [("neurotransmitter", r"GABA|Dopa|Hist", 0.92, 4.5)],
    "Slc32a1": [("neurotransmitter", r"GABA|Dopa|Hist", 0.85, 3.5)],
    "Ppp1r1b": [("subclass", r"STR D[12]", 0.95, 5.5), ("class", r"^09 ", 0.4, 2.5)],
    "Drd1": [("subclass", r"STR D1", 0.9, 4.0)],
    "Tac1": [("subclass", r"STR D1", 0.9, 5.0)],
    "Drd2": [("subclass", r"STR D2", 0.85, 3.5)],
    "Penk": [("subclass", r"STR D2", 0.95, 5.5)],
    "Adora2a": [("subclass", r"STR D2", 0.85, 4.0)],
    "Gfap": [("subclass", r"Astro|Bergmann", 0.8, 4.0)],
    "Aqp4": [("subclass", r"Astro|Bergmann", 0.9, 4.5), ("subclass", r"Ependymal|Tanycyte",
                                                       0.5, 2.5)],
    "Mbp": [("subclass", r"Oligo NN", 0.98, 7.0), ("subclass", r"OPC NN", 0.5, 3.0)],
    "Plp1": [("subclass", r"Oligo NN", 0.98, 7.5), ("subclass", r"OPC NN", 0.6, 3.5)],
    "Mog": [("subclass", r"Oligo NN", 0.9, 4.5)],
    "Pdgfra": [("subclass", r"OPC NN", 0.9, 4.0)],
    "Cx3cr1": [("subclass", r"Microglia", 0.9, 4.5)],
    "Cldn5": [("subclass", r"Endo NN", 0.9, 5.0)],
    "Pvalb": [("subclass", r"Pvalb", 0.9, 5.0)],
    "Sst": [("subclass", r"\bSst\b", 0.9, 5.5)],
    "Vip": [("subclass", r"\bVip\b", 0.9, 5.5)],
    "Lamp5": [("subclass", r"Lamp5", 0.9, 4.5)],
    "Cux2": [("subclass", r"L2/3 IT|L4/5 IT", 0.85, 3.5)],
    "Otof": [("subclass", r"L2/3 IT CTX", 0.7, 3.0)],
    "Rorb": [("subclass", r"L4/5 IT|L5 IT", 0.8, 3.5)],
    "Fezf2": [("subclass", r"L5 ET|L6 CT", 0.8, 3.5)],
    "Th": [("neurotransmitter", r"^Dopa$", 0.9, 5.0)],
    "Slc6a3": [("neurotransmitter", r"^Dopa$", 0.85, 4.5)],
    "Tph2": [("neurotransmitter", r"^Sero$", 0.9, 4.5)],
    "Chat": [("neurotransmitter", r"^Chol$", 0.9, 4.0)],
    "Pcp2": [("subclass", r"Purkinje", 0.95, 6.0)],
    "Gabra6": [("subclass", r"CB Granule", 0.95, 6.0)],
}
PROGRAM_LEVELS = ("class", "subclass", "supertype", "neurotransmitter")
# a random gene's program: class, subclass, supertype, neurotransmitter, everywhere, nowhere
PROGRAM_WEIGHTS = (0.10, 0.22, 0.30, 0.03, 0.15, 0.20)


@dataclass
class Clusters:
    """The sample taxonomy's clusters (alias order) and the terms above them."""

    aliases: np.ndarray
    n_cells: np.ndarray
    labels: dict[str, list[str]]  # code -> term label per cluster
    names: dict[str, list[str]]  # code -> term name per cluster
    terms: pl.DataFrame  # cluster_annotation_term.csv


def read_clusters(taxonomy: Path) -> Clusters:
    """The clusters of the taxonomy folder the sample just wrote."""
    counts = pl.read_csv(taxonomy / "cluster.csv").sort("cluster_alias")
    members = pl.read_csv(taxonomy / "cluster_to_cluster_annotation_membership.csv",
                          infer_schema_length=0)
    terms = pl.read_csv(taxonomy / "cluster_annotation_term.csv", infer_schema_length=0)
    aliases = counts["cluster_alias"].to_numpy()
    labels, names = {}, {}
    for code in CODES:
        part = members.filter(pl.col("cluster_annotation_term_set_label") == f"{TAXONOMY}_{code}")
        by_alias = {int(a): (lab, name) for a, lab, name in part.select(
            "cluster_alias", "cluster_annotation_term_label",
            "cluster_annotation_term_name").iter_rows()}
        labels[code] = [by_alias[int(a)][0] for a in aliases]
        names[code] = [by_alias[int(a)][1] for a in aliases]
    return Clusters(aliases, counts["number_of_cells"].to_numpy().astype(np.int64), labels,
                    names, terms)


def real_genes() -> list[tuple[str, str]]:
    with gzip.open(data_file("wmb10x_genes.tsv.gz"), "rt", encoding="utf-8") as handle:
        return [(row["gene_identifier"], row["gene_symbol"])
                for row in csv.DictReader(handle, delimiter="\t")]


def choose_genes(n: int | None, rng: np.random.Generator) -> list[tuple[str, str]]:
    genes = real_genes()
    if n is None or n >= len(genes):
        return genes
    keep = {i for i, (gid, symbol) in enumerate(genes)
            if symbol in MARKERS or symbol == SHARED_SYMBOL or gid in REAL_ROWS}
    others = np.setdiff1d(np.arange(len(genes)), sorted(keep))
    keep.update(rng.choice(others, max(0, n - len(keep)), replace=False).tolist())
    return [genes[i] for i in sorted(keep)]


@dataclass
class Model:
    """Per gene: its program (level index into PROGRAM_LEVELS, or 4 everywhere, 5 nowhere) and
    the term it follows; p and mu inside, a leak p outside; curated markers by rule."""

    program: np.ndarray
    term: np.ndarray  # index of the term at that level (-1: none)
    p_in: np.ndarray
    mu: np.ndarray
    leak: np.ndarray
    curated: dict[int, list[tuple[str, re.Pattern, float, float]]]


def make_model(genes: list[tuple[str, str]], clusters: Clusters, rng: np.random.Generator
               ) -> Model:
    n = len(genes)
    program = rng.choice(len(PROGRAM_WEIGHTS), n, p=PROGRAM_WEIGHTS)
    term = np.full(n, -1)
    for index, level in enumerate(PROGRAM_LEVELS):
        code = CODES[("neurotransmitter", "class", "subclass", "supertype").index(level)]
        distinct = sorted(set(clusters.labels[code]))
        chosen = program == index
        term[chosen] = rng.integers(0, len(distinct), int(chosen.sum()))
    p_in = rng.uniform(0.4, 0.95, n)
    mu = rng.lognormal(np.log(2.5), 0.4, n)
    leak = np.where(rng.random(n) < 0.4, rng.uniform(0.0, 0.03, n), 0.0)
    leak[program == 5] = 0.0
    p_in[program == 4] = rng.uniform(0.5, 0.98, int((program == 4).sum()))
    curated = {i: [(level, re.compile(pattern), p, m) for level, pattern, p, m in MARKERS[s]]
               for i, (_gid, s) in enumerate(genes) if s in MARKERS}
    for i in curated:
        program[i], leak[i] = 5, 0.002
    for i, (gid, _symbol) in enumerate(genes):
        if REAL_ROWS.get(gid, ("", "", ""))[2] == "no expression":
            program[i], leak[i] = 5, 0.0  # as the real file says
    return Model(program, term, p_in, mu, leak, curated)


def probabilities(model: Model, clusters: Clusters, rows: np.ndarray) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    """p (fraction expressing) and mu for the clusters at `rows`, every gene."""
    n_genes = len(model.program)
    p = np.broadcast_to(model.leak, (len(rows), n_genes)).copy()
    mu = np.broadcast_to(model.mu, (len(rows), n_genes)).copy()
    for index, level in enumerate(PROGRAM_LEVELS):
        code = CODES[("neurotransmitter", "class", "subclass", "supertype").index(level)]
        distinct = {label: k for k, label in enumerate(sorted(set(clusters.labels[code])))}
        of_cluster = np.array([distinct[clusters.labels[code][r]] for r in rows])
        genes = np.flatnonzero(model.program == index)
        hit = of_cluster[:, None] == model.term[genes][None, :]
        p[:, genes] = np.where(hit, model.p_in[genes], p[:, genes])
    everywhere = model.program == 4
    p[:, everywhere] = model.p_in[everywhere]
    codes = {"neurotransmitter": "NEUR", "class": "CLAS", "subclass": "SUBC"}
    for gene, rules in model.curated.items():
        for k, row in enumerate(rows):
            for level, pattern, p_rule, mu_rule in rules:
                if pattern.search(clusters.names[codes[level]][row]) and p_rule > p[k, gene]:
                    p[k, gene], mu[k, gene] = p_rule, mu_rule
    return p, mu


SIGMA = 0.5  # spread of an expressing cell's log2(CPM+1) around mu


def cluster_sums(model: Model, clusters: Clusters, rows: np.ndarray,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per cluster at `rows` and gene, drawn from the cluster's cells: of its n cells, k
    express the gene (Binomial(n, p)), their values summing to ~ k mu + sqrt(k) sigma N(0, 1)
    and their squares to that sum^2 / k + sigma^2 chi2(k - 1) (so the variance is never
    negative); ge1 of them at CPM >= 1 (log2(CPM+1) >= 1). A cluster without cells gets the
    expected mean as its mean (what a means table holds for it)."""
    p, mu = probabilities(model, clusters, rows)
    mu = mu * rng.lognormal(0.0, 0.1, mu.shape)
    n = np.broadcast_to(clusters.n_cells[rows][:, None], p.shape)
    expressing = rng.binomial(n, p)
    sums = np.maximum(expressing * mu + np.sqrt(expressing) * SIGMA
                      * rng.standard_normal(p.shape), 0.0)
    spread = np.where(expressing > 1, rng.chisquare(np.maximum(expressing - 1, 1)), 0.0)
    sumsq = np.where(expressing > 0, sums * sums / np.maximum(expressing, 1)
                     + SIGMA * SIGMA * spread, 0.0)
    above = np.clip((mu - 1.0) / SIGMA, -8, 8)
    ge1 = rng.binomial(expressing, 0.5 * (1 + np.tanh(0.8 * above)))  # ~ Phi((mu - 1) / sigma)
    return {"sum": sums, "sumsq": sumsq, "ge1": ge1, "gt0": expressing,
            "mean": np.where(n > 0, sums / np.maximum(n, 1), p * mu)}


def cluster_means(model: Model, clusters: Clusters, rows: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    return cluster_sums(model, clusters, rows, rng)["mean"]


def taxonomy_tree(clusters: Clusters) -> dict:
    """The taxonomy as cell_type_mapper's TaxonomyTree.from_data_release serializes it."""
    hierarchy = [f"{TAXONOMY}_{code}" for code in CODES[1:]]
    tree: dict = {"metadata": {"factory": "from_data_release", "params": {
        "cluster_annotation_path": f"metadata/WMB-taxonomy/{TAXONOMY_VERSION}/"
                                   "cluster_annotation_term.csv",
        "hierarchy": hierarchy}},
        "hierarchy_mapper": {f"{TAXONOMY}_{c}": LEVEL_OF_CODE[c] for c in reversed(CODES)},
        "hierarchy": hierarchy}
    for parent, child in zip(CODES[1:-1], CODES[2:], strict=True):
        children: dict[str, set] = {}
        for p_label, c_label in zip(clusters.labels[parent], clusters.labels[child],
                                    strict=True):
            children.setdefault(p_label, set()).add(c_label)
        tree[f"{TAXONOMY}_{parent}"] = {k: sorted(v) for k, v in sorted(children.items())}
    names: dict = {}
    for code in CODES[1:]:
        level = names.setdefault(f"{TAXONOMY}_{code}", {})
        for i, label in enumerate(clusters.labels[code]):
            level[label] = {"name": clusters.names[code][i]}
            if code == "CLUS":
                level[label]["alias"] = str(int(clusters.aliases[i]))
    tree["name_mapper"] = names
    tree[f"{TAXONOMY}_CLUS"] = {label: [] for label in sorted(clusters.labels["CLUS"])}
    return tree


def write_stats(path: Path, cluster_to_row: dict[str, int], genes: list[str],
                n_cells: np.ndarray, blocks, *, taxonomy: dict | None = None,
                metadata: dict | None = None, chunks: bool = False) -> None:
    """A precomputed statistics file. `blocks` yields (first_row, {name: rows x genes}) with
    name in sum, sumsq, ge1, gt1, gt0 (the arrays a block carries are the file's); rows are
    written in slices, so a full-size file is never whole in memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (len(cluster_to_row), len(genes))
    with h5py.File(path, "w") as out:
        datasets: dict[str, h5py.Dataset] = {}
        for start, arrays in blocks:
            for name, values in arrays.items():
                if name not in datasets:
                    datasets[name] = out.create_dataset(
                        name, shape=shape, dtype=np.float64 if name in ("sum", "sumsq")
                        else np.int64, chunks=(max(1, shape[0] // 10), shape[1])
                        if chunks else None)
                datasets[name][start:start + len(values)] = values
        out.create_dataset("n_cells", data=np.asarray(n_cells, dtype=np.int64))
        out.create_dataset("cluster_to_row", data=json.dumps(cluster_to_row).encode("utf-8"))
        out.create_dataset("col_names", data=json.dumps(genes).encode("utf-8"))
        if taxonomy is not None:
            out.create_dataset("taxonomy_tree", data=json.dumps(taxonomy).encode("utf-8"))
        if metadata is not None:
            out.create_dataset("metadata", data=json.dumps(metadata).encode("utf-8"))


def marker_lookup(model: Model, genes: list[tuple[str, str]], clusters: Clusters,
                  limit: int = 30) -> dict:
    """Per parent with two or more children (supertype dropped): genes whose program is one of
    its children, strongest first."""
    ids = [gid for gid, _s in genes]
    by_program: dict[tuple[int, int], list[int]] = {}
    for gene in np.argsort(-model.p_in * model.mu, kind="stable"):
        if model.program[gene] < 4:
            by_program.setdefault((int(model.program[gene]), int(model.term[gene])), []).append(
                int(gene))
    index = {code: {label: k for k, label in enumerate(sorted(set(clusters.labels[code])))}
             for code in ("CLAS", "SUBC", "SUPT")}
    level_of = {"CLAS": 0, "SUBC": 1, "SUPT": 2}

    def genes_of(children: set[str], code: str) -> list[str]:
        found = [g for c in sorted(children)
                 for g in by_program.get((level_of[code], index[code][c]), [])[:5]]
        return [ids[g] for g in found][:limit]

    lookup: dict = {"None": genes_of(set(clusters.labels["CLAS"]), "CLAS")}
    for parent, child in (("CLAS", "SUBC"), ("SUBC", "SUPT")):
        children: dict[str, set] = {}
        for p_label, c_label in zip(clusters.labels[parent], clusters.labels[child],
                                    strict=True):
            children.setdefault(p_label, set()).add(c_label)
        for p_label in sorted(children):
            if len(children[p_label]) > 1:
                lookup[f"{TAXONOMY}_{parent}/{p_label}"] = genes_of(children[p_label], child)
    lookup["metadata"] = {"precomputed_file_path": STATS_NAME, "drop_level": f"{TAXONOMY}_SUPT",
                          "generated_on": "sample release"}
    return lookup


def write(directory: Path, scale: str, seed: int) -> None:
    rng = np.random.default_rng([seed, 12])
    clusters = read_clusters(directory / "metadata" / "WMB-taxonomy" / TAXONOMY_VERSION)
    genes = choose_genes(SCALES[scale], rng)
    model = make_model(genes, clusters, rng)
    ids = [gid for gid, _s in genes]
    expressed = np.zeros(len(genes), dtype=bool)

    def blocks():
        for start in range(0, len(clusters.aliases), ROW_BLOCK):
            rows = np.arange(start, min(start + ROW_BLOCK, len(clusters.aliases)))
            means = cluster_means(model, clusters, rows, rng)
            expressed[:] |= (means > 0).any(axis=0)
            yield start, {"sum": means}

    mapmycells = directory / "mapmycells" / "WMB-10X" / STATS_VERSION
    write_stats(mapmycells / STATS_NAME,
                {label: row for row, label in enumerate(clusters.labels["CLUS"])}, ids,
                np.ones(len(clusters.aliases), dtype=np.int64), blocks(),
                taxonomy=taxonomy_tree(clusters),
                metadata={"src": "sample release: cluster means drawn from the sample's cells",
                          "generated_on": "sample"})
    (mapmycells / MARKERS_NAME).write_text(
        json.dumps(marker_lookup(model, genes, clusters), indent=2))
    write_genes(directory / "metadata" / "WMB-10X" / CELLS_VERSION / "gene.csv", genes,
                expressed)


def write_genes(path: Path, genes: list[tuple[str, str]], expressed: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["gene_identifier", "gene_symbol", "name", "mapped_ncbi_identifier",
                         "comment"])
        for (gid, symbol), on in zip(genes, expressed, strict=True):
            name, ncbi, comment = REAL_ROWS.get(gid, ("", "", ""))
            if gid not in REAL_ROWS:
                comment = "" if on else "no expression"
            writer.writerow([gid, symbol, name, ncbi, comment])


def write_true_counts(directory: Path, path: Path, scale: str, seed: int) -> None:
    """A true-count statistics file (what cell_type_mapper's precompute tools write from a
    lab's h5ad: n_cells, sum, sumsq, ge1, gt0 over each cluster's cells) for the sample release
    in `directory`, drawn from its cells like the release's means: `make bench` times the
    Welch tests on it."""
    rng = np.random.default_rng([seed, 13])
    clusters = read_clusters(directory / "metadata" / "WMB-taxonomy" / TAXONOMY_VERSION)
    genes = choose_genes(SCALES[scale], np.random.default_rng([seed, 12]))
    model = make_model(genes, clusters, rng)

    def blocks():
        for start in range(0, len(clusters.aliases), ROW_BLOCK):
            rows = np.arange(start, min(start + ROW_BLOCK, len(clusters.aliases)))
            drawn = cluster_sums(model, clusters, rows, rng)
            yield start, {name: drawn[name] for name in ("sum", "sumsq", "ge1", "gt0")}

    write_stats(path, {label: row for row, label in enumerate(clusters.labels["CLUS"])},
                [gid for gid, _s in genes], clusters.n_cells, blocks(),
                taxonomy=taxonomy_tree(clusters),
                metadata={"src": "sample release: true counts drawn from the sample's cells"})
