-- name: mouse_differential_search
-- kind: macro
-- signature: mouse_differential_search(target, contrast)
-- example: select gene_symbol, plane, target_energy, contrast_energy, fold_change
--   from mouse_differential_search(['STR'], ['Isocortex']) limit 20
-- question: Which ISH experiments show more expression in the target structures than in the
--   contrast structures (Allen's mouse differential search, locally)? target and contrast are
--   lists of mouse structure acronyms; a 200 um voxel is on a side when the grid annotation
--   gives it one of those structures or one below them (a voxel on both sides counts for
--   both). Per experiment, the mean energy over the side's voxels with data (-1 excluded);
--   fold change = target mean / contrast mean. From the 3-D grids: experiments without a
--   loaded grid are absent (mouse_differential_search_unionize answers from the structure
--   unionizes instead).
-- grain: one row per non-failed experiment with a loaded grid, ordered by fold_change
--   (largest first; null last)
-- columns:
--   experiment_id       BIGINT   SectionDataSet id
--   gene_symbol         VARCHAR  its gene
--   plane               VARCHAR  coronal or sagittal
--   target_energy       DOUBLE   mean energy over the target voxels with data
--   contrast_energy     DOUBLE   mean energy over the contrast voxels with data
--   fold_change         DOUBLE   target_energy / contrast_energy (null when the contrast mean
--                                is 0 or a side has no voxel with data)
--   n_target_voxels     BIGINT   target voxels with data
--   n_contrast_voxels   BIGINT   contrast voxels with data
-- sources: ish_grid_cell_stats (per-cell counts and sums of each grid, computed at load),
--   ish_grid_cells, ish_experiments, structures, structure_ancestors; require_values,
--   require_loaded, require_structure_data (argument checks). Pure SQL.
create or replace macro mouse_differential_search(target_acronyms, contrast_acronyms) as table
with known as (
    select coalesce((select list(acronym) from structures where species = 'mouse'), [])
        as acronyms
),

-- every argument checked: an error names the closest valid acronyms
checked as (
    select
        require_values(target_acronyms, k.acronyms, 'target structure (mouse acronym)',
            'mouse_differential_search') as target_list,
        require_values(contrast_acronyms, k.acronyms, 'contrast structure (mouse acronym)',
            'mouse_differential_search') as contrast_list,
        require_loaded((select count(*) from ish_grid_cell_stats),
            'Allen Mouse Brain Atlas 3-D expression grid data (for experiments without grids: '
            || 'mouse_differential_search_unionize)', 'brainwh ingest ish',
            'mouse_differential_search') as loaded
    from known as k
),

sides as (
    select
        c.cell,
        c.n_voxels,
        coalesce(bool_or(list_contains(k.target_list, s.acronym)), false) as in_target,
        coalesce(bool_or(list_contains(k.contrast_list, s.acronym)), false) as in_contrast
    from ish_grid_cells as c
    cross join checked as k
    left join structure_ancestors as a on a.species = 'mouse' and a.structure_id = c.structure_id
    left join structures as s on s.species = 'mouse' and s.structure_id = a.ancestor_id
    where k.loaded
    group by c.cell, c.n_voxels
),

-- a side without annotated voxels is an error, not a column of nulls
masks as (
    select
        list(in_target::int::double order by cell) as target_mask,
        list(in_contrast::int::double order by cell) as contrast_mask,
        require_structure_data(coalesce(sum(n_voxels) filter (where in_target), 0),
            target_acronyms, 'annotated grid voxel', 'mouse_differential_search target')
            as n_t,
        require_structure_data(coalesce(sum(n_voxels) filter (where in_contrast), 0),
            contrast_acronyms, 'annotated grid voxel', 'mouse_differential_search contrast')
            as n_c
    from sides
),

totals as (
    select
        g.experiment_id,
        list_inner_product(g.sums, m.target_mask) as target_sum,
        list_inner_product(g.n_valid::double[], m.target_mask) as target_n,
        list_inner_product(g.sums, m.contrast_mask) as contrast_sum,
        list_inner_product(g.n_valid::double[], m.contrast_mask) as contrast_n
    from ish_grid_cell_stats as g
    cross join masks as m
    where m.n_t > 0 and m.n_c > 0
),

means as (
    select
        experiment_id,
        target_n,
        contrast_n,
        case when target_n > 0 then target_sum / target_n end as target_energy,
        case when contrast_n > 0 then contrast_sum / contrast_n end as contrast_energy
    from totals
)

select
    e.experiment_id,
    e.gene_symbol,
    e.plane,
    m.target_energy,
    m.contrast_energy,
    case when m.contrast_energy > 0 then m.target_energy / m.contrast_energy end as fold_change,
    m.target_n::bigint as n_target_voxels,
    m.contrast_n::bigint as n_contrast_voxels
from means as m
join ish_experiments as e on e.experiment_id = m.experiment_id
where not e.is_failed
order by fold_change desc nulls last, e.experiment_id, e.gene_symbol
