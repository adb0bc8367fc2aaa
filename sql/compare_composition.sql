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
-- sources: composition
create or replace macro compare_composition(a_region, b_region, at_level) as table
with chosen as (
    select *
    from composition
    where level = at_level
        and region_acronym in (a_region, b_region)
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
b as (select * from picked where region_acronym = b_region)

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
full outer join b on a.cell_type = b.cell_type and a.cell_type_label is not distinct from b.cell_type_label
order by difference desc, cell_type
