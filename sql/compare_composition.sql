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
-- sources: composition
create or replace macro compare_composition(a_region, b_region, at_level, of_method := null)
as table
with checked as (
    select case
        when of_method is not null and of_method not in ('spatial', 'dissection')
            then error('compare_composition: unknown method ''' || of_method
                       || '''; use ''spatial'' or ''dissection''')
        else true end as ok
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

-- the checks run even where DuckDB can prove the answer empty: this branch reads them and
-- never has a row
select * from answer
union all
select null::varchar, null::varchar, null::bigint, null::bigint, null::double, null::double,
    null::double, null::double, null::varchar
from checked
where hash(checked.ok) * random() < 0
order by difference desc, cell_type
