"""Loading the donors: metadata and checks first, then the matrices donor by donor.

A load replaces every AHBA table (like the other sources, a source is loaded as a whole). Each
donor's matrices are parsed (`matrix`), encoded and appended to DuckDB, and its gene-level
values fed to the statistics (`derive.Stats`) while they are in memory in double precision.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import duckdb
import numpy as np
import pyarrow as pa

from ingest.ahba import arrays, derive, matrix, metadata
from ingest.ahba.donors import Donor, donor_facts
from ingest.ahba.metadata import ProbeSet, probes_table, samples_table
from ingest.ahba.schema import CODE_OFFSET, CODE_SCALE, DDL
from ingest.base import Report, SourceFile, check_md5, log_file
from warehouse import progress

KIND = "microarray"
AHBA_TABLES = [statement.split()[5] for statement in DDL]


def load(con: duckdb.DuckDBPyConnection, donors: list[Donor], report: Report) -> None:
    probes = metadata.read_probes(con, donors)
    n_samples = {d.uid: metadata.read_samples(con, d) for d in donors}
    metadata.check_wells_across(con, donors)
    wells = {d.uid: con.execute(f"select well_id from {samples_table(d)}").fetchnumpy()["well_id"]
             for d in donors}
    for table in AHBA_TABLES:
        con.execute(f"delete from {table}")
    _write_metadata(con, donors, probes)
    leaves = np.unique(np.concatenate([
        con.execute(f"select structure_id from {samples_table(d)}").fetchnumpy()["structure_id"]
        for d in donors]))
    stats = derive.Stats(derive.tree(con, leaves, report), probes.genes, probes.entrez)
    total = sum(d.size("expression") + d.size("pacall") for d in donors)
    # gene-level values of all samples, written once at the end (one row per gene): appending
    # per donor would rewrite the table's row group at every donor
    pooled = np.empty((sum(n_samples.values()), len(probes.genes)), dtype=np.float32)
    offsets = dict(zip([d.uid for d in donors],
                       np.cumsum([0] + [n_samples[d.uid] for d in donors]).tolist(),
                       strict=False))
    with arrays.uncompressed(con), progress.bar("AHBA microarray", total, unit="B") as bar:
        for donor, matrices, seconds in _parsed(donors, probes, wells, bar):
            started = time.perf_counter()
            structures = con.execute(f"select structure_id from {samples_table(donor)}"
                                     ).fetchnumpy()["structure_id"]
            first = offsets[donor.uid]
            rows = pooled[first:first + n_samples[donor.uid]]
            arrays.append(con, "ahba_expression_arrays",
                          _encode(donor, matrices, probes, stats, stats.leaf_of(structures),
                                  rows))
            for role, parsed in matrices.items():
                _log(con, donor, role, parsed.md5, len(probes.probe_id))
                donor.release(role)
            mb = sum(m.size for m in matrices.values()) / 1e6
            progress.note(f"  {donor.label}: {n_samples[donor.uid]:,} samples x "
                          f"{len(probes.probe_id):,} probes, {mb:,.0f} MB parsed in "
                          f"{seconds:.1f} s, stored in {time.perf_counter() - started:.1f} s")
        arrays.append(con, "ahba_gene_samples", {
            "gene_symbol": pa.array(probes.genes), "centered": arrays.lists(pooled.T)})
        del pooled
        stats.write(con)
    _write_genes(con, probes, stats.center)
    for donor in donors:
        for role in ("probes", "sample_annot"):
            source = donor.files[role]
            rows = len(probes.probe_id) if role == "probes" else n_samples[donor.uid]
            _log(con, donor, role, check_md5(source), rows, source)
    con.execute("insert into ahba_derive_state values (?, (" + derive.FINGERPRINT + "))",
                [dt.datetime.now(dt.UTC).isoformat()])


def _log(con, donor: Donor, role: str, md5: str, rows: int,
         source: SourceFile | None = None) -> None:
    source = source or donor.files[role]
    table = {"expression": "ahba_expression_arrays", "pacall": "ahba_expression_arrays",
             "probes": "ahba_probes", "sample_annot": "ahba_samples"}[role]
    entry = SourceFile(path=source.path, role=f"{role}_{donor.uid}", uri=source.uri)
    log_file(con, entry, kind=KIND, table=table, rows=rows, md5=md5)


def _write_metadata(con: duckdb.DuckDBPyConnection, donors: list[Donor],
                    probes: ProbeSet) -> None:
    reference = probes_table(donors[0])
    con.execute(
        f"""
        insert into ahba_probes
        select {metadata.select_columns(con, reference, metadata.PROBE_COLUMNS,
                                        metadata.PROBE_TYPES)}, entrez_id is not null
        from {reference}
        """)
    offset = 0
    for donor in donors:
        table = samples_table(donor)
        columns = metadata.select_columns(con, table, metadata.SAMPLE_COLUMNS,
                                          metadata.SAMPLE_TYPES)
        con.execute(
            f"""
            insert into ahba_samples by name
            select {donor.uid} as donor_id, row_number() over () as sample_index,
                   {offset} + row_number() over () as array_index, *
            from (select {columns} from {table})
            """)
        offset += con.execute(f"select count(*) from {table}").fetchone()[0]
    facts = donor_facts()
    for uid in sorted(set(facts) | {d.uid for d in donors}):
        row = facts.get(uid, {})
        con.execute(
            "insert into ahba_donors values (?, ?, ?, ?, ?, ?, ?, "
            "(select nullif(count(*), 0) from ahba_samples where donor_id = ?))",
            [uid, row.get("donor"), _number(row.get("age"), int), row.get("sex"),
             row.get("ethnicity"), row.get("medical_conditions"),
             _number(row.get("post_mortem_interval_hours"), float), uid])


def _write_genes(con: duckdb.DuckDBPyConnection, probes: ProbeSet, center: np.ndarray) -> None:
    arrays.append(con, "ahba_genes", {
        "gene_symbol": pa.array(probes.genes), "entrez_id": pa.array(probes.entrez),
        "n_probes": pa.array(probes.probes_per_gene.astype(np.int32)),
        "center": pa.array(center)})


def _number(text: str | None, kind):
    try:
        return kind(text) if text not in (None, "") else None
    except ValueError:
        return None


def _parsed(donors: list[Donor], probes: ProbeSet, wells: dict[int, np.ndarray], bar
            ) -> Iterator[tuple[Donor, dict[str, matrix.Matrix], float]]:
    """(donor, its parsed matrices, parse seconds), one donor at a time (the md5 of each file
    is computed beside its parse). Parsing the next donor in a thread while storing this one
    was measured slower on two cores: both halves allocate and fault in large buffers."""
    for donor in donors:
        started = time.perf_counter()
        parsed = {}
        for role in ("expression", "pacall"):
            parsed[role] = matrix.parse(donor, donor.local(role), role, probes, wells[donor.uid])
            bar.update(parsed[role].size)
        yield donor, parsed, time.perf_counter() - started


def _encode(donor: Donor, matrices: dict[str, matrix.Matrix], probes: ProbeSet,
            stats: derive.Stats, leaves: np.ndarray, genes_by_sample: np.ndarray) -> dict:
    """One donor's measurements as codes (see schema), one row per probe; its gene-level
    values go to `genes_by_sample` (centered, single precision) and, in double, to the
    statistics."""
    expression, present = matrices["expression"].columns, matrices["pacall"].columns
    n, n_probes, n_genes = len(expression), len(probes.probe_id), len(probes.genes)
    refseq = probes.gene_of_probe >= 0
    gene_index = probes.gene_of_probe[refseq]
    counts = probes.probes_per_gene.astype(np.float64)
    # two samples per 64-bit element (DuckDB's cost is per element): an even number of lanes
    codes_by_sample = np.empty((n + n % 2, n_probes), dtype=np.uint32)
    codes_by_sample[n:] = 0  # the padding lane of an odd sample count
    scratch = np.empty(n_probes, dtype=np.float64)
    gene_values = np.empty(n_genes, dtype=np.float64)
    for j in range(n):
        values = expression[j]
        np.multiply(values, CODE_SCALE, out=scratch)
        np.rint(scratch, out=scratch)
        scratch *= 2
        scratch += present[j]
        scratch += CODE_OFFSET
        codes_by_sample[j] = scratch
        np.divide(np.bincount(gene_index, weights=values[refseq], minlength=n_genes), counts,
                  out=gene_values)
        genes_by_sample[j] = stats.add(int(leaves[j]), gene_values)  # centered
        expression[j] = present[j] = None  # free as we go
    stats.end_donor()
    codes = arrays.lists(np.ascontiguousarray(codes_by_sample.T).view(np.uint64))
    return {"donor_id": pa.array(np.full(n_probes, donor.uid, dtype=np.int32)),
            "probe_id": pa.array(probes.probe_id), "codes": codes}
