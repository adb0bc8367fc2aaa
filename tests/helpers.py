"""Test helpers: warehouse snapshots and hand-made ABC releases with known answers."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MOUSE_ONTOLOGY = FIXTURES / "mouse_structures_graph1.csv"


def snapshot(db_path: Path) -> dict[str, tuple[int, int | None]]:
    """Row count and an order-independent checksum of every table: equal means unchanged."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        names = [n for (n,) in con.execute(
            "select table_name from duckdb_tables() where not internal").fetchall()]
        return {name: con.execute(f'select count(*), sum(hash(t)) from "{name}" t').fetchone()
                for name in names}
    finally:
        con.close()


def query_rows(db_path: Path, sql: str, params=None) -> list[tuple]:
    """The rows of a query on a read-only connection to `db_path`."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def table_counts(db_path: Path) -> dict[str, int]:
    """Rows per data table (the bookkeeping tables left out)."""
    names = [n for (n,) in query_rows(
        db_path, "select table_name from duckdb_tables() where table_name not in "
        "('ingest_log', 'warehouse_info')")]
    return {n: query_rows(db_path, f'select count(*) from "{n}"')[0][0] for n in names}


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


CELL_HEADER = ["cell_label", "cell_barcode", "barcoded_cell_sample_label", "library_label",
               "feature_matrix_label", "entity", "brain_section_label", "library_method",
               "region_of_interest_acronym", "donor_label", "donor_genotype", "donor_sex",
               "dataset_label", "x", "y", "cluster_alias", "abc_sample_id"]

# cluster_alias -> (neurotransmitter, class, subclass, supertype, cluster): sparse aliases, the
# literal NA neurotransmitter, and a supertype and cluster sharing a name (labels differ)
CLUSTERS = {
    5: ("Glut", "01 IT-ET Glut", "007 L2/3 IT CTX Glut", "0001 L2/3 IT CTX Glut_1",
        "0001 L2/3 IT CTX Glut_1"),
    128: ("GABA", "09 CNU-LGE GABA", "061 STR D1 Gaba", "0002 STR D1 Gaba_1",
          "0002 STR D1 Gaba_1"),
    3000: ("GABA", "09 CNU-LGE GABA", "062 STR D2 Gaba", "0003 STR D2 Gaba_1",
           "0003 STR D2 Gaba_2"),
    34380: ("NA", "31 OPC-Oligo", "327 Oligo NN", "0004 Oligo NN_1", "0004 Oligo NN_1"),
}
# (ROI, cluster_alias, cells)
CELLS = [
    ("MOp", 5, 4), ("MOp", 34380, 2), ("MOp", 999, 1),  # alias 999: not in the taxonomy
    ("STRd", 128, 3), ("STRd", 3000, 2), ("STRd", 34380, 1),
    ("MO-FRP", 5, 2),  # composite: MO + FRP -> counts toward Isocortex, not MO
]


def write_hand_made_release(root: Path, *, with_abc_sample_id: bool = True) -> Path:
    """A tiny ABC release (real layout) whose composition answers are known exactly."""
    shutil.copyfile(MOUSE_ONTOLOGY, _mkdir(root / "ontology") / "mouse_structures_graph1.csv")
    cells_dir = root / "metadata" / "WMB-10X" / "20241115"
    rows = []
    n = 0
    for roi, alias, count in CELLS:
        for _ in range(count):
            n += 1
            barcode = f"AAAACCCCGGGG{n:04d}"
            row = [f"{barcode}-1{n:02d}_A01", barcode, f"1{n:02d}_A01", "L8TX_201030_01_A01",
                   "WMB-10Xv3-STR", "cell", "", "10Xv3", roi, "Snap25-IRES2-Cre;Ai14-550850",
                   "Snap25-IRES2-Cre/wt;Ai14(RCL-tdT)/wt", "F", "WMB-10Xv3", 1.5, -2.25, alias,
                   f"484be5df-5d44-4bfe-9652-7b5bc739{n:04d}"]
            rows.append(row if with_abc_sample_id else row[:-1])
    header = CELL_HEADER if with_abc_sample_id else CELL_HEADER[:-1]
    write_csv(cells_dir / "cell_metadata.csv", header, rows)
    write_csv(cells_dir / "region_of_interest_metadata.csv",
              ["label", "acronym", "name", "order", "color_hex_triplet"],
              [["WMB-MO-FRP", "MO-FRP", "Somatomotor - Frontal pole", 0, "#3DCC7C"],
               ["WMB-MOp", "MOp", "Primary motor area", 1, "#179968"],
               ["WMB-STRd", "STRd", "Striatum dorsal region", 18, "#aa11bb"]])
    write_taxonomy(root / "metadata" / "WMB-taxonomy" / "20231215")
    return root


def write_taxonomy(folder: Path) -> None:
    levels = ["neurotransmitter", "class", "subclass", "supertype", "cluster"]
    codes = ["NEUR", "CLAS", "SUBC", "SUPT", "CLUS"]
    write_csv(folder / "cluster_annotation_term_set.csv", ["label", "name", "description", "order"],
              [[f"CCN20230722_{c}", lv, f"the {lv} level", i]
               for i, (c, lv) in enumerate(zip(codes, levels, strict=True))])
    terms: dict[tuple[str, str], str] = {}  # (level, name) -> label
    rows = []
    for values in CLUSTERS.values():
        parent = ""
        parent_set = ""
        for i, (level, code, name) in enumerate(zip(levels, codes, values, strict=True)):
            key = (level, name)
            if key not in terms:
                terms[key] = f"CS20230722_{code}_{len([k for k in terms if k[0] == level]) + 1}"
                rows.append([terms[key], name, f"CCN20230722_{code}",
                             parent if level != "neurotransmitter" else "",
                             parent_set if level != "neurotransmitter" else "", i, len(rows),
                             level, "#2B93DF"])
            if level != "neurotransmitter":
                parent, parent_set = terms[key], f"CCN20230722_{code}"
    write_csv(folder / "cluster_annotation_term.csv",
              ["label", "name", "cluster_annotation_term_set_label", "parent_term_label",
               "parent_term_set_label", "term_set_order", "term_order",
               "cluster_annotation_term_set_name", "color_hex_triplet"], rows)
    write_csv(folder / "cluster.csv", ["cluster_alias", "number_of_cells", "label"],
              sorted([[a, 1, f"CS20230722_{a:04d}"] for a in CLUSTERS], key=lambda r: str(r[0])))
    write_csv(folder / "cluster_to_cluster_annotation_membership.csv",
              ["cluster_annotation_term_label", "cluster_annotation_term_set_label",
               "cluster_alias", "cluster_annotation_term_name",
               "cluster_annotation_term_set_name", "number_of_cells", "color_hex_triplet"],
              [[terms[(level, values[i])], f"CCN20230722_{codes[i]}", alias, values[i], level,
                1, "#2B93DF"]
               for alias, values in CLUSTERS.items() for i, level in enumerate(levels)])


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def ingest_refused(cli, kind: str, target: Path, db: Path, fragments, *,
                   hint: bool = False) -> str:
    """The bad-input contract: `brainwh ingest KIND target` exits 1 with no traceback, its
    message holds every fragment (and a hint, when asked), and every table is as before."""
    before = snapshot(db)
    result = cli("ingest", kind, str(target), "--db", str(db))
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    if hint:
        assert "hint:" in result.stderr, result.stderr
    assert snapshot(db) == before
    return result.stderr


def nested_graph(rows: list[dict], ontology_id: int = 1) -> dict:
    """Flat structure rows (id, acronym, name, parent_structure_id, graph_order, colour) as
    the nested `structure_graph_download/<graph>.json` the Allen API serves."""
    nodes = {int(r["id"]): {"id": int(r["id"]), "atlas_id": None, "ontology_id": ontology_id,
                            "acronym": r["acronym"], "name": r["name"],
                            "color_hex_triplet": r["color_hex_triplet"],
                            "graph_order": int(r["graph_order"]), "st_level": None,
                            "hemisphere_id": {"L": 1, "R": 2}.get(r.get("hemisphere") or "", 3),
                            "parent_structure_id": int(r["parent_structure_id"])
                            if r["parent_structure_id"] else None, "children": []}
             for r in rows}
    root = None
    for r in sorted(rows, key=lambda r: int(r["graph_order"])):
        node = nodes[int(r["id"])]
        if node["parent_structure_id"] is None:
            root = node
        else:
            nodes[node["parent_structure_id"]]["children"].append(node)
    return {"success": True, "id": 0, "start_row": 0, "num_rows": 1, "total_rows": 1,
            "msg": [root]}


MERFISH_CELLS = Path("metadata/MERFISH-C57BL6J-638850/20241115/cell_metadata.csv")
MERFISH_CCF = Path("metadata/MERFISH-C57BL6J-638850-CCF/20231215")
CCF_2020 = Path("metadata/Allen-CCF-2020/20230630")


def consistent_merfish_heads(cache: Path) -> None:
    """Make a copy of the real abc_atlas_access cache fixture's MERFISH part consistent, as a
    whole file is: its coordinate files are the printed heads, whose first five cells are not
    the five cells of the metadata head (a build refuses coordinates of unknown cells), and its
    Allen-CCF-2020 heads describe none of those cells' parcellations. Keep the coordinate rows
    of the metadata's cells (verbatim) and replace the Allen-CCF-2020 heads by the sample
    release's tables, the real parcellation built from Allen's pages
    (ingest/sample/parcellation.py)."""
    from ingest.sample import parcellation

    labels = {line.split(",", 1)[0] for line in
              (cache / MERFISH_CELLS).read_text().splitlines()[1:]}
    for name in ("ccf_coordinates.csv", "reconstructed_coordinates.csv"):
        path = cache / MERFISH_CCF / name
        lines = path.read_text().splitlines(keepends=True)
        path.write_text(lines[0] + "".join(line for line in lines[1:]
                                           if line.split(",", 1)[0] in labels))
    shutil.rmtree(cache / CCF_2020)
    parcellation.write(cache, "tiny", 0)
