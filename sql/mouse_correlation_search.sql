-- name: mouse_correlation_search
-- kind: macro
-- signature: mouse_correlation_search(gene_or_experiment, structures)
-- example: select gene_symbol, plane, r, n_voxels
--   from mouse_correlation_search('Ppp1r1b', ['STR']) limit 20
-- question: Which ISH experiments' 3-D expression patterns follow a seed's (Allen's
--   correlation search, locally)? Pearson r between the seed experiment's energy grid and
--   every other experiment's, over the 200 um voxels annotated with the given mouse structures
--   or their descendants (the whole annotated brain when the list is empty), each pair over
--   the voxels where both grids have data (-1 excluded). The seed is an experiment id, or a
--   gene symbol: then its non-failed experiment with a grid, coronal first (coronal grids
--   cover both hemispheres), lowest id first.
-- grain: one row per non-failed experiment with a loaded grid, other than the seed, ordered by
--   r (largest first)
-- columns:
--   experiment_id       BIGINT   SectionDataSet id
--   gene_symbol         VARCHAR  its gene
--   plane               VARCHAR  coronal or sagittal
--   r                   DOUBLE   Pearson correlation with the seed (null: fewer than 3 voxels
--                                or a constant grid)
--   n_voxels            BIGINT   voxels both grids have data in, within the structures
--   seed_experiment_id  BIGINT   the seed experiment
-- sources: ish_grid_slices, ish_grid_cell_stats (per-cell sums computed at load),
--   ish_grid_voxels, ish_grid_cells, ish_grid_layout, ish_experiments, structures,
--   structure_ancestors; ish_slice_terms; require_value, require_values, require_loaded,
--   require_structure_data (argument checks). Pure SQL.
create or replace macro mouse_correlation_search(gene_or_experiment, structures) as table
with known as (
    select
        coalesce((select list(acronym) from structures where species = 'mouse'), [])
            as acronyms,
        coalesce((select list(distinct seed_text) from (
            select gene_symbol as seed_text from ish_experiments
            where has_grid and not is_failed and gene_symbol is not null
            union all
            select experiment_id::varchar from ish_experiments
            where has_grid and not is_failed)), []) as seeds
),

-- every argument checked: an error names the closest valid genes, ids and acronyms
checked as (
    select
        require_loaded((select count(*) from ish_grids),
            'Allen Mouse Brain Atlas 3-D expression grid data', 'brainwh ingest ish',
            'mouse_correlation_search') as loaded,
        require_value(gene_or_experiment::varchar, k.seeds,
            'gene or experiment (non-failed, with a loaded grid)', 'mouse_correlation_search')
            as seed_text,
        case when len(structures) = 0 then []::varchar[]
            else require_values(structures::varchar[], k.acronyms, 'structure (mouse acronym)',
                'mouse_correlation_search') end as within_list
    from known as k
),

seed as (
    select e.experiment_id
    from ish_experiments as e
    cross join checked as c
    where e.has_grid and not e.is_failed and c.loaded
      and (e.experiment_id::varchar = c.seed_text or e.gene_symbol = c.seed_text)
    order by e.experiment_id::varchar = c.seed_text desc, e.plane = 'coronal' desc,
             e.experiment_id
    limit 1
),

-- each cell (structure x side) in the domain or not, and the seed's statistics there
domain_cells as (
    select
        c.cell,
        len(k.within_list) = 0
            or coalesce(bool_or(list_contains(k.within_list, s.acronym)), false) as in_domain
    from ish_grid_cells as c
    cross join checked as k
    left join structure_ancestors as a on a.species = 'mouse' and a.structure_id = c.structure_id
    left join structures as s on s.species = 'mouse' and s.structure_id = a.ancestor_id
    group by c.cell, k.within_list
),

-- a domain without annotated voxels is an error, not a column of nulls
seed_cells as (
    select
        d.cell,
        d.in_domain,
        g.n_valid[d.cell] as n_valid,
        g.sums[d.cell] as sums
    from domain_cells as d
    cross join ish_grid_cell_stats as g
    cross join (
        select require_structure_data(
            case when len(any_value(k.within_list)) = 0 then 1
                else count(*) filter (where d.in_domain) end,
            structures, 'annotated grid voxel', 'mouse_correlation_search') as n
        from domain_cells as d cross join checked as k
    ) as present
    where g.experiment_id = (select experiment_id from seed) and present.n > 0
),

-- the seed's mean over its valid voxels in the domain: its values are centered on it, which
-- keeps the sums of products well conditioned (r does not change)
center as (
    select coalesce(sum(sums) filter (where in_domain) / sum(n_valid) filter (where in_domain),
                    0) as m
    from seed_cells
),

seed_voxels as (
    select
        sl.slice,
        sl.position,
        sl.value,
        coalesce(c.in_domain, false) as in_d,
        coalesce(c.n_valid > 0, false) as covered,
        v.cell
    from (
        select s.slice, generate_subscripts(s.energy, 1) as position, unnest(s.energy) as value
        from ish_grid_slices as s
        where s.experiment_id = (select experiment_id from seed)
    ) as sl
    left join ish_grid_voxels as v on v.slice = sl.slice and v.slice_position = sl.position
    left join seed_cells as c on c.cell = v.cell
),

