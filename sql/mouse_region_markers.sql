-- name: mouse_region_markers
-- kind: view
-- example: select gene_symbol, rank, log2_fold_change, mean_in, mean_out
--   from mouse_region_markers where region_acronym = 'STRd'
--   and method = 'dissection' order by rank
-- question: Which genes mark each mouse region, from single cells? For every region of
--   composition and method, its pseudo-bulk (region_expression) against every other cell of
--   the same method's dataset (10x cells for dissection, MERFISH cells for spatial): the
--   genes higher in it, top 50 by fold change (difference of log2 means) among those its
--   cells express: a pooled fraction expressing of at least 0.25 (a true-count
--   statistics file), or, for a means-only file (the ABC release's, no fractions), a mean of
--   at least 1 log2(CPM+1). Means are exact for either kind of file; fractions need ge1.
-- grain: one row per method, region and marker gene
-- columns:
--   region_kind       VARCHAR  'roi' or 'structure'
--   region_acronym    VARCHAR  the ROI acronym, or the structure acronym (mouse)
--   structure_id      BIGINT   the CCF structure id; null for ROI rows
--   method            VARCHAR  as composition: 'dissection' (10x cells by ROI) or 'spatial' (MERFISH cells by CCF structure); both use the 10x cluster means
--   gene_symbol       VARCHAR  the marker gene's symbol
--   gene_identifier   VARCHAR  its Ensembl id
--   rank              INTEGER  1 = largest fold change
--   log2_fold_change  DOUBLE   mean_in - mean_out
--   mean_in           DOUBLE   expected mean log2(CPM+1) of the region's cells
--   mean_out          DOUBLE   the same over every other cell of the method's dataset
--   fraction_in       DOUBLE   expected fraction of the region's cells with CPM >= 1 (null:
--     not exact)
--   fraction_out      DOUBLE   the same over every other cell
--   n_cells           BIGINT   the region's cells of that method
--   n_rest            BIGINT   every other cell of the method's dataset
-- sources: expression_region_markers and expression_regions (computed at build, see
--   region_expression), expression_genes, genes
create or replace view mouse_region_markers as
select
    r.region_kind,
    r.region_acronym,
    r.structure_id,
    r.method,
    g.gene_symbol,
    e.gene_identifier,
    m.rank,
    m.log2_fold_change,
    m.mean_in,
    m.mean_out,
    m.fraction_in,
    m.fraction_out,
    r.n_cells,
    r.n_rest
from expression_region_markers as m
join expression_regions as r on r.region_pos = m.region_pos
join expression_genes as e on e.gene_pos = m.gene_pos
left join genes as g on g.gene_identifier = e.gene_identifier
