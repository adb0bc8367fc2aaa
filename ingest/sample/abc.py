"""Sample ABC Atlas WMB release: cell metadata, ROIs, taxonomy and a release manifest.

Written in the real S3 layout (`metadata/WMB-10X/20241115/`, `metadata/WMB-taxonomy/20231215/`,
`releases/20250531/manifest.json`) with the real quirks: text `cell_label`s of the
`<16-mer>-<plate>_<well>` grammar, sparse cluster aliases, `cluster.csv` sorted as strings, the
neurotransmitter term literally named `NA` (written empty in the pivoted view), term names
repeating across levels, mixed-case colours. Vocabulary: the real 34 classes and 338 subclasses
(CCN20230722) and the 29 dissection ROIs. Biology: each subclass is drawn only in the dissection
regions its real name places it in (the CCF acronyms in "016 CA1-ProS Glut", "073 MEA-BST Sox6
Gaba") or the literature does (regional astrocytes, Bergmann glia, tanycytes, ...), with the
shares the literature gives where it gives them (granule cells most of the cerebellum, D1 and
D2 medium spiny neurons half each of the striatum, dentate granule cells first in the
hippocampus); every rule names its source below.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ingest.sample.ontology import data_file

CELLS_VERSION = "20241115"
TAXONOMY_VERSION = "20231215"
TAXONOMY = "CCN20230722"
TERM_PREFIX = "CS20230722"

SCALES = {
    # cells, supertypes, clusters
    "tiny": (3_000, 338, 400),
    "small": (200_000, 700, 2_000),
    "full": (4_042_976, 1_201, 5_322),
}
MAX_ALIAS = 34_380

ROI_GROUPS = {
    "cortex": ["ACA", "AI", "AUD", "AUD-TEa-PERI-ECT", "MO-FRP", "MOp", "PL-ILA-ORB", "RSP",
               "SS-GU-VISC", "SSp", "TEa-PERI-ECT", "VIS", "VIS-PTLp"],
    "hippocampus": ["HIP"],
    "retrohippocampal": ["RHP", "ENT"],
    "cortical_subplate": ["CTXsp"],
    "olfactory": ["OLF"],
    "striatum_dorsal": ["STRd"],
    "striatum_ventral": ["STRv"],
    "septum": ["LSX"],
    "pallidum": ["PAL"],
    "amygdala": ["sAMY"],
    "hypothalamus": ["HY"],
    "thalamus": ["TH"],
    "midbrain": ["MB"],
    "pons": ["P"],
    "medulla": ["MY"],
    "cerebellum": ["CB"],
}
ROI_NAMES = {
    "MO-FRP": "Somatomotor - Frontal pole", "MOp": "Primary motor area",
    "SS-GU-VISC": "Somatosensory/gustatory/visceral areas", "SSp": "Primary somatosensory area",
    "AUD": "Auditory areas", "AUD-TEa-PERI-ECT": "Auditory/temporal/perirhinal/ectorhinal areas",
    "TEa-PERI-ECT": "Temporal association/perirhinal/ectorhinal areas", "VIS": "Visual areas",
    "VIS-PTLp": "Visual/posterior parietal areas", "ACA": "Anterior cingulate area",
    "PL-ILA-ORB": "Prelimbic/infralimbic/orbital areas", "AI": "Agranular insular area",
    "RSP": "Retrosplenial area", "HIP": "Hippocampal region", "RHP": "Retrohippocampal region",
    "ENT": "Entorhinal area", "CTXsp": "Cortical subplate", "OLF": "Olfactory areas",
    "STRd": "Striatum dorsal region", "STRv": "Striatum ventral region",
    "LSX": "Lateral septal complex", "PAL": "Pallidum", "sAMY": "Striatum-like amygdalar nuclei",
    "HY": "Hypothalamus", "TH": "Thalamus", "MB": "Midbrain", "P": "Pons", "MY": "Medulla",
    "CB": "Cerebellum",
}
ROI_ORDER = ["MO-FRP", "MOp", "SS-GU-VISC", "SSp", "AUD", "AUD-TEa-PERI-ECT", "TEa-PERI-ECT",
             "VIS", "VIS-PTLp", "ACA", "PL-ILA-ORB", "AI", "RSP", "HIP", "RHP", "ENT", "CTXsp",
             "OLF", "STRd", "STRv", "LSX", "PAL", "sAMY", "HY", "TH", "MB", "P", "MY", "CB"]
KNOWN_ROI_COLORS = {"MO-FRP": "#3DCC7C", "MOp": "#179968", "SS-GU-VISC": "#2E8599",
                    "SSp": "#5CCCCC", "AUD": "#455A99", "RHP": "#CCB05C"}
# relative cell counts per ROI (cortex and hippocampus dominate WMB-10X)
ROI_WEIGHTS = {"MO-FRP": 3, "MOp": 5, "SS-GU-VISC": 4, "SSp": 5, "AUD": 2,
               "AUD-TEa-PERI-ECT": 2, "TEa-PERI-ECT": 2, "VIS": 4, "VIS-PTLp": 2, "ACA": 3,
               "PL-ILA-ORB": 3, "AI": 2, "RSP": 3, "HIP": 8, "RHP": 5, "ENT": 2, "CTXsp": 3,
               "OLF": 6, "STRd": 5, "STRv": 3, "LSX": 2, "PAL": 3, "sAMY": 2, "HY": 6,
               "TH": 6, "MB": 8, "P": 3, "MY": 4, "CB": 4}

# neuronal class weights per ROI group (class number → weight); non-neuronal added everywhere
NON_NEURONAL = {30: 0.10, 31: 0.12, 33: 0.04, 34: 0.02}
CLASS_WEIGHTS = {
    "cortex": {1: 0.45, 2: 0.12, 6: 0.05, 7: 0.07},
    # dentate granule cells outnumber CA1 and CA3 pyramidal cells (see SUBCLASS_SHARES)
    "hippocampus": {1: 0.28, 4: 0.25, 2: 0.03, 6: 0.06, 7: 0.08},
    "retrohippocampal": {1: 0.40, 2: 0.12, 6: 0.06, 7: 0.08},
    "cortical_subplate": {1: 0.30, 2: 0.25, 6: 0.05, 7: 0.07, 9: 0.03},
    "olfactory": {3: 0.25, 5: 0.30, 1: 0.05, 32: 0.03},
    # medium spiny neurons are ~95% of striatal neurons, MGE interneurons the rest
    "striatum_dorsal": {9: 0.66, 8: 0.035},
    "striatum_ventral": {9: 0.55, 8: 0.04, 5: 0.06},
    "septum": {10: 0.55, 9: 0.10},
    "pallidum": {8: 0.35, 11: 0.20, 9: 0.08},
    "amygdala": {11: 0.40, 9: 0.10, 13: 0.10, 1: 0.05},
    "hypothalamus": {12: 0.20, 14: 0.20, 11: 0.10, 13: 0.08, 15: 0.01, 16: 0.08},
    "thalamus": {18: 0.55, 17: 0.07, 20: 0.03},
    "midbrain": {19: 0.25, 20: 0.25, 21: 0.08, 22: 0.05},
    "pons": {23: 0.30, 26: 0.20, 22: 0.05},
    "medulla": {24: 0.35, 27: 0.25},
    "cerebellum": {29: 0.55, 28: 0.15},
}
# subclass-name tokens favoured in each group (×20), e.g. D1/D2 MSNs in striatum
FAVOURED = {
    "cortex": r"\b(CTX|IT|ET|CT|NP|L2/3|L4/5|L5|L6|L6b|Pvalb|Sst|Vip|Lamp5|Sncg)\b",
    "hippocampus": r"\b(CA1|CA2|CA3|DG|ProS|SUB|HPF)",
    "retrohippocampal": r"\b(ENT|RHP|SUB|PPP|APr|IT)\b",
    "striatum_dorsal": r"\bSTR D[12]\b",
    "striatum_ventral": r"\b(STR D[12]|OT|ACB|Isl)\b",
    "olfactory": r"\b(OB|MOB|AOB|PIR|OT)\b",
    "thalamus": r"\b(TH|LGd|MG|AV|RT|ZI)\b",
    "cerebellum": r"\b(CB|Purkinje|Granule|CBX|DCO)\b",
}
# Each subclass's dissection regions come from its name first: the real WMB names carry the
# CCF acronyms of where the type lives ("016 CA1-ProS Glut", "020 L2/3 IT RSP Glut", "073
# MEA-BST Sox6 Gaba"), and a word that is a mouse CCF acronym allows the dissection regions
# whose CCF structures overlap that structure (contain it or lie inside it). A name without
# such a token (Vip, Sst, Oligo, ...) follows its class. These tokens are not CCF acronyms but
# name regions: PPP (postsubiculum-presubiculum-parasubiculum), TPE (temporal association,
# perirhinal, ectorhinal), OB (the main olfactory bulb), SC (the superior colliculus: CCF has
# its sensory and motor parts). STR means the striatum proper (dorsal and ventral): the
# taxonomy names the septal (LSX) and amygdalar (CEA, MEA, ...) types on their own.
# SUBCLASS_REGIONS below overrides the name where the literature says more.
TOKEN_ALIASES = {"PPP": ["POST", "PRE", "PAR"], "TPE": ["TEa", "PERI", "ECT"], "OB": ["MOB"],
                 "SC": ["SCs", "SCm"], "STR": ["STRd", "STRv"]}
# Where a subclass's cells are found, for the subclasses a region-blind draw would misplace
# (names as in WMB-taxonomy_20231215_subclass.tsv). Astrocytes are regional: Astro-TE in the
# telencephalon, Astro-NT outside it, Astro-OLF in the olfactory bulb, Astro-CB and Bergmann glia
# (the radial astrocytes of the Purkinje layer) in the cerebellum; tanycytes line the third
# ventricle floor (hypothalamus: median eminence, arcuate); hypendymal cells form the
# subcommissural organ (diencephalon-midbrain junction); choroid plexus epithelium (CHOR) hangs in
# the lateral, third and fourth ventricles; ependymal cells line the ventricle walls; olfactory
# ensheathing cells (OEC) the olfactory nerve layer. Sources: Yao et al., Nature 624, 317-332
# (2023), the whole-mouse-brain taxonomy these names come from (its non-neuronal section and
# MERFISH maps); Zeisel et al., Cell 174, 999-1014 (2018) for the regional astrocyte types;
# Kozareva et al., Nature 598, 214-219 (2021) for the cerebellar types.
TELENCEPHALON = {"cortex", "hippocampus", "retrohippocampal", "cortical_subplate", "olfactory",
                 "striatum_dorsal", "striatum_ventral", "septum", "pallidum", "amygdala"}
BRAINSTEM_AND_DIENCEPHALON = {"hypothalamus", "thalamus", "midbrain", "pons", "medulla"}
# Values are ROI groups (see ROI_GROUPS) or ROI acronyms.
SUBCLASS_REGIONS = {
    # unipolar brush cells: granular layer of the vestibulocerebellum as well as the dorsal
    # cochlear nucleus (Mugnaini et al., Brain Res Rev 66, 220-245, 2011); cartwheel cells
    # ("DCO Il22") are in the dorsal cochlear nucleus only
    "315 DCO UBC Glut": {"cerebellum", "medulla"},
    "308 DCO Il22 Gly-Gaba": {"medulla"},
    "316 Bergmann NN": {"cerebellum"},
    "317 Astro-CB NN": {"cerebellum"},
    "318 Astro-NT NN": BRAINSTEM_AND_DIENCEPHALON,
    "319 Astro-TE NN": TELENCEPHALON - {"olfactory"},
    "320 Astro-OLF NN": {"olfactory"},
    "321 Astroependymal NN": BRAINSTEM_AND_DIENCEPHALON,
    "322 Tanycyte NN": {"hypothalamus"},
    "323 Ependymal NN": {"hippocampus", "striatum_dorsal", "striatum_ventral", "septum",
                         "hypothalamus", "thalamus", "midbrain", "pons", "medulla"},
    "324 Hypendymal NN": {"thalamus", "midbrain"},
    "325 CHOR NN": {"hippocampus", "striatum_dorsal", "septum", "thalamus", "hypothalamus",
                    "medulla", "cerebellum"},
    "328 OEC NN": {"olfactory"},
}
# Relative shares of a class's cells per subclass where the literature fixes them, for every
# region ("*"), an ROI group or one ROI (merged in that order); the class's other subclasses
# share what is left.
# Within the non-neuronal classes the regional astrocyte dominates its class, oligodendrocytes
# outnumber their precursors, microglia dominate the immune class and endothelial cells the
# vascular one (Yao et al. 2023, non-neuronal cell types); granule cells are the great majority
# of cerebellar neurons and unipolar brush cells few, molecular layer interneurons outnumber
# Purkinje cells, Golgi and Purkinje-layer interneurons are rare, Bergmann glia outnumber the
# other cerebellar astrocytes (Kozareva et al. 2021).
SUBCLASS_SHARES = {
    "*": {
        "319 Astro-TE NN": 0.90, "318 Astro-NT NN": 0.85, "320 Astro-OLF NN": 0.90,
        "322 Tanycyte NN": 0.08, "323 Ependymal NN": 0.04, "325 CHOR NN": 0.02,
        "324 Hypendymal NN": 0.01, "321 Astroependymal NN": 0.02,
        "327 Oligo NN": 0.80, "326 OPC NN": 0.20,
        "333 Endo NN": 0.50, "331 Peri NN": 0.20, "330 VLMC NN": 0.15, "332 SMC NN": 0.10,
        "329 ABC NN": 0.05,
        "334 Microglia NN": 0.88, "335 BAM NN": 0.08, "336 Monocytes NN": 0.02,
        "337 DC NN": 0.01, "338 Lymphoid NN": 0.01,
    },
    # neocortex: IT cells are the most numerous glutamatergic type, L2/3 IT the largest; ET, NP
    # and L6b cells are few; L6 CT cells dominate their class (Tasic et al., Nature 563, 72-78,
    # 2018, VISp and ALM)
    "cortex": {
        "007 L2/3 IT CTX Glut": 0.32, "006 L4/5 IT CTX Glut": 0.22, "004 L6 IT CTX Glut": 0.16,
        "005 L5 IT CTX Glut": 0.14, "022 L5 ET CTX Glut": 0.09,
        "001 CLA-EPd-CTX Car3 Glut": 0.01,  # claustrum-like Car3 cells: lateral cortex, few
        "030 L6 CT CTX Glut": 0.60, "032 L5 NP CTX Glut": 0.20, "029 L6b CTX Glut": 0.15,
        # interneurons: Pvalb ~40%, Sst ~30%, the 5HT3aR (CGE) group ~30%, Vip and Lamp5
        # (neurogliaform) its largest parts (Tremblay, Lee & Rudy, Neuron 91, 260-292, 2016)
        "052 Pvalb Gaba": 0.50, "053 Sst Gaba": 0.38, "051 Pvalb chandelier Gaba": 0.05,
        "050 Lamp5 Lhx6 Gaba": 0.07,
        "046 Vip Gaba": 0.45, "049 Lamp5 Gaba": 0.35, "047 Sncg Gaba": 0.15,
    },
    # dissection regions with their own types (keys may be ROIs): the retrosplenial L2/3 IT
    # and L4 RSP-ACA types are RSP's (and ACA's) main upper-layer IT cells (Yao et al. 2023)
    "RSP": {"020 L2/3 IT RSP Glut": 0.25, "021 L4 RSP-ACA Glut": 0.08,
            "007 L2/3 IT CTX Glut": 0.10},
    "ACA": {"021 L4 RSP-ACA Glut": 0.05},
    # cholinergic cells are a minority of pallidal and basal forebrain neurons, most of which
    # are GABAergic (Gritti et al., Neuroscience 143, 1051-1064, 2006, stereological counts in rat)
    "pallidum": {"058 PAL-STR Gaba-Chol": 0.15},
    # stereological counts in rat (West et al., Anat Rec 231, 482-497, 1991): about 1 million
    # dentate granule cells, 0.4 million CA1 and 0.25 million CA3/CA2 pyramidal cells per side
    "hippocampus": {
        "016 CA1-ProS Glut": 0.50, "017 CA3 Glut": 0.30, "023 SUB-ProS Glut": 0.12,
        "025 CA2-FC-IG Glut": 0.04, "037 DG Glut": 0.92, "038 DG-PIR Ex IMN": 0.08,
    },
    # D1 (direct) and D2 (indirect) medium spiny neurons in about equal numbers; among the
    # interneurons fast-spiking (Pvalb, from Prox1/Lhx6 MGE cells) and Sst ones outnumber
    # cholinergic cells (Gerfen & Surmeier, Annu Rev Neurosci 34, 441-466, 2011)
    "striatum_dorsal": {
        "061 STR D1 Gaba": 0.40, "063 STR D1 Sema5a Gaba": 0.07, "062 STR D2 Gaba": 0.45,
        "064 STR-PAL Chst9 Gaba": 0.03, "054 STR Prox1 Lhx6 Gaba": 0.35,
        "056 Sst Chodl Gaba": 0.30, "058 PAL-STR Gaba-Chol": 0.20, "055 STR Lhx8 Gaba": 0.10,
    },
    "striatum_ventral": {
        "061 STR D1 Gaba": 0.33, "063 STR D1 Sema5a Gaba": 0.10, "062 STR D2 Gaba": 0.35,
        "060 OT D3 Folh1 Gaba": 0.10, "065 IA Mgp Gaba": 0.03,
        "054 STR Prox1 Lhx6 Gaba": 0.30, "056 Sst Chodl Gaba": 0.30,
        "058 PAL-STR Gaba-Chol": 0.20,
    },
    "cerebellum": {
        "314 CB Granule Glut": 0.97, "315 DCO UBC Glut": 0.03,
        "311 CBX MLI Megf11 Gaba": 0.33, "312 CBX MLI Cdh22 Gaba": 0.27,
        "313 CBX Purkinje Gaba": 0.22, "310 CBX Golgi Gly-Gaba": 0.07,
        "309 CB PLI Gly-Gaba": 0.06, "308 DCO Il22 Gly-Gaba": 0.05,
        "316 Bergmann NN": 0.55, "317 Astro-CB NN": 0.40,
    },
}
GENOTYPES = ["Ai14(RCL-tdT)/wt", "Gad2-IRES-Cre/wt;Ai14(RCL-tdT)/wt",
             "Slc32a1-IRES-Cre/wt;Ai14(RCL-tdT)/wt", "Snap25-IRES2-Cre/wt;Ai14(RCL-tdT)/wt",
             "wt/wt"]
NT_COLORS = {"Glut": "#2B93DF", "NA": "#666666", "GABA": "#FF3358", "Dopa": "#fcf04b",
             "Glut-GABA": "#0a9964", "Chol": "#73E785", "Hist": "#ff7621",
             "GABA-Glyc": "#8B5862", "Sero": "#533691", "Nora": "#FF6F98"}
NT_BY_SUFFIX = {"Glut": "Glut", "Gaba": "GABA", "Gly-Gaba": "GABA-Glyc", "NN": "NA",
                "Dopa-Gaba": "Dopa", "Dopa": "Dopa", "Chol": "Chol", "Hist-Gaba": "Hist",
                "Glyc-Gaba": "GABA-Glyc", "Glut-Sero": "Sero", "Glut-Chol": "Chol",
                "Gaba-Glut": "Glut-GABA", "Gaba-Chol": "Chol"}


@dataclass
class Taxonomy:
    classes: list[str]
    subclasses: list[str]
    subclass_class: np.ndarray  # index into classes
    supertype_subclass: np.ndarray
    supertype_names: list[str]
    cluster_supertype: np.ndarray
    cluster_names: list[str]
    cluster_alias: np.ndarray
    cluster_nt: list[str]
    cluster_weight: np.ndarray


def _read_tsv(name: str) -> list[dict[str, str]]:
    with open(data_file(name), newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _read_csv(name: str) -> list[dict[str, str]]:
    with open(data_file(name), newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _colour(rng: np.random.Generator) -> str:
    value = f"#{int(rng.integers(0, 0xFFFFFF)):06X}"
    return value.lower() if rng.random() < 0.3 else value  # ABC mixes the case


def _split_counts(rng: np.random.Generator, total: int, parts: int) -> np.ndarray:
    """`total` items over `parts` buckets, each at least one, skewed."""
    weights = rng.lognormal(0.0, 0.8, parts)
    extra = rng.multinomial(total - parts, weights / weights.sum())
    return extra + 1


def make_taxonomy(rng: np.random.Generator, n_supertypes: int, n_clusters: int) -> Taxonomy:
    classes = [row["class"] for row in _read_tsv("WMB-taxonomy_20231215_class.tsv")]
    rows = _read_tsv("WMB-taxonomy_20231215_subclass.tsv")
    subclasses = [row["subclass"] for row in rows]
    named = set(SUBCLASS_REGIONS) | {n for shares in SUBCLASS_SHARES.values() for n in shares}
    if named - set(subclasses):  # the rules must name real subclasses
        raise ValueError(f"not WMB subclasses: {sorted(named - set(subclasses))}")
    subclass_class = np.array([classes.index(row["class"]) for row in rows])
    per_subclass = _split_counts(rng, n_supertypes, len(subclasses))
    supertype_subclass = np.repeat(np.arange(len(subclasses)), per_subclass)
    supertype_names: list[str] = []
    for ordinal, subclass in enumerate(supertype_subclass, start=1):
        k = int((supertype_subclass[:ordinal] == subclass).sum())
        supertype_names.append(f"{ordinal:04d} {_bare(subclasses[subclass])}_{k}")
    per_supertype = _split_counts(rng, n_clusters, n_supertypes)
    cluster_supertype = np.repeat(np.arange(n_supertypes), per_supertype)
    # a cluster is named after its supertype with its own ordinal: names repeat across levels
    cluster_names = [f"{ordinal:04d} {supertype_names[s][5:]}"
                     for ordinal, s in enumerate(cluster_supertype, start=1)]
    alias = np.sort(rng.choice(np.arange(1, MAX_ALIAS + 1), n_clusters, replace=False))
    alias[0] = 1
    cluster_nt = []
    for s in cluster_supertype:
        sub = subclasses[supertype_subclass[s]]
        suffix = sub.split(" ")[-1]
        nt = NT_BY_SUFFIX.get(suffix)
        if nt is None:  # IMN (immature neurons): follow the class
            nt = "GABA" if "GABA" in classes[subclass_class[supertype_subclass[s]]] else "Glut"
        cluster_nt.append(nt)
    pons = [i for i, s in enumerate(cluster_supertype)
            if classes[subclass_class[supertype_subclass[s]]] == "23 P Glut"]
    if pons:  # locus coeruleus: the noradrenergic clusters
        cluster_nt[pons[-1]] = "Nora"
    weight = rng.lognormal(0.0, 1.0, n_clusters)
    return Taxonomy(classes, subclasses, subclass_class, supertype_subclass, supertype_names,
                    cluster_supertype, cluster_names, alias, cluster_nt, weight)


def _bare(name: str) -> str:
    return name.split(" ", 1)[1]


def _group_of(roi: str) -> str:
    return next(group for group, rois in ROI_GROUPS.items() if roi in rois)


def _mouse_paths() -> dict[str, list[int]]:
    """Mouse CCF acronym -> structure_id_path (ids, root first), from the shipped graph 1."""
    paths = {}
    for row in _read_csv("mouse_structures_graph1.csv"):
        if row["structure_id_path"]:
            paths[row["acronym"]] = [int(i) for i in row["structure_id_path"].strip("/").split("/")]
    return paths


def _roi_structures() -> dict[str, list[int]]:
    """ROI -> its CCF structure ids (WMB-10X_ROI_to_CCF_proposed.tsv)."""
    return {row["region_of_interest_acronym"]: [int(i) for i in row["ccf_structure_ids"].split(";")]
            for row in _read_tsv("WMB-10X_ROI_to_CCF_proposed.tsv")}


def subclass_regions(subclasses: list[str]) -> list[set[str] | None]:
    """Per subclass, the ROIs and ROI groups it may be found in (None: wherever its class is)."""
    paths = _mouse_paths()
    path_of_id = {path[-1]: path for path in paths.values()}
    rois = {roi: set(ids) for roi, ids in _roi_structures().items()}
    # every ancestor-or-self of each ROI's CCF structures
    above = {roi: {a for i in ids for a in path_of_id.get(i, [i])} for roi, ids in rois.items()}
    out: list[set[str] | None] = []
    for subclass in subclasses:
        if subclass in SUBCLASS_REGIONS:
            out.append(set(SUBCLASS_REGIONS[subclass]))
            continue
        words = re.split(r"[ \-/]", subclass.split(" ", 1)[1])  # after the number
        tokens = [t for word in words for t in TOKEN_ALIASES.get(word, [word])]
        places = {roi for token in tokens if token in paths for roi in rois
                  # the structure lies inside the ROI, or the ROI inside (or at) it
                  if rois[roi] & set(paths[token]) or paths[token][-1] in above[roi]}
        out.append(places or None)
    return out


def cluster_probabilities(tax: Taxonomy, roi: str,
                          regions: list[set[str] | None] | None = None) -> np.ndarray:
    """p(cluster | ROI) = p(class | ROI) · p(subclass | class, ROI) · p(cluster | subclass)."""
    group = _group_of(roi)
    class_weight = {**NON_NEURONAL, **CLASS_WEIGHTS[group]}
    favoured = re.compile(FAVOURED[group]) if group in FAVOURED else None
    regions = regions if regions is not None else subclass_regions(tax.subclasses)
    sub_bonus = np.array([(20.0 if favoured and favoured.search(s) else 1.0)
                          * (where is None or roi in where or group in where)
                          for s, where in zip(tax.subclasses, regions, strict=True)])
    shares = {**SUBCLASS_SHARES["*"], **SUBCLASS_SHARES.get(group, {}),
              **SUBCLASS_SHARES.get(roi, {})}
    share = np.array([shares.get(s, np.nan) for s in tax.subclasses])
    cluster_subclass = tax.supertype_subclass[tax.cluster_supertype]
    cluster_class = tax.subclass_class[cluster_subclass]
    p = np.zeros(len(tax.cluster_names))
    for class_number, weight in class_weight.items():
        in_class = cluster_class == class_number - 1
        within = tax.cluster_weight * sub_bonus[cluster_subclass] * in_class
        if not within.any():
            continue
        fixed = in_class & ~np.isnan(share[cluster_subclass]) & (within > 0)
        # subclasses with a literature share take it, split over their clusters by weight
        for sub in np.unique(cluster_subclass[fixed]):
            members = fixed & (cluster_subclass == sub)
            within[members] = share[sub] * within[members] / within[members].sum()
        rest = in_class & ~fixed
        left = max(0.0, 1.0 - within[fixed].sum())
        if within[rest].sum() > 0:
            within[rest] = left * within[rest] / within[rest].sum()
        p += weight * within / within.sum()
    return p / p.sum()


def _barcodes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct 16-mers: a bijection of 0..n-1 over 32-bit numbers, spelled in ACGT."""
    numbers = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761)
               + np.uint64(rng.integers(0, 2**32))) % np.uint64(2**32)
    digits = (numbers[:, None] >> (np.arange(16, dtype=np.uint64) * np.uint64(2))) & np.uint64(3)
    letters = np.frombuffer(b"ACGT", dtype="S1")[digits.astype(np.int64)]
    return letters.view("S16").ravel().astype(str)


