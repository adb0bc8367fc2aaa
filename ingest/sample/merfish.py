"""Sample MERFISH whole-brain cells in the CCF, in the real layout and quirks:
`metadata/MERFISH-C57BL6J-638850/20241115/cell_metadata.csv` and
`metadata/MERFISH-C57BL6J-638850-CCF/20231215/{ccf,reconstructed}_coordinates.csv`.

Real: the 59 section labels with their gaps and z positions (z = 0.2 mm × the resampled
annotation's slice index); the number of cells per division at full scale for the ten largest
divisions (Allen's merfish_ccf_registration_tutorial prints them); the columns and their order;
text `cell_label`s of 19 digits, some ending in `-1`; three files in different row orders, joined
on `cell_label` (the two coordinate files in one order, as their heads are). Synthetic:
everything else. Each cell is placed in a parcellation (cells per
parcellation follow its volume within its division) and gets a cluster of the sample taxonomy
typical of it: L2/3 IT cells in isocortex layer 2/3, L6 CT cells in layer 6a, D1/D2 medium spiny
neurons in the striatum, granule and Purkinje cells in the cerebellar cortex, a region's own
types where its acronym names them (MH Tac2 in MH), oligodendrocytes in fiber tracts, ependymal
and vascular cells in the ventricles. Positions: the isocortex is a curved sheet with its
layers at their depths, other structures are blobs inside rough division boxes; a cell's AP
position is snapped to the nearest section, whose plane is slightly tilted, as registered
sections are.
"""

from __future__ import annotations

import functools
import re
import zlib
from pathlib import Path

import numpy as np
import polars as pl

from ingest.sample import abc
from ingest.sample.parcellation import Parcellation, ontology, real_parcellations

CELLS_VERSION = "20241115"
CCF_VERSION = "20231215"
METADATA_FOLDER = Path("metadata") / "MERFISH-C57BL6J-638850" / CELLS_VERSION
CCF_FOLDER = Path("metadata") / "MERFISH-C57BL6J-638850-CCF" / CCF_VERSION
DONOR = "C57BL6J-638850"
SCALES = {"tiny": 3_000, "small": 200_000, "full": 3_938_808}

# section label number -> slice index of the resampled annotation (z = 0.2 mm × index): the
# printed list of the 59 labels, and the slice map a public MERFISH viewer keeps (it agrees
# with the z Allen's notebooks print for sections 13, 25, 26, 27, 37 and 40); 1-4 and 68-69
# are not in that map and follow its spacing [inferred]
SECTION_SLICES = {
    1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 8: 7, 9: 8, 10: 9, 11: 10, 12: 11, 13: 12, 14: 13,
    15: 14, 16: 15, 17: 16, 18: 17, 19: 18, 24: 19, 25: 20, 26: 21, 27: 22, 28: 23, 29: 24,
    30: 25, 31: 27, 32: 28, 33: 29, 35: 31, 36: 32, 37: 33, 38: 34, 39: 35, 40: 36, 42: 38,
    43: 39, 44: 40, 45: 41, 46: 42, 47: 44, 48: 45, 49: 46, 50: 47, 51: 48, 52: 49, 54: 51,
    55: 52, 56: 54, 57: 55, 58: 56, 59: 57, 60: 59, 61: 60, 62: 61, 64: 65, 66: 69, 67: 71,
    68: 73, 69: 75,
}
# a section's CCF anterior-posterior position (mm) from its z: fitted to the printed rows
# (z 0.8 → x_ccf 12.2–12.5, z 4.0 → 9.3, z 7.2 → 6.3–7.2); section 01 is the most posterior
AP_AT_Z0, AP_PER_Z = 12.9, -0.86
MIDLINE = 5.7

