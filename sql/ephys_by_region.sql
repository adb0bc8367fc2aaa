-- name: ephys_by_region
-- kind: view
-- question: What are the electrophysiological properties of Cell Types Database cells in each
--   structure (including its descendants: VISp includes VISp1 ... VISp6b, VIS every visual
--   area), by layer and dendrite type?
-- grain: one row per (structure, species, layer, dendrite_type) with at least one specimen;
--   layer and dendrite_type are a value or 'all', so layer = 'all' gives one row per
--   (structure, species, dendrite_type) and layer = 'all' and dendrite_type = 'all' one per
--   (structure, species)
-- columns:
--   structure_id                                 BIGINT   mouse graph-1 or human-ontology id
--   structure_acronym                            VARCHAR  the ontology's acronym (the specimen file's when the id is not in it)
--   species                                      VARCHAR  mouse or human
--   layer                                        VARCHAR  the cells' layer as text (1, 2/3, 4, 5, 6a, 6b ...) or 'all'
--   dendrite_type                                VARCHAR  spiny, aspiny, sparsely spiny, or 'all'
--   in_ontology                                  BOOLEAN  the structure is in the loaded ontology (false: counted from the specimen file only)
--   n_specimens                                  BIGINT   specimens in the group, with or without ephys features
--   n_cells                                      BIGINT   cells with ephys features (the means and medians are over these)
--   mean_vrest                                   DOUBLE   resting membrane potential, mV
--   median_vrest                                 DOUBLE   resting membrane potential, mV
--   mean_threshold_i_long_square                 DOUBLE   rheobase (long-square threshold current), pA
--   median_threshold_i_long_square               DOUBLE   rheobase (long-square threshold current), pA
--   mean_tau                                     DOUBLE   membrane time constant, ms
--   median_tau                                   DOUBLE   membrane time constant, ms
--   mean_ri                                      DOUBLE   input resistance, MOhm
--   median_ri                                    DOUBLE   input resistance, MOhm
--   mean_upstroke_downstroke_ratio_long_square   DOUBLE   spike upstroke/downstroke ratio (fast-spiking about 1-1.5, pyramidal about 3)
--   median_upstroke_downstroke_ratio_long_square DOUBLE   spike upstroke/downstroke ratio
--   mean_f_i_curve_slope                         DOUBLE   slope of the firing rate vs current curve, Hz/pA
--   median_f_i_curve_slope                       DOUBLE   slope of the firing rate vs current curve, Hz/pA
--   mean_sag                                     DOUBLE   sag ratio of the hyperpolarising response
--   median_sag                                   DOUBLE   sag ratio of the hyperpolarising response
--   mean_adaptation                              DOUBLE   spike-frequency adaptation index (cells with enough spikes)
--   median_adaptation                            DOUBLE   spike-frequency adaptation index
--   mean_avg_isi                                 DOUBLE   mean inter-spike interval, ms
--   median_avg_isi                               DOUBLE   mean inter-spike interval, ms
--   mean_latency                                 DOUBLE   latency to the first spike at rheobase, s
--   median_latency                               DOUBLE   latency to the first spike at rheobase, s
-- sources: ephys_specimens, ephys_features, structure_ancestors, structures. A specimen counts
--   toward its structure and every ancestor in the ontology closure. When its structure id is
--   not in the loaded ontology (the report lists these; real human ids are often not), it
--   counts toward that structure and its area (structure_parent__id) only, named by the
--   specimen file. Medians interpolate between the two middle values, as pandas does. A
--   specimen without a layer or dendrite type counts only in the 'all' rows; feature rows
--   without a specimen count nowhere.
create or replace view ephys_by_region as
with known as (
    select species, structure_id, acronym
    from structures
),

