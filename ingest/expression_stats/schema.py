"""The expression tables, created empty in every warehouse so the views over them always bind.

Physical layout, chosen by measuring at the real size (5,322 clusters x 32,285 genes; README
"Mouse gene expression by cell type"): long tables, not arrays. DuckDB reads a list column
whole, so one cluster's 32,285-element array took ~0.8 s to fetch from a table of such arrays
(and 79 s to write); a long table sorted by its key is read one row group at a time (~2 ms).
Two orders serve the two questions:

- `expression_cluster_stats`, gene-major (one gene = one row group): a gene across every
  cluster, so any level's cell types and any region's pseudo-bulk of one gene are a few
  thousand rows.
- `expression_type_stats`, type-major: the statistics of every cell type above the cluster
  level (and of all clusters together, the `root`), pooled at load, so a cell type against the
  rest of the brain or its siblings is two or three contiguous runs of 32,285 rows.

Rows whose statistics are all zero are not stored (a gene no cell of the cluster expresses).
"""

from __future__ import annotations

GENES = """
create table if not exists genes (
    gene_identifier varchar not null,   -- Ensembl, e.g. ENSMUSG00000051951: the key
    gene_symbol varchar,                -- e.g. Xkr4; not unique (38 symbols name 2-3 ids)
    name varchar,
    mapped_ncbi_identifier varchar,     -- NCBIGene:<id>, or null
    comment varchar                     -- 'no expression', or null
)
"""
EXPRESSION_GENES = """
create table if not exists expression_genes (
    gene_pos integer not null,          -- 1-based column of the statistics (col_names order)
    gene_identifier varchar not null    -- as the statistics file names it (Ensembl)
)
"""
CLUSTERS = """
create table if not exists expression_clusters (
    cluster_pos integer not null,       -- 1-based, in taxonomy order (class, subclass, ...)
    cluster_alias integer not null,     -- cell_types.cluster_alias
    cluster_label varchar not null,     -- the file's key for the cluster (cluster_to_row)
    file_row integer not null,          -- the cluster's row in the file's arrays (0-based)
    n_cells bigint not null,            -- cells behind its statistics
    scale double not null               -- stored sum x scale = the sum over its cells: 1 for a
                                        -- true-count file, n_cells for a means-only file
)
"""
CELL_TYPES = """
create table if not exists expression_cell_types (
    type_pos integer not null,          -- key of expression_type_stats (0 = root)
    level varchar not null,             -- root, neurotransmitter, division, class, subclass,
                                        -- supertype or cluster
    cell_type varchar,                  -- term name (null for root)
    cell_type_label varchar,            -- term label (null for root)
    parent_pos integer,                 -- the type one level up (root for class, division and
                                        -- neurotransmitter); null for root
    cluster_pos integer,                -- level cluster: its expression_clusters position
    n_clusters integer not null,        -- clusters with statistics in it
    n_cells bigint not null             -- cells behind its statistics
)
"""
MEMBERSHIP = """
create table if not exists expression_membership (
    cluster_pos integer not null,
    type_pos integer not null           -- every type the cluster belongs to, root included
)
"""
CLUSTER_STATS = """
create table if not exists expression_cluster_stats (
    gene_pos integer not null,          -- sorted by gene_pos, then cluster_pos
    cluster_pos integer not null,
    sum double not null,                -- the file's sum (a means-only file: the mean)
    sumsq double,                       -- sum of squares over the cluster's cells (null: not
                                        -- in the file, or not usable)
    ge1 integer                         -- cells with log2(CPM+1) >= 1, i.e. CPM >= 1 (null: not
                                        -- in the file, or not usable)
)
"""
TYPE_STATS = """
create table if not exists expression_type_stats (
    type_pos integer not null,          -- grouped by type_pos (root, then every type above
                                        -- the cluster level)
    gene_pos integer not null,
    sum double not null,                -- sum of the gene's log2(CPM+1) over the type's cells
    sumsq double,                       -- sum of squares (null: not available)
    ge1 bigint                          -- cells with CPM >= 1 (null: not available)
)
"""
STATISTICS = """
create table if not exists expression_statistics (
    source_uri varchar not null,        -- the precomputed statistics file
    file_kind varchar not null,         -- 'true counts' or 'means only'
    n_clusters integer not null,        -- clusters with statistics (matched to the taxonomy)
    n_genes integer not null,
    has_sumsq boolean not null,         -- variances (and t, p, q) are exact
    has_ge1 boolean not null,           -- fractions expressing are exact
    weights varchar not null,           -- where each cluster's n_cells comes from
    taxonomy_version varchar,           -- e.g. CCN20230722
    variance_note varchar,              -- why variances, t, p and q are null (null: exact)
    fraction_note varchar,              -- why fractions expressing are null (null: exact)
    taxonomy_fingerprint varchar,       -- the clusters' taxonomy and counts the pooling used
    loaded_stamp varchar                -- changes with every load of the statistics
)
"""
MARKERS = """
create table if not exists taxonomy_markers (
    level varchar not null,             -- the parent's level: root, class, subclass, ...
    cell_type_label varchar,            -- the parent: its children are told apart by these
                                        -- genes (null for root)
    gene_identifier varchar not null,   -- Ensembl
    rank integer not null               -- 1-based position in the file's list
)
"""
ARGUMENTS = """
create table if not exists expression_arguments (
    argument varchar not null,          -- gene, level or cell_type: what the macros accept
    level varchar,                      -- cell_type: the level it is at
    prefix varchar not null,            -- its first two characters, lower case
    value varchar not null              -- a value accepted; sorted by argument, level, prefix
                                        -- so a check reads one small run (built at build: a
                                        -- macro call never aggregates 64 k names)
)
"""
REGIONS = """
create table if not exists expression_regions (
    region_pos integer not null,
    region_kind varchar not null,       -- as composition: roi or structure
    region_acronym varchar not null,
    structure_id bigint,
    method varchar not null,            -- as composition: dissection (10x) or spatial (MERFISH)
    n_cells bigint not null,            -- the region's cells in clusters with statistics
    n_rest bigint not null              -- every other such cell of the method's dataset
)
"""
REGION_MEANS = """
create table if not exists expression_region_means (
    gene_pos integer not null,          -- sorted by gene_pos: one gene is one row group
    region_pos integer not null,
    mean_expression double not null,    -- expected log2(CPM+1) of the region's cells
    fraction_expressing double          -- expected fraction with CPM >= 1 (null: not exact)
)
"""
REGION_MARKERS = """
create table if not exists expression_region_markers (
    region_pos integer not null,
    gene_pos integer not null,
    rank integer not null,
    mean_in double not null,
    mean_out double not null,
    log2_fold_change double not null,
    fraction_in double,
    fraction_out double
)
"""
REGION_STATE = """
create table if not exists expression_region_state (
    fingerprint varchar                 -- the composition and statistics the regions used
)
"""
DDL = (GENES, EXPRESSION_GENES, CLUSTERS, CELL_TYPES, MEMBERSHIP, CLUSTER_STATS, TYPE_STATS,
       STATISTICS, MARKERS, ARGUMENTS, REGIONS, REGION_MEANS, REGION_MARKERS, REGION_STATE)
STATS_TABLES = ("expression_genes", "expression_clusters", "expression_cell_types",
                "expression_membership", "expression_cluster_stats", "expression_type_stats",
                "expression_statistics")
REGION_TABLES = ("expression_regions", "expression_region_means", "expression_region_markers",
                 "expression_region_state")