# cells per division at full scale: the ten Allen prints, then the rest [synthetic]
DIVISION_CELLS = {"Isocortex": 935_742, "STR": 401_346, "CB": 383_127, "HPF": 304_642,
                  "MB": 281_852, "OLF": 274_354, "MY": 147_562, "P": 136_569, "TH": 133_805,
                  "HY": 132_902, "CTXsp": 95_000, "PAL": 110_000, "fiber tracts": 390_000,
                  "ventricles": 70_000, "brain-unassigned": 75_000, "unassigned": 66_907}

# (ap_min, ap_max, dv_min, dv_max, ml_min, ml_max): ml is the distance from the midline, mm
DIVISION_BOXES = {
    "OLF": (0.3, 8.0, 2.0, 7.3, 0.2, 4.0), "HPF": (5.0, 10.0, 1.2, 6.0, 0.3, 4.8),
    "CTXsp": (2.5, 8.0, 3.5, 6.8, 2.5, 4.3), "STR": (2.8, 7.5, 2.3, 7.0, 0.2, 3.8),
    "PAL": (3.5, 6.8, 3.5, 6.8, 0.2, 3.0), "TH": (5.3, 8.3, 2.4, 5.2, 0.2, 2.6),
    "HY": (3.8, 8.6, 4.8, 7.6, 0.0, 1.6), "MB": (7.6, 10.3, 1.2, 6.4, 0.0, 2.6),
    "P": (9.0, 10.8, 4.0, 7.2, 0.0, 2.4), "MY": (10.6, 13.0, 3.8, 7.4, 0.0, 2.6),
    "CB": (9.6, 13.0, 0.8, 5.0, 0.0, 4.6), "fiber tracts": (1.0, 12.5, 1.5, 7.0, 0.2, 4.5),
    "ventricles": (3.0, 12.8, 2.2, 7.0, 0.0, 1.8),
    "brain-unassigned": (0.5, 12.8, 0.8, 7.6, 0.0, 5.0),
    "unassigned": (0.5, 12.8, 0.0, 8.0, 0.0, 5.6),
}
# (ap, dv, ml, spread) of structures placed by hand; the rest fall inside their division box
PLACES = {
    "CP": (4.8, 3.9, 2.4, 0.9), "ACB": (3.8, 5.3, 1.1, 0.45), "OT": (4.2, 6.4, 1.4, 0.4),
    "FS": (5.0, 5.6, 2.3, 0.2), "LSc": (4.7, 3.2, 0.5, 0.3), "LSr": (4.5, 4.1, 0.6, 0.3),
    "LSv": (4.8, 4.6, 0.7, 0.25), "CEA": (6.6, 5.6, 2.6, 0.25), "MEA": (6.4, 6.4, 2.1, 0.3),
    "MOB": (0.9, 4.0, 0.9, 0.6), "AOB": (2.1, 2.8, 1.1, 0.2), "AON": (2.8, 5.0, 1.2, 0.4),
    "PIR": (5.0, 6.7, 3.3, 0.9), "CA1": (7.2, 2.1, 2.6, 0.6), "CA2": (7.0, 2.6, 3.1, 0.2),
    "CA3": (7.2, 3.4, 3.1, 0.5), "DG": (7.4, 2.8, 1.9, 0.5), "SUB": (8.7, 2.7, 2.4, 0.4),
    "ENTl": (9.0, 5.0, 4.3, 0.5), "ENTm": (9.6, 4.0, 3.5, 0.4), "CLA": (4.2, 4.2, 3.6, 0.3),
    "BLA": (6.8, 5.6, 3.3, 0.3), "LA": (6.8, 5.0, 3.6, 0.25), "GPe": (5.5, 4.3, 2.2, 0.4),
    "MH": (6.8, 2.9, 0.3, 0.15), "LH": (7.0, 3.0, 0.55, 0.2), "RT": (6.2, 3.8, 2.0, 0.3),
    "LGd": (7.3, 2.9, 2.5, 0.25), "VPM": (6.8, 4.0, 1.7, 0.35), "MD": (6.4, 3.2, 0.5, 0.3),
    "SNr": (8.4, 5.6, 1.5, 0.35), "SNc": (8.2, 5.4, 1.3, 0.2), "VTA": (8.0, 5.8, 0.5, 0.25),
    "SCs": (8.8, 1.6, 0.9, 0.4), "SCm": (8.9, 2.2, 1.1, 0.45), "IC": (10.0, 2.4, 1.6, 0.5),
    "PAG": (9.0, 2.9, 0.3, 0.35), "DR": (9.4, 3.6, 0.0, 0.15), "PVH": (5.6, 5.5, 0.3, 0.15),
    "ARH": (6.6, 7.3, 0.25, 0.12), "VMH": (6.5, 6.7, 0.6, 0.2), "SCH": (5.2, 7.2, 0.3, 0.1),
    "LHA": (6.2, 6.0, 1.0, 0.4), "ZI": (6.8, 4.8, 1.6, 0.3),
    "VL": (4.6, 2.9, 1.4, 0.35), "V3": (6.4, 5.2, 0.05, 0.5), "AQ": (9.0, 3.4, 0.05, 0.2),
    "V4": (10.8, 4.4, 0.4, 0.3), "c": (12.8, 5.6, 0.0, 0.1), "cc": (5.0, 2.2, 1.6, 0.8),
    "SEZ": (4.6, 3.1, 1.2, 0.3), "chpl": (6.0, 3.2, 1.0, 0.4), "cst": (6.5, 5.0, 2.4, 0.6),
    "mfsbshy": (6.5, 4.5, 0.8, 0.5), "mfbc": (5.5, 3.2, 0.9, 0.4),
}
# isocortical areas on the cortical sheet: (AP mm, angle from the dorsal midline in degrees)
AREAS = {
    "FRP": (1.6, 10), "MOs": (2.8, 15), "MOp": (3.6, 35), "SSp-n": (4.3, 70),
    "SSp-bfd": (5.8, 55), "SSp-ll": (5.2, 30), "SSp-m": (4.3, 75), "SSp-ul": (4.5, 45),
    "SSp-tr": (6.3, 35), "SSp-un": (5.0, 50), "SSs": (5.5, 78), "GU": (4.3, 88),
    "VISC": (5.2, 90), "AUDd": (7.6, 78), "AUDp": (7.9, 84), "AUDpo": (8.0, 80),
    "AUDv": (8.0, 90), "VISal": (8.2, 48), "VISam": (8.6, 18), "VISl": (8.8, 62),
    "VISp": (9.2, 35), "VISpl": (9.6, 70), "VISpm": (9.0, 12), "VISli": (9.2, 75),
    "VISpor": (9.6, 80), "VISa": (7.0, 25), "VISrl": (7.2, 50), "ACAd": (4.2, 4),
    "ACAv": (4.6, 3), "PL": (2.6, 3), "ILA": (3.0, 4), "ORBl": (2.4, 40), "ORBm": (2.2, 6),
    "ORBvl": (2.3, 25), "AId": (3.5, 92), "AIv": (3.0, 100), "AIp": (5.0, 100),
    "RSPagl": (7.8, 10), "RSPd": (8.2, 5), "RSPv": (8.0, 3), "TEa": (8.8, 95),
    "PERI": (9.2, 102), "ECT": (9.0, 98),
}
CORTEX_THICKNESS = 1.2
LAYER_DEPTH = {"1": 0.05, "2/3": 0.22, "4": 0.4, "5": 0.57, "6a": 0.8, "6b": 0.96}

