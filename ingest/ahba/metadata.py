"""`Probes.csv` and `SampleAnnot.csv`: typed reads and the checks across donors.

Every donor must list the same probes; SampleAnnot's structure ids must exist in the human
ontology; well ids are unique across donors. Errors name the donor, file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from ingest.ahba.donors import Donor
from ingest.base import check_not_null, check_unique, load_csv
from warehouse.errors import DataError

PROBE_TYPES = {"probe_id": "BIGINT", "gene_id": "BIGINT", "entrez_id": "BIGINT"}
PROBE_REQUIRED = ("probe_id", "probe_name", "gene_symbol", "entrez_id")
PROBE_COLUMNS = ("probe_id", "probe_name", "gene_id", "gene_symbol", "gene_name", "entrez_id",
                 "chromosome")
SAMPLE_TYPES = {"structure_id": "BIGINT", "slab_num": "INTEGER", "well_id": "BIGINT",
                "polygon_id": "BIGINT", "mri_voxel_x": "INTEGER", "mri_voxel_y": "INTEGER",
                "mri_voxel_z": "INTEGER", "mni_x": "DOUBLE", "mni_y": "DOUBLE", "mni_z": "DOUBLE"}
SAMPLE_REQUIRED = ("structure_id", "well_id")
SAMPLE_COLUMNS = ("well_id", "structure_id", "structure_acronym", "structure_name", "slab_num",
                  "slab_type", "polygon_id", "mri_voxel_x", "mri_voxel_y", "mri_voxel_z",
                  "mni_x", "mni_y", "mni_z")


def probes_table(donor: Donor) -> str:
    return f"_ahba_probes_{donor.uid}"


def samples_table(donor: Donor) -> str:
    return f"_ahba_samples_{donor.uid}"


@dataclass
class ProbeSet:
    """The probes in matrix order, and how they collapse into genes."""

    probe_id: np.ndarray  # int64, in the reference donor's Probes.csv order
    gene_of_probe: np.ndarray  # index into genes; -1 for non-RefSeq probes
    genes: list[str]  # gene symbols of RefSeq probes, sorted
    entrez: list[int]

    @property
    def probes_per_gene(self) -> np.ndarray:
        refseq = self.gene_of_probe[self.gene_of_probe >= 0]
        return np.bincount(refseq, minlength=len(self.genes))


def select_columns(con: duckdb.DuckDBPyConnection, table: str, wanted, types) -> str:
    """`wanted` columns of a temp table, null (typed) where the file did not have them."""
    present = {name for (name,) in con.execute(
        "select column_name from duckdb_columns() where table_name = ?", [table]
    ).fetchall()}
    return ", ".join(name if name in present else f"null::{types.get(name, 'VARCHAR')} as {name}"
                     for name in wanted)


def read_probes(con: duckdb.DuckDBPyConnection, donors: list[Donor]) -> ProbeSet:
    reference: Donor | None = None
    for donor in donors:
        source = donor.files["probes"]
        table = probes_table(donor)
        what = "AHBA Probes.csv"
        load_csv(con, source.path, table, types=PROBE_TYPES, required=PROBE_REQUIRED, what=what,
                 label=source.origin)
        check_not_null(con, table, ["probe_id"], label=source.origin, what=what)
        check_unique(con, table, "probe_id", label=source.origin, what=what)
        if reference is None:
            reference = donor
        else:
            _same_probes(con, reference, donor)
    assert reference is not None
    table = probes_table(reference)
    rows = con.execute(f"select probe_id, gene_symbol, entrez_id is not null as refseq, "
                       f"coalesce(entrez_id, 0) as entrez from {table}").fetchnumpy()
    refseq = np.asarray(rows["refseq"], dtype=bool)
    symbols = np.asarray(rows["gene_symbol"], dtype=object)
    genes = sorted(set(symbols[refseq].tolist()))
    index = {gene: k for k, gene in enumerate(genes)}
    gene_of_probe = np.array([index[s] if ok else -1 for s, ok in zip(symbols, refseq,
                                                                         strict=True)],
                             dtype=np.int64)
    entrez_of: dict[str, int] = {}
    for symbol, entrez, ok in zip(symbols, rows["entrez"], refseq, strict=True):
        if ok:
            entrez_of[symbol] = min(int(entrez), entrez_of.get(symbol, int(entrez)))
    return ProbeSet(np.asarray(rows["probe_id"], dtype=np.int64), gene_of_probe, genes,
                    [entrez_of[g] for g in genes])


def _same_probes(con: duckdb.DuckDBPyConnection, reference: Donor, donor: Donor) -> None:
    mine, theirs = probes_table(donor), probes_table(reference)
    extra = con.execute(
        f"""
        select line, probe_id from (select probe_id, row_number() over () + 1 as line from {mine})
        where probe_id not in (select probe_id from {theirs}) order by line limit 1
        """).fetchone()
    if extra:
        raise DataError(f"{donor.label}: probe_id {extra[1]} is not in {reference.label}'s "
                        "Probes.csv; every donor has the same probes",
                        file=donor.files["probes"].origin, line=extra[0], column="probe_id",
                        hint="the donor folders come from different releases: download them "
                        "again")
    missing = con.execute(
        f"""
        select line, probe_id from (select probe_id, row_number() over () + 1 as line
                                    from {theirs})
        where probe_id not in (select probe_id from {mine}) order by line limit 1
        """).fetchone()
    if missing:
        raise DataError(f"{donor.label}: probe_id {missing[1]} (line {missing[0]} of "
                        f"{reference.label}'s Probes.csv) is missing; every donor has the same "
                        "probes", file=donor.files["probes"].origin, column="probe_id",
                        hint="the file is truncated or from another release: download it again")


def check_against_loaded(con: duckdb.DuckDBPyConnection, donors: list[Donor]) -> None:
    """Donors already in the warehouse and kept must share the new donors' probe set."""
    kept = con.execute(
        "select count(*) from ahba_samples where donor_id not in (select unnest(?))",
        [[d.uid for d in donors]]).fetchone()[0]
    if not kept:
        return
    donor = donors[0]
    row = con.execute(
        f"""
        select (select count(*) from {probes_table(donor)}
                where probe_id not in (select probe_id from ahba_probes)),
               (select count(*) from ahba_probes
                where probe_id not in (select probe_id from {probes_table(donor)}))
        """).fetchone()
    if row[0] or row[1]:
        raise DataError(f"{donor.label}: the probes differ from those of the donors already in "
                        f"the warehouse ({row[0]} new, {row[1]} missing)",
                        file=donor.files["probes"].origin, column="probe_id",
                        hint="load all donors of one release together (brainwh build)")


