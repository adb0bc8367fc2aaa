"""The sample release's biology is what a neuroscientist expects: each ABC subclass only where
its real name and the literature place it, with the literature's proportions where it gives
them, and a human ontology whose hippocampal formation is AHBA's own. Checked on the written
release (built into `tiny_db`) and, for proportions, on the generator's probabilities."""

from __future__ import annotations

import csv

import duckdb
import numpy as np
import pytest

from ingest.sample import abc, human_ontology

TELENCEPHALIC_ROIS = {roi for group in abc.TELENCEPHALON for roi in abc.ROI_GROUPS[group]}
# subclass -> the only dissection regions it may appear in (from its name and the literature)
ONLY_IN = {
    "316 Bergmann NN": {"CB"},
    "317 Astro-CB NN": {"CB"},
    "313 CBX Purkinje Gaba": {"CB"},
    "314 CB Granule Glut": {"CB"},
    "322 Tanycyte NN": {"HY"},
    "320 Astro-OLF NN": {"OLF"},
    "328 OEC NN": {"OLF"},
    "035 OB Eomes Ms4a15 Glut": {"OLF"},
    "016 CA1-ProS Glut": {"HIP", "RHP"},
    "017 CA3 Glut": {"HIP"},
    "037 DG Glut": {"HIP"},
    "020 L2/3 IT RSP Glut": {"RSP"},
    "061 STR D1 Gaba": {"STRd", "STRv"},
    "062 STR D2 Gaba": {"STRd", "STRv"},
    "151 TH Prkcd Grin2c Glut": {"TH"},
    "318 Astro-NT NN": {"HY", "TH", "MB", "P", "MY"},
    "319 Astro-TE NN": TELENCEPHALIC_ROIS - {"OLF"},
}


@pytest.fixture(scope="module")
def composition(tiny_db) -> dict[str, dict[str, int]]:
    """ROI -> subclass -> cells, as the tiny release was written and loaded."""
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        rows = con.execute("select region_acronym, cell_type, n_cells from composition "
                           "where region_kind = 'roi' and level = 'subclass'").fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, int]] = {}
    for roi, subclass, n in rows:
        out.setdefault(roi, {})[subclass] = n
    return out


@pytest.mark.parametrize("subclass", sorted(ONLY_IN))
def test_a_subclass_appears_only_where_it_lives(composition, subclass):
    found = {roi for roi, counts in composition.items() if counts.get(subclass)}
    assert found, f"{subclass} is missing from the sample"
    assert found <= ONLY_IN[subclass], f"{subclass} found in {sorted(found - ONLY_IN[subclass])}"


def test_top_subclasses_of_well_known_regions(composition):
    def top(roi: str) -> str:
        return max(composition[roi], key=composition[roi].get)

    assert top("CB") == "314 CB Granule Glut"
    assert top("HIP") == "037 DG Glut"
    assert top("TH") == "151 TH Prkcd Grin2c Glut" or top("TH").endswith("Glut")
    assert top("OLF") == "035 OB Eomes Ms4a15 Glut"
    strd = composition["STRd"]
    d1, d2 = strd["061 STR D1 Gaba"] + strd.get("063 STR D1 Sema5a Gaba", 0), \
        strd["062 STR D2 Gaba"]
    assert (d1 + d2) / sum(strd.values()) > 0.5 and 0.6 < d1 / d2 < 1.6


@pytest.fixture(scope="module")
def probabilities():
    """Subclass probabilities per ROI from the generator (the small scale's taxonomy)."""
    tax = abc.make_taxonomy(np.random.default_rng(42), 700, 2_000)
    regions = abc.subclass_regions(tax.subclasses)
    of_cluster = tax.supertype_subclass[tax.cluster_supertype]

    def per_subclass(roi: str) -> dict[str, float]:
        p = abc.cluster_probabilities(tax, roi, regions)
        shares = np.bincount(of_cluster, weights=p, minlength=len(tax.subclasses))
        return dict(zip(tax.subclasses, shares, strict=True))

    return {roi: per_subclass(roi) for roi in abc.ROI_ORDER}


