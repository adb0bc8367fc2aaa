-- name: regional_expression
-- kind: view
-- example: select structure_acronym, structure_name, mean_expression, n_samples, n_donors
--   from regional_expression where gene_symbol = 'PPP1R1B' order by mean_expression desc
-- question: How strongly is each gene expressed in each human brain structure? A sample is in
--   structure S when its structure is S or a descendant of S (human ontology); a gene's value
--   in a sample is the mean of its probes (RefSeq probes only); mean_expression is the mean over
--   donors of the mean over that donor's samples in S (each donor weighs the same).
-- grain: one row per gene and human structure that has samples
-- columns:
--   gene_symbol        VARCHAR  gene (probes with an Entrez id, collapsed by gene symbol)
--   entrez_id          BIGINT   its Entrez id
--   structure_id       BIGINT   human ontology (graph 10) structure
--   structure_acronym  VARCHAR  its acronym (left and right twins share it)
--   structure_name     VARCHAR  its name (says the hemisphere)
--   mean_expression    DOUBLE   mean over donors of each donor's mean log2 expression in S
--   n_samples          INTEGER  samples in S, all donors
--   n_donors           INTEGER  donors with at least one sample in S
-- sources: ahba_regional_means and ahba_regions (computed at build from ahba_gene_samples),
--   structures
create or replace view regional_expression as
select
    m.gene_symbol,
    m.entrez_id,
    r.structure_id,
    s.acronym as structure_acronym,
    s.name as structure_name,
    m.means[r.region_pos] as mean_expression,
    r.n_samples,
    r.n_donors
from ahba_regional_means as m
cross join ahba_regions as r
left join structures as s on s.species = 'human' and s.structure_id = r.structure_id
