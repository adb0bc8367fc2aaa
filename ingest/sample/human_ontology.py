"""The sample release's human ontology (graph 10) in AHBA's `Ontology.csv` layout.

Synthetic below the top levels, real where it matters to users: the real ids and acronyms of the
top-level structures (4005 brain, 4006 grey matter, 4007 telencephalon, 4008 cerebral cortex,
4275 cerebral nuclei, 4391 diencephalon, 4833 metencephalon, 4696 cerebellum, 9001
mesencephalon, 9131 pons, 9512 myelencephalon, 9218 white matter, 9352 sulci & spaces), and
AHBA's conventions: sampled structures are per hemisphere (`hemisphere` L or R) and the left and
right copies share their acronym (`MTG-i` is "middle temporal gyrus, left, inferior bank of
gyrus" and its right twin); midline structures have a blank hemisphere.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

HEADER = ["id", "acronym", "name", "parent_structure_id", "hemisphere", "graph_order",
          "structure_id_path", "color_hex_triplet"]

# acronym -> real AHBA id (the rest are allocated from the ranges below, in file order). The
# hippocampal formation and the claustrum are real down to their leaves: abagen's tests
# (rmarkello/abagen, abagen/tests/test_samples.py, "based largely on real data") give subiculum
# 4251 (left) and 4260 (right) under /4005/4006/4007/4008/4219/4249/12896/, so limbic lobe 4219,
# hippocampal formation 4249 and the bilateral subiculum node 12896; claustrum 4322 (left) and
# 4323 (right) under /4005/4006/4007/4275/4321/. AHBA's names and acronyms for the hippocampal
# fields: "CA1 field" CA1 ... "CA4 field" CA4, "dentate gyrus" DG, "subiculum" S.
FIXED_IDS = {"Br": 4005, "GM": 4006, "Tel": 4007, "CX": 4008, "FL": 4009, "LL": 4219,
             "HiF": 4249, "S": 12896, "CN": 4275, "Cl": 4321, "DiE": 4391, "MET": 4833,
             "Cb": 4696, "CbCx": 4697, "MES": 9001, "Pons": 9131, "MY": 9512, "WM": 9218,
             "SS": 9352}
# (acronym, hemisphere) -> real AHBA id of a per-hemisphere leaf
FIXED_SIDED_IDS = {("S", "L"): 4251, ("S", "R"): 4260, ("Cl", "L"): 4322, ("Cl", "R"): 4323}
ID_RANGES = {"CX": (4010, 4274), "CN": (4276, 4390), "DiE": (4392, 4695), "Cb": (4698, 4832),
             "MES": (9002, 9130), "Pons": (9132, 9217), "WM": (9219, 9351), "SS": (9353, 9511),
             "MY": (9513, 9700)}
OVERFLOW_START = 12890

BANKS = [("cr", "crown"), ("s", "superior bank of gyrus"), ("i", "inferior bank of gyrus"),
         ("m", "medial bank of gyrus")]
SIDES = [("L", "left"), ("R", "right")]

# (acronym, name, parts) of cortical gyri per lobe; parts None = one leaf per hemisphere
GYRI = {
    ("FL", "frontal lobe"): [
        ("SFG", "superior frontal gyrus", BANKS), ("MFG", "middle frontal gyrus", BANKS),
        ("IFG", "inferior frontal gyrus", [("op", "opercular part"), ("tr", "triangular part"),
                                            ("orb", "orbital part")]),
        ("PrG", "precentral gyrus", BANKS), ("GRe", "gyrus rectus", None),
        ("LOrG", "lateral orbital gyrus", None), ("MOrG", "medial orbital gyrus", None),
        ("FP", "frontal pole", None), ("PCLa", "paracentral lobule, anterior part", None)],
    ("Ins", "insula"): [("LIG", "long insular gyri", None), ("SIG", "short insular gyri", None)],
    ("LL", "limbic lobe"): [
        ("CgGf", "cingulate gyrus, frontal part", BANKS),
        ("CgGp", "cingulate gyrus, parietal part", BANKS),
        ("CgGr", "cingulate gyrus, retrosplenial part", None),
        ("PHG", "parahippocampal gyrus", [("l", "lateral bank of gyrus"),
                                          ("cr", "crown")])],
    ("OL", "occipital lobe"): [
        ("Cun", "cuneus", [("str", "striate"), ("pest", "peristriate")]),
        ("LiG", "lingual gyrus", [("str", "striate"), ("pest", "peristriate")]),
        ("IOG", "inferior occipital gyrus", BANKS), ("SOG", "superior occipital gyrus", BANKS),
        ("OP", "occipital pole", None)],
    ("PL", "parietal lobe"): [
        ("PoG", "postcentral gyrus", BANKS), ("SPL", "superior parietal lobule", BANKS),
        ("SMG", "supramarginal gyrus", BANKS), ("AnG", "angular gyrus", BANKS),
        ("PCun", "precuneus", BANKS)],
    ("TL", "temporal lobe"): [
        ("STG", "superior temporal gyrus", [("l", "lateral bank of gyrus"), ("cr", "crown")]),
        ("MTG", "middle temporal gyrus", BANKS), ("ITG", "inferior temporal gyrus", BANKS),
        ("FuG", "fusiform gyrus", BANKS), ("TP", "temporal pole", None),
        ("HG", "Heschl's gyrus", None), ("PLT", "planum temporale", None)],
}
SULCI = [("cs", "central sulcus"), ("sfs", "superior frontal sulcus"),
         ("ifs", "inferior frontal sulcus"), ("lf", "lateral fissure"),
         ("sts", "superior temporal sulcus"), ("its", "inferior temporal sulcus"),
         ("ips", "intraparietal sulcus"), ("pos", "parieto-occipital sulcus"),
         ("calcs", "calcarine sulcus"), ("cgs", "cingulate sulcus"), ("pcs", "postcentral sulcus"),
         ("prcs", "precentral sulcus"), ("ots", "occipitotemporal sulcus"),
         ("cos", "collateral sulcus"), ("olfs", "olfactory sulcus"), ("ros", "rostral sulcus"),
         ("lus", "lunate sulcus"), ("tos", "transverse occipital sulcus"),
         ("hif", "hippocampal fissure"), ("cis", "circular insular sulcus")]
SULCUS_PARTS = [("a", "anterior part"), ("p", "posterior part"), ("d", "depth")]
HIPPOCAMPUS = [("CA1", "CA1 field"), ("CA2", "CA2 field"), ("CA3", "CA3 field"),
               ("CA4", "CA4 field"), ("DG", "dentate gyrus"), ("S", "subiculum")]


@dataclass
class Node:
    acronym: str
    name: str
    hemisphere: str = ""
    children: list[Node] = field(default_factory=list)


def _sided(acronym: str, name: str, parts=None, midline: bool = False) -> Node:
    """A bilateral structure whose samples sit in per-hemisphere leaves sharing acronyms."""
    node = Node(acronym, name)
    if midline:
        return node
    for side, side_name in SIDES:
        if parts:
            for suffix, part in parts:
                node.children.append(Node(f"{acronym}-{suffix}", f"{name}, {side_name}, {part}",
                                          side))
        else:
            node.children.append(Node(acronym, f"{name}, {side_name}", side))
    return node


def _group(acronym: str, name: str, members: list[tuple]) -> Node:
    node = Node(acronym, name)
    for member in members:
        node.children.append(_sided(*member))
    return node


def tree() -> Node:
    cortex = Node("CX", "cerebral cortex")
    for (lobe, lobe_name), gyri in GYRI.items():
        lobe_node = _group(lobe, lobe_name, gyri)
        if lobe == "LL":
            lobe_node.children.append(_group("HiF", "hippocampal formation", HIPPOCAMPUS))
        cortex.children.append(lobe_node)
    nuclei = Node("CN", "cerebral nuclei", children=[
        Node("BG", "basal ganglia", children=[
            _group("Str", "striatum", [("Cd", "caudate nucleus", [("h", "head"), ("b", "body"),
                                                                  ("t", "tail")]),
                                       ("Pu", "putamen", [("r", "rostral"), ("c", "caudal")]),
                                       ("Acb", "nucleus accumbens")]),
            _group("GP", "globus pallidus", [("GPe", "external segment"),
                                             ("GPi", "internal segment")])]),
        _group("Amg", "amygdala", [("BLA", "basolateral nucleus"), ("LA", "lateral nucleus"),
                                   ("CeA", "central nucleus"), ("CoA", "cortical nucleus")]),
        _group("BF", "basal forebrain", [("SI", "substantia innominata"),
                                         ("SptN", "septal nuclei"),
                                         ("NBM", "basal nucleus of Meynert")]),
        _sided("Cl", "claustrum")])
    telencephalon = Node("Tel", "telencephalon", children=[cortex, nuclei])
    diencephalon = Node("DiE", "diencephalon", children=[
        _group("Th", "thalamus", [("AN", "anterior group of nuclei"),
                                  ("MD", "mediodorsal nucleus"), ("VA", "ventral anterior nucleus"),
                                  ("VL", "ventral lateral nucleus"),
                                  ("VPL", "ventral posterolateral nucleus"),
                                  ("Pul", "pulvinar"), ("LGB", "lateral geniculate body"),
                                  ("MGB", "medial geniculate body"), ("CM", "centromedian nucleus"),
                                  ("R", "reticular nucleus of thalamus"),
                                  ("LD", "lateral dorsal nucleus"),
                                  ("LP", "lateral posterior nucleus"),
                                  ("VPM", "ventral posteromedial nucleus"),
                                  ("PF", "parafascicular nucleus"), ("Re", "nucleus reuniens"),
                                  ("PV", "paraventricular nucleus of thalamus")]),
        _group("Hy", "hypothalamus", [("PVH", "paraventricular nucleus of hypothalamus"),
                                      ("SO", "supraoptic nucleus"), ("ARC", "arcuate nucleus"),
                                      ("LHA", "lateral hypothalamic area"),
                                      ("VMH", "ventromedial hypothalamic nucleus"),
                                      ("MB", "mammillary body"),
                                      ("TM", "tuberomammillary nucleus")]),
        _group("ET", "epithalamus", [("LHb", "lateral habenular nucleus"),
                                     ("MHb", "medial habenular nucleus")]),
        _group("STh", "subthalamus", [("STN", "subthalamic nucleus"), ("ZI", "zona incerta")])])
    mesencephalon = Node("MES", "mesencephalon", children=[
        _group("MTg", "midbrain tegmentum", [("SNC", "substantia nigra, pars compacta"),
                                             ("SNR", "substantia nigra, pars reticulata"),
                                             ("VTA", "ventral tegmental area"),
                                             ("RN", "red nucleus"),
                                             ("PAG", "periaqueductal gray"),
                                             ("DR", "dorsal raphe nucleus", None, True)]),
        _group("Tec", "tectum", [("SC", "superior colliculus"), ("IC", "inferior colliculus")])])
    lobules = [("I-II", "I-II"), ("III", "III"), ("IV", "IV"), ("V", "V"), ("VI", "VI"),
               ("Crus-I", "crus I"), ("Crus-II", "crus II"), ("VIIB", "VIIB"),
               ("VIIIA", "VIIIA"), ("VIIIB", "VIIIB"), ("IX", "IX"), ("X", "X")]
    cerebellum = Node("Cb", "cerebellum", children=[
        Node("CbCx", "cerebellar cortex", children=[
            _group("Ve", "vermis", [(f"Cb-V{a}", f"vermal lobule {n}", None, True)
                                    for a, n in lobules]),
            _group("HeCb", "hemisphere of cerebellum", [(f"Cb-{a}", f"lobule {n}")
                                                       for a, n in lobules])]),
        _group("CbN", "cerebellar nuclei", [("Dt", "dentate nucleus"),
                                            ("Emb", "emboliform nucleus"),
                                            ("Glb", "globose nucleus"),
                                            ("Fas", "fastigial nucleus")])])
    pons = Node("Pons", "pons", children=[
        _group("PnTg", "pontine tegmentum", [("LC", "locus ceruleus"),
                                             ("PBN", "parabrachial nuclei"),
                                             ("PnR", "pontine raphe nucleus", None, True),
                                             ("MoV", "motor nucleus of trigeminal nerve")]),
        _group("BPons", "basilar part of pons", [("PnN", "pontine nuclei")])])
    metencephalon = Node("MET", "metencephalon", children=[cerebellum, pons])
    myelencephalon = Node("MY", "myelencephalon", children=[
        _group("MyTg", "myelencephalic tegmentum", [("IO", "inferior olivary complex"),
                                                    ("NTS", "nucleus of the solitary tract"),
                                                    ("DMX", "dorsal motor nucleus of the vagus"),
                                                    ("XII", "hypoglossal nucleus"),
                                                    ("Amb", "nucleus ambiguus"),
                                                    ("VeN", "vestibular nuclei"),
                                                    ("RaM", "raphe magnus nucleus", None, True),
                                                    ("Gr", "gracile nucleus"),
                                                    ("Cu", "cuneate nucleus"),
                                                    ("SpV", "spinal trigeminal nucleus"),
                                                    ("CoN", "cochlear nuclei"),
                                                    ("ArcM", "arcuate nucleus of medulla"),
                                                    ("LRt", "lateral reticular nucleus"),
                                                    ("GiRt", "gigantocellular reticular nucleus"),
                                                    ("AP", "area postrema", None, True)])])
    grey = Node("GM", "gray matter", children=[telencephalon, diencephalon, mesencephalon,
                                                metencephalon, myelencephalon])
    white = Node("WM", "white matter", children=[
        _group("tel-wm", "telencephalic white matter", [
            ("cc", "corpus callosum", None, True), ("ic", "internal capsule"),
            ("fwm", "frontal white matter"), ("twm", "temporal white matter"),
            ("pwm", "parietal white matter"), ("owm", "occipital white matter")]),
        _group("cb-wm", "cerebellar white matter", [("arb", "arbor vitae"),
                                                    ("scp", "superior cerebellar peduncle"),
                                                    ("mcp", "middle cerebellar peduncle")]),
        _group("bs-wm", "brainstem white matter", [("cp", "cerebral peduncle"),
                                                   ("py", "pyramid")])])
    sulci = [(acronym, name, SULCUS_PARTS) for acronym, name in SULCI]
    spaces = Node("SS", "sulci & spaces", children=[
        _group("sul", "sulci", sulci),
        _group("ven", "ventricles", [("LV", "lateral ventricle"),
                                     ("3V", "third ventricle", None, True),
                                     ("4V", "fourth ventricle", None, True)])])
    return Node("Br", "brain", children=[grey, white, spaces])


@dataclass
class Row:
    structure_id: int
    acronym: str
    name: str
    parent_id: int | None
    hemisphere: str
    graph_order: int
    path: list[int]
    color: str


def rows() -> list[Row]:
    """Every structure in pre-order (graph_order), with ids and paths."""
    next_free = {top: start for top, (start, _end) in ID_RANGES.items()}
    overflow = [OVERFLOW_START]
    out: list[Row] = []

    reserved = set(FIXED_IDS.values()) | set(FIXED_SIDED_IDS.values())

    def allocate(node: Node, top: str | None) -> int:
        if node.acronym in FIXED_IDS and not node.hemisphere:
            return FIXED_IDS[node.acronym]
        if (node.acronym, node.hemisphere) in FIXED_SIDED_IDS:
            return FIXED_SIDED_IDS[node.acronym, node.hemisphere]
        if top in ID_RANGES:
            while next_free[top] in reserved:
                next_free[top] += 1
            if next_free[top] <= ID_RANGES[top][1]:
                next_free[top] += 1
                return next_free[top] - 1
        while overflow[0] in reserved:
            overflow[0] += 1
        overflow[0] += 1
        return overflow[0] - 1

    def walk(node: Node, parent_path: list[int], top: str | None) -> None:
        if node.acronym in ID_RANGES and not node.hemisphere:
            top = node.acronym
        structure_id = allocate(node, top)
        path = [*parent_path, structure_id]
        digest = hashlib.md5(f"{node.acronym}/{node.hemisphere}".encode()).hexdigest()
        out.append(Row(structure_id, node.acronym, node.name,
                       parent_path[-1] if parent_path else None, node.hemisphere, len(out),
                       path, digest[:6].upper()))
        for child in node.children:
            walk(child, path, top)

    walk(tree(), [], None)
    return out


def write(path: Path) -> list[Row]:
    structures = rows()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for row in structures:
            writer.writerow([row.structure_id, row.acronym, row.name,
                             "" if row.parent_id is None else row.parent_id, row.hemisphere,
                             row.graph_order, "/" + "/".join(map(str, row.path)) + "/",
                             row.color])
    return structures
