"""Allen Mouse Brain Atlas (ISH): ingest next to polars' read of the same pages; the searches
next to numpy on the same grids, in the same run.

Targets (issue 14), at full scale (26,061 non-failed experiments and their StructureUnionize
rows; grids of the 4,345 coronal experiments):
- `brainwh ingest ish` of the StructureUnionize pages <= 1.5x polars reading the same pages;
- mouse_differential_search <= 1 s and mouse_correlation_search <= 2 s over the loaded grids;
- one gene's grid in milliseconds.
"""

from __future__ import annotations

import shutil
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from bench.common import generated, line, run_command, timed, verdict

QUERIES = {  # label: (sql, target seconds or None, repeat)
    "mouse_differential_search(['STR'], ['Isocortex'])": (
        "select * from mouse_differential_search(['STR'], ['Isocortex'])", 1.0, 5),
    "mouse_differential_search(['CP', 'RT'], ['grey'])": (
        "select * from mouse_differential_search(['CP', 'RT'], ['grey'])", 1.0, 5),
    "mouse_correlation_search('Ppp1r1b', []) (whole brain)": (
        "select * from mouse_correlation_search('Ppp1r1b', [])", 2.0, 3),
    "mouse_correlation_search('Pvalb', ['Isocortex', 'TH'])": (
        "select * from mouse_correlation_search('Pvalb', ['Isocortex', 'TH'])", 2.0, 3),
    "one gene's grid, raw (its row of ish_grids)": (
        "select * from ish_grids where experiment_id = 868", 0.05, 20),
    "one gene's grid with the voxels outside the brain": (
        "select g.*, o.chunk, o.energy from ish_grids as g join ish_grid_outside as o "
        "using (experiment_id) where experiment_id = 868", None, 10),
    "mouse_grid('Pvalb') (159,326 voxel rows)": (
        "select * from mouse_grid('Pvalb')", None, 5),
    "one gene from mouse_regional_expression": (
        "select * from mouse_regional_expression where gene_symbol = 'Pvalb'", None, 10),
    "mouse_differential_search_unionize(['STR'], ['Isocortex'])": (
        "select * from mouse_differential_search_unionize(['STR'], ['Isocortex'])", None, 3),
}


def ensure_release(workdir: Path, scale: str) -> Path:
    from ingest.sample import ish, ontology

    return generated(workdir, "ish", scale, [ontology.write, ish.write])


def pages(release: Path) -> list[Path]:
    return sorted(p for p in (release / "ish" / "StructureUnionize").glob("*/*.json")
                  if not p.name.startswith("."))


def polars_read(files: list[Path]) -> tuple[float, int]:
    """The baseline: polars reads every page's rows into one frame."""
    import polars as pl

    def read() -> int:
        frames = [pl.read_json(path).select(pl.col("msg").explode()).unnest("msg")
                  for path in files]
        return len(pl.concat(frames, how="vertical_relaxed"))

    started = time.perf_counter()
    rows = read()
    return time.perf_counter() - started, rows