def read_samples(con: duckdb.DuckDBPyConnection, donor: Donor) -> int:
    source = donor.files["sample_annot"]
    table = samples_table(donor)
    what = "AHBA SampleAnnot.csv"
    rows = load_csv(con, source.path, table, types=SAMPLE_TYPES, required=SAMPLE_REQUIRED,
                    what=what, label=source.origin)
    check_not_null(con, table, SAMPLE_REQUIRED, label=source.origin, what=what)
    check_unique(con, table, "well_id", label=source.origin, what=what)
    (human,) = con.execute("select count(*) from structures where species = 'human'").fetchone()
    if not human:
        raise DataError(f"{donor.label}: no human ontology is loaded, so SampleAnnot.csv's "
                        "structure ids cannot be checked", file=source.origin,
                        column="structure_id",
                        hint="load the donor folder's Ontology.csv with it (brainwh ingest "
                        "microarray DONOR_FOLDER does)")
    unknown = con.execute(
        f"""
        select line, structure_id from (
            select structure_id, row_number() over () + 1 as line from {table})
        where structure_id not in (select structure_id from structures where species = 'human')
        order by line limit 1
        """).fetchone()
    if unknown:
        raise DataError(f"{donor.label}: structure_id {unknown[1]} is not in the human ontology",
                        file=source.origin, line=unknown[0], column="structure_id",
                        hint="load the Ontology.csv of the same download (it is in every donor "
                        "folder)")
    return rows


def check_wells_across(con: duckdb.DuckDBPyConnection, donors: list[Donor]) -> None:
    union = " union all ".join(
        f"select {d.uid} as uid, well_id, row_number() over () + 1 as line "
        f"from {samples_table(d)}" for d in donors)
    row = con.execute(
        f"""
        with wells as ({union}),
        numbered as (select *, row_number() over (partition by well_id order by uid, line) as k
                     from wells)
        select uid, line, well_id from numbered where k = 2 order by uid, line limit 1
        """).fetchone()
    if row:
        donor = next(d for d in donors if d.uid == row[0])
        raise DataError(f"{donor.label}: well_id {row[2]} is also a sample of another donor",
                        file=donor.files["sample_annot"].origin, line=row[1], column="well_id",
                        hint="each donor folder is a different donor: check that no folder is "
                        "a renamed copy of another")