def test_literature_proportions(probabilities):
    cb = probabilities["CB"]
    assert max(cb, key=cb.get) == "314 CB Granule Glut" and cb["314 CB Granule Glut"] > 0.4
    assert cb["316 Bergmann NN"] > cb["317 Astro-CB NN"]
    assert cb["311 CBX MLI Megf11 Gaba"] > cb["313 CBX Purkinje Gaba"]
    hip = probabilities["HIP"]
    assert hip["037 DG Glut"] > hip["016 CA1-ProS Glut"] > hip["017 CA3 Glut"] \
        > hip["025 CA2-FC-IG Glut"]
    strd = probabilities["STRd"]
    assert 0.8 < strd["062 STR D2 Gaba"] / (strd["061 STR D1 Gaba"]
                                            + strd["063 STR D1 Sema5a Gaba"]) < 1.25
    assert strd["058 PAL-STR Gaba-Chol"] < 0.01  # cholinergic interneurons: ~1% of striatum
    for roi in abc.ROI_ORDER:  # oligodendrocytes outnumber their precursors everywhere
        assert probabilities[roi]["327 Oligo NN"] > probabilities[roi]["326 OPC NN"]
    # no region-specific glia outside its region, at any scale
    for roi, shares in probabilities.items():
        for subclass, allowed in ONLY_IN.items():
            if roi not in allowed:
                assert shares[subclass] == 0, (roi, subclass)


def test_every_rule_names_a_real_subclass():
    with open(abc.data_file("WMB-taxonomy_20231215_subclass.tsv"), newline="") as handle:
        real = {row["subclass"] for row in csv.DictReader(handle, delimiter="\t")}
    named = set(abc.SUBCLASS_REGIONS) | {n for shares in abc.SUBCLASS_SHARES.values()
                                         for n in shares} | set(ONLY_IN)
    assert named <= real, sorted(named - real)


# ---------------------------------------------------------------------- human ontology

def test_the_hippocampal_formation_is_ahbas(tiny_release):
    path = tiny_release / "ahba" / "normalized_microarray_donor9861" / "Ontology.csv"
    with open(path, newline="") as handle:
        rows = {int(row["id"]): row for row in csv.DictReader(handle)}
    hif = rows[4249]
    assert (hif["acronym"], hif["name"]) == ("HiF", "hippocampal formation")
    assert hif["structure_id_path"] == "/4005/4006/4007/4008/4219/4249/"
    assert rows[4219]["name"] == "limbic lobe"
    children = {r["acronym"]: r["name"] for r in rows.values()
                if r["parent_structure_id"] == "4249"}
    assert children == {"CA1": "CA1 field", "CA2": "CA2 field", "CA3": "CA3 field",
                        "CA4": "CA4 field", "DG": "dentate gyrus", "S": "subiculum"}
    # the real ids and path of the subiculum leaves (abagen's tests)
    assert rows[4251]["structure_id_path"] == "/4005/4006/4007/4008/4219/4249/12896/4251/"
    assert (rows[4251]["name"], rows[4251]["hemisphere"]) == ("subiculum, left", "L")
    assert (rows[4260]["name"], rows[4260]["hemisphere"]) == ("subiculum, right", "R")
    assert rows[4322]["structure_id_path"] == "/4005/4006/4007/4275/4321/4322/"
    assert len({r.structure_id for r in human_ontology.rows()}) == len(human_ontology.rows())


def test_every_donor_has_hippocampal_samples_with_hippocampal_genes(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        donors = con.execute(
            "select d.donor_id, count(s.well_id) from ahba_donors as d "
            "left join (select x.* from ahba_samples as x join structure_ancestors as a "
            "  on a.species = 'human' and a.structure_id = x.structure_id "
            "  where a.ancestor_id = 4249) as s on s.donor_id = d.donor_id "
            "group by d.donor_id").fetchall()
        prox1 = dict(con.execute(
            "select structure_acronym, mean_expression from regional_expression "
            "where gene_symbol = 'PROX1' and structure_acronym in ('HiF', 'CX')").fetchall())
    finally:
        con.close()
    assert len(donors) == 6 and all(n >= 1 for _, n in donors), donors
    assert prox1["HiF"] > prox1["CX"] + 1  # PROX1 marks the dentate granule cells
