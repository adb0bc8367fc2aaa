-- name: region_markers
-- kind: view
-- example: select gene_symbol, rank, log2_fold_change, q_value from region_markers
--   where structure_acronym = 'Str' order by rank
-- question: Which genes mark each human brain structure? For every structure with at least 10
--   samples in it and 10 outside it (donors pooled), the genes significantly higher in it than
--   in all other samples (one-sided Welch t, Benjamini-Hochberg q < 0.05 over all genes), top
--   50 by fold change: the same test as differential_search([S], everything else).
-- grain: one row per structure and marker gene
-- columns:
--   structure_id       BIGINT   human ontology structure (the samples in it or below it)
--   structure_acronym  VARCHAR  its acronym
--   structure_name     VARCHAR  its name
--   gene_symbol        VARCHAR  the marker gene
--   rank               INTEGER  1 = largest fold change
--   log2_fold_change   DOUBLE   mean in the structure minus mean elsewhere (log2 units)
--   q_value            DOUBLE   Benjamini-Hochberg over all genes for this structure
--   p_value            DOUBLE   one-sided Welch t-test (structure greater than the rest)
--   t                  DOUBLE   Welch's t
--   df                 DOUBLE   Welch-Satterthwaite degrees of freedom
--   mean_structure     DOUBLE   mean gene-level log2 expression of the structure's samples
--   mean_rest          DOUBLE   mean over all other samples
--   n_structure        INTEGER  samples in the structure
--   n_rest             INTEGER  all other samples
-- sources: ahba_region_markers (computed at build from ahba_leaf_stats), structures
create or replace view region_markers as
select
    m.structure_id,
    s.acronym as structure_acronym,
    s.name as structure_name,
    m.gene_symbol,
    m.rank,
    m.log2_fold_change,
    m.q_value,
    m.p_value,
    m.t,
    m.df,
    m.mean_structure,
    m.mean_rest,
    m.n_structure,
    m.n_rest
from ahba_region_markers as m
left join structures as s on s.species = 'human' and s.structure_id = m.structure_id
