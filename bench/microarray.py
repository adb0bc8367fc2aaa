"""AHBA microarray: ingest next to polars' parse of the same CSVs; queries next to pandas.

Targets (issue 3), at full scale (six donors, 3,702 samples, 58,692 probes):
- `brainwh ingest microarray` <= 1.5x polars' parse of the same MicroarrayExpression.csv and
  PACall.csv files, peak RSS <= 3 GB;
- warm: one gene from regional_expression <= 20 ms; differential_search and
  correlation_search genome-wide <= 1 s; one structure's markers <= 50 ms; the whole gene x
  structure matrix no slower than the same aggregate in pandas on the wide matrices.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.common import generated, line, timed, verdict

GENE = "PPP1R1B"
QUERIES = {
    "one gene from regional_expression": (
        f"select * from regional_expression where gene_symbol = '{GENE}'", 0.020, 30),
    "one structure's markers (Str)": (
        "select * from region_markers where structure_acronym = 'Str'", 0.050, 30),
    "differential_search(['FL'], ['Str'])": (
        "select * from differential_search(['FL'], ['Str'])", 1.0, 5),
    "differential_search(['Str'], ['CX'])": (
        "select * from differential_search(['Str'], ['CX'])", 1.0, 5),
    f"correlation_search('{GENE}', ['Br'])": (
        f"select * from correlation_search('{GENE}', ['Br'])", 1.0, 5),
    f"correlation_search('{GENE}', ['CN'])": (
        f"select * from correlation_search('{GENE}', ['CN'])", 1.0, 5),
}
EXTRA = {  # no target: figures for the README
    "differential_search_probes(['Str'], ['CX'])": (
        "select * from differential_search_probes(['Str'], ['CX'])", 1),
    "one probe from ahba_expression (3,702 rows)": (
        "select * from ahba_expression where probe_id = 1058685", 10),
}
WHOLE = ("select gene_symbol, structure_id, mean_expression, n_samples, n_donors "
         "from regional_expression")


def ensure_release(workdir: Path, scale: str) -> Path:
    from ingest.sample import microarray

    return generated(workdir, "ahba", scale, [microarray.write]) / "ahba"


def matrices(root: Path) -> list[Path]:
    return sorted(root.glob("*/MicroarrayExpression.csv")) + sorted(root.glob("*/PACall.csv"))


def polars_parse(files: list[Path]) -> float:
    import polars as pl

    def parse_all() -> None:
        for path in files:
            pl.read_csv(path, has_header=False)

    return min(timed(parse_all) for _ in range(2))


def ingest(root: Path, db: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of `brainwh ingest microarray` in a fresh process."""
    for leftover in (db, db.with_name(db.name + ".wal")):
        leftover.unlink(missing_ok=True)
    probe = ("import resource, subprocess, sys, time\n"
             "started = time.perf_counter()\n"
             f"subprocess.run([sys.executable, '-m', 'warehouse', 'ingest', 'microarray', "
             f"{str(root)!r}, '--db', {str(db)!r}], check=True, stdout=subprocess.DEVNULL, "
             "stderr=subprocess.DEVNULL)\n"
             "print(time.perf_counter() - started, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout.split()
    return float(out[0]), float(out[1]) / 1024 / 1024


def pandas_frames(root: Path):
    """The tutorial's starting point: each donor's wide matrix and annotations in pandas."""
    import pandas as pd

    frames = {}
    for folder in sorted(root.glob("normalized_microarray_donor*")):
        probes = pd.read_csv(folder / "Probes.csv")
        samples = pd.read_csv(folder / "SampleAnnot.csv")
        wide = pd.read_csv(folder / "MicroarrayExpression.csv", header=None, index_col=0)
        frames[folder.name] = (probes, samples, wide)
    ontology = pd.read_csv(next(root.glob("*/Ontology.csv")))
    return frames, ontology


def pandas_regional(frames, ontology):
    """regional_expression in pandas: probes -> genes (groupby), samples -> structures with
    their descendants (a membership matrix), donor means averaged over donors."""
    import numpy as np
    import pandas as pd

    paths = {int(i): [int(x) for x in p.strip("/").split("/")]
             for i, p in zip(ontology["id"], ontology["structure_id_path"], strict=True)}
    total, donors = None, None
    for probes, samples, wide in frames.values():
        refseq = probes.set_index("probe_id").loc[wide.index]
        keep = refseq["entrez_id"].notna().to_numpy()
        genes = wide[keep].groupby(refseq["gene_symbol"].to_numpy()[keep]).mean()
        regions = sorted({a for s in samples["structure_id"] for a in paths[int(s)]})
        member = pd.DataFrame(0.0, index=range(len(samples)), columns=regions)
        for k, structure in enumerate(samples["structure_id"]):
            member.loc[k, paths[int(structure)]] = 1.0
        counts = member.sum()
        means = pd.DataFrame(genes.to_numpy() @ member.to_numpy() / counts.to_numpy(),
                             index=genes.index, columns=regions)
        if total is None:
            total, donors = means, pd.Series(1, index=regions)
        else:
            total = total.add(means, fill_value=0)
            donors = donors.add(pd.Series(1, index=regions), fill_value=0)
    return total / donors.reindex(total.columns).to_numpy() if total is not None else np.nan


def run(workdir: Path, args) -> None:
    import duckdb

    root = ensure_release(workdir, args.scale)
    files = matrices(root)
    size = sum(f.stat().st_size for f in files) / 1e6
    print(f"  {len(files)} matrix files, {size:,.0f} MB", flush=True)

    baseline = polars_parse(files)
    line("polars read_csv of the same files (baseline)", f"{baseline:.2f} s",
         f"{size / baseline:,.0f} MB/s")
    db = workdir / "ahba-bench.duckdb"
    runs = [ingest(root, db) for _ in range(2)]
    wall = min(r[0] for r in runs)
    peak = max(r[1] for r in runs)
    line("brainwh ingest microarray (best of 2)", f"{wall:.2f} s",
         verdict(wall / baseline, 1.5) + f"; runs {', '.join(f'{r[0]:.1f}' for r in runs)} s")
    line("  peak RSS of the ingest", f"{peak:.2f} GB", "target ≤ 3 GB " +
         ("OK" if peak <= 3 else "MISSED"))
    line("  warehouse size", f"{db.stat().st_size / 1e9:.2f} GB")

    con = duckdb.connect(str(db), read_only=True)
    try:
        for label, (sql, target, repeat) in QUERIES.items():
            con.execute(sql).fetchall()  # warm
            seconds = timed(lambda sql=sql: con.execute(sql).fetchall(), repeat=repeat)
            line(label, f"{seconds * 1000:.1f} ms", verdict(seconds / target, 1.0) +
                 f" of {target * 1000:.0f} ms")
        for label, (sql, repeat) in EXTRA.items():
            con.execute(sql).fetchall()
            seconds = timed(lambda sql=sql: con.execute(sql).fetchall(), repeat=repeat)
            line(label, f"{seconds * 1000:.1f} ms", "(no target)")
        con.sql(WHOLE).to_arrow_table()
        whole = timed(lambda: con.sql(WHOLE).to_arrow_table(), repeat=3)
        cells = con.execute(f"select count(*) from ({WHOLE})").fetchone()[0]
    finally:
        con.close()

    print("  loading the wide matrices into pandas for the baseline ...", flush=True)
    started = time.perf_counter()
    frames, ontology = pandas_frames(root)
    load = time.perf_counter() - started
    line("pandas: read the six wide matrices (tutorial step)", f"{load:.1f} s")
    aggregate = timed(lambda: pandas_regional(frames, ontology), repeat=2)
    line("pandas: whole gene x structure matrix (baseline)", f"{aggregate:.2f} s")
    line(f"whole regional_expression to Arrow ({cells:,} rows)", f"{whole:.2f} s",
         verdict(whole / aggregate, 1.0) + " of pandas")
    first = next(iter(frames.values()))
    one = timed(lambda: _pandas_one_gene(first), repeat=5)
    line("pandas: one gene x structures, one donor (reference)", f"{one * 1000:.0f} ms")


def _pandas_one_gene(frame) -> None:
    probes, samples, wide = frame
    ids = probes.loc[probes["gene_symbol"] == GENE, "probe_id"]
    values = wide.loc[ids].mean()
    values.groupby(samples["structure_id"].to_numpy()).mean()