def load_grids(release: Path, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The same grids and annotation in numpy: (grids x voxels) float32, annotation."""
    grids = np.empty((len(ids), 67 * 41 * 58), dtype=np.float32)
    for k, experiment in enumerate(ids):
        with zipfile.ZipFile(release / "ish" / "grids" / f"{experiment}.zip") as archive:
            grids[k] = np.frombuffer(archive.read("energy.raw"), dtype="<f4")
    with zipfile.ZipFile(release / "ish" / "P56_Mouse_gridAnnotation.zip") as archive:
        annotation = np.frombuffer(archive.read("gridAnnotation.raw"), dtype="<u4")
    return grids, annotation


class NumpyGrids:
    """The same grids in numpy, prepared once as a numpy user would (the brain voxels; the
    values with -1 as 0, their squares and the validity, single precision): per query only
    matrix-vector products remain."""

    def __init__(self, grids: np.ndarray, annotation: np.ndarray) -> None:
        brain = annotation > 0
        self.annotation = annotation[brain]
        values = grids[:, brain]
        self.valid = (values >= 0).astype(np.float32)
        self.values = np.where(values >= 0, values, 0).astype(np.float32)
        self.squares = self.values * self.values

    def differential(self, target: np.ndarray, contrast: np.ndarray) -> np.ndarray:
        t, c = target.astype(np.float32), contrast.astype(np.float32)
        return ((self.values @ t) / (self.valid @ t)) / ((self.values @ c) / (self.valid @ c))

    def correlation(self, seed: int, domain: np.ndarray) -> np.ndarray:
        """Pearson r of every grid with the seed over the domain voxels both have data in."""
        d = domain.astype(np.float32)
        vx = self.valid[seed] * d
        x = self.values[seed] * vx
        n = (self.valid @ vx).astype(np.float64)
        sx = (self.valid @ x).astype(np.float64)
        sxx = (self.valid @ (x * x)).astype(np.float64)
        sy = (self.values @ vx).astype(np.float64)
        syy = (self.squares @ vx).astype(np.float64)
        sxy = (self.values @ x).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (n * sxy - sx * sy) / np.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy))


def run(workdir: Path, args) -> None:
    import duckdb

    release = ensure_release(workdir, args.scale)
    files = pages(release)
    size = sum(f.stat().st_size for f in files) / 1e6
    print(f"  {len(files):,} StructureUnionize pages, {size:,.0f} MB; "
          f"{len(list((release / 'ish' / 'grids').glob('*.zip'))):,} grid zips", flush=True)
    brainwh = [sys.executable, "-m", "warehouse"]

    # the base: the mouse ontology and the experiments (the unionize load checks against them)
    base = workdir / "ish-base.duckdb"
    base.unlink(missing_ok=True)
    run_command([*brainwh, "build", str(release / "ontology"),
                 str(release / "ish" / "SectionDataSet.json"), "--db", str(base)])

    baseline, rows = polars_read(files)
    line("polars: read every page into one frame (baseline)", f"{baseline:.2f} s",
         f"{rows:,} rows, {size / baseline:,.0f} MB/s")
    db = workdir / "ish-bench.duckdb"
    walls = []
    for _ in range(2):
        shutil.copyfile(base, db)
        wall, _peak = run_command([*brainwh, "ingest", "ish",
                                   str(release / "ish" / "StructureUnionize"), "--db", str(db)])
        walls.append(wall)
    wall = min(walls)
    line("brainwh ingest ish StructureUnionize/ (best of 2)", f"{wall:.2f} s",
         verdict(wall / baseline, 1.5) + f"; runs {', '.join(f'{w:.1f}' for w in walls)} s")

    shutil.copyfile(base, db)
    grids_wall, peak = run_command([*brainwh, "ingest", "ish",
                                    str(release / "ish" / "grids"),
                                    str(release / "ish" / "P56_Mouse_gridAnnotation.zip"),
                                    "--db", str(db)])
    line("brainwh ingest ish grids/ + annotation", f"{grids_wall:.1f} s",
         f"(no target) peak RSS {peak:.2f} GB")
    run_command([*brainwh, "ingest", "ish", str(release / "ish" / "StructureUnionize"),
                 "--db", str(db)])
    line("  warehouse size", f"{db.stat().st_size / 1e9:.2f} GB")

    con = duckdb.connect(str(db), read_only=True)
    try:
        n_grids = con.execute("select count(*) from ish_grids").fetchone()[0]
        print(f"  {n_grids:,} grids loaded", flush=True)
        for label, (sql, target, repeat) in QUERIES.items():
            con.execute(sql).fetchall()  # warm
            seconds = timed(lambda sql=sql: con.execute(sql).fetchall(), repeat=repeat)
            note = (verdict(seconds / target, 1.0) + f" of {target * 1000:.0f} ms"
                    if target else "(no target)")
            line(label, f"{seconds * 1000:.1f} ms", note)
        ids = [e for (e,) in con.execute("select experiment_id from ish_grids "
                                         "order by experiment_id").fetchall()]
        seed = con.execute("select seed_experiment_id from mouse_correlation_search("
                           "'Ppp1r1b', []) limit 1").fetchone()[0]
        subtree = {name: [s for (s,) in con.execute(
            "select a.structure_id from structure_ancestors as a join structures as s on "
            "s.species = 'mouse' and s.structure_id = a.ancestor_id where a.species = 'mouse' "
            "and s.acronym = ?", [name]).fetchall()] for name in ("STR", "Isocortex")}
    finally:
        con.close()

    print("  loading the same grids into numpy for the baselines ...", flush=True)
    started = time.perf_counter()
    grids, annotation = load_grids(release, ids)
    prepared = NumpyGrids(grids, annotation)
    del grids
    line("numpy: read the grid zips and prepare (not timed below)",
         f"{time.perf_counter() - started:.1f} s")
    brain = annotation[annotation > 0]
    target = np.isin(brain, subtree["STR"])
    contrast = np.isin(brain, subtree["Isocortex"])
    seconds = timed(lambda: prepared.differential(target, contrast), repeat=3)
    line("numpy: differential STR vs Isocortex, same grids", f"{seconds * 1000:.1f} ms")
    everywhere = np.ones(len(brain), dtype=bool)
    seconds = timed(lambda: prepared.correlation(ids.index(seed), everywhere), repeat=3)
    line("numpy: correlation, whole brain, same grids", f"{seconds * 1000:.1f} ms")
