"""The sample release's MERFISH cells and CCF parcellation: real layout and quirks, consistent
with the sample taxonomy and ontology, and cell types where they belong."""

from __future__ import annotations

import re

import duckdb
import pytest

from ingest.sample import merfish, parcellation


@pytest.fixture(scope="module")
def tiny(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    yield con
    con.close()


def test_files_in_the_real_layout(tiny_release):
    metadata = tiny_release / merfish.METADATA_FOLDER / "cell_metadata.csv"
    header = metadata.read_text().splitlines()[0]
    assert header == ("cell_label,brain_section_label,cluster_alias,average_correlation_score,"
                      "feature_matrix_label,donor_label,donor_genotype,donor_sex,x,y,z,"
                      "abc_sample_id")
    for name in ("ccf_coordinates.csv", "reconstructed_coordinates.csv"):
        lines = (tiny_release / merfish.CCF_FOLDER / name).read_text().splitlines()
        assert lines[0] == "cell_label,x,y,z,parcellation_index"
        assert len(lines) == merfish.SCALES["tiny"] + 1
    folder = tiny_release / parcellation.FOLDER
    assert sorted(p.name for p in folder.glob("*.csv")) == [
        "parcellation.csv", "parcellation_term.csv", "parcellation_term_set.csv",
        "parcellation_term_set_membership.csv",
        "parcellation_to_parcellation_term_membership.csv"]
    import hashlib  # the term set file is the real one, byte for byte (20250531 manifest md5)

    assert hashlib.md5((folder / "parcellation_term_set.csv").read_bytes()).hexdigest() == \
        "155d483d300976e9791803bfa8b48354"


def test_the_printed_parcellation_rows_are_reproduced(tiny_release):
    """Every index → acronym row Allen's notebooks print (tests/fixtures/real/...views)."""
    from pathlib import Path

    real = (Path(__file__).parent / "fixtures" / "real" / "abc_cache" / "metadata" /
            "Allen-CCF-2020" / "20230630" / "views" /
            "parcellation_to_parcellation_term_membership_acronym.csv").read_text().splitlines()
    ours = (tiny_release / parcellation.FOLDER / "views" /
            "parcellation_to_parcellation_term_membership_acronym.csv").read_text().splitlines()
    assert set(real) <= set(ours)
    real_head = (Path(__file__).parent / "fixtures" / "real" / "abc_cache" / "metadata" /
                 "Allen-CCF-2020" / "20230630" / "parcellation.csv").read_text().splitlines()
    ours_head = (tiny_release / parcellation.FOLDER / "parcellation.csv"
                 ).read_text().splitlines()
    assert set(real_head) <= set(ours_head)


def test_cells_keys_and_quirks(tiny):
    rows, labels, suffixed, sections, aliases = tiny.execute(
        "select count(*), count(distinct cell_label), count(*) filter (where cell_label like "
        "'%-1'), count(distinct brain_section_label), count(distinct cluster_alias) "
        "from spatial_cells").fetchone()
    assert rows == labels == merfish.SCALES["tiny"]
    assert 0 < suffixed < rows * 0.1 and sections >= 55 and aliases > 100
    assert all(re.fullmatch(r"\d{19}(-1)?", label) for (label,) in tiny.execute(
        "select cell_label from spatial_cells limit 200").fetchall())
    # every cluster is the taxonomy's and every index the parcellation's
    assert tiny.execute("select count(*) from spatial_cells where cluster_alias not in "
                        "(select cluster_alias from cell_types) or parcellation_index not in "
                        "(select parcellation_index from parcellations)").fetchone() == (0,)
    # the sections' z are the real ones (0.2 mm × the slice index) and gaps stay gaps
    found = dict(tiny.execute("select brain_section_label, any_value(z_section) from "
                              "spatial_cells group by 1").fetchall())
    assert found.get("C57BL6J-638850.40") == pytest.approx(7.2)
    assert found.get("C57BL6J-638850.13") == pytest.approx(2.4)
    assert not {f"C57BL6J-638850.{n:02d}" for n in (7, 20, 21, 22, 23, 34, 41, 53, 63, 65)} \
        & set(found)
    assert tiny.execute("select count(*) from spatial_cells where z_reconstructed <> z_section"
                        ).fetchone() == (0,)
    left, right = tiny.execute("select count(*) filter (where hemisphere = 'left'), "
                               "count(*) filter (where hemisphere = 'right') "
                               "from spatial_cells").fetchone()
    assert abs(left - right) < 0.1 * (left + right)


def test_cell_types_where_they_belong(tiny):
    def share(subclass_pattern: str, where: str) -> float:
        return tiny.execute(
            f"""
            select avg(({where})::int) from spatial_cells c
            join parcellations p using (parcellation_index)
            join cell_types t using (cluster_alias)
            where regexp_matches(t.subclass, '{subclass_pattern}')
            """).fetchone()[0]

    assert share("L2/3 IT CTX", "p.division = 'Isocortex'") > 0.8
    assert share("L2/3 IT CTX", "p.substructure like '%2/3'") > 0.6
    assert share("L6 CT CTX", "p.substructure like '%6a'") > 0.5
    assert share("STR D[12] Gaba", "p.division = 'STR'") > 0.8
    assert share("CB Granule", "p.division = 'CB'") > 0.8
    assert share("Oligo NN", "p.category = 'fiber tracts'") > 0.2
    # the isocortex's layers lie at their depths: layer 1 above layer 6a in every area
    (inverted,) = tiny.execute(
        """
        select count(*) from (
            select p.structure, avg(c.y_ccf) filter (where p.substructure like '%1') as l1,
                   avg(c.y_ccf) filter (where p.substructure like '%6a') as l6
            from spatial_cells c join parcellations p using (parcellation_index)
            where p.division = 'Isocortex' and abs(c.z_ccf - 5.7) < 2 group by 1)
        where l1 > l6
        """).fetchone()
    assert inverted == 0
