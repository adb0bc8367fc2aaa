-- name: mouse_grid
-- kind: macro
-- signature: mouse_grid(gene_or_experiment)
-- example: select ap, dv, ml, structure_acronym, energy from mouse_grid('Pvalb')
--   where energy > 5 order by energy desc limit 20
-- question: One experiment's 3-D expression grid, voxel by voxel (67 x 41 x 58 voxels of
--   200 um): its energy (-1 = no data) and the structure annotated there. The experiment is an
--   id, or a gene symbol: then its non-failed experiment with a grid, coronal first, lowest
--   id first.
-- grain: one row per voxel of the grid (159,326), in raw file order
-- columns:
--   experiment_id      BIGINT   SectionDataSet id
--   voxel_index        INTEGER  place in energy.raw: ap + 67 * (dv + 41 * ml)
--   ap                 INTEGER  anterior to posterior, 0..66 (200 um steps)
--   dv                 INTEGER  dorsal to ventral, 0..40
--   ml                 INTEGER  left to right, 0..57
--   structure_id       BIGINT   the finest structure annotated there (null outside the brain)
--   structure_acronym  VARCHAR  its acronym
--   energy             FLOAT    the grid's value (-1 = no data)
-- sources: ish_grids, ish_grid_outside, ish_grid_voxels, ish_grid_layout, ish_experiments,
--   structures; require_value, require_loaded (argument checks)
create or replace macro mouse_grid(gene_or_experiment) as table
with known as (
    select coalesce((select list(distinct seed_text) from (
        select gene_symbol as seed_text from ish_experiments
        where has_grid and not is_failed and gene_symbol is not null
        union all
        select experiment_id::varchar from ish_experiments where has_grid)), []) as seeds
),

checked as (
    select
        require_loaded((select count(*) from ish_grids),
            'Allen Mouse Brain Atlas 3-D expression grid data', 'brainwh ingest ish',
            'mouse_grid') as loaded,
        require_value(gene_or_experiment::varchar, k.seeds,
            'gene or experiment (with a loaded grid)', 'mouse_grid') as seed_text
    from known as k
),

chosen as (
    select e.experiment_id
    from ish_experiments as e
    cross join checked as c
    where e.has_grid and c.loaded
      and (e.experiment_id::varchar = c.seed_text
           or (e.gene_symbol = c.seed_text and not e.is_failed))
    order by e.experiment_id::varchar = c.seed_text desc, e.plane = 'coronal' desc,
             e.experiment_id
    limit 1
),

brain as (
    select v.voxel_index, v.structure_id, x.energy
    from (
        select generate_subscripts(values, 1) as position, unnest(values) as energy
        from (
            select flatten([s00, s01, s02, s03, s04, s05, s06, s07, s08, s09, s10, s11, s12, s13, s14, s15]) as values
            from ish_grids
            where experiment_id = (select experiment_id from chosen)
        )
    ) as x
    join ish_grid_voxels as v on v.position = x.position
),

outside as (
    select o.voxel_index, x.energy
    from (
        select
            c.chunk::integer * 4096 + generate_subscripts(c.energy, 1) as k,
            unnest(c.energy) as energy
        from ish_grid_outside as c
        where c.experiment_id = (select experiment_id from chosen)
    ) as x
    join (
        select generate_subscripts(outside_voxels, 1) as k, unnest(outside_voxels) as voxel_index
        from ish_grid_layout
    ) as o on o.k = x.k
)

select
    (select experiment_id from chosen) as experiment_id,
    x.voxel_index,
    x.voxel_index % 67 as ap,
    (x.voxel_index // 67) % 41 as dv,
    x.voxel_index // (67 * 41) as ml,
    x.structure_id,
    st.acronym as structure_acronym,
    x.energy
from (
    select voxel_index, structure_id, energy from brain
    union all
    select voxel_index, null::bigint, energy from outside
) as x
left join structures as st on st.species = 'mouse' and st.structure_id = x.structure_id
order by x.voxel_index
