"""Cells: ingest from CSV and Parquet next to polars' read; composition next to pandas.

Targets (issue 2): ingest ≤ 1.5× polars' read of the same file; the composition question
(one region, subclass level) ≤ 0.1× the pandas approach of the seed tutorial, warm.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from bench.common import generated, line, run_command, run_python, timed, verdict

QUESTION = ("select cell_type, n_cells, fraction from composition where region_kind = 'roi' "
            "and region_acronym = 'MOp' and level = 'subclass' order by n_cells desc")


def ensure_release(workdir: Path, scale: str) -> Path:
    from ingest.sample import abc, ontology

    return generated(workdir, "abc", scale, [ontology.write, abc.write])


def run(workdir: Path, args) -> None:
    import duckdb
    import polars as pl

    release = ensure_release(workdir, args.scale)
    cells_csv = release / "metadata" / "WMB-10X" / "20241115" / "cell_metadata.csv"
    pivoted = next(release.rglob("cluster_to_cluster_annotation_membership_pivoted.csv"))
    parquet_dir = workdir / f"abc-{args.scale}-parquet" / "metadata" / "WMB-10X" / "20241115"
    cells_parquet = parquet_dir / "cell_metadata.parquet"
    if not cells_parquet.exists():
        parquet_dir.mkdir(parents=True, exist_ok=True)
        pl.read_csv(cells_csv, schema_overrides={"cell_label": pl.String}).write_parquet(
            cells_parquet)
    size_mb = cells_csv.stat().st_size / 1e6
    parquet_mb = cells_parquet.stat().st_size / 1e6
    print(f"  cell_metadata.csv: {size_mb:,.0f} MB; parquet {parquet_mb:,.0f} MB", flush=True)

    base_db = workdir / "cells-base.duckdb"
    brainwh = [sys.executable, "-m", "warehouse"]
    base_db.unlink(missing_ok=True)
    run_command([*brainwh, "build", str(release / "ontology"),
                 str(pivoted.parent.parent), "--db", str(base_db)])

    polars_csv = timed(lambda: pl.read_csv(cells_csv), repeat=3)
    polars_parquet = timed(lambda: pl.read_parquet(cells_parquet), repeat=3)
    line("polars read_csv (baseline)", f"{polars_csv:.2f} s")
    for label, path, baseline in (("CSV", cells_csv, polars_csv),
                                  ("Parquet", cells_parquet, polars_parquet)):
        db = workdir / "cells-bench.duckdb"
        walls = []
        for _ in range(2):
            shutil.copyfile(base_db, db)
            wall, _peak = run_command([*brainwh, "ingest", "cells", str(path), "--db", str(db)])
            walls.append(wall)
        wall = min(walls)
        load = _load_only(path)
        line(f"polars read ({label})", f"{baseline:.2f} s")
        line(f"brainwh ingest cells ({label}), whole command", f"{wall:.2f} s",
             verdict(wall / baseline, 1.5))
        line(f"  of which reading+storing the cells ({label})", f"{load:.2f} s",
             verdict(load / baseline, 1.5))

    db = workdir / "cells-bench.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    con.execute(QUESTION).fetchall()
    duck_warm = timed(lambda: con.execute(QUESTION).fetchall(), repeat=20)
    con.close()
    duck_cold, _ = run_python(
        f"import duckdb; con = duckdb.connect({str(db)!r}, read_only=True); "
        f"con.execute({QUESTION!r}).fetchall()")
    pandas_setup = (
        "import pandas as pd\n"
        f"cells = pd.read_csv({str(cells_csv)!r}, dtype={{'cell_label': str}})"
        ".set_index('cell_label')\n"
        f"pivot = pd.read_csv({str(pivoted)!r}, keep_default_na=False)"
        ".set_index('cluster_alias')\n"
        "cells = cells.join(pivot, on='cluster_alias')\n")
    pandas_question = (
        "g = cells.groupby(['region_of_interest_acronym', 'subclass']).size()\n"
        "frac = g / g.groupby(level=0).transform('sum')\n"
        "answer = frac.loc['MOp'].sort_values(ascending=False)\n")
    pandas_cold, _ = run_python(pandas_setup + pandas_question)
    frames: dict = {}
    exec(pandas_setup, frames)
    pandas_warm = timed(lambda: exec(pandas_question, frames), repeat=5)
    frames.clear()
    line("composition of MOp (subclass), pandas warm", f"{pandas_warm * 1000:.0f} ms")
    line("composition of MOp (subclass), brainwh warm", f"{duck_warm * 1000:.1f} ms",
         verdict(duck_warm / pandas_warm, 0.1))
    line("first answer in a fresh process, pandas", f"{pandas_cold:.2f} s")
    line("first answer in a fresh process, brainwh", f"{duck_cold:.2f} s",
         f"ratio {duck_cold / pandas_cold:.2f}")


def _load_only(path: Path) -> float:
    """The cells load step alone (read, type, store, check), in a scratch database."""
    import time

    import duckdb

    from ingest import cells
    from ingest.base import SourceFile, component_and_version

    scratch = path.parent / "load-only.duckdb"
    scratch.unlink(missing_ok=True)
    con = duckdb.connect(str(scratch))
    for statement in cells.DDL:
        con.execute(statement)
    component, version = component_and_version(path)
    source = SourceFile(path=path, role="cell_metadata", component=component, version=version)
    started = time.perf_counter()
    cells._load_cells(con, source)
    con.execute("checkpoint")
    elapsed = time.perf_counter() - started
    con.close()
    scratch.unlink(missing_ok=True)
    return elapsed
