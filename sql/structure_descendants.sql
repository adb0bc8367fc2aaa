-- name: structure_descendants
-- kind: macro
-- signature: structure_descendants(acronym, species)
-- example: select acronym, name, distance from structure_descendants('VISp', 'mouse')
-- question: Which structures make up the subtree of a structure (itself included)?
-- grain: one row per structure in the subtree
-- columns:
--   structure_id         BIGINT   id of the descendant (graph 1 mouse, graph 10 human)
--   acronym              VARCHAR  its acronym
--   name                 VARCHAR  its name
--   parent_structure_id  BIGINT   its parent
--   depth                INTEGER  its depth in the whole ontology (root 0)
--   distance             INTEGER  steps below the given structure (0 = the structure itself)
--   structure_id_path    VARCHAR  /root/.../itself/
--   species              VARCHAR  mouse or human (as asked)
--   color_hex_triplet    VARCHAR  the atlas colour, RRGGBB
-- sources: structures, structure_ancestors; require_value (argument checks)
create or replace macro structure_descendants(of_acronym, of_species) as table
with checked_species as (
    select require_value(of_species, ['mouse', 'human'], 'species', 'structure_descendants')
        as species_name
),

-- acronyms are unique per species only (mouse CB is the cerebellum; human Cb is another)
checked as (
    select
        c.species_name,
        require_value(of_acronym, coalesce(k.acronyms, []),
            c.species_name || ' structure acronym', 'structure_descendants') as acronym_name
    from checked_species as c
    left join (
        select species, list(acronym) as acronyms from structures group by species
    ) as k on k.species = c.species_name
),

top as (
    select distinct s.structure_id, s.species
    from structures as s
    join checked as c on s.acronym = c.acronym_name and s.species = c.species_name
),

subtree as (
    select
        s.structure_id,
        s.acronym,
        s.name,
        s.parent_structure_id,
        s.depth,
        a.distance,
        s.structure_id_path,
        s.species,
        s.color_hex_triplet,
        s.graph_order
    from top
    join structure_ancestors as a on a.species = top.species and a.ancestor_id = top.structure_id
    join structures as s on s.species = a.species and s.structure_id = a.structure_id
)

-- the checks run even where DuckDB can prove the answer empty and drop the plan leading to it:
-- this branch cannot be proven empty, reads every checked value, and never has a row
select * exclude (graph_order)
from (
    select * from subtree
    union all
    select
        null::bigint, null::varchar, null::varchar, null::bigint, null::integer, null::integer,
        null::varchar, null::varchar, null::varchar, null::integer
    from checked
    where hash(checked) * random() < 0
)
order by graph_order, structure_id
