"""The MapMyCells marker lookup (`mouse_markers_230821.json`) -> `taxonomy_markers`.

Schema (cell_type_mapper `docs/input_data_files/marker_gene_lookup.md`; written by
`cli/marker_cache_from_csv_dir.py`): a JSON object whose keys are parent nodes of the taxonomy,
`"None"` for the root and `"<level>/<node>"` otherwise (`CCN20230722_CLAS/CS20230722_CLAS_02`:
term-set label / term label), each with the list of Ensembl ids that tell the node's children
apart, best first; parents with one child are absent or empty; a `metadata` object records how
the file was made. These genes choose among a node's children: they are not markers *of* the
node (`cell_type_markers` answers that).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from ingest.ahba import arrays
from ingest.base import SourceFile, check_md5, log_file
from ingest.jsonfile import read_document
from ingest.taxonomy import version_of_labels
from warehouse.errors import DataError

CODES = {"NEUR": "neurotransmitter", "DIVI": "division", "CLAS": "class", "SUBC": "subclass",
         "SUPT": "supertype", "CLUS": "cluster"}
LEVEL_NAMES = set(CODES.values())
HINT = ("a marker lookup is a JSON object {\"None\": [genes], \"<level>/<node>\": [genes]} "
        "(cell_type_mapper docs/input_data_files/marker_gene_lookup.md)")


def _level(term_set: str, known: dict[str, str]) -> str | None:
    if term_set in known:
        return known[term_set]
    if term_set in LEVEL_NAMES:
        return term_set
    return CODES.get(term_set.rsplit("_", 1)[-1])


def load(con: duckdb.DuckDBPyConnection, source: SourceFile, kind: str) -> None:
    label = source.origin
    md5 = check_md5(source)
    document = read_document(source.path, label)
    if not isinstance(document, dict):
        raise DataError(f"the document is a JSON {type(document).__name__}, expected an object",
                        file=label, hint=HINT)
    known = dict(con.execute("select distinct term_set_label, level from cell_type_terms "
                             "where term_set_label is not null").fetchall())
    rows: dict[str, list] = {"level": [], "cell_type_label": [], "gene_identifier": [],
                             "rank": []}
    nodes = []
    for key, genes in document.items():
        if key == "metadata" and isinstance(genes, dict):
            continue
        if not isinstance(genes, list) or not all(isinstance(g, str) for g in genes):
            raise DataError(f"expected a list of gene identifiers, found "
                            f"{type(genes).__name__}", file=label, column=key, hint=HINT)
        if key == "None":
            level, node = "root", None
        else:
            term_set, _, node = key.partition("/")
            level = _level(term_set, known)
            if level is None or not node:
                raise DataError(f"key {key!r} is neither \"None\" nor \"<level>/<node>\"",
                                file=label, column=key, hint=HINT)
            nodes.append(node)
        for rank, gene in enumerate(genes, start=1):
            rows["level"].append(level)
            rows["cell_type_label"].append(node)
            rows["gene_identifier"].append(gene)
            rows["rank"].append(rank)
    notes = _check_taxonomy(con, nodes, label)
    con.execute("delete from taxonomy_markers")
    arrays.append(con, "taxonomy_markers", {
        "level": pa.array(rows["level"], type=pa.string()),
        "cell_type_label": pa.array(rows["cell_type_label"], type=pa.string()),
        "gene_identifier": pa.array(rows["gene_identifier"], type=pa.string()),
        "rank": pa.array(rows["rank"], type=pa.int32())})
    (unknown_genes,) = con.execute(
        "select count(distinct gene_identifier) from taxonomy_markers where gene_identifier "
        "not in (select gene_identifier from genes) and exists (select 1 from genes)"
    ).fetchone()
    if unknown_genes:
        notes.append(f"{unknown_genes} marker gene(s) are not in gene.csv")
    log_file(con, source, kind=kind, table="taxonomy_markers", rows=len(rows["rank"]), md5=md5,
             notes=notes, taxonomy_version=_version(nodes, label))


def _version(nodes: list[str], label: str) -> str | None:
    try:
        return version_of_labels(nodes)
    except ValueError as error:
        raise DataError(f"its nodes carry labels of two taxonomy versions ({error})",
                        file=label, hint="a marker lookup describes one taxonomy") from None


def _check_taxonomy(con: duckdb.DuckDBPyConnection, nodes: list[str], label: str) -> list[str]:
    version = _version(nodes, label)
    loaded = con.execute("select any_value(taxonomy_version) from cell_type_terms").fetchone()[0]
    if version and loaded and version != loaded:
        raise DataError(f"the marker lookup is for taxonomy {version}, but the loaded taxonomy "
                        f"is {loaded}", file=label,
                        hint=f"load the marker lookup of {loaded}, or the {version} taxonomy")
    if not loaded:
        return []
    terms = {term for (term,) in con.execute("select label from cell_type_terms").fetchall()}
    unknown = [node for node in nodes if node not in terms]
    return [f"{len(unknown)} node(s) are not terms of the loaded taxonomy (e.g. {unknown[0]})"
            ] if unknown else []
