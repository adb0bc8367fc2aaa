-- name: region_expression
-- kind: view
-- example: select method, region_kind, region_acronym, mean_expression, n_cells
--   from region_expression where gene_symbol = 'Drd1' order by mean_expression desc
-- question: How strongly is each gene expressed in each mouse region, from single cells (the
--   mouse counterpart of AHBA's regional_expression)? For every region of composition and
--   method (10x cells by dissection ROI and the CCF structures with whole ROIs within them;
--   MERFISH cells by CCF structure, down to layers and CA1/DG), the expected log2(CPM+1) of
--   its cells: sum over clusters of (the cluster's share of the region's cells x the
--   cluster's mean, from the 10x statistics). The means are exact for either kind of
--   statistics file (a means-only file's clusters are the real clusters' means); the
--   fraction expressing needs a true-count file (ge1), else it is null. Computed at build
--   from composition.
-- grain: one row per method, region of composition with cells in clusters with
--   statistics, and gene
-- columns:
--   region_kind          VARCHAR  'roi' (an ABC dissection region) or 'structure' (CCF)
--   region_acronym       VARCHAR  the ROI acronym, or the structure acronym (mouse)
--   structure_id         BIGINT   the CCF structure id; null for ROI rows
--   method               VARCHAR  as composition: 'dissection' (10x cells by ROI) or 'spatial' (MERFISH cells by CCF structure); both use the 10x cluster means
--   gene_symbol          VARCHAR  the gene's symbol (gene.csv; symbols repeat)
--   gene_identifier      VARCHAR  its Ensembl id
--   mean_expression      DOUBLE   expected mean log2(CPM+1) of the region's cells
--   fraction_expressing  DOUBLE   expected fraction of them with CPM >= 1 (null: not exact)
--   n_cells              BIGINT   the region's cells of that method (in clusters with statistics)
-- sources: expression_region_means and expression_regions (computed at build from
--   composition at cluster level and expression_cluster_stats), expression_genes, genes
create or replace view region_expression as
select
    r.region_kind,
    r.region_acronym,
    r.structure_id,
    r.method,
    g.gene_symbol,
    e.gene_identifier,
    m.mean_expression,
    m.fraction_expressing,
    r.n_cells
from expression_region_means as m
join expression_regions as r on r.region_pos = m.region_pos
join expression_genes as e on e.gene_pos = m.gene_pos
left join genes as g on g.gene_identifier = e.gene_identifier
