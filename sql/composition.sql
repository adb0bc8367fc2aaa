-- name: composition
-- kind: view
-- question: What is the cell-type composition of each region at each taxonomy level, by
--   dissection (10x cells in ABC dissection ROIs, and in the mouse CCF structures that
--   contain whole ROIs) and spatially (MERFISH cells in every CCF structure containing their
--   parcellation, so VISp5, CA1, DG and every substructure have rows)?
-- grain: one row per method, region, level and cell type present in it
-- columns:
--   region_kind     VARCHAR  'roi' (an ABC dissection region) or 'structure' (a CCF structure)
--   region_acronym  VARCHAR  the ROI acronym, or the structure acronym (mouse); a structure has dissection rows only when a whole dissection region lies within it (CA1, DG: none; their 10x cells are in the HIP region, see roi_structures), and spatial rows when MERFISH cells lie in its parcellations
--   structure_id    BIGINT   the CCF structure id; null for ROI rows
--   level           VARCHAR  neurotransmitter, class, subclass, supertype or cluster
--   cell_type       VARCHAR  the term name at that level (the neurotransmitter 'NA' is a value)
--   cell_type_label VARCHAR  the term label (names repeat across levels; labels do not)
--   n_cells         BIGINT   cells of that type in the region
--   fraction        DOUBLE   n_cells over the region's cells with a known type at that level, per method
--   method          VARCHAR  'dissection' (10x cells by ROI) or 'spatial' (MERFISH cells by CCF parcellation, both hemispheres)
--   taxonomy_version VARCHAR the taxonomy naming the cell types, e.g. CCN20230722
--   taxonomy_component_version VARCHAR the WMB-taxonomy folder read, e.g. 20231215
-- sources: roi_cluster_counts (from cells), spatial_cluster_counts (from spatial_cells),
--   parcellations, cell_types, roi_structures, structure_ancestors, structures. Dissection: a
--   ROI's cells count toward structure S only when every CCF structure of the ROI is S or a
--   descendant of S (MO-FRP counts toward Isocortex, not toward MO). Spatial: a MERFISH cell
--   counts toward its parcellation's structure and every ancestor of it; cells outside the
--   brain (parcellation 0) and cells of clusters the taxonomy lacks count nowhere. Two
--   folders of one taxonomy (20230830, 20231215) name some clusters' neurotransmitters
--   differently: taxonomy_component_version says which folder an answer comes from.
create or replace view composition as
with roi_size as (
    select region_of_interest_acronym as roi, count(distinct structure_id) as n_structures
    from roi_structures
    group by region_of_interest_acronym
),

-- structure S contains ROI r when all of r's CCF structures are S or below S
roi_within as (
    select rs.region_of_interest_acronym as roi, a.ancestor_id as structure_id
    from roi_structures as rs
    join structure_ancestors as a
        on a.species = 'mouse' and a.structure_id = rs.structure_id
    group by rs.region_of_interest_acronym, a.ancestor_id
    having count(distinct rs.structure_id)
        = any_value((select n_structures from roi_size where roi_size.roi = rs.region_of_interest_acronym))
),

-- every method's cells per region and cluster
region_clusters as (
    select 'dissection' as method, 'roi' as region_kind,
        region_of_interest_acronym as region_acronym, null::bigint as structure_id,
        cluster_alias, n_cells
    from roi_cluster_counts
    union all
    select 'dissection', 'structure', s.acronym, w.structure_id, c.cluster_alias, c.n_cells
    from roi_cluster_counts as c
    join roi_within as w on w.roi = c.region_of_interest_acronym
    join structures as s on s.species = 'mouse' and s.structure_id = w.structure_id
    union all
    select 'spatial', 'structure', s.acronym, a.ancestor_id, c.cluster_alias, c.n_cells
    from spatial_cluster_counts as c
    join parcellations as p on p.parcellation_index = c.parcellation_index
    join structure_ancestors as a on a.species = 'mouse' and a.structure_id = p.structure_id
    join structures as s on s.species = 'mouse' and s.structure_id = a.ancestor_id
),

-- one row per level of each cluster's type (one pass over the counts)
by_level as (
    select r.method, r.region_kind, r.region_acronym, r.structure_id,
        unnest([
            {'level': 'neurotransmitter', 'cell_type': t.neurotransmitter,
             'cell_type_label': t.neurotransmitter_label},
            {'level': 'class', 'cell_type': t.class, 'cell_type_label': t.class_label},
            {'level': 'subclass', 'cell_type': t.subclass, 'cell_type_label': t.subclass_label},
            {'level': 'supertype', 'cell_type': t.supertype,
             'cell_type_label': t.supertype_label},
            {'level': 'cluster', 'cell_type': t.cluster, 'cell_type_label': t.cluster_term_label}
        ], recursive := true),
        r.n_cells
    from region_clusters as r
    join cell_types as t on t.cluster_alias = r.cluster_alias
),

counts as (
    select method, region_kind, region_acronym, structure_id, level, cell_type, cell_type_label,
        sum(n_cells) as n_cells
    from by_level
    where cell_type is not null
    group by method, region_kind, region_acronym, structure_id, level, cell_type, cell_type_label
)

select
    region_kind,
    region_acronym,
    structure_id,
    level,
    cell_type,
    cell_type_label,
    n_cells::bigint as n_cells,
    n_cells / sum(n_cells) over (partition by method, region_kind, region_acronym, level)
        as fraction,
    method,
    (select any_value(taxonomy_version) from cell_types) as taxonomy_version,
    (select any_value(taxonomy_component_version) from cell_types) as taxonomy_component_version
from counts