# cell-type mix per place: class weights (class number → weight) and subclass patterns
LAYER_TYPES = {
    "1": r"\b(Lamp5|Sncg|Vip)\b", "2/3": r"\bL2/3 IT (CTX|RSP)\b",
    "4": r"\b(L4/5 IT CTX|L4 RSP-ACA)\b", "5": r"\b(L5 IT CTX|L5 ET CTX|L5 NP CTX|L4/5 IT CTX)\b",
    "6a": r"\b(L6 IT CTX|L6 CT CTX)\b", "6b": r"\bL6b CTX\b",
}
LAYER_CLASSES = {
    "1": {30: 0.35, 31: 0.08, 33: 0.2, 34: 0.05, 6: 0.25, 7: 0.04, 1: 0.01},
    "2/3": {1: 0.58, 2: 0.005, 6: 0.07, 7: 0.07}, "4": {1: 0.58, 2: 0.005, 6: 0.04, 7: 0.08},
    "5": {1: 0.45, 2: 0.1, 6: 0.03, 7: 0.08}, "6a": {1: 0.2, 2: 0.4, 6: 0.02, 7: 0.06},
    "6b": {1: 0.05, 2: 0.6, 7: 0.04},
}
EXTRA_GROUPS = {
    "white_matter": {31: 0.7, 30: 0.12, 33: 0.08, 34: 0.06},
    "ventricle": {30: 0.45, 33: 0.2, 34: 0.1, 31: 0.15, 17: 0.02},
    "outside": {33: 0.5, 34: 0.2, 30: 0.2, 31: 0.1},
    "unassigned": {**{c: 0.02 for c in range(1, 30)}, 30: 0.15, 31: 0.15, 33: 0.08, 34: 0.04},
}
OUTSIDE_DIVISIONS = {"fiber tracts": "white_matter", "ventricles": "ventricle",
                     "brain-unassigned": "unassigned", "unassigned": "outside"}
