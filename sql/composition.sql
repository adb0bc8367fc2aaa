-- name: composition
-- kind: view
-- question: What is the cell-type composition of each region (dissection ROI, and mouse CCF
--   structure including its descendants) at each taxonomy level?
-- grain: one row per region, level and cell type present in it
-- columns:
--   region_kind     VARCHAR  'roi' (an ABC dissection region) or 'structure' (a CCF structure)
--   region_acronym  VARCHAR  the ROI acronym, or the structure acronym (mouse); a structure has rows only when a whole dissection region lies within it (CA1, DG: none; their cells are in the HIP region, see roi_structures)
--   structure_id    BIGINT   the CCF structure id; null for ROI rows
--   level           VARCHAR  neurotransmitter, class, subclass, supertype or cluster
--   cell_type       VARCHAR  the term name at that level (the neurotransmitter 'NA' is a value)
--   cell_type_label VARCHAR  the term label (names repeat across levels; labels do not)
--   n_cells         BIGINT   cells of that type in the region
--   fraction        DOUBLE   n_cells over the region's cells with a known type at that level
--   taxonomy_version VARCHAR the taxonomy naming the cell types, e.g. CCN20230722
--   taxonomy_component_version VARCHAR the WMB-taxonomy folder read, e.g. 20231215
-- sources: roi_cluster_counts (from cells), cell_types, roi_structures, structure_ancestors,
--   structures. A ROI's cells count toward structure S only when every CCF structure of the
--   ROI is S or a descendant of S (MO-FRP counts toward Isocortex, not toward MO). Two
--   folders of one taxonomy (20230830, 20231215) name some clusters' neurotransmitters
--   differently: taxonomy_component_version says which folder an answer comes from.
create or replace view composition as
with typed as (
    select c.region_of_interest_acronym as roi, c.n_cells, t.*
    from roi_cluster_counts as c
    join cell_types as t on t.cluster_alias = c.cluster_alias
),

by_level as (
    select roi, 'neurotransmitter' as level, neurotransmitter as cell_type,
        neurotransmitter_label as cell_type_label, n_cells from typed
    union all
    select roi, 'class', class, class_label, n_cells from typed
    union all
    select roi, 'subclass', subclass, subclass_label, n_cells from typed
    union all
    select roi, 'supertype', supertype, supertype_label, n_cells from typed
    union all
    select roi, 'cluster', cluster, cluster_term_label, n_cells from typed
),

roi_size as (
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

counts as (
    select 'roi' as region_kind, roi as region_acronym, null::bigint as structure_id,
        level, cell_type, cell_type_label, sum(n_cells) as n_cells
    from by_level
    where cell_type is not null
    group by roi, level, cell_type, cell_type_label
    union all
    select 'structure', s.acronym, w.structure_id,
        b.level, b.cell_type, b.cell_type_label, sum(b.n_cells)
    from by_level as b
    join roi_within as w on w.roi = b.roi
    join structures as s on s.species = 'mouse' and s.structure_id = w.structure_id
    where b.cell_type is not null
    group by s.acronym, w.structure_id, b.level, b.cell_type, b.cell_type_label
)

select
    region_kind,
    region_acronym,
    structure_id,
    level,
    cell_type,
    cell_type_label,
    n_cells::bigint as n_cells,
    n_cells / sum(n_cells) over (partition by region_kind, region_acronym, level) as fraction,
    (select any_value(taxonomy_version) from cell_types) as taxonomy_version,
    (select any_value(taxonomy_component_version) from cell_types) as taxonomy_component_version
from counts
