"""A plausible 200 um grid annotation for the sample release, built from the mouse ontology.

No registry package ships the CCF annotation (brainglobe and iblatlas download it at run time;
the real `P56_Mouse_gridAnnotation.zip` comes from Allen's download server, which `brainwh fetch
ish` uses), so the sample release carries an annotation of its own, in the real file format:

- the brain: an ellipsoid of ~62,500 voxels in the 67 x 41 x 58 grid (the real one annotates
  62,529 voxels, AP 1-65, DV 1-38, ML 3-54);
- the twelve major divisions placed where they are in the real annotation: each voxel goes to
  the division most likely at its place under a Gaussian per division (mean and spread of AP,
  DV and distance from the midline, and its share of voxels, as measured on the real
  P56_Mouse_gridAnnotation: `DIVISIONS`); the least certain ~6% of voxels are labelled `grey`
  (8) itself, as the real annotation labels 3,776 voxels;
- inside each division, as many of its finest structures as the real annotation uses there
  (216 in Isocortex, 26 in STR, ...), chosen from the ontology with the structures the sample's
  marker genes need always among them: isocortical areas split by position and their layers by
  depth below the surface; elsewhere each structure grows around seed voxels, bigger ones
  (`SIZES`, real voxel counts) around more seeds.

The result is symmetric about the midline, like the atlas. It is not the CCF: it gives the
searches a realistic number and arrangement of structures to work on.
"""

from __future__ import annotations

import numpy as np

from ingest.mouse_ish.schema import GRID_SHAPE, GRID_VOXELS

# division, voxels, mean AP, mean DV, mean distance from the midline (ML planes), and their
# standard deviations: measured on the real P56_Mouse_gridAnnotation (200 um)
DIVISIONS = [
    ("Isocortex", 15775, 29.4, 12.3, 12.5, 10.6, 5.9, 7.0),
    ("OLF", 5997, 17.5, 26.6, 9.2, 12.3, 5.6, 6.3),
    ("HPF", 5522, 42.2, 18.7, 14.7, 4.7, 6.6, 5.3),
    ("CTXsp", 890, 31.0, 28.0, 15.1, 7.0, 3.3, 3.3),
    ("STR", 5165, 26.0, 24.2, 9.8, 4.7, 6.0, 4.5),
    ("PAL", 1146, 27.0, 27.5, 7.2, 3.5, 4.1, 4.0),
    ("TH", 2646, 35.0, 20.1, 6.4, 3.5, 3.1, 3.8),
    ("HY", 2033, 33.1, 30.1, 3.9, 4.4, 3.1, 2.7),
    ("MB", 4729, 45.6, 16.6, 4.7, 4.1, 5.9, 2.9),
    ("P", 2855, 49.3, 28.0, 5.7, 2.6, 4.6, 3.5),
    ("MY", 4234, 58.6, 29.9, 6.5, 3.6, 4.0, 3.7),
    ("CB", 7600, 58.1, 17.3, 10.0, 3.6, 5.7, 5.9),
]
# finest structures the real annotation uses per division
LEAVES = {"Isocortex": 216, "OLF": 49, "HPF": 53, "CTXsp": 10, "STR": 26, "PAL": 20, "TH": 46,
          "HY": 56, "MB": 45, "P": 34, "MY": 54, "CB": 36}
# structures the sample's genes are about: always annotated, with their real voxel counts
SIZES = {"CP": 3012, "ACB": 583, "OT": 522, "LSX": 462, "RT": 223, "GPe": 265, "SNr": 171,
         "VTA": 110, "SNc": 60, "DR": 40, "LH": 80, "PVH": 40, "ARH": 30, "MOB": 2500,
         "DG": 831, "CA1": 1128, "CA3": 700, "LGd": 90, "VPM": 150, "MH": 20, "LC": 15}
BRAIN_CENTER = (33.0, 19.5, 28.5)  # AP, DV, ML
BRAIN_RADII = (32.0, 18.2, 25.6)
GREY_SHARE = 0.06
LAYERS = [("1", 0.10), ("2/3", 0.25), ("4", 0.15), ("5", 0.25), ("6a", 0.20), ("6b", 0.05)]
SEED = 20150308  # the date of the real gridAnnotation.raw: the sample's atlas is fixed


class Ontology:
    def __init__(self, rows: list[dict]) -> None:
        self.path = {int(r["id"]): [int(p) for p in r["structure_id_path"].strip("/").split("/")]
                     for r in rows if r.get("structure_id_path")}
        self.acronym = {int(r["id"]): r["acronym"] for r in rows if r.get("structure_id_path")}
        self.id_of = {a: i for i, a in self.acronym.items()}
        self.children: dict[int, list[int]] = {}
        for structure, path in self.path.items():
            if len(path) > 1:
                self.children.setdefault(path[-2], []).append(structure)

    def descendants(self, structure: int) -> list[int]:
        return [s for s, p in self.path.items() if structure in p[:-1]]

    def leaves(self, structure: int) -> list[int]:
        return sorted(s for s in self.descendants(structure) if s not in self.children)