STRUCTURE_GROUPS = {
    "retrohippocampal": {"ENTl", "ENTm", "PAR", "POST", "PRE", "SUB", "ProS", "HATA", "APr"},
    "striatum_ventral": {"ACB", "FS", "OT"}, "septum": {"LSc", "LSr", "LSv", "SF", "SH"},
    "amygdala": {"AAA", "BA", "CEA", "IA", "MEA"},
}
# class weights of structures whose cells are mostly one class (the hippocampal fields)
STRUCTURE_CLASSES = {"CA1": {1: 0.6, 6: 0.05, 7: 0.07}, "CA2": {1: 0.6, 6: 0.05, 7: 0.07},
                     "CA3": {1: 0.6, 6: 0.05, 7: 0.07}, "DG": {4: 0.6, 6: 0.04, 7: 0.06}}
DIVISION_GROUPS = {"Isocortex": "cortex", "HPF": "hippocampus", "CTXsp": "cortical_subplate",
                   "OLF": "olfactory", "STR": "striatum_dorsal", "PAL": "pallidum",
                   "TH": "thalamus", "HY": "hypothalamus", "MB": "midbrain", "P": "pons",
                   "MY": "medulla", "CB": "cerebellum"}


# subclass names of other regions, damped (×0.02) in these groups
DAMPED = {
    "cortex": r"\b(ENT|ENTl|ENTm|PIR|PPP|SUB|ProS|CA1|CA2|CA3|DG|OB|AON|HPF|NLOT|COAa|PAA|TT|"
              r"IG|FC|RHP|APr|EPd|CLA|MEA|BLA|LA|BMA|PA|CR|IMN)\b",
    "hippocampus": r"\b(CTX|ENT|ENTl|PIR|OB|CLA|EPd)\b",
}
CEREBELLAR_CORTEX = 528  # CBX: granule and Purkinje cells; the nuclei (CBN) have their own
CEREBELLAR_TYPES = {True: r"\b(CB Granule|CBX Purkinje|CBX MLI)\b", False: r"\bDCO\b"}
MATURE_OLIGODENDROCYTES = r"\bOligo NN\b"  # outnumber their precursors (OPC NN) everywhere
TELENCEPHALON = {"Isocortex", "OLF", "HPF", "CTXsp", "STR", "PAL"}
# glia of one part of the brain, rare elsewhere: (the divisions they belong to, pattern)
FOREIGN_GLIA = [
    ({"CB"}, r"\b(Bergmann|Astro-CB)\b"),
    ({"ventricles"}, r"\b(Ependymal|Tanycyte|Hypendymal|CHOR|Astroependymal)\b"),
    ({"OLF"}, r"\bAstro-OLF\b"),
    (TELENCEPHALON, r"\bAstro-TE\b"),
    ({"TH", "HY", "MB", "P", "MY", "CB", "fiber tracts"}, r"\bAstro-NT\b"),
]


