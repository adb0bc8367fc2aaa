"""ABC Atlas mouse gene expression by cell type: MapMyCells' per-cluster statistics
(`mapmycells/WMB-10X/<v>/precomputed_stats_*.h5`), the marker lookup (`mouse_markers_*.json`)
and WMB-10X `gene.csv` -> `genes`, the per-cluster and per-cell-type statistics
(`expression_*`), `taxonomy_markers`; derived: each region's pseudo-bulk and its markers.

The parts live in `ingest.expression_stats`: the HDF5 file (`stats_file`), matching its clusters
to the taxonomy and telling a true-count file from the ABC release's means-only one
(`clusters`), writing and pooling (`store`, `loader`), gene.csv (`genes`), the marker lookup
(`markers`), the regions (`regions`). The statistics need the WMB taxonomy (loaded before this
source, in the same build or earlier).
"""

from __future__ import annotations

import re

import duckdb

from ingest.base import Report, SourceFile, one_per_role
from ingest.expression_stats import genes, loader, markers, regions
from ingest.expression_stats.schema import DDL
from ingest.probe import Probe

KIND = "expression"
TABLES = {"gene": "genes", "precomputed_stats": "expression_cluster_stats",
          "marker_lookup": "taxonomy_markers"}
ABC_FILES = {"metadata/WMB-10X/gene.csv": "gene",
             "mapmycells/WMB-10X/precomputed_stats_*.h5": "precomputed_stats",
             "mapmycells/WMB-10X/mouse_markers_*.json": "marker_lookup"}
# Allen's names: a damaged file of that name gets the loader's precise error (other datasets'
# gene.csv files are recognised by `ingest.known` first, and are not loaded)
NAMES = {"precomputed_stats*.h5": "precomputed_stats", "mouse_markers_*.json": "marker_lookup",
         "gene.csv": "gene"}
_MARKER_KEY = re.compile(r'"[A-Za-z0-9]+_[A-Z]{4}/[^"]+"\s*:\s*\[')

__all__ = ["ABC_FILES", "DDL", "KIND", "NAMES", "TABLES", "derive", "identify", "load"]


def identify(probe: Probe) -> str | None:
    """The statistics by the HDF5 signature and the names of their JSON datasets (stored with
    the root group, near the start unless the names outgrew its first heap) or `precomputed_stats`
    in the file name; the marker lookup by its `"None"` key and
    `"<term set>/<node>"` keys; gene.csv by its columns and mouse Ensembl ids (the MERFISH and
    Zhuang gene.csv files have other columns)."""
    if probe.is_hdf5:
        head = probe.raw_head
        named = "precomputed_stats" in probe.name.lower()
        return "precomputed_stats" if named or any(
            name in head for name in (b"cluster_to_row", b"col_names", b"taxonomy_tree")) \
            else None
    if probe.suffix == ".json" and probe.text and '"None"' in probe.text \
            and _MARKER_KEY.search(probe.text):
        return "marker_lookup"
    if probe.header[:5] == ("gene_identifier", "gene_symbol", "name", "mapped_ncbi_identifier",
                            "comment") and \
            probe.first_row.get("gene_identifier", "").startswith("ENSMUSG"):
        return "gene"
    return None


def load(con: duckdb.DuckDBPyConnection, sources: list[SourceFile], report: Report) -> None:
    for statement in DDL:
        con.execute(statement)
    by_role = one_per_role(sources, hint="load one release's files at a time")
    if "gene" in by_role:
        genes.load(con, by_role["gene"], KIND)
    if "precomputed_stats" in by_role:
        loader.load(con, by_role["precomputed_stats"], KIND, report)
    if "marker_lookup" in by_role:
        markers.load(con, by_role["marker_lookup"], KIND)
    if {"gene", "precomputed_stats"} & by_role.keys():
        _report_genes(con, report)


def _report_genes(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    """Genes of the statistics without a gene.csv row (no symbol), and the reverse."""
    loaded = con.execute("select (select count(*) from genes), "
                         "(select count(*) from expression_genes)").fetchone()
    if not all(loaded):
        return
    (unnamed, example), (unused,) = con.execute(
        "select count(*), min(gene_identifier) from expression_genes where gene_identifier "
        "not in (select gene_identifier from genes)").fetchone(), con.execute(
        "select count(*) from genes where gene_identifier not in "
        "(select gene_identifier from expression_genes)").fetchone()
    if unnamed:
        report.note(f"{unnamed} gene(s) of the expression statistics are not in gene.csv "
                    f"(e.g. {example}): they have no symbol")
    if unused:
        report.note(f"{unused} gene(s) of gene.csv have no expression statistics")


ARGUMENTS = """
insert into expression_arguments
select argument, level, lower(left(value, 2)), value
from (
    select 'gene' as argument, null as level, gene_identifier as value from expression_genes
    union
    select 'gene', null, g.gene_symbol from genes as g
    where g.gene_symbol is not null
        and g.gene_identifier in (select gene_identifier from expression_genes)
    union
    select distinct 'level', null, level from expression_cell_types where level <> 'root'
    union
    select 'cell_type', level, unnest([cell_type_label, cell_type,
                                       regexp_replace(cell_type, '^[0-9]+ ', '')])
    from expression_cell_types where level <> 'root'
)
where value is not null
order by argument, level, lower(left(value, 2)), value
"""


def derive(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    """Pool again if the taxonomy changed; recompute the regions if the composition did; the
    values the macros accept (genes of gene.csv may have been loaded since)."""
    for statement in DDL:
        con.execute(statement)
    loader.repool(con, report)
    con.execute("delete from expression_arguments")
    if con.execute("select count(*) from expression_statistics").fetchone()[0]:
        con.execute(ARGUMENTS)
    regions.derive(con, report)