def _coordinates() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    index = np.arange(GRID_VOXELS)
    ap = index % GRID_SHAPE[0]
    dv = (index // GRID_SHAPE[0]) % GRID_SHAPE[1]
    ml = index // (GRID_SHAPE[0] * GRID_SHAPE[1])
    return ap, dv, ml


def _brain(ap, dv, ml) -> tuple[np.ndarray, np.ndarray]:
    rho = np.sqrt(((ap - BRAIN_CENTER[0]) / BRAIN_RADII[0]) ** 2
                  + ((dv - BRAIN_CENTER[1]) / BRAIN_RADII[1]) ** 2
                  + ((ml - BRAIN_CENTER[2]) / BRAIN_RADII[2]) ** 2)
    return rho <= 1.0, rho


def _divisions(ap, dv, lateral) -> tuple[np.ndarray, np.ndarray]:
    """Each voxel's most likely division, and how sure that is (log-likelihood margin)."""
    scores = []
    total = sum(d[1] for d in DIVISIONS)
    for _name, size, m_ap, m_dv, m_lat, s_ap, s_dv, s_lat in DIVISIONS:
        z = ((ap - m_ap) / s_ap) ** 2 + ((dv - m_dv) / s_dv) ** 2 + ((lateral - m_lat) / s_lat) ** 2
        scores.append(-0.5 * z - np.log(s_ap * s_dv * s_lat) + np.log(size / total))
    scores = np.array(scores)
    best = np.argmax(scores, axis=0)
    ordered = np.sort(scores, axis=0)
    return best, ordered[-1] - ordered[-2]


def _grow(points: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Index of the nearest seed of each point."""
    nearest = np.empty(len(points), dtype=np.int64)
    for start in range(0, len(points), 4096):
        chunk = points[start:start + 4096]
        distance = ((chunk[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
        nearest[start:start + 4096] = np.argmin(distance, axis=1)
    return nearest


def _pick_leaves(ontology: Ontology, division: str, rng) -> list[int]:
    candidates = ontology.leaves(ontology.id_of[division])
    wanted = [ontology.id_of[a] for a in SIZES if ontology.id_of.get(a) in
              set(ontology.descendants(ontology.id_of[division]))]
    # a wanted structure with children stands for itself (e.g. CA1, not its strata)
    candidates = [c for c in candidates
                  if not any(w in ontology.path[c][:-1] for w in wanted)]
    count = max(LEAVES[division] - len(wanted), 1)
    chosen = rng.choice(candidates, size=min(count, len(candidates)), replace=False).tolist()
    return sorted(wanted + chosen)


def _cortex(ontology: Ontology, points: np.ndarray, depth: np.ndarray, rng) -> np.ndarray:
    """Isocortical voxels: an area by position (AP, distance from the midline), a layer by
    depth below the surface."""
    isocortex = ontology.id_of["Isocortex"]
    areas = {}
    for leaf in ontology.leaves(isocortex):
        areas.setdefault(ontology.path[leaf][-2], []).append(leaf)
    names = sorted(areas, key=lambda a: ontology.acronym[a])
    count = max(LEAVES["Isocortex"] // len(LAYERS), 1)
    must = [a for a in names if ontology.acronym[a] in ("SSp-bfd", "MOp", "VISp", "SSp-ul")]
    others = [a for a in names if a not in must]
    chosen = must + rng.choice(others, size=min(count - len(must), len(others)),
                               replace=False).tolist()
    seeds = points[rng.choice(len(points), size=len(chosen), replace=False)][:, [0, 2]]
    area = np.array(chosen)[_grow(points[:, [0, 2]], seeds)]
    ranks = np.argsort(np.argsort(depth)) / max(len(depth) - 1, 1)
    edges = np.cumsum([share for _, share in LAYERS])
    layer = np.searchsorted(edges, ranks, side="right").clip(0, len(LAYERS) - 1)
    labels = np.empty(len(points), dtype=np.int64)
    for k, area_id in enumerate(area.tolist()):
        leaves = areas[area_id]
        suffix = LAYERS[layer[k]][0]
        match = [leaf for leaf in leaves if ontology.acronym[leaf].endswith(suffix)]
        labels[k] = match[0] if match else leaves[min(layer[k], len(leaves) - 1)]
    return labels


def build(rows: list[dict]) -> np.ndarray:
    """The annotation: a structure id per voxel (0 outside the brain), voxel index order."""
    ontology = Ontology(rows)
    rng = np.random.default_rng(SEED)
    ap, dv, ml = _coordinates()
    inside, rho = _brain(ap, dv, ml)
    lateral = np.abs(ml - BRAIN_CENTER[2])
    division, margin = _divisions(ap[inside], dv[inside], lateral[inside])
    labels = np.zeros(int(inside.sum()), dtype=np.int64)
    points = np.stack([ap[inside], dv[inside], lateral[inside]], axis=1).astype(np.float64)
    for k, (name, *_rest) in enumerate(DIVISIONS):
        members = np.flatnonzero(division == k)
        if not len(members):
            continue
        if name == "Isocortex":
            labels[members] = _cortex(ontology, points[members], 1 - rho[inside][members], rng)
            continue
        leaves = _pick_leaves(ontology, name, rng)
        weights = [max(1, round(SIZES.get(ontology.acronym[leaf], 0) / 60)) for leaf in leaves]
        owner = np.repeat(np.arange(len(leaves)), weights)
        seeds = points[members][rng.choice(len(members), size=len(owner),
                                           replace=len(owner) > len(members))]
        labels[members] = np.array(leaves)[owner[_grow(points[members], seeds)]]
    labels[margin < np.quantile(margin, GREY_SHARE)] = ontology.id_of["grey"]
    annotation = np.zeros(GRID_VOXELS, dtype=np.uint32)
    annotation[np.flatnonzero(inside)] = labels
    return annotation