def division_of(p: Parcellation) -> str:
    """The cell-count group: a division, all fiber tracts, all ventricles or unassigned."""
    division, category = p.terms["division"].acronym, p.terms["category"].acronym
    if division in DIVISION_CELLS:
        return division
    if category == "fiber tracts":
        return "fiber tracts"
    if category == "VS":
        return "ventricles"
    return "unassigned" if p.structure_id == 0 else "brain-unassigned"


def layer_of(p: Parcellation) -> str | None:
    if p.terms["division"].acronym != "Isocortex":
        return None
    layer = p.terms["substructure"].acronym.removeprefix(p.terms["structure"].acronym)
    return layer if layer in LAYER_DEPTH else None


def _tokens(p: Parcellation) -> list[str]:
    """The region's own acronyms (subclass names carry them: `MH Tac2 Glut`, `CA3 Glut`)."""
    found = []
    for level in ("structure", "substructure"):
        acronym = p.terms[level].acronym
        if "unassigned" not in acronym and len(acronym) >= 2:
            found.append(re.escape(acronym))
    return found


def cluster_mix(tax: abc.Taxonomy, p: Parcellation) -> np.ndarray:
    """p(cluster | parcellation)."""
    division = division_of(p)
    layer = layer_of(p)
    structure = p.terms["structure"].acronym
    leading = None
    if division == "Isocortex":
        others = [pattern for key, pattern in LAYER_TYPES.items() if key != layer]
        classes = {**abc.NON_NEURONAL, **LAYER_CLASSES.get(layer or "5", {})}
        favoured = LAYER_TYPES.get(layer or "5")
        damped = [*others, DAMPED["cortex"]]
    elif division in OUTSIDE_DIVISIONS:
        classes, favoured, damped = dict(EXTRA_GROUPS[OUTSIDE_DIVISIONS[division]]), None, []
    else:
        group = next((g for g, names in STRUCTURE_GROUPS.items() if structure in names),
                     DIVISION_GROUPS[division])
        classes = {**abc.NON_NEURONAL,
                   **STRUCTURE_CLASSES.get(structure, abc.CLASS_WEIGHTS[group])}
        favoured = abc.FAVOURED.get(group)
        damped = [DAMPED[group]] if group in DAMPED else []
        if division == "CB":
            in_cortex = CEREBELLAR_CORTEX in ontology()[p.structure_id].path
            leading = CEREBELLAR_TYPES[in_cortex]
            classes.update({29: 0.6, 28: 0.2} if in_cortex else {29: 0.15, 28: 0.4})
        elif tokens := _tokens(p):
            leading = r"(^|[\s/-])(" + "|".join(tokens) + r")([\s/-]|$)"
            leading_re = re.compile(leading)
            for subclass, class_index in zip(tax.subclasses, tax.subclass_class, strict=True):
                if leading_re.search(subclass):  # the region's own types lead
                    classes[class_index + 1] = max(classes.get(class_index + 1, 0.0), 0.6)
    foreign = [pattern for divisions, pattern in FOREIGN_GLIA if division not in divisions]
    favoured = "|".join(p for p in (favoured, MATURE_OLIGODENDROCYTES) if p)
    return group_cluster_probabilities(tax, classes, favoured,
                                       "|".join(damped + foreign) or None, leading)


