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
--   structure_ancestors. Pure SQL.
create or replace macro mouse_differential_search_unionize(target_acronyms, contrast_acronyms)
as table
with problems as (
    select string_agg(problem, '; ') as message
    from (
        select 'no mouse structure has the acronym ' || wanted as problem
        from (select unnest(target_acronyms::varchar[] || contrast_acronyms::varchar[])
                     as wanted)
        where wanted not in (select acronym from structures where species = 'mouse')
        union all
        select 'give at least one target and one contrast structure'
        where len(target_acronyms) = 0 or len(contrast_acronyms) = 0
    )
),

chosen as (
    select
        s.structure_id,
        list_contains(target_acronyms::varchar[], s.acronym) as is_target,
        list_contains(contrast_acronyms::varchar[], s.acronym) as is_contrast
    from structures as s
    where s.species = 'mouse' and s.graph_id = 1
      and (list_contains(target_acronyms::varchar[], s.acronym)
           or list_contains(contrast_acronyms::varchar[], s.acronym))
      and coalesce((select error('mouse_differential_search_unionize: ' || message)
                    from problems where message is not null), true)
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

totals as (
    select
        u.experiment_id,
        sum(u.expression_energy * u.sum_pixels) filter (where t.side = 'target')
            as target_intensity,
        sum(u.sum_pixels) filter (where t.side = 'target') as target_pixels,
        sum(u.expression_energy * u.sum_pixels) filter (where t.side = 'contrast')
            as contrast_intensity,
        sum(u.sum_pixels) filter (where t.side = 'contrast') as contrast_pixels
    from ish_structure_expression as u
    join tops as t on t.structure_id = u.structure_id
    group by u.experiment_id
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
