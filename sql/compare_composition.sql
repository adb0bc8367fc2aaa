-- name: compare_composition
-- kind: macro
-- signature: compare_composition(region_a, region_b, level)
-- example: select * from compare_composition('MOp', 'STRd', 'subclass') limit 10
-- question: Which cell types are enriched in region A compared with region B (the seed
--   tutorial's cortex-vs-striatum question)? A region is an ROI acronym or a mouse structure
--   acronym; when a name is both, the ROI (the dissection itself) is used.
-- grain: one row per cell type present in either region at the given level
-- columns:
--   cell_type        VARCHAR  term name at the level
--   cell_type_label  VARCHAR  term label
--   n_a              BIGINT   cells of the type in region A (0 when absent)
--   n_b              BIGINT   cells of the type in region B (0 when absent)
--   fraction_a       DOUBLE   its fraction of region A's cells at that level
--   fraction_b       DOUBLE   its fraction of region B's cells at that level
--   difference       DOUBLE   fraction_a - fraction_b (ordered by it, largest first)
--   ratio            DOUBLE   fraction_a / fraction_b (null when absent from B)
-- sources: composition, regions_of_interest, roi_cluster_counts, roi_structures, structures,
--   structure_ancestors; require_value and require_loaded (argument checks)
create or replace macro compare_composition(a_region, b_region, at_level) as table
with known_regions as (
    select list(region) as regions
    from (
        select region_of_interest_acronym as region from regions_of_interest
        union all
        select region_of_interest_acronym from roi_cluster_counts
        union all
        select acronym from structures where species = 'mouse'
    )
),

-- every argument checked: an error names the closest valid values
checked as (
    select
        require_loaded((select count(*) from roi_cluster_counts), 'ABC cell metadata',
            'brainwh ingest cells', 'compare_composition') as loaded,
        require_value(a_region, k.regions,
            'region (ABC dissection region or mouse structure acronym)', 'compare_composition')
            as region_a,
        require_value(b_region, k.regions,
            'region (ABC dissection region or mouse structure acronym)', 'compare_composition')
            as region_b,
        require_value(at_level, ['neurotransmitter', 'class', 'subclass', 'supertype', 'cluster'],
            'level', 'compare_composition') as level_name
    from known_regions as k
),

chosen as (
    select *
    from composition
    where level = at_level
        and region_acronym in (a_region, b_region)
),

-- a known region without cells is an error that says why: a mouse structure has cells only
-- when a whole dissection region lies within it (CA1 and DG have none; HIP overlaps them)
without_cells as (
    select r.region
    from checked as c
    cross join (select unnest([c.region_a, c.region_b]) as region) as r  -- after the checks
    where c.loaded and r.region not in (select region_acronym from chosen)
),

overlapping as (
    select w.region, string_agg(distinct rs.region_of_interest_acronym, ', '
                                order by rs.region_of_interest_acronym) as rois
    from without_cells as w
    join structures as s on s.species = 'mouse' and s.acronym = w.region
    join structure_ancestors as x
        on x.species = 'mouse' and s.structure_id in (x.structure_id, x.ancestor_id)
    join roi_structures as rs on rs.structure_id in (x.structure_id, x.ancestor_id)
    group by w.region
),

explained as (
    select coalesce(
        (select error('compare_composition: ' || string_agg(
            'no cells are counted in ''' || w.region || ''': ABC cells are counted in a '
            || 'structure only when a whole dissection region lies within it'
            || coalesce('; the dissection regions overlapping ' || w.region || ': ' || o.rois,
                        ''), '; '))
         from without_cells as w
         left join overlapping as o on o.region = w.region
         having count(*) > 0),
        true) as has_cells
),

-- an ROI name wins over a structure of the same acronym
kinds as (
    select region_acronym, min(region_kind) as region_kind  -- 'roi' < 'structure'
    from chosen
    group by region_acronym
),

picked as (
    select c.*
    from chosen as c
    join kinds as k on k.region_acronym = c.region_acronym and k.region_kind = c.region_kind
),

a as (select * from picked where region_acronym = a_region),
b as (select * from picked where region_acronym = b_region),

answer as (
    select
        coalesce(a.cell_type, b.cell_type) as cell_type,
        coalesce(a.cell_type_label, b.cell_type_label) as cell_type_label,
        coalesce(a.n_cells, 0)::bigint as n_a,
        coalesce(b.n_cells, 0)::bigint as n_b,
        coalesce(a.fraction, 0) as fraction_a,
        coalesce(b.fraction, 0) as fraction_b,
        coalesce(a.fraction, 0) - coalesce(b.fraction, 0) as difference,
        a.fraction / b.fraction as ratio
    from a
    full outer join b
        on a.cell_type = b.cell_type and a.cell_type_label is not distinct from b.cell_type_label
)

-- the checks run even where DuckDB can prove the answer empty and drop the plan leading to it:
-- this branch cannot be proven empty, reads every checked value, and never has a row
select * from answer
union all
select
    null::varchar, null::varchar, null::bigint, null::bigint, null::double, null::double,
    null::double, null::double
from checked
cross join explained
where hash(checked, explained) * random() < 0
order by difference desc, cell_type