-- per slice, constant lists: xd = centered seed value where the seed has data in the domain
-- (0 elsewhere), x2d its square, vd = 1 there, ed = 1 where the seed misses a voxel of a
-- domain cell it has data in, se = those positions
seed_slices as materialized (
    select
        slice,
        list(case when in_d and value >= 0 then value - m else 0 end::double
             order by position) as xd,
        list(case when in_d and value >= 0 then (value - m) * (value - m) else 0 end::double
             order by position) as x2d,
        list(case when in_d and value >= 0 then 1 else 0 end::double order by position) as vd,
        list(case when in_d and value < 0 and covered then 1 else 0 end::double
             order by position) as ed,
        coalesce(list(position order by position)
                 filter (where in_d and value < 0 and covered), []) as se
    from seed_voxels
    cross join center
    group by slice
),

-- per cell, what the seed contributes: valid domain voxels, their centered sums, missing ones
seed_cell_sums as materialized (
    select
        list(coalesce(vd, 0) order by cell) as csv,
        list(coalesce(x, 0) order by cell) as csx,
        list(coalesce(x2, 0) order by cell) as csx2,
        list(coalesce(e, 0) order by cell) as cse,
        list(case when in_d and covered then 1 else 0 end::double order by cell) as dcov,
        coalesce(sum(e), 0) as total_cse,
        coalesce(sum(x), 0) as total_csx
    from (
        select
            c.cell,
            bool_or(v.in_d) as in_d,
            bool_or(v.covered) as covered,
            sum(case when v.in_d and v.value >= 0 then 1 else 0 end)::double as vd,
            sum(case when v.in_d and v.value >= 0 then v.value - m else 0 end) as x,
            sum(case when v.in_d and v.value >= 0 then (v.value - m) * (v.value - m) else 0 end)
                as x2,
            sum(case when v.in_d and v.value < 0 and v.covered then 1 else 0 end)::double as e
        from ish_grid_cells as c
        left join seed_voxels as v on v.cell = c.cell
        cross join center
        group by c.cell
    )
),

-- each experiment's slices against the seed's, one branch per slice (the seed's lists are
-- constants there, read once); 16 slices (ingest.mouse_ish.schema.SLICES)
slice_terms as (
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 0)
    where g.slice = 0
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 1)
    where g.slice = 1
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 2)
    where g.slice = 2
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 3)
    where g.slice = 3
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 4)
    where g.slice = 4
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 5)
    where g.slice = 5
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 6)
    where g.slice = 6
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 7)
    where g.slice = 7
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 8)
    where g.slice = 8
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 9)
    where g.slice = 9
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 10)
    where g.slice = 10
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 11)
    where g.slice = 11
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 12)
    where g.slice = 12
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 13)
    where g.slice = 13
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 14)
    where g.slice = 14
    union all
    select experiment_id, ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as t
    from ish_grid_slices as g, (select xd, x2d, vd, ed, se from seed_slices where slice = 15)
    where g.slice = 15
),

per_experiment as (
    select
        experiment_id,
        sum(t.dot) as dot,
        sum(t.gsum) as gsum,
        sum(t.gsq) as gsq,
        sum(t.gv) as gv,
        sum(t.gx) as gx,
        sum(t.gx2) as gx2,
        sum(t.ge) as ge
    from slice_terms
    group by experiment_id
),

-- the pairwise sums over the voxels both have data in (derivation: README, "Allen Mouse Brain
-- Atlas"); covered = the experiment's cells that have data (1) or not (0)
sums as (
    select
        p.experiment_id,
        list_inner_product(g.covered, s.csv) - p.gv as n,
        list_inner_product(g.covered, s.csx) - p.gx as sx,
        list_inner_product(g.covered, s.csx2) - p.gx2 as sxx,
        list_inner_product(s.dcov, g.sums) - p.gsum
            - (s.total_cse - list_inner_product(g.covered, s.cse)) - p.ge as sy,
        list_inner_product(s.dcov, g.sumsqs) - p.gsq
            + (s.total_cse - list_inner_product(g.covered, s.cse)) + p.ge as syy,
        p.dot + (s.total_csx - list_inner_product(g.covered, s.csx)) + p.gx as sxy
    from per_experiment as p
    join ish_grid_cell_stats as g on g.experiment_id = p.experiment_id
    cross join seed_cell_sums as s
)

select
    e.experiment_id,
    e.gene_symbol,
    e.plane,
    case when x.n >= 3 and x.n * x.sxx - x.sx * x.sx > 0 and x.n * x.syy - x.sy * x.sy > 0
        then greatest(-1.0, least(1.0, (x.n * x.sxy - x.sx * x.sy)
                                        / sqrt((x.n * x.sxx - x.sx * x.sx)
                                               * (x.n * x.syy - x.sy * x.sy))))
    end as r,
    round(x.n)::bigint as n_voxels,
    (select experiment_id from seed) as seed_experiment_id
from sums as x
join ish_experiments as e on e.experiment_id = x.experiment_id
where not e.is_failed and x.experiment_id <> (select experiment_id from seed)
order by r desc nulls last, e.experiment_id, e.gene_symbol