def group_cluster_probabilities(tax: abc.Taxonomy, class_weight: dict[int, float],
                                favoured: str | None, damped: str | None,
                                leading: str | None = None) -> np.ndarray:
    """p(cluster) from class weights (class number → weight) and subclass-name patterns
    leading (×200), favoured (×20) or damped (×0.02) within each class."""
    sub_bonus = np.ones(len(tax.subclasses))
    for pattern, factor in ((leading, 200.0), (favoured, 20.0), (damped, 0.02)):
        if pattern:
            sub_bonus[_matching(pattern, tuple(tax.subclasses))] *= factor
    cluster_subclass = tax.supertype_subclass[tax.cluster_supertype]
    cluster_class = tax.subclass_class[cluster_subclass]
    p = np.zeros(len(tax.cluster_names))
    for class_number, weight in class_weight.items():
        in_class = cluster_class == class_number - 1
        if not in_class.any():
            continue
        within = tax.cluster_weight[in_class] * sub_bonus[cluster_subclass[in_class]]
        p[in_class] = weight * within / within.sum()
    return p / p.sum()


@functools.cache
def _matching(pattern: str, subclasses: tuple[str, ...]) -> np.ndarray:
    """Which subclass names the pattern finds (the regions repeat a few patterns: each is
    matched once, not once per region)."""
    found = re.compile(pattern)
    return np.array([found.search(name) is not None for name in subclasses])


# ------------------------------------------------------------------------------ geometry

def _stable_rng(*parts) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("/".join(map(str, parts)).encode()))


def place_of(p: Parcellation) -> tuple[float, float, float, float]:
    """(ap, dv, ml, spread) of a non-cortical parcellation: by hand, else inside its box."""
    structure, substructure = p.terms["structure"].acronym, p.terms["substructure"].acronym
    structure = structure.removesuffix("-unassigned")
    substructure = substructure.removesuffix("-unassigned")
    division = division_of(p)
    if structure in PLACES:
        ap, dv, ml, spread = PLACES[structure]
        if substructure != structure:  # substructures near their structure
            jitter = _stable_rng("sub", substructure).normal(0, spread * 0.5, 3)
            ap, dv, ml = ap + jitter[0], dv + jitter[1], abs(ml + jitter[2])
            spread *= 0.6
        return ap, dv, ml, spread
    box = DIVISION_BOXES[division]
    rng = _stable_rng("structure", structure)
    ap, dv, ml = (rng.uniform(box[0], box[1]), rng.uniform(box[2], box[3]),
                  rng.uniform(box[4], box[5]))
    spread = max(0.15, min(1.0, (p.volume_mm3 or 0.01) ** (1 / 3) * 0.35))
    if substructure != structure:
        jitter = _stable_rng("sub", substructure).normal(0, 0.3, 3)
        ap, dv, ml = ap + jitter[0], dv + jitter[1], abs(ml + jitter[2])
    if division in ("brain-unassigned", "unassigned"):
        spread = 2.5
    return ap, dv, ml, spread


def _sheet_width(ap: np.ndarray) -> np.ndarray:
    """The brain's width relative to its widest point, along AP (narrow at both ends)."""
    return 0.55 + 0.45 * np.sin(np.pi * np.clip((ap - 0.3) / 11.5, 0, 1))