-- the ids a specimen is filed under: its structure, plus its area when the structure is unknown
anchors as (
    select specimen_id, species, structure_id as anchor_id
    from ephys_specimens
    where structure_id is not null
    union all
    select p.specimen_id, p.species, p.area_id
    from ephys_specimens as p
    where p.area_id is not null
        and p.area_id is distinct from p.structure_id
        and not exists (
            select 1 from known as k
            where k.species = p.species and k.structure_id = p.structure_id
        )
),

-- each anchor and its ancestors when the ontology knows it, else the anchor alone
membership as (
    select distinct
        a.specimen_id,
        a.species,
        coalesce(c.ancestor_id, a.anchor_id) as structure_id
    from anchors as a
    left join structure_ancestors as c
        on c.species = a.species and c.structure_id = a.anchor_id
),

-- the specimen file's own acronyms, for ids the ontology does not know
file_acronyms as (
    select species, structure_id, min(acronym) as acronym
    from (
        select species, structure_id, structure_acronym as acronym from ephys_specimens
        union all
        select species, area_id, area_acronym from ephys_specimens
    )
    where structure_id is not null
    group by species, structure_id
),

cells as (
    select
        m.species,
        m.structure_id,
        p.layer as cell_layer,
        p.dendrite_type as cell_dendrite_type,
        f.specimen_id as featured_id,
        f.vrest,
        f.threshold_i_long_square,
        f.tau,
        f.ri,
        f.upstroke_downstroke_ratio_long_square,
        f.f_i_curve_slope,
        f.sag,
        f.adaptation,
        f.avg_isi,
        f.latency
    from membership as m
    join ephys_specimens as p on p.specimen_id = m.specimen_id
    left join ephys_features as f on f.specimen_id = m.specimen_id
),

summary as (
    select
        species,
        structure_id,
        case when grouping(cell_layer) = 1 then 'all' else cell_layer end as layer,
        case when grouping(cell_dendrite_type) = 1 then 'all' else cell_dendrite_type end
            as dendrite_type,
        count(*) as n_specimens,
        count(featured_id) as n_cells,
        avg(vrest) as mean_vrest,
        median(vrest) as median_vrest,
        avg(threshold_i_long_square) as mean_threshold_i_long_square,
        median(threshold_i_long_square) as median_threshold_i_long_square,
        avg(tau) as mean_tau,
        median(tau) as median_tau,
        avg(ri) as mean_ri,
        median(ri) as median_ri,
        avg(upstroke_downstroke_ratio_long_square) as mean_upstroke_downstroke_ratio_long_square,
        median(upstroke_downstroke_ratio_long_square)
            as median_upstroke_downstroke_ratio_long_square,
        avg(f_i_curve_slope) as mean_f_i_curve_slope,
        median(f_i_curve_slope) as median_f_i_curve_slope,
        avg(sag) as mean_sag,
        median(sag) as median_sag,
        avg(adaptation) as mean_adaptation,
        median(adaptation) as median_adaptation,
        avg(avg_isi) as mean_avg_isi,
        median(avg_isi) as median_avg_isi,
        avg(latency) as mean_latency,
        median(latency) as median_latency
    from cells
    group by grouping sets (
        (species, structure_id, cell_layer, cell_dendrite_type),
        (species, structure_id, cell_layer),
        (species, structure_id, cell_dendrite_type),
        (species, structure_id)
    )
    having (grouping(cell_layer) = 1 or cell_layer is not null)
        and (grouping(cell_dendrite_type) = 1 or cell_dendrite_type is not null)
)

select
    s.structure_id,
    coalesce(k.acronym, fa.acronym) as structure_acronym,
    s.species,
    s.layer,
    s.dendrite_type,
    k.structure_id is not null as in_ontology,
    s.n_specimens,
    s.n_cells,
    s.* exclude (species, structure_id, layer, dendrite_type, n_specimens, n_cells)
from summary as s
left join known as k on k.species = s.species and k.structure_id = s.structure_id
left join file_acronyms as fa on fa.species = s.species and fa.structure_id = s.structure_id
