"""The sample release's `metadata/Allen-CCF-2020/20230630/` parcellation tables, built from the
packaged ontology and Allen's own parcellation pages.

Real: which structures the CCF 2020 annotation parcellates and each one's division, structure
and substructure term (label, acronym, name, colour), as Allen's Allen-CCF-2020
substructure page lists them (`ingest/data/Allen-CCF-2020_substructures.tsv`: 681 of the 688
parcellations; the 7 missing are fiber tracts sharing a substructure term with another); the
index of each (the rank of its structure id among the 1,327 graph-1 ids, which reproduces every
index Allen's notebooks print); the organ and category terms (from the ontology path: grey,
fiber tracts, VS); the ontology terms' ids, parents, orders and colours; the term set file
(byte for byte). Synthetic: the voxel counts (except the ten Allen's notebook prints), the
term orders (page order), and the identifiers of ABC's own `*-unassigned` terms (left empty).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from ingest.sample.ontology import data_file

VERSION = "20230630"
FOLDER = Path("metadata") / "Allen-CCF-2020" / VERSION
LEVELS = ("organ", "category", "division", "structure", "substructure")
SET_CODES = ("ORGA", "CATE", "DIVI", "STRU", "SUBS")
SET_LABELS = {level: f"AllenCCF-Ontology-2017-{code}" for level, code in zip(
    LEVELS, SET_CODES, strict=True)}
# parcellation_term_set.csv, byte for byte (its md5 matches the 20250531 manifest's)
TERM_SET_CSV = (
    "label,description,name,parcellation_terminology_label,term_set_order,"
    "parent_term_set_label\n"
    "AllenCCF-Ontology-2017-ORGA,organ,organ,AllenCCF-Ontology-2017,0,\n"
    "AllenCCF-Ontology-2017-CATE,mouse brain anatomical catergories,category,"
    "AllenCCF-Ontology-2017,1,AllenCCF-Ontology-2017-ORGA\n"
    "AllenCCF-Ontology-2017-DIVI,mouse brain divisions,division,AllenCCF-Ontology-2017,2,"
    "AllenCCF-Ontology-2017-CATE\n"
    "AllenCCF-Ontology-2017-STRU,mouse brain structures,structure,AllenCCF-Ontology-2017,3,"
    "AllenCCF-Ontology-2017-DIVI\n"
    "AllenCCF-Ontology-2017-SUBS,mouse brain substructures,substructure,"
    "AllenCCF-Ontology-2017,4,AllenCCF-Ontology-2017-STRU\n"
)
TOTAL_VOXELS = 1320 * 800 * 1140  # the 10 µm annotation volume
# voxel counts Allen's notebook prints (ccf_and_parcellation_annotation_tutorial, cell 19)
KNOWN_VOXELS = {997: 3_564_320, 68: 256_520, 667: 232_608, 526157192: 371_584,
                526157196: 112_222, 140: 405_256, 145: 499_566, 153: 461_680, 164: 432,
                0: 697_783_214}
# synthetic: the brain's volume (mm³) shared out by division, roughly as the CCF divides it
DIVISION_SHARE = {"Isocortex": 125, "OLF": 30, "HPF": 28, "CTXsp": 8, "STR": 28, "PAL": 8,
                  "TH": 17, "HY": 15, "MB": 32, "P": 15, "MY": 32, "CB": 58}
FIBER_TRACTS_SHARE = 60
VENTRICLES_SHARE = 4.5


@dataclass(frozen=True)
class Term:
    label: str
    acronym: str
    name: str
    color: str  # #RRGGBB
    structure_id: int | None  # the ontology id (MBA:<id>); None for ABC's own terms
    level: str | None = None
    parent_label: str | None = None


@dataclass
class Parcellation:
    index: int
    structure_id: int  # 0 outside the brain
    voxels: int
    terms: dict[str, Term] = field(default_factory=dict)  # level -> term

    @property
    def label(self) -> str:
        return f"AllenCCF-Annotation-2020-{self.structure_id}"

    @property
    def volume_mm3(self) -> float:
        return self.voxels / 1e6


@dataclass(frozen=True)
class Structure:
    structure_id: int
    acronym: str
    name: str
    parent_id: int | None
    path: tuple[int, ...]
    graph_order: int
    color: str  # #RRGGBB


@cache
def ontology() -> dict[int, Structure]:
    """The packaged graph-1 ontology (iblatlas' copy: names without commas)."""
    found = {}
    with open(data_file("mouse_structures_graph1.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if not row["structure_id_path"]:
                continue  # iblatlas' synthetic `void`
            path = tuple(int(p) for p in row["structure_id_path"].strip("/").split("/"))
            found[int(row["id"])] = Structure(
                int(row["id"]), row["acronym"], row["name"],
                path[-2] if len(path) > 1 else None, path, int(row["graph_order"]),
                "#" + row["color_hex_triplet"].upper().zfill(6))
    return found


def parcellation_index(structure_id: int) -> int:
    """The annotation's index of a structure: its id's rank among the graph-1 ids (0 = none)."""
    return 0 if structure_id == 0 else _ranks()[structure_id]


@cache
def _ranks() -> dict[int, int]:
    return {sid: rank for rank, sid in enumerate(sorted(ontology()), start=1)}


def _ontology_term(structure_id: int, names: dict[int, str]) -> Term:
    s = ontology()[structure_id]
    if structure_id == 997:  # the parcellation calls the root `brain`
        return Term("AllenCCF-Ontology-2017-997", "brain", "brain", s.color, 997)
    return Term(f"AllenCCF-Ontology-2017-{structure_id}", s.acronym,
                names.get(structure_id, s.name), s.color, structure_id)


def _page_term(label: str, acronym: str, name: str, color: str) -> Term:
    structure_id = int(label.rsplit("-", 1)[1]) if label.startswith("AllenCCF") else None
    return Term(label, acronym, name, color.upper(), structure_id)


UNASSIGNED = {level: Term(f"ABC-Ontology-2023-unassigned-{level}", "unassigned", "unassigned",
                          "#000000", None) for level in LEVELS}
BRAIN_UNASSIGNED_CATEGORY = Term("ABC-Ontology-2023-brain-category", "brain-unassigned",
                                 "brain, unassigned", "#FFFFFF", None)
CATEGORIES = (8, 1009, 73)  # grey, fiber tracts, ventricular systems


@cache
def real_parcellations() -> tuple[Parcellation, ...]:
    """Every parcellation of Allen's pages, with its five terms and (mostly synthetic) voxels."""
    with open(data_file("Allen-CCF-2020_substructures.tsv"), newline="",
              encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    names = {}  # the pages' names keep the commas iblatlas drops
    for row in rows:
        for level in ("division", "structure", "substructure"):
            label = row[f"{level}_label"]
            if label.startswith("AllenCCF"):
                names[int(label.rsplit("-", 1)[1])] = row[f"{level}_name"]
    structures = ontology()
    found = []
    for row in rows:
        structure_id = int(row["parcellation_structure_id"])
        terms = {level: _page_term(row[f"{level}_label"], row[f"{level}_acronym"],
                                   row[f"{level}_name"], row[f"{level}_color"])
                 for level in ("division", "structure", "substructure")}
        if structure_id == 0:
            terms.update(organ=UNASSIGNED["organ"], category=UNASSIGNED["category"])
        else:
            terms["organ"] = _ontology_term(997, names)
            path = structures[structure_id].path
            category = next((c for c in CATEGORIES if c in path), None)
            terms["category"] = (_ontology_term(category, names) if category
                                 else BRAIN_UNASSIGNED_CATEGORY)
        found.append(Parcellation(parcellation_index(structure_id), structure_id, 0,
                                  {level: terms[level] for level in LEVELS}))
    _share_voxels(found)
    return tuple(found)


def _share_voxels(parcellations: list[Parcellation]) -> None:
    """Synthetic voxel counts: the brain's voxels by division, then by lognormal weights
    (layer-shaped in the isocortex); Allen's printed counts kept where known."""
    rng = np.random.default_rng(20230630)  # the tables are the same for every sample seed
    layer_share = {"1": 0.6, "2/3": 1.2, "4": 0.7, "5": 1.1, "6a": 1.0, "6b": 0.2}
    groups: dict[str, list[Parcellation]] = {}
    for p in parcellations:
        division = p.terms["division"].acronym
        category = p.terms["category"].acronym
        key = (division if division in DIVISION_SHARE else
               "fiber tracts" if category == "fiber tracts" else
               "ventricles" if category == "VS" else "other")
        groups.setdefault(key, []).append(p)
    shares = {**DIVISION_SHARE, "fiber tracts": FIBER_TRACTS_SHARE,
              "ventricles": VENTRICLES_SHARE}
    brain = TOTAL_VOXELS - KNOWN_VOXELS[0]
    free = brain - sum(v for k, v in KNOWN_VOXELS.items() if k)
    scale = free / sum(shares.values())
    for key, members in groups.items():
        if key == "other":
            continue
        known = sum(KNOWN_VOXELS.get(p.structure_id, 0) for p in members)
        unknown = [p for p in members if p.structure_id not in KNOWN_VOXELS]
        weights = rng.lognormal(0.0, 0.6, len(unknown))
        for i, p in enumerate(unknown):
            layer = p.terms["substructure"].acronym.removeprefix(p.terms["structure"].acronym)
            weights[i] *= layer_share.get(layer, 1.0)
        total = max(shares[key] * scale - known, len(unknown) * 1000)
        counts = np.maximum(1000, np.round(total * weights / weights.sum())).astype(int)
        for p, voxels in zip(unknown, counts, strict=True):
            p.voxels = int(voxels)
    for p in parcellations:
        if p.structure_id in KNOWN_VOXELS:
            p.voxels = KNOWN_VOXELS[p.structure_id]
        elif not p.voxels:
            p.voxels = 10_000


# ------------------------------------------------------------------------------ writing

def _rgb(color: str) -> list[int]:
    return [int(color[i:i + 2], 16) for i in (1, 3, 5)]


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_tables(folder: Path, parcellations: list[Parcellation] | tuple[Parcellation, ...]
                 ) -> None:
    """The five parcellation files (and the acronym and colour views) for `parcellations`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "parcellation_term_set.csv").write_text(TERM_SET_CSV, encoding="utf-8")
    _write(folder / "parcellation.csv", ["parcellation_index", "label", "voxel_count",
                                         "volume_mm3"],
           [[p.index, p.label, p.voxels, f"{p.volume_mm3:.6f}"] for p in parcellations])
    used: dict[str, Term] = {}
    level_of: dict[str, str] = {}
    order: dict[str, int] = {}
    per_level = dict.fromkeys(LEVELS, 0)
    parent: dict[str, str | None] = {}
    for level_order, level in enumerate(LEVELS):
        for p in parcellations:
            term = p.terms[level]
            if term.label not in used:
                used[term.label] = term
                level_of[term.label] = level
                order[term.label] = per_level[level]
                per_level[level] += 1
                parent[term.label] = p.terms[LEVELS[level_order - 1]].label \
                    if level_order else None
    structures = ontology()
    names = {t.structure_id: t.name for t in used.values() if t.structure_id is not None}
    terms = [_ontology_term(sid, names) for sid in sorted(
        structures, key=lambda s: structures[s].graph_order)]
    terms += [t for t in used.values() if t.structure_id is None]

    def identifier(term: Term) -> str:
        return f"MBA:{term.structure_id}" if term.structure_id is not None else ""

    def parent_identifier(term: Term) -> str:
        if term.structure_id is not None:
            up = structures[term.structure_id].parent_id
            return f"MBA:{up}" if up is not None else ""
        up_label = parent.get(term.label)
        up = used.get(up_label) if up_label else None
        return identifier(up) if up is not None else ""

    _write(folder / "parcellation_term.csv",
           ["label", "acronym", "name", "color_hex_triplet", "graph_order", "identifier",
            "red", "green", "blue", "parent_identifier"],
           [[t.label, t.acronym, t.name, t.color,
             f"{float(structures[t.structure_id].graph_order) if t.structure_id else ''}",
             identifier(t), *_rgb(t.color), parent_identifier(t)] for t in terms])
    _write(folder / "parcellation_term_set_membership.csv",
           ["parcellation_term_label", "parcellation_term_set_label", "parent_term_label",
            "term_order"],
           [[label, SET_LABELS[level_of[label]], parent[label] or "", order[label]]
            for label in used])
    members = []
    for p in parcellations:
        for level_order, level in enumerate(LEVELS):
            t = p.terms[level]
            members.append([p.label, t.label, SET_LABELS[level], p.index, p.voxels,
                            f"{p.volume_mm3:.6f}", t.color, *_rgb(t.color), t.name, t.acronym,
                            level, level_order, order[t.label], parent[t.label] or ""])
    _write(folder / "parcellation_to_parcellation_term_membership.csv",
           ["parcellation_label", "parcellation_term_label", "parcellation_term_set_label",
            "parcellation_index", "voxel_count", "volume_mm3", "color_hex_triplet", "red",
            "green", "blue", "parcellation_term_name", "parcellation_term_acronym",
            "parcellation_term_set_name", "term_set_order", "term_order", "parent_term_label"],
           members)
    by_index = sorted(parcellations, key=lambda p: p.index)
    _write(folder / "views" / "parcellation_to_parcellation_term_membership_acronym.csv",
           ["parcellation_index", *LEVELS],
           [[p.index, *(p.terms[level].acronym for level in LEVELS)] for p in by_index])
    _write(folder / "views" / "parcellation_to_parcellation_term_membership_color.csv",
           ["parcellation_index", *(f"{level}_color" for level in LEVELS)],
           [[p.index, *(p.terms[level].color for level in LEVELS)] for p in by_index])


def write(directory: Path, scale: str, seed: int) -> None:
    """A generator like the others: the same real tables at every scale and seed."""
    write_tables(directory / FOLDER, real_parcellations())
