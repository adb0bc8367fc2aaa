"""The real MERFISH, CCF-coordinate and Allen-CCF-2020 rows of the abc_atlas_access cache
fixture (tests/fixtures/real/PROVENANCE.md): what discovery claims, what loads, and the
answers a correct build gives on them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import MOUSE_ONTOLOGY
from tests.helpers import query_rows as rows

CACHE = Path(__file__).resolve().parent / "fixtures" / "real" / "abc_cache"
MERFISH = "metadata/MERFISH-C57BL6J-638850/20241115"
CCF = "metadata/MERFISH-C57BL6J-638850-CCF/20231215"
PARCELLATION = "metadata/Allen-CCF-2020/20230630"
TAXONOMY = "metadata/WMB-taxonomy/20231215"
# the five cells of the real cell_metadata head: rows 6-10 of each coordinates file
CELLS = ["1019171907102340387-1", "1104095349101460194-1", "1017092617101450577",
         "1018093344101130233", "1019171912201610094"]


def _copy(target: Path, relative: str, names=None) -> Path:
    folder = target / relative
    folder.mkdir(parents=True, exist_ok=True)
    for path in (CACHE / relative).iterdir():
        if path.is_file() and (names is None or path.name in names):
            shutil.copyfile(path, folder / path.name)
    return folder


def test_the_release_manifest_claims_the_merfish_and_parcellation_files():
    from ingest import discovery, registry
    from ingest.tree import LocalTree

    found = discovery.plan([LocalTree(CACHE)], registry.SOURCES)
    loading = {e.info.relative: (e.kind, e.table, e.release, e.version, bool(e.md5))
               for e in found.loading() if e.kind in ("spatial", "parcellation")}
    assert loading == {
        f"{MERFISH}/cell_metadata.csv": ("spatial", "spatial_cells", "20250531", "20241115",
                                         True),
        f"{CCF}/ccf_coordinates.csv": ("spatial", "spatial_cells", "20250531", "20231215",
                                       True),
        f"{CCF}/reconstructed_coordinates.csv": ("spatial", "spatial_cells", "20250531",
                                                 "20231215", True),
        **{f"{PARCELLATION}/{name}": ("parcellation", table, "20250531", "20230630", True)
           for name, table in (
               ("parcellation.csv", "parcellations"),
               ("parcellation_to_parcellation_term_membership.csv", "parcellations"),
               ("parcellation_term.csv", "parcellation_terms"),
               ("parcellation_term_set.csv", "parcellation_terms"),
               ("parcellation_term_set_membership.csv", "parcellation_terms"))},
    }
    # Zhuang's CCF coordinates share the file name and header: not claimed
    zhuang = [e for e in found.entries if "Zhuang-ABCA-1-CCF" in e.info.relative]
    assert zhuang and all(e.status == "not loaded" for e in zhuang)


def test_the_real_heads_are_refused_where_they_are_inconsistent(tmp_path):
    """The fixture's coordinate files are the printed heads: their first five cells are not
    among the five metadata cells, which a build must refuse rather than drop."""
    from warehouse.build import run
    from warehouse.errors import DataError

    for relative in (MERFISH, CCF):
        _copy(tmp_path / "cache", relative)
    with pytest.raises(DataError) as caught:
        run(tmp_path / "w.duckdb", [str(tmp_path / "cache")], fresh=True)
    assert str(caught.value).startswith(
        f"{tmp_path / 'cache' / CCF / 'ccf_coordinates.csv'}, line 2, column 'cell_label': "
        "cell '1019171911101460569' is not in the MERFISH cell_metadata.csv")


def test_the_real_parcellation_rows_load(tmp_path):
    """parcellation.csv, the term sets and the membership head (verbatim)."""
    from warehouse.build import run

    folder = _copy(tmp_path / "cache", PARCELLATION, {
        "parcellation.csv", "parcellation_term_set.csv",
        "parcellation_to_parcellation_term_membership.csv"})
    shutil.copyfile(MOUSE_ONTOLOGY, tmp_path / "cache" / "mouse_structures_graph1.csv")
    db = tmp_path / "w.duckdb"
    run(db, [str(folder.parent.parent.parent), str(tmp_path / "cache" /
                                                    "mouse_structures_graph1.csv")], fresh=True)
    assert rows(db, "select parcellation_index, structure_id, round(volume_mm3, 6) "
                "from parcellations order by 1") == [
        (0, None, 697.783214), (63, 68, 0.25652), (135, 140, 0.405256), (140, 145, 0.499566),
        (148, 153, 0.46168), (159, 164, 0.000432), (657, 667, 0.232608), (987, 997, 3.56432),
        (1288, 526157192, 0.371584), (1289, 526157196, 0.112222)]
    # every index is the rank of its structure id among the 1,327 graph-1 ids
    from ingest.sample.parcellation import parcellation_index

    assert all(parcellation_index(sid) == index for index, sid in rows(
        db, "select parcellation_index, structure_id from parcellations where structure_id "
        "is not null"))
    assert rows(db, "select organ, category, category_structure_id, division, "
                "division_structure_id, structure, structure_structure_id, substructure "
                "from parcellations where parcellation_index = 63") == [
        ("brain", "grey", 8, "Isocortex", 315, "FRP", 184, None)]
    assert rows(db, "select structure, structure_label, structure_structure_id, substructure "
                "from parcellations where parcellation_index in (140, 159) order by 1") == [
        ("V4-unassigned", "ABC-Ontology-2023-V4-structure", None, "V4-unassigned"),
        ("c", "ABC-Ontology-2023-c-structure", None, "c")]
    assert rows(db, "select s.acronym from parcellations p join structures s on "
                "s.species = 'mouse' and s.structure_id = p.structure_id "
                "where p.parcellation_index = 63") == [("FRP1",)]


def test_the_real_term_heads_are_refused_where_they_are_inconsistent(tmp_path):
    from warehouse.build import run
    from warehouse.errors import DataError

    folder = _copy(tmp_path / "cache", PARCELLATION)
    with pytest.raises(DataError, match="term 'AllenCCF-Ontology-2017-1009' is not in "
                       "parcellation_term.csv"):
        run(tmp_path / "w.duckdb", [str(folder)], fresh=True)


@pytest.fixture(scope="module")
def real_cells(tmp_path_factory) -> Path:
    """The five real MERFISH cells with their real coordinate rows, the real WMB-taxonomy head
    (it holds their clusters) and the sample release's Allen-CCF-2020 tables, which are the
    real parcellation (ingest/sample/parcellation.py)."""
    from ingest.sample import parcellation
    from warehouse.build import run

    root = tmp_path_factory.mktemp("real") / "cache"
    _copy(root, MERFISH, {"cell_metadata.csv"})
    for name in ("ccf_coordinates.csv", "reconstructed_coordinates.csv"):
        lines = (CACHE / CCF / name).read_text().splitlines(keepends=True)
        (root / CCF).mkdir(parents=True, exist_ok=True)
        (root / CCF / name).write_text(lines[0] + "".join(lines[6:11]))
    _copy(root, TAXONOMY)
    _copy(root, f"{TAXONOMY}/views")
    parcellation.write(root, "tiny", 0)
    shutil.copyfile(MOUSE_ONTOLOGY, root / "mouse_structures_graph1.csv")
    db = root.parent / "w.duckdb"
    run(db, [str(root)], fresh=True)
    return db


def test_the_real_cells_land_in_their_structures(real_cells):
    db = real_cells
    assert rows(db, "select cell_label, cluster_alias, parcellation_index, hemisphere, "
                "round(x_ccf, 6), round(z_section, 1) from spatial_cells order by 1") == sorted([
        ("1019171907102340387-1", 1408, 1160, "right", 7.495417, 6.6),
        ("1104095349101460194-1", 4218, 564, "left", 9.227966, 4.2),
        ("1017092617101450577", 4218, 761, "right", 9.344912, 4.0),
        ("1018093344101130233", 4218, 718, "left", 10.977068, 2.4),
        ("1019171912201610094", 4218, 761, "right", 8.997138, 4.4)])
    assert rows(db, "select c.cell_label, p.division, p.structure, p.substructure "
                "from spatial_cells c join parcellations p using (parcellation_index) "
                "order by 1") == sorted([
        ("1019171907102340387-1", "HPF", "DG", "DG-po"),
        ("1104095349101460194-1", "P", "TRN", "TRN"),
        ("1017092617101450577", "P", "P-unassigned", "P-unassigned"),
        ("1018093344101130233", "cbf", "arb", "arb"),
        ("1019171912201610094", "P", "P-unassigned", "P-unassigned")])
    assert [label for (label,) in rows(db, "select cell_label from spatial_cells")] != []
    assert sorted(label for (label,) in rows(db, "select cell_label from spatial_cells")) == \
        sorted(CELLS)


def test_the_real_cells_composition(real_cells):
    db = real_cells

    def classes(region):
        return rows(db, "select cell_type, n_cells from composition where method = 'spatial' "
                    f"and level = 'class' and region_acronym = '{region}' order by 1")

    assert classes("DG") == [("04 DG-IMN Glut", 1)]
    assert classes("HPF") == [("04 DG-IMN Glut", 1)]
    assert classes("P") == [("23 P Glut", 3)]  # TRN and the pons' unassigned voxels
    assert classes("fiber tracts") == [("23 P Glut", 1)]  # arb
    assert classes("root") == [("04 DG-IMN Glut", 1), ("23 P Glut", 4)]
    # the NA neurotransmitter is a value
    assert rows(db, "select cell_type, n_cells from composition where method = 'spatial' and "
                "level = 'neurotransmitter' and region_acronym = 'DG'") == [("NA", 1)]
    assert rows(db, "select hemisphere, n_cells from cell_density where structure_acronym = "
                "'P' and level = 'all' order by 1") == [("both", 3), ("left", 1), ("right", 2)]
