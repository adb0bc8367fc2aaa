"""Sample Cell Types Database release: specimen details, ephys and morphology features.

Written under `<release>/cell_types/` in the real formats and quirks:
`cell_types_specimen_details.csv` (ApiCellTypesSpecimenDetail's 54 columns in their order,
`structure__name` with literal double quotes, `tag__apical` `NA`, `""` for empty text fields,
`Mus musculus` / `Homo Sapiens`, layers as text), `ephys_features.csv` (the AllenSDK cache's
56 columns in its unsorted order, every field quoted, `"False"` booleans, `""` nulls) and
`morphology_features.csv` (pandas-written, with its unnamed index column).

Which cells: drawn from the real joint mix of species, structure, layer, Cre line and dendrite
type (`ingest/data/cell_types_specimen_mix.tsv`, counted from the real specimen table), so mouse
cells sit in visual and retrosplenial areas (mostly VISp) with graph-1 layer-level ids and
human cells in cortical gyri (mostly MTG). Human ids are the real Cell Types ones; when the
release has an AHBA ontology (the microarray sample), they are reported as unresolved there.
Features: per species and dendrite type around the real medians and spreads (fast-spiking
Pvalb aspiny cells: upstroke/downstroke about 1.3, spiny cells about 3.4, vrest -60 to -85 mV).
Like the real files, a few specimens have no feature row and a few feature rows no specimen.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ingest.sample.ontology import data_file

RELATIVE_DIR = Path("cell_types")
SCALES = {"tiny": (66, 14), "small": (411, 89), "full": (1_920, 413)}  # mouse, human

SPECIMEN_HEADER = (
    "line_name,specimen__id,specimen__name,specimen__hemisphere,structure__id,structure__name,"
    "structure__acronym,structure_parent__id,structure_parent__acronym,structure__layer,"
    "nr__max_euclidean_distance,nr__number_stems,nr__number_bifurcations,"
    "nr__average_contraction,nr__average_parent_daughter_ratio,nr__reconstruction_type,"
    "nrwkf__id,erwkf__id,ef__fast_trough_v_long_square,"
    "ef__upstroke_downstroke_ratio_long_square,ef__adaptation,ef__f_i_curve_slope,"
    "ef__threshold_i_long_square,ef__tau,ef__avg_isi,ef__avg_firing_rate,ef__ri,"
    "ef__peak_t_ramp,ef__vrest,si__height,si__width,si__path,csl__x,csl__y,csl__z,"
    "csl__normalized_depth,cell_reporter_status,m__glif,m__biophys,m__biophys_perisomatic,"
    "m__biophys_all_active,tag__apical,tag__dendrite_type,morph_thumb_path,ephys_thumb_path,"
    "ephys_inst_thresh_thumb_path,donor__age,donor__sex,donor__disease_state,donor__race,"
    "donor__years_of_seizure_history,donor__species,donor__id,donor__name"
).split(",")
# text fields the real file writes as "" when empty (other empty fields are bare)
QUOTED_EMPTY = {"line_name", "donor__age", "donor__sex", "donor__disease_state", "donor__race",
                "donor__years_of_seizure_history"}
FEATURE_HEADER = (
    "tau,threshold_t_long_square,thumbnail_sweep_id,threshold_v_short_square,threshold_v_ramp,"
    "peak_v_short_square,avg_isi,sag,trough_t_ramp,threshold_t_ramp,slow_trough_v_ramp,"
    "adaptation,has_pause,electrode_0_pa,trough_v_long_square,input_resistance_mohm,id,"
    "latency,fast_trough_v_ramp,vm_for_sag,slow_trough_v_long_square,rheobase_sweep_id,"
    "peak_t_ramp,threshold_t_short_square,has_burst,upstroke_downstroke_ratio_short_square,"
    "slow_trough_t_long_square,threshold_v_long_square,fast_trough_t_long_square,ri,has_delay,"
    "upstroke_downstroke_ratio_ramp,trough_t_long_square,specimen_id,threshold_i_long_square,"
    "threshold_i_short_square,rheobase_sweep_number,peak_v_ramp,fast_trough_v_short_square,"
    "fast_trough_t_short_square,peak_t_short_square,threshold_i_ramp,"
    "slow_trough_v_short_square,fast_trough_t_ramp,slow_trough_t_short_square,"
    "trough_v_short_square,slow_trough_t_ramp,f_i_curve_slope,trough_t_short_square,"
    "peak_t_long_square,seal_gohm,fast_trough_v_long_square,"
    "upstroke_downstroke_ratio_long_square,trough_v_ramp,peak_v_long_square,vrest"
).split(",")
MORPHOLOGY_HEADER = [
    "", "average_bifurcation_angle_local", "average_bifurcation_angle_remote",
    "average_contraction", "average_diameter", "average_fragmentation",
    "average_parent_daughter_ratio", "hausdorff_dimension", "id", "max_branch_order",
    "max_euclidean_distance", "max_path_distance", "neuron_reconstruction_type",
    "number_bifurcations", "number_branches", "number_nodes", "number_stems", "number_tips",
    "overall_depth", "overall_height", "overall_width", "scale_factor_x", "scale_factor_y",
    "scale_factor_z", "soma_surface", "specimen_id", "total_length", "total_surface",
    "total_volume",
]

# (centre, spread, kind): kind "n" normal(centre, spread); "l" centre * exp(normal(0, spread)).
# Centres and spreads follow the real medians and spreads per group.
KEY = ("vrest", "threshold_i_long_square", "tau", "ri", "upstroke_downstroke_ratio_long_square",
       "f_i_curve_slope", "sag", "adaptation", "avg_isi", "latency")
PROFILES: dict[str, tuple[tuple[float, float, str], ...]] = {
    "mouse fast-spiking": ((-75.0, 4.3, "n"), (270, 0.45, "l"), (6.8, 0.4, "l"),
                           (100, 0.35, "l"), (1.27, 0.12, "n"), (0.9, 0.5, "l"),
                           (0.045, 0.5, "l"), (0.004, 0.8, "l"), (13, 0.5, "l"),
                           (0.012, 0.6, "l")),
    "mouse aspiny": ((-71.7, 4.8, "n"), (100, 0.7, "l"), (12.6, 0.55, "l"), (185, 0.45, "l"),
                     (2.0, 0.45, "n"), (0.29, 0.6, "l"), (0.06, 0.7, "l"), (0.015, 1.0, "l"),
                     (39, 0.6, "l"), (0.02, 0.7, "l")),
    "mouse sparsely spiny": ((-70.1, 4.2, "n"), (75, 0.5, "l"), (23, 0.35, "l"),
                             (238, 0.3, "l"), (2.15, 0.55, "n"), (0.34, 0.5, "l"),
                             (0.095, 0.6, "l"), (0.022, 0.9, "l"), (45, 0.35, "l"),
                             (0.028, 0.6, "l")),
    "mouse spiny": ((-75.1, 5.0, "n"), (100, 0.5, "l"), (20, 0.35, "l"), (163, 0.4, "l"),
                    (3.4, 0.55, "n"), (0.17, 0.4, "l"), (0.054, 0.6, "l"), (0.036, 0.8, "l"),
                    (78, 0.5, "l"), (0.046, 0.45, "l")),
    "human aspiny": ((-68.7, 5.0, "n"), (90, 0.6, "l"), (16.8, 0.5, "l"), (172, 0.5, "l"),
                     (1.65, 0.45, "n"), (0.38, 0.45, "l"), (0.105, 0.7, "l"),
                     (0.016, 1.0, "l"), (39, 0.7, "l"), (0.023, 0.8, "l")),
    "human sparsely spiny": ((-64.5, 3.9, "n"), (50, 0.5, "l"), (18.9, 0.25, "l"),
                             (261, 0.4, "l"), (2.8, 0.6, "n"), (0.35, 0.45, "l"),
                             (0.2, 0.6, "l"), (0.009, 1.0, "l"), (59, 0.45, "l"),
                             (0.025, 0.8, "l")),
    "human spiny": ((-70.7, 4.4, "n"), (120, 0.6, "l"), (27, 0.35, "l"), (114, 0.5, "l"),
                    (3.4, 0.6, "n"), (0.1, 0.6, "l"), (0.117, 0.5, "l"), (0.07, 0.8, "l"),
                    (101, 0.6, "l"), (0.064, 0.4, "l")),
}
CLIPS = {"vrest": (-85.0, -60.0), "tau": (3.5, 80.0), "ri": (27.0, 600.0),
         "f_i_curve_slope": (0.005, 2.8), "sag": (0.002, 0.49), "adaptation": (-0.05, 0.9),
         "avg_isi": (4.0, 900.0), "latency": (0.002, 0.6)}
UPSTROKE_CLIPS = {"fast-spiking": (1.0, 1.6), "aspiny": (1.05, 3.2),
                  "sparsely spiny": (1.2, 4.0), "spiny": (2.2, 5.5)}
MOUSE_DEPTH = {"1": (0.02, 0.1), "2/3": (0.1, 0.35), "4": (0.35, 0.5), "5": (0.5, 0.7),
               "6a": (0.7, 0.9), "6b": (0.9, 1.0)}
HUMAN_DEPTH = {"1": (0.02, 0.08), "2": (0.08, 0.2), "3": (0.2, 0.45), "4": (0.45, 0.55),
               "5": (0.55, 0.75), "6": (0.75, 0.98)}
RACES = ["unknown", "White or Caucasian", "Hispanic", "Black or African American", "Asian"]


def _mix() -> dict[str, list[dict[str, str]]]:
    with open(data_file("cell_types_specimen_mix.tsv"), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return {species: [r for r in rows if r["species"] == species]
            for species in ("Mus musculus", "Homo Sapiens")}


def _unique_ids(rng: np.random.Generator, n: int, low: int, high: int) -> list[int]:
    ids: set[int] = set()
    while len(ids) < n:
        ids.update(int(i) for i in rng.integers(low, high, n - len(ids)))
    return sorted(ids)


def _num(value: float | None, digits: int = 12) -> str:
    return "" if value is None else f"{value:.{digits}g}"


def _draw(rng: np.random.Generator, spec: tuple[float, float, str],
          bounds: tuple[float, float] | None = None) -> float:
    """One value from the spec, redrawn until inside `bounds` (so no pile-up at a bound)."""
    centre, spread, kind = spec
    for _ in range(50):
        value = float(rng.normal(centre, spread) if kind == "n"
                      else centre * np.exp(rng.normal(0.0, spread)))
        if bounds is None or bounds[0] <= value <= bounds[1]:
            return value
    return float(np.clip(value, *bounds))


def _group(species: str, dendrite_type: str, line: str) -> tuple[str, str]:
    """(profile, upstroke class): Pvalb-line aspiny mouse cells are fast-spiking."""
    if species == "mouse" and dendrite_type == "aspiny" and "Pvalb" in line:
        return "mouse fast-spiking", "fast-spiking"
    return f"{species} {dendrite_type}", dendrite_type


def make_features(rng: np.random.Generator, species: str, dendrite_type: str,
                  line: str) -> dict[str, object]:
    """All 56 ephys features of one cell, consistent with each other."""
    profile, upstroke_class = _group(species, dendrite_type, line)
    bounds = {**CLIPS, "upstroke_downstroke_ratio_long_square": UPSTROKE_CLIPS[upstroke_class]}
    f: dict[str, object] = {name: _draw(rng, spec, bounds.get(name))
                            for name, spec in zip(KEY, PROFILES[profile], strict=True)}
    rheobase = float(np.clip(round(f["threshold_i_long_square"] / 10) * 10, 10, 800))
    f["threshold_i_long_square"] = rheobase
    if rng.random() < 0.09:
        f["avg_isi"] = None
    if f["avg_isi"] is None or rng.random() < 0.1:
        f["adaptation"] = None
    fast = upstroke_class == "fast-spiking"
    spiny = dendrite_type == "spiny"
    latency = f["latency"]
    ratio = f["upstroke_downstroke_ratio_long_square"]
    threshold_v = rng.normal(-38.5, 4.5)
    peak_v = rng.normal(13 if fast else 33, 7 if fast else 9)
    fast_trough_v = rng.normal(-61 if fast else (-48 if spiny else -56), 4.5)
    trough_v = fast_trough_v - abs(rng.normal(0, 3 if spiny else 1.5))
    threshold_t = 1.02 + latency
    peak_t = threshold_t + rng.uniform(0.0004, 0.001)
    fast_trough_t = peak_t + rng.uniform(0.0008, 0.003)
    trough_t = fast_trough_t + rng.uniform(0, 0.08)
    f.update({
        "threshold_v_long_square": threshold_v, "peak_v_long_square": peak_v,
        "fast_trough_v_long_square": fast_trough_v, "trough_v_long_square": trough_v,
        "threshold_t_long_square": threshold_t, "peak_t_long_square": peak_t,
        "fast_trough_t_long_square": fast_trough_t, "trough_t_long_square": trough_t,
        "threshold_v_short_square": threshold_v - rng.uniform(5, 9),
        "peak_v_short_square": peak_v + rng.normal(2, 5),
        "fast_trough_v_short_square": fast_trough_v - abs(rng.normal(3, 3)),
        "trough_v_short_square": rng.normal(-72.5, 6),
        "threshold_t_short_square": 1.0227 + rng.normal(0, 0.0008),
        "threshold_i_short_square": float(round(rheobase * rng.uniform(3.5, 6) / 20) * 20),
        "upstroke_downstroke_ratio_short_square": ratio + rng.normal(0, 0.15),
        "input_resistance_mohm": f["ri"] * rng.uniform(0.9, 1.3),
        "vm_for_sag": min(f["vrest"] - 5, rng.normal(-90.7, 7)),
        "seal_gohm": 1.7 * np.exp(rng.normal(0, 0.4)),
        "electrode_0_pa": None if rng.random() < 0.006 else rng.normal(-5, 35),
        "has_burst": bool(rng.random() < 0.01), "has_delay": False, "has_pause": False,
        "rheobase_sweep_number": int(np.clip(rng.normal(45, 14), 23, 126)),
    })
    f["peak_t_short_square"] = f["threshold_t_short_square"] + 0.0004
    f["fast_trough_t_short_square"] = f["peak_t_short_square"] + 0.0017
    f["trough_t_short_square"] = rng.uniform(1.03, 2.0)
    if rng.random() < 0.97:  # the ramp sweep, missing for a few cells
        ramp_t = 5.1 * float(np.exp(rng.normal(0, 0.55)))
        f.update({
            "threshold_v_ramp": threshold_v + rng.normal(1.5, 3),
            "peak_v_ramp": peak_v + rng.normal(1, 5),
            "fast_trough_v_ramp": fast_trough_v + rng.normal(0.5, 3),
            "trough_v_ramp": rng.normal(-55.4, 4),
            "threshold_t_ramp": ramp_t, "peak_t_ramp": ramp_t + 0.0004,
            "fast_trough_t_ramp": ramp_t + 0.002, "trough_t_ramp": ramp_t + rng.uniform(0, 0.2),
            "threshold_i_ramp": rheobase * rng.uniform(0.7, 1.3),
            "upstroke_downstroke_ratio_ramp": ratio + rng.normal(0, 0.2),
        })
    for sweep, p_missing in (("long_square", 0.35), ("short_square", 0.22), ("ramp", 0.33)):
        trough_v, trough_t = f.get(f"trough_v_{sweep}"), f.get(f"trough_t_{sweep}")
        if trough_v is not None and rng.random() >= p_missing:
            f[f"slow_trough_v_{sweep}"] = trough_v - abs(rng.normal(0, 1))
            f[f"slow_trough_t_{sweep}"] = trough_t + rng.uniform(0, 0.05)
    return f


def _feature_field(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if name == "threshold_i_long_square" or name == "threshold_i_short_square":
        return f"{value:.1f}"
    return _num(float(value), 15)


def _specimen_field(name: str, value: object) -> str:
    """Minimal quoting as the real file, `""` for the empty text fields it quotes."""
    if value is None or value == "":
        return '""' if name in QUOTED_EMPTY else ""
    text = value if isinstance(value, str) else (
        _num(value, 15) if isinstance(value, float) else str(value))
    if any(ch in text for ch in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _donors(rng: np.random.Generator, n: int, per_donor: float) -> np.ndarray:
    n_donors = max(1, round(n / per_donor))
    return rng.integers(0, n_donors, n)


def make_specimens(rng: np.random.Generator, n_mouse: int, n_human: int) -> list[dict]:
    mix = _mix()
    rows: list[dict] = []
    for species_text, count, per_donor in (("Mus musculus", n_mouse, 2.1),
                                           ("Homo Sapiens", n_human, 9.8)):
        choices = mix[species_text]
        weights = np.array([int(r["n"]) for r in choices], dtype=float)
        picked = rng.choice(len(choices), count, p=weights / weights.sum())
        donors = _donors(rng, count, per_donor)
        for index, donor in zip(picked, donors, strict=True):
            rows.append({**choices[index], "donor": int(donor)})
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    ids = rng.permutation(_unique_ids(rng, len(rows), 313_000_000, 700_000_000))
    for row, specimen_id in zip(rows, ids, strict=True):
        row["specimen_id"] = int(specimen_id)
    return rows


def _donor_fields(rng: np.random.Generator, row: dict, cache: dict) -> dict:
    key = (row["species"], row["donor"])
    if key not in cache:
        if row["species"] == "Mus musculus":
            parts = row["line_name"].split("|")
            reporter = "Ai65" if len(parts) > 1 else "Ai14"
            name = ";".join(reversed(parts)) + f";{reporter}-{int(rng.integers(150000, 400000))}"
            cache[key] = {"donor__name": name, "donor__id": int(rng.integers(3e8, 7e8))}
        else:
            name = f"H{int(rng.integers(15, 19))}.{int(rng.choice([3, 6])):02d}." \
                   f"{int(rng.integers(1, 40)):03d}"
            cache[key] = {
                "donor__name": name, "donor__id": int(rng.integers(3e8, 7e8)),
                "donor__age": f"{int(rng.integers(18, 84))} yrs",
                "donor__sex": str(rng.choice(["Male", "Female"], p=[0.57, 0.43])),
                "donor__disease_state": str(rng.choice(["epilepsy", "tumor"], p=[0.85, 0.15])),
                "donor__race": str(rng.choice(RACES, p=[0.45, 0.43, 0.07, 0.03, 0.02])),
                "donor__years_of_seizure_history": int(rng.integers(0, 61)),
            }
    return cache[key]


def _morphology(rng: np.random.Generator, specimen_id: int, spiny: bool, full: bool) -> dict:
    stems = int(rng.integers(3, 11))
    bifurcations = int(rng.integers(8, 60 if spiny else 40))
    extent = rng.uniform(350, 900) if spiny else rng.uniform(200, 500)
    length = rng.uniform(2500, 9000) if spiny else rng.uniform(1500, 5000)
    return {
        "average_bifurcation_angle_local": rng.normal(80, 8),
        "average_bifurcation_angle_remote": None, "average_contraction": rng.normal(0.87, 0.03),
        "average_diameter": rng.uniform(0.25, 0.7), "average_fragmentation": rng.normal(60, 15),
        "average_parent_daughter_ratio": rng.normal(0.8, 0.08), "hausdorff_dimension": None,
        "id": int(specimen_id + rng.integers(1_000_000, 30_000_000)),
        "max_branch_order": float(rng.integers(4, 20)),
        "max_euclidean_distance": extent, "max_path_distance": extent * rng.uniform(1.1, 1.4),
        "neuron_reconstruction_type": "full" if full else "dendrite-only",
        "number_bifurcations": bifurcations, "number_branches": 2 * bifurcations + stems,
        "number_nodes": int(length * rng.uniform(0.6, 1.0)), "number_stems": stems,
        "number_tips": bifurcations + stems, "overall_depth": rng.uniform(40, 120),
        "overall_height": extent * rng.uniform(0.9, 1.5), "overall_width": rng.uniform(150, 450),
        "scale_factor_x": 0.1144, "scale_factor_y": 0.1144, "scale_factor_z": 0.28,
        "soma_surface": rng.uniform(150, 600), "specimen_id": specimen_id,
        "total_length": length, "total_surface": length * rng.uniform(1.0, 1.6),
        "total_volume": length * rng.uniform(0.1, 0.25),
    }


def write(directory: Path, scale: str, seed: int) -> None:
    n_mouse, n_human = SCALES[scale]
    rng = np.random.default_rng(seed + 4)
    specimens = make_specimens(rng, n_mouse, n_human)
    folder = directory / RELATIVE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    donors: dict = {}
    detail_lines, feature_rows, morphology_rows = [], [], []
    n = len(specimens)
    without_features = set(rng.choice(n, max(1, round(n * 0.03)), replace=False).tolist())
    for index, row in enumerate(specimens):
        mouse = row["species"] == "Mus musculus"
        species = "mouse" if mouse else "human"
        specimen_id = row["specimen_id"]
        features = make_features(rng, species, row["dendrite_type"], row["line_name"])
        feature_id = specimen_id + int(rng.integers(500, 5000))
        features.update({"id": feature_id, "specimen_id": specimen_id,
                         "rheobase_sweep_id": feature_id - int(rng.integers(1, 700))})
        features["thumbnail_sweep_id"] = features["rheobase_sweep_id"]
        if index not in without_features:
            feature_rows.append(features)
        reconstructed = rng.random() < 0.28
        morphology = None
        if reconstructed:
            morphology = _morphology(rng, specimen_id, row["dendrite_type"] == "spiny",
                                     full=rng.random() < 0.53)
            morphology_rows.append(morphology)
        details = _details(rng, row, features, morphology, _donor_fields(rng, row, donors))
        detail_lines.append(",".join(_specimen_field(h, details.get(h)) for h in SPECIMEN_HEADER))
    # feature rows whose specimen is not in the specimen table (as in the real files)
    for _ in range(max(1, round(n * 0.003))):
        orphan_id = int(rng.integers(700_000_001, 720_000_000))
        orphan = make_features(rng, "mouse", "spiny", "")
        orphan.update({"id": orphan_id + 900, "specimen_id": orphan_id,
                       "rheobase_sweep_id": orphan_id + 400, "thumbnail_sweep_id": orphan_id + 400})
        feature_rows.append(orphan)
    with open(folder / "cell_types_specimen_details.csv", "w", encoding="utf-8",
              newline="") as handle:
        handle.write(",".join(SPECIMEN_HEADER) + "\n")
        handle.writelines(line + "\n" for line in detail_lines)
    feature_order = rng.permutation(len(feature_rows))
    with open(folder / "ephys_features.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(FEATURE_HEADER)
        for i in feature_order:
            row = feature_rows[i]
            writer.writerow([_feature_field(h, row.get(h)) for h in FEATURE_HEADER])
    with open(folder / "morphology_features.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MORPHOLOGY_HEADER)
        for i, row in enumerate(morphology_rows):
            writer.writerow([i] + [_morph_field(row[h]) for h in MORPHOLOGY_HEADER[1:]])


def _morph_field(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 9)) if not value.is_integer() else repr(value)
    return str(value)


def _details(rng: np.random.Generator, row: dict, features: dict, morphology: dict | None,
             donor: dict) -> dict:
    mouse = row["species"] == "Mus musculus"
    specimen_id = row["specimen_id"]
    layer = row["layer"]
    hemisphere = str(rng.choice(["left", "right"]))
    if mouse:
        z = rng.uniform(1500, 3500) if hemisphere == "right" else rng.uniform(7900, 9900)
        location = (rng.normal(8800, 500), rng.normal(1300, 400), z)
        depth_range = MOUSE_DEPTH.get(layer)
        has_depth = rng.random() < 0.67
    else:
        location = tuple(int(v) for v in (rng.integers(50, 350), rng.integers(200, 380),
                                          rng.integers(80, 250)))
        depth_range = HUMAN_DEPTH.get(layer)
        has_depth = rng.random() < 0.4
    apical = "NA"
    if row["dendrite_type"] == "spiny":
        apical = str(rng.choice(["intact", "truncated", "NA"], p=[0.67, 0.32, 0.01]))
    avg_isi = features["avg_isi"]
    ephys_file = specimen_id + int(rng.integers(1_000_000, 90_000_000))
    suffix = ".".join(f"{int(v):02d}" for v in rng.integers(1, 16, 3))
    details = {
        "line_name": row["line_name"],
        "specimen__id": specimen_id,
        "specimen__name": f"{donor['donor__name']}.{suffix}",
        "specimen__hemisphere": hemisphere,
        "structure__id": int(row["structure_id"]),
        "structure__name": f'"{row["structure_name"]}"',  # the literal quotes are real
        "structure__acronym": row["structure_acronym"],
        "structure_parent__id": int(row["area_id"]),
        "structure_parent__acronym": row["area_acronym"],
        "structure__layer": layer,
        "erwkf__id": ephys_file,
        "csl__x": location[0], "csl__y": location[1], "csl__z": location[2],
        "csl__normalized_depth": (float(rng.uniform(*depth_range))
                                  if depth_range and has_depth else None),
        "cell_reporter_status": (str(rng.choice(["positive", "negative"], p=[0.945, 0.055]))
                                 if mouse else None),
        "m__glif": int(rng.choice([0, 2, 5], p=[0.48, 0.33, 0.19])),
        "m__biophys": int(rng.choice([0, 1, 2], p=[0.89, 0.07, 0.04])),
        "m__biophys_perisomatic": int(rng.random() < 0.1),
        "m__biophys_all_active": int(rng.random() < 0.05),
        "tag__apical": apical,
        "tag__dendrite_type": row["dendrite_type"],
        "ephys_thumb_path": f"/api/v2/well_known_file_download/{ephys_file + 7}",
        "ephys_inst_thresh_thumb_path": f"/api/v2/well_known_file_download/{ephys_file + 9}",
        "donor__species": row["species"],
        **donor,
    }
    for name in ("fast_trough_v_long_square", "upstroke_downstroke_ratio_long_square",
                 "adaptation", "f_i_curve_slope", "threshold_i_long_square", "tau", "avg_isi",
                 "ri", "peak_t_ramp", "vrest"):
        details[f"ef__{name}"] = features.get(name)
    details["ef__avg_firing_rate"] = 1000.0 / avg_isi if avg_isi else None
    if mouse and rng.random() < 0.45:
        details["si__height"] = int(rng.integers(7000, 9500))
        details["si__width"] = int(rng.integers(4000, 9000))
        details["si__path"] = (f"/external/mousecelltypes/prod{int(rng.integers(300, 900))}/"
                               f"specimen_{specimen_id}/min_xy_{specimen_id}.aff")
    if morphology:
        details.update({
            "nr__max_euclidean_distance": morphology["max_euclidean_distance"],
            "nr__number_stems": morphology["number_stems"],
            "nr__number_bifurcations": morphology["number_bifurcations"],
            "nr__average_contraction": morphology["average_contraction"],
            "nr__average_parent_daughter_ratio": morphology["average_parent_daughter_ratio"],
            "nr__reconstruction_type": morphology["neuron_reconstruction_type"],
            "nrwkf__id": morphology["id"] + 11,
            "morph_thumb_path": f"/api/v2/well_known_file_download/{morphology['id'] + 13}",
        })
    return details
