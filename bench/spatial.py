"""Spatial (MERFISH): ingest next to polars' read of the same three CSVs; spatial composition of
one structure next to the pandas way (merge the tables, group by).

Targets (issue 13): MERFISH ingest ≤ 1.5× polars reading cell_metadata.csv,
ccf_coordinates.csv and reconstructed_coordinates.csv; the spatial composition of one structure
at subclass level ≤ 50 ms warm, with the pandas equivalent measured beside it.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from bench.common import generated, line, run_command, run_python, timed, verdict

STRUCTURE = "CA1"
QUESTION = ("select cell_type, n_cells, fraction from composition where method = 'spatial' "
            f"and region_acronym = '{STRUCTURE}' and level = 'subclass' order by n_cells desc")
DENSITY = ("select hemisphere, cell_type, cells_per_mm3 from cell_density where "
           f"structure_acronym = '{STRUCTURE}' and level = 'subclass' order by 3 desc")
PROFILE = f"select * from spatial_profile('{STRUCTURE}') where axis = 'dv'"


def ensure_release(workdir: Path, scale: str) -> Path:
    from ingest.sample import abc, merfish, ontology, parcellation

    return generated(workdir, "spatial", scale,
                     [ontology.write, abc.write, parcellation.write, merfish.write])


def run(workdir: Path, args) -> None:
    import duckdb
    import polars as pl

    started = time.perf_counter()
    release = ensure_release(workdir, args.scale)
    print(f"  release ready in {time.perf_counter() - started:.0f} s", flush=True)
    metadata = release / "metadata"
    cells_csv = metadata / "MERFISH-C57BL6J-638850" / "20241115" / "cell_metadata.csv"
    ccf_dir = metadata / "MERFISH-C57BL6J-638850-CCF" / "20231215"
    csvs = [cells_csv, ccf_dir / "ccf_coordinates.csv", ccf_dir / "reconstructed_coordinates.csv"]
    size_mb = sum(p.stat().st_size for p in csvs) / 1e6
    print(f"  MERFISH CSVs: {size_mb:,.0f} MB", flush=True)

    def polars_read() -> None:
        for path in csvs:
            pl.read_csv(path, schema_overrides={"cell_label": pl.String})

    polars_wall = timed(polars_read, repeat=3)
    line("polars read_csv of the three files (baseline)", f"{polars_wall:.2f} s")

    # a warehouse with everything but the MERFISH cells, then `brainwh ingest spatial`
    brainwh = [sys.executable, "-m", "warehouse"]
    base_db = workdir / "spatial-base.duckdb"
    base_db.unlink(missing_ok=True)
    run_command([*brainwh, "build", str(release / "ontology"),
                 str(metadata / "WMB-taxonomy"), str(metadata / "Allen-CCF-2020"),
                 "--db", str(base_db)])
    db = workdir / "spatial-bench.duckdb"
    walls = []
    for _ in range(2):
        shutil.copyfile(base_db, db)
        wall, _peak = run_command([*brainwh, "ingest", "spatial",
                                   str(metadata / "MERFISH-C57BL6J-638850"), str(ccf_dir),
                                   "--db", str(db)])
        walls.append(wall)
    wall = min(walls)
    load = _load_only(csvs, base_db, workdir)
    floor = _bare_copy(csvs, workdir)
    line("brainwh ingest spatial, whole command", f"{wall:.2f} s",
         verdict(wall / polars_wall, 1.5))
    line("  of which reading+joining+storing the cells", f"{load:.2f} s",
         verdict(load / polars_wall, 1.5))
    line("  floor: create table as select * from each CSV", f"{floor:.2f} s",
         f"ratio {floor / polars_wall:.2f}")

    con = duckdb.connect(str(db), read_only=True)
    for label, sql in (("spatial composition of CA1 (subclass)", QUESTION),
                       ("cell_density of CA1 (subclass)", DENSITY),
                       ("spatial_profile('CA1'), dv axis", PROFILE)):
        con.execute(sql).fetchall()
        warm = timed(lambda sql=sql: con.execute(sql).fetchall(), repeat=20)
        if sql is QUESTION:
            duck_warm = warm
        line(f"{label}, brainwh warm", f"{warm * 1000:.1f} ms")
    con.close()
    duck_cold, _ = run_python(
        f"import duckdb; con = duckdb.connect({str(db)!r}, read_only=True); "
        f"con.execute({QUESTION!r}).fetchall()")

    pivoted = next(metadata.rglob("cluster_to_cluster_annotation_membership_pivoted.csv"))
    acronyms = next(metadata.rglob("parcellation_to_parcellation_term_membership_acronym.csv"))
    pandas_setup = (
        "import pandas as pd\n"
        f"cells = pd.read_csv({str(csvs[0])!r}, dtype={{'cell_label': str}})\n"
        f"ccf = pd.read_csv({str(csvs[1])!r}, dtype={{'cell_label': str}})\n"
        f"pivot = pd.read_csv({str(pivoted)!r}, keep_default_na=False)\n"
        f"terms = pd.read_csv({str(acronyms)!r})\n"
        "cells = cells.merge(ccf[['cell_label', 'parcellation_index']], on='cell_label')\n"
        "cells = cells.merge(terms, on='parcellation_index')\n"
        "cells = cells.merge(pivot, on='cluster_alias')\n")
    pandas_question = (
        "g = cells.groupby(['structure', 'subclass']).size()\n"
        "frac = g / g.groupby(level=0).transform('sum')\n"
        f"answer = frac.loc[{STRUCTURE!r}].sort_values(ascending=False)\n")
    pandas_cold, _ = run_python(pandas_setup + pandas_question)
    frames: dict = {}
    exec(pandas_setup, frames)
    pandas_warm = timed(lambda: exec(pandas_question, frames), repeat=5)
    frames.clear()
    line(f"composition of {STRUCTURE} (subclass), pandas warm", f"{pandas_warm * 1000:.0f} ms")
    line(f"composition of {STRUCTURE} (subclass), brainwh warm", f"{duck_warm * 1000:.1f} ms",
         f"target ≤ 50 ms {'OK' if duck_warm <= 0.05 else 'MISSED'}; "
         f"ratio to pandas {duck_warm / pandas_warm:.3f}")
    line("first answer in a fresh process, pandas", f"{pandas_cold:.2f} s")
    line("first answer in a fresh process, brainwh", f"{duck_cold:.2f} s",
         f"ratio {duck_cold / pandas_cold:.2f}")


def _bare_copy(csvs: list[Path], workdir: Path) -> float:
    """DuckDB storing the three files as they are (no join, no checks): the floor."""
    import duckdb

    scratch = workdir / "spatial-floor.duckdb"
    scratch.unlink(missing_ok=True)
    con = duckdb.connect(str(scratch))
    con.execute("set preserve_insertion_order = false")
    started = time.perf_counter()
    for index, path in enumerate(csvs):
        con.execute(f"create table t{index} as select * from read_csv('{path}', "
                    "types = {'cell_label': 'VARCHAR'})")
    con.execute("checkpoint")
    elapsed = time.perf_counter() - started
    con.close()
    scratch.unlink(missing_ok=True)
    return elapsed


def _load_only(csvs: list[Path], base_db: Path, workdir: Path) -> float:
    """The spatial load step alone (read, join, type, store, check) on a copy of the base."""
    import duckdb

    from ingest import spatial
    from ingest.base import SourceFile, component_and_version

    scratch = workdir / "spatial-load-only.duckdb"
    shutil.copyfile(base_db, scratch)
    con = duckdb.connect(str(scratch))
    for statement in spatial.DDL:
        con.execute(statement)
    by_role = {}
    for path, role in zip(csvs, ("merfish_cell_metadata", "ccf_coordinates",
                                 "reconstructed_coordinates"), strict=True):
        component, version = component_and_version(path)
        by_role[role] = SourceFile(path=path, role=role, component=component, version=version)
    started = time.perf_counter()
    _taxonomy, scans = spatial._insert(con, by_role)
    spatial._check(con, by_role, scans)
    con.execute("checkpoint")
    elapsed = time.perf_counter() - started
    con.close()
    scratch.unlink(missing_ok=True)
    return elapsed
