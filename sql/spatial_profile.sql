-- name: spatial_profile
-- kind: macro
-- signature: spatial_profile(structure[, bin_mm])
-- example: select * from spatial_profile('CA1') where axis = 'dv' order by bin_start_mm, n_cells desc
-- question: Where along the CCF axes do a structure's MERFISH cells lie, per subclass (for
--   plotting a structure's cell-type profile from anterior to posterior, dorsal to ventral and
--   left to right)? The structure is a mouse CCF acronym and includes its descendants; bins
--   are bin_mm wide (default 0.2 mm, the sections' spacing).
-- grain: one row per axis, bin and subclass with cells in it
-- columns:
--   structure_acronym  VARCHAR  the structure asked for
--   axis               VARCHAR  ap (x_ccf, anterior to posterior), dv (y_ccf, dorsal to ventral) or ml (z_ccf, left to right; midline 5.7)
--   bin_start_mm       DOUBLE   the bin's lower edge on that axis, mm
--   bin_end_mm         DOUBLE   its upper edge
--   subclass           VARCHAR  the cells' subclass; null for clusters the taxonomy lacks
--   subclass_label     VARCHAR  its taxonomy label
--   subclass_color     VARCHAR  its taxonomy colour (#RRGGBB), for plotting
--   n_cells            BIGINT   cells of the subclass in the bin
--   fraction           DOUBLE   their share of the bin's cells
-- sources: spatial_cells, parcellations, structure_ancestors, structures, cell_types;
--   require_value and require_loaded (argument checks)
create or replace macro spatial_profile(of_structure, bin_mm := 0.2) as table
-- every argument checked: an error names the closest valid values
with checked as (
    select
        require_loaded((select count(*) from spatial_cells), 'MERFISH cell metadata',
            'brainwh ingest spatial', 'spatial_profile') as loaded,
        require_value(of_structure, coalesce(k.acronyms, []), 'mouse structure acronym',
            'spatial_profile') as structure_name,
        case when bin_mm is null or bin_mm <= 0
            then error('spatial_profile: bin_mm must be a positive number of millimetres, '
                       || 'not ' || coalesce(bin_mm::varchar, 'null'))
            else bin_mm end as bin_width
    from (select list(acronym) as acronyms from structures where species = 'mouse') as k
),

target as (
    select s.structure_id
    from structures as s
    join checked as c on s.species = 'mouse' and s.acronym = c.structure_name
),

parcels as (
    select p.parcellation_index
    from parcellations as p
    join structure_ancestors as a on a.species = 'mouse' and a.structure_id = p.structure_id
    join target as t on t.structure_id = a.ancestor_id
),

cells as (
    select c.x_ccf, c.y_ccf, c.z_ccf, t.subclass, t.subclass_label, t.subclass_color
    from spatial_cells as c
    join parcels as p on p.parcellation_index = c.parcellation_index
    left join cell_types as t on t.cluster_alias = c.cluster_alias
),

binned as (
    select
        unnest([
            {'axis': 'ap', 'bin': floor(x_ccf / bin_mm)},
            {'axis': 'dv', 'bin': floor(y_ccf / bin_mm)},
            {'axis': 'ml', 'bin': floor(z_ccf / bin_mm)}
        ], recursive := true),
        subclass, subclass_label, subclass_color
    from cells
),

counts as (
    select axis, bin, subclass, subclass_label, subclass_color, count(*) as n_cells
    from binned
    group by axis, bin, subclass, subclass_label, subclass_color
),

answer as (
    select
        of_structure as structure_acronym,
        axis,
        round(bin * bin_mm, 6) as bin_start_mm,
        round((bin + 1) * bin_mm, 6) as bin_end_mm,
        subclass,
        subclass_label,
        subclass_color,
        n_cells,
        n_cells / sum(n_cells) over (partition by axis, bin) as fraction
    from counts
)

-- the checks run even where DuckDB can prove the answer empty: this branch reads them and
-- never has a row
select * from answer
union all
select null::varchar, null::varchar, null::double, null::double, null::varchar, null::varchar,
    null::varchar, null::bigint, null::double
from checked
where hash(checked) * random() < 0
order by axis, bin_start_mm, n_cells desc, subclass
