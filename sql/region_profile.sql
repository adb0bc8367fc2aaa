-- name: region_profile
-- kind: view
-- question: For each mouse CCF structure, what is its cell-type composition (ABC Atlas) next to
--   the physiology of its patched cells (Cell Types Database), on one row?
-- grain: one row per mouse CCF structure with cells from either source (ABC cells through
--   the dissection regions it contains, or Cell Types specimens in it or below it)
-- columns:
--   structure_id                                BIGINT   mouse CCF id (graph 1)
--   structure_acronym                           VARCHAR  its acronym
--   structure_name                              VARCHAR  its name
--   depth                                       INTEGER  its depth in the ontology (root 0)
--   n_cells                                     BIGINT   ABC cells with a known subclass (0 when none)
--   top_subclass                                VARCHAR  the most common ABC subclass (ties: first by name)
--   top_subclass_label                          VARCHAR  its taxonomy label
--   top_subclass_fraction                       DOUBLE   its fraction of n_cells
--   n_ephys_specimens                           BIGINT   Cell Types specimens (0 when none)
--   n_ephys_cells                               BIGINT   of those, cells with ephys features
--   mean_vrest                                  DOUBLE   mean resting potential, mV
--   mean_threshold_i_long_square                DOUBLE   mean rheobase, pA
--   mean_tau                                    DOUBLE   mean membrane time constant, ms
--   mean_upstroke_downstroke_ratio_long_square  DOUBLE   mean spike upstroke/downstroke ratio
--   fraction_aspiny                             DOUBLE   share of the ephys cells that are aspiny (interneurons)
--   composition_method                          VARCHAR  where n_cells and the top subclass come from: spatial (MERFISH) or dissection (10x); null without ABC cells
-- sources: composition (structure rows, subclass level), ephys_by_region (mouse, all layers),
--   structures; joined on structure id. ABC counts come from the MERFISH cells in the
--   structure when it has any (composition's spatial rows), else from the 10x cells of the
--   dissection regions it wholly contains (VIS, not VISp); Cell Types counts through every
--   layer-level id, so some structures have one side only.
create or replace view region_profile as
with structure_rows as (
    select structure_id, method, cell_type, cell_type_label, n_cells, fraction
    from composition
    where region_kind = 'structure' and level = 'subclass'
),

-- spatial (MERFISH) counts where a structure has them, else the dissection counts
chosen_method as (
    select structure_id, min(method) filter (where method = 'spatial') as spatial,
        min(method) as any_method
    from structure_rows
    group by structure_id
),

subclasses as (
    select r.structure_id, r.method, r.cell_type, r.cell_type_label, r.n_cells, r.fraction
    from structure_rows as r
    join chosen_method as m
        on m.structure_id = r.structure_id and r.method = coalesce(m.spatial, m.any_method)
),

abc as (
    select structure_id, sum(n_cells) as n_cells, any_value(method) as method
    from subclasses
    group by structure_id
),

top as (
    select
        structure_id,
        cell_type as top_subclass,
        cell_type_label as top_subclass_label,
        fraction as top_subclass_fraction
    from subclasses
    qualify row_number() over (partition by structure_id order by n_cells desc, cell_type) = 1
),

ephys as (
    select structure_id, n_specimens, n_cells, mean_vrest, mean_threshold_i_long_square,
        mean_tau, mean_upstroke_downstroke_ratio_long_square
    from ephys_by_region
    where species = 'mouse' and layer = 'all' and dendrite_type = 'all'
),

aspiny as (
    select structure_id, n_cells
    from ephys_by_region
    where species = 'mouse' and layer = 'all' and dendrite_type = 'aspiny'
),

present as (
    select structure_id from abc
    union
    select structure_id from ephys
)

select
    s.structure_id,
    s.acronym as structure_acronym,
    s.name as structure_name,
    s.depth,
    coalesce(abc.n_cells, 0)::bigint as n_cells,
    top.top_subclass,
    top.top_subclass_label,
    top.top_subclass_fraction,
    coalesce(e.n_specimens, 0)::bigint as n_ephys_specimens,
    coalesce(e.n_cells, 0)::bigint as n_ephys_cells,
    e.mean_vrest,
    e.mean_threshold_i_long_square,
    e.mean_tau,
    e.mean_upstroke_downstroke_ratio_long_square,
    coalesce(a.n_cells, 0) / nullif(e.n_cells, 0) as fraction_aspiny,
    abc.method as composition_method
from present as p
join structures as s on s.species = 'mouse' and s.structure_id = p.structure_id
left join abc on abc.structure_id = p.structure_id
left join top on top.structure_id = p.structure_id
left join ephys as e on e.structure_id = p.structure_id
left join aspiny as a on a.structure_id = p.structure_id
