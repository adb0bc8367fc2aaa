-- name: cell_density
-- kind: view
-- question: How many cells of each type per mm³ does each mouse CCF structure (including its
--   descendants) hold, in each hemisphere (MERFISH)? One brain was sampled on 10 µm coronal
--   sections about 200 µm apart, so the cells counted are those of the sampled sections: the
--   density is per sampled section volume, the structure's CCF volume times the sampled
--   fraction 0.010 / 0.200 = 0.05 (a hemisphere has half the volume). This assumes the
--   sections sample each structure evenly: 10 of the 69 section positions are missing and the
--   posterior sections lie up to 0.8 mm apart, so densities there read low, and a structure
--   thinner than the spacing may fall between sections and have no cells at all.
-- grain: one row per structure, hemisphere (left, right, both), level and cell type present
-- columns:
--   structure_id        BIGINT   mouse CCF id (graph 1)
--   structure_acronym   VARCHAR  its acronym
--   hemisphere          VARCHAR  left, right (from the CCF's left-right axis) or both
--   level               VARCHAR  all (every cell), neurotransmitter, class, subclass, supertype or cluster
--   cell_type           VARCHAR  the term name at that level; 'all cells' at level all
--   cell_type_label     VARCHAR  the term label; null at level all
--   n_cells             BIGINT   MERFISH cells of the type in the structure and hemisphere
--   volume_mm3          DOUBLE   the structure's CCF 2020 annotation volume in that hemisphere
--   sampled_volume_mm3  DOUBLE   volume_mm3 times 0.05, the share the sections sampled
--   cells_per_mm3       DOUBLE   n_cells / sampled_volume_mm3
-- sources: spatial_cluster_counts (from spatial_cells), parcellations (volumes), cell_types,
--   structure_ancestors, structures. Level all counts every cell, also cells of clusters the
--   taxonomy lacks; the other levels count cells with a known type. Cells outside the brain
--   (parcellation 0) count nowhere.
create or replace view cell_density as
with structure_volumes as (
    select a.ancestor_id as structure_id, sum(p.volume_mm3) as volume_mm3
    from parcellations as p
    join structure_ancestors as a on a.species = 'mouse' and a.structure_id = p.structure_id
    group by a.ancestor_id
),

structure_clusters as (
    select s.structure_id, s.acronym as structure_acronym, c.hemisphere, c.cluster_alias,
        c.n_cells
    from spatial_cluster_counts as c
    join parcellations as p on p.parcellation_index = c.parcellation_index
    join structure_ancestors as a on a.species = 'mouse' and a.structure_id = p.structure_id
    join structures as s on s.species = 'mouse' and s.structure_id = a.ancestor_id
),

-- each cell at level all and, when its cluster is known, at the five taxonomy levels
by_level as (
    select c.structure_id, c.structure_acronym, c.hemisphere,
        unnest(
            [{'level': 'all', 'cell_type': 'all cells', 'cell_type_label': null::varchar}]
            || case when t.cluster_alias is null then [] else [
                {'level': 'neurotransmitter', 'cell_type': t.neurotransmitter,
                 'cell_type_label': t.neurotransmitter_label},
                {'level': 'class', 'cell_type': t.class, 'cell_type_label': t.class_label},
                {'level': 'subclass', 'cell_type': t.subclass,
                 'cell_type_label': t.subclass_label},
                {'level': 'supertype', 'cell_type': t.supertype,
                 'cell_type_label': t.supertype_label},
                {'level': 'cluster', 'cell_type': t.cluster,
                 'cell_type_label': t.cluster_term_label}] end,
            recursive := true),
        c.n_cells
    from structure_clusters as c
    left join cell_types as t on t.cluster_alias = c.cluster_alias
),

counts as (
    select structure_id, structure_acronym, hemisphere, level, cell_type, cell_type_label,
        sum(n_cells) as n_cells
    from by_level
    where cell_type is not null
    group by grouping sets (
        (structure_id, structure_acronym, hemisphere, level, cell_type, cell_type_label),
        (structure_id, structure_acronym, level, cell_type, cell_type_label))
),

densities as (
    select
        c.structure_id,
        c.structure_acronym,
        coalesce(c.hemisphere, 'both') as hemisphere,
        c.level,
        c.cell_type,
        c.cell_type_label,
        c.n_cells::bigint as n_cells,
        v.volume_mm3 / case when c.hemisphere is null then 1 else 2 end as volume_mm3
    from counts as c
    join structure_volumes as v on v.structure_id = c.structure_id
)

select
    structure_id,
    structure_acronym,
    hemisphere,
    level,
    cell_type,
    cell_type_label,
    n_cells,
    volume_mm3,
    volume_mm3 * 0.05 as sampled_volume_mm3,  -- 10 µm sections every 200 µm
    n_cells / nullif(volume_mm3 * 0.05, 0) as cells_per_mm3
from densities
