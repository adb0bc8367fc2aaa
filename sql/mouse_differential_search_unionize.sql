-- name: mouse_differential_search_unionize
-- kind: macro
-- signature: mouse_differential_search_unionize(target, contrast)
-- example: select gene_symbol, plane, target_energy, contrast_energy, fold_change
--   from mouse_differential_search_unionize(['STR'], ['Isocortex']) limit 20
-- question: mouse_differential_search from Allen's structure unionizes instead of the grids
--   (for experiments whose grids are not loaded): per experiment, the expression energy of
--   the target structures together (their expressing intensity over their pixels, each
--   structure with everything below it, a structure inside another target counted once)
--   against the contrast structures'; fold change = target / contrast.
-- grain: one row per non-failed experiment with unionize rows for both sides, ordered by
--   fold_change (largest first; null last)
-- columns:
--   experiment_id      BIGINT   SectionDataSet id
--   gene_symbol        VARCHAR  its gene
--   plane              VARCHAR  coronal or sagittal
--   target_energy      DOUBLE   sum of expression_energy x sum_pixels over sum_pixels, target
--   contrast_energy    DOUBLE   the same over the contrast structures
--   fold_change        DOUBLE   target_energy / contrast_energy (null when the contrast is 0)
--   target_pixels      DOUBLE   pixels summed on the target side
--   contrast_pixels    DOUBLE   pixels summed on the contrast side
-- sources: ish_structure_expression (StructureUnionize), ish_experiments, structures,
--   structure_ancestors; require_values, require_loaded, require_structure_data (argument
--   checks). Pure SQL.
create or replace macro mouse_differential_search_unionize(target_acronyms, contrast_acronyms)
as table
with known as (
    select coalesce((select list(acronym) from structures where species = 'mouse'), [])
        as acronyms
),

-- every argument checked: an error names the closest valid acronyms
checked as (
    select
        require_values(target_acronyms, k.acronyms, 'target structure (mouse acronym)',
            'mouse_differential_search_unionize') as target_list,
        require_values(contrast_acronyms, k.acronyms, 'contrast structure (mouse acronym)',
            'mouse_differential_search_unionize') as contrast_list,
        require_loaded((select count(*) from ish_structure_expression),
            'Allen Mouse Brain Atlas structure unionize data', 'brainwh ingest ish',
            'mouse_differential_search_unionize') as loaded
    from known as k
),

chosen as (
    select
        s.structure_id,
        list_contains(k.target_list, s.acronym) as is_target,
        list_contains(k.contrast_list, s.acronym) as is_contrast
    from structures as s
    cross join checked as k
    where s.species = 'mouse' and s.graph_id = 1 and k.loaded
      and (list_contains(k.target_list, s.acronym) or list_contains(k.contrast_list, s.acronym))
),

-- per side, the chosen structures not below another chosen structure of that side
tops as (
    select c.structure_id, 'target' as side
    from chosen as c
    where c.is_target and not exists (
        select 1 from structure_ancestors as a join chosen as o
            on o.structure_id = a.ancestor_id and o.is_target
        where a.species = 'mouse' and a.structure_id = c.structure_id and a.distance > 0)
    union all
    select c.structure_id, 'contrast' as side
    from chosen as c
    where c.is_contrast and not exists (
        select 1 from structure_ancestors as a join chosen as o
            on o.structure_id = a.ancestor_id and o.is_contrast
        where a.species = 'mouse' and a.structure_id = c.structure_id and a.distance > 0)
),

rows as (
    select u.experiment_id, u.expression_energy, u.sum_pixels, t.side
    from ish_structure_expression as u
    join tops as t on t.structure_id = u.structure_id
),

-- a side without unionize rows is an error, not a column of nulls
present as (
    select
        require_structure_data(count(*) filter (where side = 'target'), target_acronyms,
            'StructureUnionize row', 'mouse_differential_search_unionize target') as n_t,
        require_structure_data(count(*) filter (where side = 'contrast'), contrast_acronyms,
            'StructureUnionize row', 'mouse_differential_search_unionize contrast') as n_c
    from rows
),

totals as (
    select
        r.experiment_id,
        sum(r.expression_energy * r.sum_pixels) filter (where r.side = 'target')
            as target_intensity,
        sum(r.sum_pixels) filter (where r.side = 'target') as target_pixels,
        sum(r.expression_energy * r.sum_pixels) filter (where r.side = 'contrast')
            as contrast_intensity,
        sum(r.sum_pixels) filter (where r.side = 'contrast') as contrast_pixels
    from rows as r
    cross join present as p
    where p.n_t > 0 and p.n_c > 0
    group by r.experiment_id
),

means as (
    select
        experiment_id,
        target_pixels,
        contrast_pixels,
        case when target_pixels > 0 then target_intensity / target_pixels end as target_energy,
        case when contrast_pixels > 0 then contrast_intensity / contrast_pixels end
            as contrast_energy
    from totals
)

select
    e.experiment_id,
    e.gene_symbol,
    e.plane,
    m.target_energy,
    m.contrast_energy,
    case when m.contrast_energy > 0 then m.target_energy / m.contrast_energy end as fold_change,
    m.target_pixels,
    m.contrast_pixels
from means as m
join ish_experiments as e on e.experiment_id = m.experiment_id
where not e.is_failed and m.target_pixels is not null and m.contrast_pixels is not null
order by fold_change desc nulls last, e.experiment_id, e.gene_symbol
