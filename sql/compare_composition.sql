-- name: compare_composition
-- kind: macro
-- signature: compare_composition(region_a, region_b, level[, method])
-- example: select * from compare_composition('CA1', 'DG', 'subclass') limit 10
-- question: Which cell types are enriched in region A compared with region B (the seed
--   tutorial's cortex-vs-striatum question)? A region is an ROI acronym or a mouse structure
--   acronym. method is 'spatial' (MERFISH cells by CCF parcellation) or 'dissection' (10x
--   cells by dissection ROI); by default spatial when both regions have spatial rows, else
--   dissection; every row says which was used. In a dissection comparison, a name that is
--   both an ROI and a structure means the ROI (the dissection itself).
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
--   method           VARCHAR  the method compared: 'spatial' or 'dissection'
-- sources: composition, regions_of_interest, roi_cluster_counts, spatial_cluster_counts,
--   roi_structures, structures, structure_ancestors; require_value and require_loaded
--   (argument checks)
create or replace macro compare_composition(a_region, b_region, at_level, of_method := null)
as table
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
        require_loaded((select count(*) from roi_cluster_counts)
                + (select count(*) from spatial_cluster_counts),
            'ABC cell metadata (10x or MERFISH)',
            'brainwh ingest cells` or `brainwh ingest spatial',
            'compare_composition') as loaded,
        require_value(a_region, k.regions,
            'region (ABC dissection region or mouse structure acronym)', 'compare_composition')
            as region_a,
        require_value(b_region, k.regions,
            'region (ABC dissection region or mouse structure acronym)', 'compare_composition')
            as region_b,
        require_value(at_level, ['neurotransmitter', 'class', 'subclass', 'supertype', 'cluster'],
            'level', 'compare_composition') as level_name,
        of_method is null or require_value(of_method, ['spatial', 'dissection'], 'method',
            'compare_composition') is not null as method_name
    from known_regions as k
),

chosen as (
    select *
    from composition
    where level = at_level
        and region_acronym in (a_region, b_region)
),

-- the method: the one asked for, else spatial when both regions have spatial rows
method_used as (
    select coalesce(
        of_method,
        case when n_spatial = case when a_region = b_region then 1 else 2 end
             then 'spatial' else 'dissection' end) as method
    from (
        select count(distinct region_acronym) filter (where method = 'spatial') as n_spatial
        from chosen
    )
),

-- a known region without cells in the method used is an error that says why: MERFISH cells
-- reach a structure through their parcellations; 10x cells reach a structure only when a
-- whole dissection region lies within it (CA1 and DG have none; HIP overlaps them)
without_cells as (
    select r.region, m.method
    from checked as c
    cross join method_used as m
    cross join (select unnest([c.region_a, c.region_b]) as region) as r  -- after the checks
    where c.loaded and r.region not in (
        select region_acronym from chosen where chosen.method = m.method)
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
            case when w.method = 'spatial' then
                'no MERFISH cells are counted in ''' || w.region || ''' (method spatial): '
                || 'it is a dissection region, or no loaded MERFISH cell lies in it'
            else
                'no cells are counted in ''' || w.region || ''' (method dissection): ABC 10x '
                || 'cells are counted in a structure only when a whole dissection region lies '
                || 'within it'
                || coalesce('; the dissection regions overlapping ' || w.region || ': '
                            || o.rois, '')
                || case when w.region in (select region_acronym from chosen
                                          where chosen.method = 'spatial')
                    then '; it has MERFISH cells: compare two regions that both have them '
                        || '(method spatial)'
                    else '' end
            end, '; '))
         from without_cells as w
         left join overlapping as o on o.region = w.region
         having count(*) > 0),
        true) as has_cells
),

-- an ROI name wins over a structure of the same acronym
kinds as (
    select c.region_acronym, min(c.region_kind) as region_kind  -- 'roi' < 'structure'
    from chosen as c
    join method_used as m on m.method = c.method
    group by c.region_acronym
),

picked as (
    select c.*
    from chosen as c
    join method_used as m on m.method = c.method
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
        a.fraction / b.fraction as ratio,
        (select method from method_used) as method
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
    null::double, null::double, null::varchar
from checked
cross join explained
where hash(checked, explained) * random() < 0
order by difference desc, cell_type
