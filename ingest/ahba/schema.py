"""The AHBA tables. Created empty in every warehouse so the views over them always bind.

Physical layout, chosen by measuring (README "Allen Human Brain Atlas"): arrays, one row per
donor and probe, two 32-bit measurement codes per element (DuckDB's append costs ~25-40 ns per
element whatever its width, and a long table would need three elements per measurement); the
long form (`ahba_expression`) is a view. Gene-level values are one array per gene (all samples); the
per-structure statistics every query needs are computed during the load, in double precision.
"""

from __future__ import annotations

# Each measurement is a 32-bit code: round(expression * 1e6) * 2 + present + 2^31 (the
# expression to 6 decimals, as precise as a float32 at these magnitudes; the PACall flag in the
# low bit; offset so it is unsigned). Two samples share one UBIGINT element: sample j (1-based)
# is bits 32 * ((j - 1) % 2) and up of element (j + 1) // 2. Measured: DuckDB's append costs
# per element, nearly whatever its width, so two codes per element halve the load's biggest cost.
CODE_SCALE = 1_000_000
CODE_OFFSET = 2**31
CODE_LIMIT = 1_000  # |expression| must stay below this (log2 intensities are 0-20)

DONORS = """
create table if not exists ahba_donors (
    donor_id integer not null,          -- the donor's uid, as in normalized_microarray_donor<uid>
    donor_name varchar,                 -- e.g. H0351.2001
    age integer,
    sex varchar,
    ethnicity varchar,
    medical_conditions varchar,
    post_mortem_interval_hours double,
    n_samples integer                   -- samples loaded for this donor (null: not loaded)
)
"""
PROBES = """
create table if not exists ahba_probes (
    probe_id bigint not null,           -- column 0 of the matrices
    probe_name varchar,                 -- e.g. A_23_P20713, CUST_98_PI416379584
    gene_id bigint,                     -- Allen's gene id
    gene_symbol varchar,                -- the probe name itself for non-RefSeq probes
    gene_name varchar,
    entrez_id bigint,                   -- null for non-RefSeq probes
    chromosome varchar,
    is_refseq boolean not null          -- has an Entrez id: counts in gene-level values
)
"""
SAMPLES = """
create table if not exists ahba_samples (
    donor_id integer not null,
    sample_index integer not null,      -- 1-based: matrix column j = SampleAnnot row j
    array_index integer not null,       -- 1-based position in ahba_gene_samples' arrays
    well_id bigint not null,            -- unique across donors (abagen's key for MNI fixes)
    structure_id bigint not null,       -- human ontology (graph 10)
    structure_acronym varchar,
    structure_name varchar,
    slab_num integer,
    slab_type varchar,                  -- CX (cerebrum), CB (cerebellum), BS (brainstem)
    polygon_id bigint,
    mri_voxel_x integer,
    mri_voxel_y integer,
    mri_voxel_z integer,
    mni_x double,
    mni_y double,
    mni_z double
)
"""
EXPRESSION = """
create table if not exists ahba_expression_arrays (
    donor_id integer not null,
    probe_id bigint not null,
    codes ubigint[] not null   -- two samples per element: see CODE_SCALE above
)
"""
GENES = """
create table if not exists ahba_genes (
    gene_symbol varchar not null,       -- gene-level values average this gene's RefSeq probes
    entrez_id bigint,
    n_probes integer not null,
    center double not null              -- its value in the first sample loaded (any value
                                        -- near the gene's level: see ahba_gene_samples)
)
"""
GENE_SAMPLES = """
create table if not exists ahba_gene_samples (
    gene_symbol varchar not null,
    centered float[] not null           -- [ahba_samples.array_index]: mean of the gene's probes
                                        -- in that sample minus ahba_genes.center (so single
                                        -- precision keeps ~7 significant digits of the
                                        -- variation); all donors, one row per gene
)
"""
LEAVES = """
create table if not exists ahba_leaves (
    leaf_pos integer not null,          -- position in ahba_leaf_stats' arrays (1-based)
    structure_id bigint not null,       -- a structure samples are annotated to
    n_samples integer not null,
    n_donors integer not null
)
"""
LEAF_STATS = """
create table if not exists ahba_leaf_stats (
    gene_symbol varchar not null,
    sums double[] not null,             -- [leaf_pos]: sum of gene-level values minus the gene's
                                        -- center (ahba_genes.center), donors pooled
    sumsqs double[] not null            -- [leaf_pos]: sum of their squares
)
"""
REGIONS = """
create table if not exists ahba_regions (
    region_pos integer not null,        -- position in ahba_regional_means' arrays (1-based)
    structure_id bigint not null,       -- a structure with samples in it or below it
    n_samples integer not null,
    n_donors integer not null
)
"""
REGIONAL_MEANS = """
create table if not exists ahba_regional_means (
    gene_symbol varchar not null,
    entrez_id bigint,
    means double[] not null             -- [region_pos]: mean over donors of the donor's mean
)
"""
MARKERS = """
create table if not exists ahba_region_markers (
    structure_id bigint not null,
    gene_symbol varchar not null,
    rank integer not null,
    n_structure integer not null,
    n_rest integer not null,
    mean_structure double not null,
    mean_rest double not null,
    log2_fold_change double not null,
    t double not null,
    df double not null,
    p_value double not null,
    q_value double not null
)
"""
STATE = """
create table if not exists ahba_derive_state (
    loaded_stamp varchar,               -- changes with every microarray load
    ontology_fingerprint varchar        -- md5 of the human ontology the statistics used
)
"""
DDL = (DONORS, PROBES, SAMPLES, EXPRESSION, GENES, GENE_SAMPLES, LEAVES, LEAF_STATS, REGIONS,
       REGIONAL_MEANS, MARKERS, STATE)
DERIVED_TABLES = ("ahba_leaves", "ahba_leaf_stats", "ahba_regions", "ahba_regional_means",
                  "ahba_region_markers")
