"""The sample release's AHBA part: the real layout and vocabulary, and sensible biology."""

from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path

import duckdb
import numpy as np

from ingest.sample import microarray
from ingest.sample.ontology import data_file

UIDS = ["9861", "10021", "12876", "14380", "15496", "15697"]
TOP_LEVEL = {4005, 4006, 4008, 4275, 4391, 4696, 9001, 9131, 9218, 9512}
FILES = ["MicroarrayExpression.csv", "PACall.csv", "Probes.csv", "SampleAnnot.csv",
         "Ontology.csv"]


def donor_folder(release: Path, uid: str) -> Path:
    return release / "ahba" / f"normalized_microarray_donor{uid}"


def test_layout_and_formats(tiny_release):
    for uid in UIDS:
        folder = donor_folder(tiny_release, uid)
        assert all((folder / name).exists() for name in FILES), folder
    folder = donor_folder(tiny_release, "9861")
    with open(folder / "SampleAnnot.csv", newline="") as handle:
        samples = list(csv.DictReader(handle))
    first = (folder / "MicroarrayExpression.csv").read_text().splitlines()[0].split(",")
    assert first[0].isdigit() and len(first) == len(samples) + 1  # no header
    assert all(re.fullmatch(r"\d+\.\d{11}", value) for value in first[1:])
    pacall = (folder / "PACall.csv").read_text().splitlines()[0].split(",")
    assert pacall[0] == first[0] and set(pacall[1:]) <= {"0", "1"}
    assert {s["slab_type"] for s in samples} <= {"CX", "CB", "BS"}
    ontologies = {donor_folder(tiny_release, uid).joinpath("Ontology.csv").read_bytes()
                  for uid in UIDS}
    assert len(ontologies) == 1  # the same file in every folder
    with open(folder / "Ontology.csv", newline="") as handle:
        ontology = {int(row["id"]): row for row in csv.DictReader(handle)}
    assert TOP_LEVEL <= set(ontology)
    assert ontology[4008]["acronym"] == "CX" and ontology[4696]["acronym"] == "Cb"
    # left and right twins share an acronym, hemisphere says which
    twins = [r for r in ontology.values() if r["acronym"] == "MTG-i"]
    assert sorted(r["hemisphere"] for r in twins) == ["L", "R"]


def test_probes_use_the_real_vocabulary(tiny_release):
    with gzip.open(data_file("ahba_probes_reannotated.csv.gz"), "rt", newline="") as handle:
        real = {row["probe_name"]: row["gene_symbol"] for row in csv.DictReader(handle)}
    with open(donor_folder(tiny_release, "9861") / "Probes.csv", newline="") as handle:
        probes = list(csv.DictReader(handle))
    refseq = [p for p in probes if p["entrez_id"]]
    non_refseq = [p for p in probes if not p["entrez_id"]]
    assert non_refseq and all(p["gene_symbol"] == p["probe_name"] for p in non_refseq)
    assert sum(p["probe_name"] in real for p in refseq) >= 0.9 * len(refseq)
    assert all(real[p["probe_name"]] == p["gene_symbol"] for p in refseq
               if p["probe_name"] in real)


def test_full_scale_is_the_real_size():
    assert sum(microarray.REAL_SAMPLES.values()) == 3702
    assert microarray.REAL_SAMPLES["9861"] == 946 and microarray.SCALES["full"][1] == 1.0
    probes = microarray.make_probes(None, np.random.default_rng(0))
    assert len(probes.probe_id) == 58_692 == len(set(probes.probe_id.tolist()))
    assert (probes.gene_index < 0).sum() > 5_000  # non-RefSeq probes


def test_biology_is_sensible(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        up = [g for (g,) in con.execute(
            "select gene_symbol from differential_search(['Str'], ['CX']) limit 10").fetchall()]
        assert len({"PPP1R1B", "DRD1", "DRD2", "PENK", "TAC1", "GPR88", "RGS9", "PDE10A",
                    "RASD2", "GPR6", "RXRG", "PDE1B"} & set(up)) >= 6, up
        top = con.execute(
            "select structure_acronym from regional_expression where gene_symbol = 'MBP' "
            "and n_samples >= 2 order by mean_expression desc limit 1").fetchone()[0]
        white = {a for (a,) in con.execute(
            "select acronym from structure_descendants('WM', 'human')").fetchall()}
        assert top in white
        partners = [g for (g,) in con.execute(
            "select gene_symbol from correlation_search('PCP2', ['Br']) limit 5").fetchall()]
        assert {"CBLN1", "GABRA6", "ZIC1", "ZIC2", "NEUROD1", "CAR8", "CALB1"} & set(partners)
    finally:
        con.close()