def cortex_positions(rng: np.random.Generator, p: Parcellation, n: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    area = p.terms["structure"].acronym
    fallback = _stable_rng("area", area)
    ap0, angle0 = AREAS.get(area, (fallback.uniform(2, 9.5), fallback.uniform(10, 90)))
    layer = layer_of(p) or "5"
    ap = rng.normal(ap0, 0.45, n)
    angle = np.radians(rng.normal(angle0, 7, n).clip(0, 105))
    depth = (LAYER_DEPTH[layer] + rng.normal(0, 0.035, n)).clip(0, 1) * CORTEX_THICKNESS
    width = _sheet_width(ap)
    # the outer surface is an ellipse around (dv 4.3, ml 0); layers lie inward along its normal
    a_ml, b_dv = 4.9 * width, 3.6
    ml_surface, dv_surface = a_ml * np.sin(angle), 4.3 - b_dv * np.cos(angle)
    normal_ml, normal_dv = -np.sin(angle) / a_ml, np.cos(angle) / b_dv
    norm = np.hypot(normal_ml, normal_dv)
    ml = np.abs(ml_surface + depth * normal_ml / norm)
    dv = dv_surface + depth * normal_dv / norm
    return ap, dv, ml


def positions(rng: np.random.Generator, p: Parcellation, n: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ap, dv, ml) of n cells of a parcellation; ml is the distance from the midline."""
    if division_of(p) == "Isocortex":
        return cortex_positions(rng, p, n)
    ap0, dv0, ml0, spread = place_of(p)
    ap = rng.normal(ap0, spread, n)
    dv = rng.normal(dv0, spread * 0.7, n)
    ml = np.abs(rng.normal(ml0, spread * 0.6, n))
    if division_of(p) == "unassigned":  # just outside the brain's outline
        dv = np.where(rng.random(n) < 0.5, rng.uniform(0.0, 0.6, n), rng.uniform(7.3, 8.0, n))
    width = _sheet_width(ap)
    return ap, dv.clip(0.02, 7.98), np.minimum(ml, 5.0 * width + 0.4)


# ------------------------------------------------------------------------------ cells

def division_totals(n_cells: int) -> dict[str, int]:
    total = sum(DIVISION_CELLS.values())
    counts = {k: int(v * n_cells // total) for k, v in DIVISION_CELLS.items()}
    counts["Isocortex"] += n_cells - sum(counts.values())
    return counts


def make_cells(rng: np.random.Generator, tax: abc.Taxonomy, n_cells: int) -> pl.DataFrame:
    parcellations = real_parcellations()
    groups: dict[str, list[Parcellation]] = {}
    for p in parcellations:
        groups.setdefault(division_of(p), []).append(p)
    parts = []
    for division, wanted in division_totals(n_cells).items():
        members = groups[division]
        voxels = np.array([p.voxels for p in members], dtype=float)
        per_parcellation = rng.multinomial(wanted, voxels / voxels.sum())
        for p, n in zip(members, per_parcellation, strict=True):
            if not n:
                continue
            clusters = rng.choice(len(tax.cluster_alias), n, p=cluster_mix(tax, p))
            ap, dv, ml = positions(rng, p, n)
            parts.append(pl.DataFrame({
                "cluster_alias": tax.cluster_alias[clusters].astype(np.int64),
                "parcellation_index": np.full(n, p.index, dtype=np.int64),
                "ap": ap, "dv": dv, "ml": ml}))
    cells = pl.concat(parts)
    n = cells.height
    # each cell on its nearest sampled section; its plane is tilted a little, as registered
    # sections are
    labels = np.array(sorted(SECTION_SLICES))
    z_section = np.array([SECTION_SLICES[label] * 0.2 for label in labels])
    plane_ap = AP_AT_Z0 + AP_PER_Z * z_section
    order = np.argsort(plane_ap)
    # cells beyond the first and last sections are mirrored back (not piled onto the edges)
    front, back = plane_ap.min() - 0.1, plane_ap.max() + 0.1
    ap_values = cells["ap"].to_numpy()
    ap_values = np.where(ap_values < front, 2 * front - ap_values, ap_values)
    ap_values = np.where(ap_values > back, 2 * back - ap_values, ap_values)
    position = np.searchsorted(plane_ap[order], ap_values)
    nearest = order[np.clip(position, 0, len(order) - 1)]
    lower = order[np.clip(position - 1, 0, len(order) - 1)]
    closer = np.abs(plane_ap[lower] - ap_values) < np.abs(plane_ap[nearest] - ap_values)
    section = np.where(closer, lower, nearest)
    dv, ml = cells["dv"].to_numpy(), cells["ml"].to_numpy()
    side = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    z_ccf = MIDLINE + side * ml
    x_ccf = (plane_ap[section] + 0.06 * (dv - 4.0) + 0.03 * (z_ccf - MIDLINE)
             + rng.normal(0, 0.015, n))
    section_shift = _stable_rng("shift").normal(0, 0.15, (len(labels), 2))
    x_section = z_ccf - 0.2 + section_shift[section, 0] + rng.normal(0, 0.01, n)
    y_section = dv + 1.3 + section_shift[section, 1] + rng.normal(0, 0.01, n)
    bend = 0.03 * np.sin(y_section)
    return cells.with_columns(
        pl.Series("section", section),
        pl.Series("brain_section_label",
                  np.array([f"{DONOR}.{label:02d}" for label in labels])[section]),
        pl.Series("z", z_section[section]),
        pl.Series("x", x_section), pl.Series("y", y_section),
        pl.Series("x_ccf", x_ccf), pl.Series("y_ccf", dv), pl.Series("z_ccf", z_ccf),
        pl.Series("x_reconstructed", x_section + bend),
        pl.Series("y_reconstructed", y_section - 0.1 + bend),
        pl.Series("average_correlation_score",
                  np.round(0.3 + 0.65 * rng.beta(4.0, 3.5, n), 6)),
    )


def cell_labels(rng: np.random.Generator, cells: pl.DataFrame) -> pl.Series:
    """`<10-digit section barcode><1|2><4-digit field of view><4-digit cell>`, unique, some
    with a `-1` suffix, as the real labels are."""
    n_sections = len(SECTION_SLICES)
    # the same draw as choosing from the 88 M barcodes themselves, without materialising them
    barcodes = 1_017_000_000 + rng.choice(1_105_000_000 - 1_017_000_000, n_sections,
                                          replace=False)
    region = np.where(rng.random(n_sections) < 0.1, "2", "1")
    within = cells.select(pl.int_range(pl.len()).over("section").alias("i"))["i"].to_numpy()
    section = cells["section"].to_numpy()
    frame = pl.DataFrame({
        "barcode": barcodes[section].astype(str), "region": region[section],
        "fov": (within // 500 + 1).astype(np.int64), "cell": (within % 500 + 1),
        "suffix": np.where(rng.random(len(section)) < 0.04, "-1", "")})
    return frame.select(pl.concat_str([
        "barcode", "region", pl.col("fov").cast(pl.String).str.zfill(4),
        pl.col("cell").cast(pl.String).str.zfill(4), "suffix"]).alias("cell_label"))["cell_label"]


def write(directory: Path, scale: str, seed: int) -> None:
    n_cells = SCALES[scale]
    _, tax = abc.sample_taxonomy(scale, seed)
    rng = np.random.default_rng([seed, 638850])
    cells = make_cells(rng, tax, n_cells)
    cells = cells.with_columns(cell_labels(rng, cells),
                               pl.Series("abc_sample_id", abc._uuid4s(rng, cells.height)))
    shuffled = cells.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(2**31)))
    metadata = shuffled.select(
        "cell_label", "brain_section_label", "cluster_alias", "average_correlation_score",
        pl.lit(DONOR).alias("feature_matrix_label"), pl.lit(DONOR).alias("donor_label"),
        pl.lit("wt/wt").alias("donor_genotype"), pl.lit("M").alias("donor_sex"),
        "x", "y", pl.col("z").round(1), "abc_sample_id")
    folder = directory / METADATA_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    metadata.write_csv(folder / "cell_metadata.csv")
    # the coordinate files share one row order (their printed heads list the same cells),
    # grouped by section, unlike the metadata's
    section_order = rng.permutation(len(SECTION_SLICES))
    rows = cells.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(2**31)))
    rank = section_order[rows["section"].to_numpy()]
    rows = rows.with_columns(pl.Series("rank", rank)).sort("rank", maintain_order=True)
    ccf = directory / CCF_FOLDER
    ccf.mkdir(parents=True, exist_ok=True)
    for name, x, y, z in (("ccf_coordinates.csv", "x_ccf", "y_ccf", pl.col("z_ccf")),
                          ("reconstructed_coordinates.csv", "x_reconstructed",
                           "y_reconstructed", pl.col("z").round(1))):
        rows.select("cell_label", pl.col(x).alias("x"), pl.col(y).alias("y"), z.alias("z"),
                    "parcellation_index").write_csv(ccf / name)
