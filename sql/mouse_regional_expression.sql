-- name: mouse_regional_expression
-- kind: view
-- example: select structure_acronym, mean_expression_energy, n_experiments, n_coronal,
--   n_sagittal from mouse_regional_expression where gene_symbol = 'Pvalb'
--   order by mean_expression_energy desc limit 10
-- question: How strongly is each gene expressed in each adult mouse brain structure (Allen
--   Mouse Brain Atlas, ISH)? A structure's value in an experiment is Allen's StructureUnionize
--   of that structure itself, which already sums everything annotated below it (checked at
--   load: a parent's pixels are at least its children's together); the gene's value is the
--   mean over its non-failed experiments, coronal and sagittal alike (sagittal experiments
--   cover the left hemisphere only), with the count of each plane and each plane's mean.
-- grain: one row per gene and mouse structure (graph 1) with unionize rows
-- columns:
--   gene_symbol              VARCHAR  gene (Allen's Gene.acronym)
--   gene_id                  BIGINT   Allen's Gene.id
--   structure_id             BIGINT   mouse ontology (graph 1) structure
--   structure_acronym        VARCHAR  its acronym
--   structure_name           VARCHAR  its name
--   mean_expression_energy   DOUBLE   mean over the experiments of expression_energy
--   mean_expression_density  DOUBLE   mean over the experiments of expression_density
--   n_experiments            INTEGER  non-failed experiments with a row for the structure
--   n_coronal                INTEGER  of which coronal
--   n_sagittal               INTEGER  of which sagittal
--   mean_energy_coronal      DOUBLE   mean expression_energy of the coronal ones
--   mean_energy_sagittal     DOUBLE   mean expression_energy of the sagittal ones
-- sources: ish_regional_means (computed at load from ish_structure_expression and
--   ish_experiments), structures
create or replace view mouse_regional_expression as
select
    m.gene_symbol,
    m.gene_id,
    m.structure_id,
    s.acronym as structure_acronym,
    s.name as structure_name,
    m.mean_expression_energy,
    m.mean_expression_density,
    m.n_experiments,
    m.n_coronal,
    m.n_sagittal,
    m.mean_energy_coronal,
    m.mean_energy_sagittal
from ish_regional_means as m
left join structures as s on s.species = 'mouse' and s.structure_id = m.structure_id