def _uuid4s(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    lut = np.array([f"{i:02x}" for i in range(256)], dtype="S2")
    hexed = lut[raw].view("S32").ravel().astype(str)
    s = pl.col("hex")
    return pl.DataFrame({"hex": hexed}).select(pl.concat_str(
        [s.str.slice(0, 8), s.str.slice(8, 4), s.str.slice(12, 4), s.str.slice(16, 4),
         s.str.slice(20, 12)], separator="-")).to_series().to_numpy()


def _package(roi: str, method: str, rng: np.random.Generator) -> str:
    group = _group_of(roi)
    division = {"cortex": "Isocortex", "hippocampus": "HPF", "retrohippocampal": "HPF",
                "cortical_subplate": "CTXsp", "olfactory": "OLF", "striatum_dorsal": "STR",
                "striatum_ventral": "STR", "septum": "STR", "pallidum": "PAL",
                "amygdala": "STR", "hypothalamus": "HY", "thalamus": "TH", "midbrain": "MB",
                "pons": "P", "medulla": "MY", "cerebellum": "CB"}[group]
    if method == "10xRSeq_Mult":
        return "WMB-10XMulti"
    if division == "Isocortex":
        division += f"-{rng.integers(1, 5 if method == '10Xv2' else 3)}"
    return f"WMB-{method}-{division}"


V2_DIVISIONS = {"CTXsp", "HPF", "HY", "Isocortex", "MB", "OLF", "TH"}


def make_samples(rng: np.random.Generator, n_cells: int) -> pl.DataFrame:
    """Dissection samples (one library each): ROI, method, package, donor."""
    n_samples = max(len(ROI_ORDER), min(819, n_cells // 400))
    weights = np.array([ROI_WEIGHTS[r] for r in ROI_ORDER], dtype=float)
    per_roi = np.maximum(1, np.round(n_samples * weights / weights.sum()).astype(int))
    n_donors = max(4, min(345, n_samples // 2))
    donor_genotype = rng.choice(GENOTYPES, n_donors, p=[0.15, 0.1, 0.1, 0.45, 0.2])
    donor_number = rng.choice(np.arange(500_000, 700_000), n_donors, replace=False)
    donor_label = [
        ("C57BL6J-" if g == "wt/wt" else g.split("/wt")[0].replace("(RCL-tdT)", "")
         .split(";")[0] + (";Ai14-" if g != "Ai14(RCL-tdT)/wt" else "-"))
        + str(n) for g, n in zip(donor_genotype, donor_number, strict=True)]
    donor_sex = rng.choice(["F", "M"], n_donors)
    wells = [f"{r}{c:02d}" for r in "ABCDEFGH" for c in range(1, 13)]
    rows = []
    plate = 0
    for roi, count in zip(ROI_ORDER, per_roi, strict=True):
        for _ in range(count):
            plate += 1
            well = wells[plate % len(wells)]
            method = "10Xv3" if rng.random() < 0.58 else "10Xv2"
            if rng.random() < 0.003:
                method = "10xRSeq_Mult"
            division = _package(roi, "10Xv3", rng).split("-")[2]
            if method == "10Xv2" and division not in V2_DIVISIONS:
                method = "10Xv3"
            donor = int(rng.integers(n_donors))
            date = f"{20 + int(rng.integers(0, 3))}{int(rng.integers(1, 13)):02d}" \
                   f"{int(rng.integers(1, 29)):02d}"
            rows.append({
                "region_of_interest_acronym": roi,
                "barcoded_cell_sample_label": f"{plate + 100}_{well}",
                "library_label": f"L8TX_{date}_{int(rng.integers(1, 9)):02d}_{well}",
                "library_method": method,
                "feature_matrix_label": _package(roi, method, rng),
                "dataset_label": "WMB-10XMulti" if method == "10xRSeq_Mult" else f"WMB-{method}",
                "donor_label": donor_label[donor],
                "donor_genotype": donor_genotype[donor],
                "donor_sex": donor_sex[donor],
            })
    return pl.DataFrame(rows)


def make_cells(rng: np.random.Generator, tax: Taxonomy, n_cells: int) -> pl.DataFrame:
    samples = make_samples(rng, n_cells)
    roi_weight = np.array([ROI_WEIGHTS[r] for r in ROI_ORDER], dtype=float)
    per_roi = rng.multinomial(n_cells, roi_weight / roi_weight.sum())
    parts = []
    class_centre = rng.uniform(-15, 24, size=(len(tax.classes), 2))
    cluster_class = tax.subclass_class[tax.supertype_subclass[tax.cluster_supertype]]
    regions = subclass_regions(tax.subclasses)
    for roi, count in zip(ROI_ORDER, per_roi, strict=True):
        if count == 0:
            continue
        roi_samples = samples.filter(pl.col("region_of_interest_acronym") == roi)
        which = rng.integers(0, roi_samples.height, count)
        clusters = rng.choice(len(tax.cluster_names), count,
                              p=cluster_probabilities(tax, roi, regions))
        centre = class_centre[cluster_class[clusters]]
        xy = centre + rng.normal(0, 1.2, size=(count, 2))
        part = roi_samples[which].with_columns(
            pl.Series("cluster_alias", tax.cluster_alias[clusters].astype(np.int64)),
            pl.Series("x", np.round(xy[:, 0], 6)), pl.Series("y", np.round(xy[:, 1], 6)),
            pl.Series("_order", which),
        ).sort("_order").drop("_order")
        parts.append(part)
    cells = pl.concat(parts)
    barcodes = _barcodes(rng, cells.height)
    cells = cells.with_columns(
        pl.Series("cell_barcode", barcodes),
        pl.lit("cell").alias("entity"),
        pl.lit(None, dtype=pl.String).alias("brain_section_label"),
        pl.Series("abc_sample_id", _uuid4s(rng, cells.height)),
    ).with_columns(
        pl.concat_str(["cell_barcode", "barcoded_cell_sample_label"], separator="-")
        .alias("cell_label"),
    )
    return cells.select(
        "cell_label", "cell_barcode", "barcoded_cell_sample_label", "library_label",
        "feature_matrix_label", "entity", "brain_section_label", "library_method",
        "region_of_interest_acronym", "donor_label", "donor_genotype", "donor_sex",
        "dataset_label", "x", "y", "cluster_alias", "abc_sample_id",
    )


# ------------------------------------------------------------------------------ writing

def _write_csv(rows: list[list], header: list[str], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_taxonomy(folder: Path, tax: Taxonomy, cells_per_cluster: np.ndarray,
                   rng: np.random.Generator) -> None:
    sets = [("NEUR", "neurotransmitter", "The neurotransmitter type of the cells."),
            ("CLAS", "class", "The top level of cell type definition in the mouse whole "
             "brain taxonomy. It is primarily determined by broad brain region and "
             "neurotransmitter type."),
            ("SUBC", "subclass", "The second level of the taxonomy."),
            ("SUPT", "supertype", "The third level of the taxonomy."),
            ("CLUS", "cluster", "The finest level of the taxonomy.")]
    _write_csv([[f"{TAXONOMY}_{code}", name, text, order]
                for order, (code, name, text) in enumerate(sets)],
               ["label", "name", "description", "order"],
               folder / "cluster_annotation_term_set.csv")
    nts = list(NT_COLORS)
    class_labels = [f"{TERM_PREFIX}_CLAS_{i + 1:02d}" for i in range(len(tax.classes))]
    subclass_labels = [f"{TERM_PREFIX}_SUBC_{i + 1:03d}" for i in range(len(tax.subclasses))]
    supertype_labels = [f"{TERM_PREFIX}_SUPT_{i + 1:04d}"
                        for i in range(len(tax.supertype_names))]
    cluster_labels = [f"{TERM_PREFIX}_CLUS_{i + 1:04d}" for i in range(len(tax.cluster_names))]
    colours = {label: _colour(rng) for label in
               class_labels + subclass_labels + supertype_labels + cluster_labels}
    nt_label = {nt: f"{TERM_PREFIX}_NEUR_{nt}" for nt in nts}
    colours.update({nt_label[nt]: NT_COLORS[nt] for nt in nts})
    terms = [[nt_label[nt], nt, f"{TAXONOMY}_NEUR", "", "", 0, i, "neurotransmitter",
              NT_COLORS[nt]] for i, nt in enumerate(nts)]
    terms += [[label, name, f"{TAXONOMY}_CLAS", "", "", 1, i, "class", colours[label]]
              for i, (label, name) in enumerate(zip(class_labels, tax.classes, strict=True))]
    terms += [[label, name, f"{TAXONOMY}_SUBC", class_labels[tax.subclass_class[i]],
               f"{TAXONOMY}_CLAS", 2, i, "subclass", colours[label]]
              for i, (label, name) in enumerate(zip(subclass_labels, tax.subclasses,
                                                    strict=True))]
    terms += [[label, name, f"{TAXONOMY}_SUPT", subclass_labels[tax.supertype_subclass[i]],
               f"{TAXONOMY}_SUBC", 3, i, "supertype", colours[label]]
              for i, (label, name) in enumerate(zip(supertype_labels, tax.supertype_names,
                                                    strict=True))]
    terms += [[label, name, f"{TAXONOMY}_CLUS", supertype_labels[tax.cluster_supertype[i]],
               f"{TAXONOMY}_SUPT", 4, i, "cluster", colours[label]]
              for i, (label, name) in enumerate(zip(cluster_labels, tax.cluster_names,
                                                    strict=True))]
    _write_csv(terms, ["label", "name", "cluster_annotation_term_set_label",
                       "parent_term_label", "parent_term_set_label", "term_set_order",
                       "term_order", "cluster_annotation_term_set_name", "color_hex_triplet"],
               folder / "cluster_annotation_term.csv")
    # cluster.csv: sorted as strings, as the real file is
    clusters = sorted(((int(a), int(n)) for a, n in zip(tax.cluster_alias, cells_per_cluster,
                                                        strict=True)), key=lambda r: str(r[0]))
    _write_csv([[a, n, f"{TERM_PREFIX}_{a:04d}"] for a, n in clusters],
               ["cluster_alias", "number_of_cells", "label"], folder / "cluster.csv")
    membership, pivoted = [], []
    per_level: dict[str, list] = {k: [] for k in ("NEUR", "CLAS", "SUBC", "SUPT", "CLUS")}
    for i, alias in enumerate(tax.cluster_alias):
        supertype = tax.cluster_supertype[i]
        subclass = tax.supertype_subclass[supertype]
        klass = tax.subclass_class[subclass]
        nt = tax.cluster_nt[i]
        n = int(cells_per_cluster[i])
        levels = {
            "NEUR": (nt_label[nt], nt, "neurotransmitter"),
            "CLAS": (class_labels[klass], tax.classes[klass], "class"),
            "SUBC": (subclass_labels[subclass], tax.subclasses[subclass], "subclass"),
            "SUPT": (supertype_labels[supertype], tax.supertype_names[supertype], "supertype"),
            "CLUS": (cluster_labels[i], tax.cluster_names[i], "cluster"),
        }
        for code, (label, name, set_name) in levels.items():
            per_level[code].append([label, f"{TAXONOMY}_{code}", int(alias), name, set_name, n,
                                    colours[label]])
        pivoted.append([int(alias), "" if nt == "NA" else nt, tax.classes[klass],
                        tax.subclasses[subclass], tax.supertype_names[supertype],
                        tax.cluster_names[i]])
    for code in per_level:
        membership.extend(per_level[code])
    _write_csv(membership, ["cluster_annotation_term_label", "cluster_annotation_term_set_label",
                            "cluster_alias", "cluster_annotation_term_name",
                            "cluster_annotation_term_set_name", "number_of_cells",
                            "color_hex_triplet"],
               folder / "cluster_to_cluster_annotation_membership.csv")
    _write_csv(pivoted, ["cluster_alias", "neurotransmitter", "class", "subclass", "supertype",
                         "cluster"],
               folder / "views" / "cluster_to_cluster_annotation_membership_pivoted.csv")


def write_rois(folder: Path, rng: np.random.Generator) -> None:
    rows = [[f"WMB-{roi}", roi, ROI_NAMES[roi], order, KNOWN_ROI_COLORS.get(roi, _colour(rng))]
            for order, roi in enumerate(ROI_ORDER)]
    _write_csv(rows, ["label", "acronym", "name", "order", "color_hex_triplet"],
               folder / "region_of_interest_metadata.csv")


def sample_taxonomy(scale: str, seed: int) -> tuple[np.random.Generator, Taxonomy]:
    """The sample taxonomy of a scale and seed (the MERFISH cells use it too), and the random
    generator after it, which the 10x cells continue."""
    _n_cells, n_supertypes, n_clusters = SCALES[scale]
    rng = np.random.default_rng(seed)
    return rng, make_taxonomy(rng, n_supertypes, n_clusters)


def write(directory: Path, scale: str, seed: int) -> None:
    n_cells = SCALES[scale][0]
    rng, tax = sample_taxonomy(scale, seed)
    cells = make_cells(rng, tax, n_cells)
    cells_folder = directory / "metadata" / "WMB-10X" / CELLS_VERSION
    cells_folder.mkdir(parents=True, exist_ok=True)
    cells.write_csv(cells_folder / "cell_metadata.csv", float_precision=6, null_value="")
    write_rois(cells_folder, rng)
    counts = cells.group_by("cluster_alias").len()
    per_alias = dict(zip(counts["cluster_alias"].to_list(), counts["len"].to_list(),
                         strict=True))
    cells_per_cluster = np.array([per_alias.get(int(a), 0) for a in tax.cluster_alias])
    write_taxonomy(directory / "metadata" / "WMB-taxonomy" / TAXONOMY_VERSION, tax,
                   cells_per_cluster, rng)
