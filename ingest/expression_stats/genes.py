"""WMB-10X `gene.csv` -> `genes` (DATA_FORMATS.md §1.7): one row per Ensembl gene.

Columns `gene_identifier, gene_symbol, name, mapped_ncbi_identifier, comment` (32,285 rows in
the real file). The Ensembl `gene_identifier` is the key: symbols repeat (`Ptp4a1` names
ENSMUSG00000026064 and ENSMUSG00000117310). `comment` is `no expression` for 1,173 genes.
"""

from __future__ import annotations

import duckdb

from ingest.base import (
    SourceFile,
    check_md5,
    check_not_null,
    check_unique,
    load_csv,
    log_file,
    quote_ident,
)

WHAT = "gene.csv"
COLUMNS = ("gene_identifier", "gene_symbol", "name", "mapped_ncbi_identifier", "comment")


def load(con: duckdb.DuckDBPyConnection, source: SourceFile, kind: str) -> None:
    md5 = check_md5(source)
    rows = load_csv(con, source.path, "_genes", label=source.origin, what=WHAT, types={},
                    required=["gene_identifier", "gene_symbol"])
    check_not_null(con, "_genes", ["gene_identifier"], label=source.origin, what=WHAT)
    check_unique(con, "_genes", "gene_identifier", label=source.origin, what=WHAT)
    present = {name for (name,) in con.execute(
        "select column_name from duckdb_columns() where table_name = '_genes'").fetchall()}
    select = ", ".join(quote_ident(c) if c in present else "null::varchar" for c in COLUMNS)
    con.execute("delete from genes")
    con.execute(f"insert into genes select {select} from _genes")
    (shared,) = con.execute(
        "select count(*) from (select gene_symbol from genes group by 1 having count(*) > 1)"
    ).fetchone()
    notes = [f"{shared} gene symbols name more than one Ensembl id"] if shared else []
    log_file(con, source, kind=kind, table="genes", rows=rows, md5=md5, notes=notes)
