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
-- sources: ish_grids (16 fixed-size columns of each grid's brain voxels), ish_grid_cell_stats
--   (per-cell counts and sums, computed at load), ish_grid_missing, ish_grid_voxels,
--   ish_grid_cells, ish_experiments, structures, structure_ancestors; ish_slice_terms;
--   require_value, require_values, require_loaded, require_structure_data (argument checks).
--   Pure SQL.
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

seed as materialized (
    select e.experiment_id
    from ish_experiments as e
    cross join checked as c
    where e.has_grid and not e.is_failed and c.loaded
      and (e.experiment_id::varchar = c.seed_text or e.gene_symbol = c.seed_text)
    order by e.experiment_id::varchar = c.seed_text desc, e.plane = 'coronal' desc,
             e.experiment_id
    limit 1
),

-- each cell (structure x side) in the domain or not
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

-- a domain without annotated voxels is an error, not a column of nulls; the seed's counts and
-- sums per cell
seed_cells as materialized (
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

-- the seed's mean over its voxels with data in the domain: its values are centered on it, which
-- keeps the float sums of products well conditioned (r does not change)
center as materialized (
    select coalesce(sum(sums) filter (where in_domain) / sum(n_valid) filter (where in_domain),
                    0) as m
    from seed_cells
),

-- the seed at every brain position: x = its centered value where it has data in the domain
-- (0 elsewhere); excepted = it misses the voxel though it has data elsewhere in the voxel's cell
seed_voxels as materialized (
    select
        v.position,
        v.slice,
        v.slice_position,
        v.cell,
        coalesce(c.in_domain, false) and x.value >= 0 as counted,
        coalesce(c.in_domain, false) and x.value < 0 and c.n_valid > 0 as excepted,
        case when coalesce(c.in_domain, false) and x.value >= 0 then x.value - m.m else 0 end
            as x
    from (
        select
            generate_subscripts(values, 1) as position,
            unnest(values) as value
        from (
            select flatten([s00, s01, s02, s03, s04, s05, s06, s07, s08, s09, s10, s11, s12, s13, s14, s15])
                as values
            from ish_grids
            where experiment_id = (select experiment_id from seed)
        )
    ) as x
    join ish_grid_voxels as v on v.position = x.position
    left join seed_cells as c on c.cell = v.cell
    cross join center as m
),

-- the seed as constants, one per column of ish_grids (read once, never copied per row)
seed_row as materialized (
    select
        list(x order by position) filter (where slice = 0)::float[4096] as x00,
        coalesce(list(slice_position order by position)
                 filter (where slice = 0 and excepted), []) as se00,
        list(x order by position) filter (where slice = 1)::float[4096] as x01,
        coalesce(list(slice_position order by position)
                 filter (where slice = 1 and excepted), []) as se01,
        list(x order by position) filter (where slice = 2)::float[4096] as x02,
        coalesce(list(slice_position order by position)
                 filter (where slice = 2 and excepted), []) as se02,
        list(x order by position) filter (where slice = 3)::float[4096] as x03,
        coalesce(list(slice_position order by position)
                 filter (where slice = 3 and excepted), []) as se03,
        list(x order by position) filter (where slice = 4)::float[4096] as x04,
        coalesce(list(slice_position order by position)
                 filter (where slice = 4 and excepted), []) as se04,
        list(x order by position) filter (where slice = 5)::float[4096] as x05,
        coalesce(list(slice_position order by position)
                 filter (where slice = 5 and excepted), []) as se05,
        list(x order by position) filter (where slice = 6)::float[4096] as x06,
        coalesce(list(slice_position order by position)
                 filter (where slice = 6 and excepted), []) as se06,
        list(x order by position) filter (where slice = 7)::float[4096] as x07,
        coalesce(list(slice_position order by position)
                 filter (where slice = 7 and excepted), []) as se07,
        list(x order by position) filter (where slice = 8)::float[4096] as x08,
        coalesce(list(slice_position order by position)
                 filter (where slice = 8 and excepted), []) as se08,
        list(x order by position) filter (where slice = 9)::float[4096] as x09,
        coalesce(list(slice_position order by position)
                 filter (where slice = 9 and excepted), []) as se09,
        list(x order by position) filter (where slice = 10)::float[4096] as x10,
        coalesce(list(slice_position order by position)
                 filter (where slice = 10 and excepted), []) as se10,
        list(x order by position) filter (where slice = 11)::float[4096] as x11,
        coalesce(list(slice_position order by position)
                 filter (where slice = 11 and excepted), []) as se11,
        list(x order by position) filter (where slice = 12)::float[4096] as x12,
        coalesce(list(slice_position order by position)
                 filter (where slice = 12 and excepted), []) as se12,
        list(x order by position) filter (where slice = 13)::float[4096] as x13,
        coalesce(list(slice_position order by position)
                 filter (where slice = 13 and excepted), []) as se13,
        list(x order by position) filter (where slice = 14)::float[4096] as x14,
        coalesce(list(slice_position order by position)
                 filter (where slice = 14 and excepted), []) as se14,
        list(x order by position) filter (where slice = 15)::float[4096] as x15,
        coalesce(list(slice_position order by position)
                 filter (where slice = 15 and excepted), []) as se15
    from (
        select v.position, v.slice, v.slice_position, v.x, v.excepted
        from seed_voxels as v
        union all  -- the padding after the last brain voxel
        select p, (p - 1) // 4096, (p - 1) % 4096 + 1, 0.0, false
        from range((select max(position) + 1 from ish_grid_voxels), 65537) as t(p)
    )
),

-- per cell, what the seed contributes: voxels with data in the domain, their centered sums and
-- squares, the voxels it misses in cells it has data in, and whether the cell counts at all
seed_cell_sums as materialized (
    select
        list(n order by cell) as csv,
        list(x order by cell) as csx,
        list(x2 order by cell) as csx2,
        list(e order by cell) as cse,
        list(case when in_d and covered then 1 else 0 end::double order by cell) as dcov,
        sum(e) as total_cse,
        sum(x) as total_csx
    from (
        select
            c.cell,
            c.in_domain as in_d,
            c.n_valid > 0 as covered,
            count(*) filter (where v.counted)::double as n,
            coalesce(sum(v.x), 0) as x,
            coalesce(sum(v.x * v.x), 0) as x2,
            count(*) filter (where v.excepted)::double as e
        from seed_cells as c
        join seed_voxels as v on v.cell = c.cell
        group by c.cell, c.in_domain, c.n_valid
    )
),

-- every grid against the seed: one product per column, and the grid's values where the seed
-- misses voxels
per_experiment as (
    select
        experiment_id,
        grid,
        list_sum(list_transform(t, lambda z: z.dot)) as dot,
        list_sum(list_transform(t, lambda z: z.gsum)) as gsum,
        list_sum(list_transform(t, lambda z: z.gsq)) as gsq
    from (
        select
            g.experiment_id,
            g.grid,
            [
            ish_slice_terms(g.s00, s.x00, s.se00),
            ish_slice_terms(g.s01, s.x01, s.se01),
            ish_slice_terms(g.s02, s.x02, s.se02),
            ish_slice_terms(g.s03, s.x03, s.se03),
            ish_slice_terms(g.s04, s.x04, s.se04),
            ish_slice_terms(g.s05, s.x05, s.se05),
            ish_slice_terms(g.s06, s.x06, s.se06),
            ish_slice_terms(g.s07, s.x07, s.se07),
            ish_slice_terms(g.s08, s.x08, s.se08),
            ish_slice_terms(g.s09, s.x09, s.se09),
            ish_slice_terms(g.s10, s.x10, s.se10),
            ish_slice_terms(g.s11, s.x11, s.se11),
            ish_slice_terms(g.s12, s.x12, s.se12),
            ish_slice_terms(g.s13, s.x13, s.se13),
            ish_slice_terms(g.s14, s.x14, s.se14),
            ish_slice_terms(g.s15, s.x15, s.se15)
            ] as t
        from ish_grids as g
        cross join seed_row as s
    )
),

-- the seed where each grid misses voxels (inside cells the grid has data in): the few
-- positions of ish_grid_missing in the domain
missing_terms as (
    select
        m.grid,
        count(*) filter (where v.counted)::double as gv,
        coalesce(sum(v.x), 0) as gx,
        coalesce(sum(v.x * v.x), 0) as gx2,
        count(*) filter (where v.excepted)::double as ge
    from ish_grid_missing as m
    join seed_voxels as v on v.position = m.position
    where v.counted or v.excepted
    group by m.grid
),

-- the sums over the voxels both have data in (derivation: README, "Allen Mouse Brain Atlas");
-- covered = the grid's cells that have data (1) or not (0)
sums as (
    select
        p.experiment_id,
        list_inner_product(g.covered, s.csv) - coalesce(t.gv, 0) as n,
        list_inner_product(g.covered, s.csx) - coalesce(t.gx, 0) as sx,
        list_inner_product(g.covered, s.csx2) - coalesce(t.gx2, 0) as sxx,
        list_inner_product(s.dcov, g.sums) - p.gsum
            - (s.total_cse - list_inner_product(g.covered, s.cse)) - coalesce(t.ge, 0) as sy,
        list_inner_product(s.dcov, g.sumsqs) - p.gsq
            + (s.total_cse - list_inner_product(g.covered, s.cse)) + coalesce(t.ge, 0) as syy,
        p.dot + (s.total_csx - list_inner_product(g.covered, s.csx)) + coalesce(t.gx, 0)
            as sxy
    from per_experiment as p
    join ish_grid_cell_stats as g on g.experiment_id = p.experiment_id
    cross join seed_cell_sums as s
    left join missing_terms as t on t.grid = p.grid
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
