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
-- sources: structures, structure_ancestors
create or replace macro structure_descendants(of_acronym, of_species) as table
with top as (
    select structure_id, species
    from structures
    where acronym = of_acronym and species = of_species
)
select
    s.structure_id,
    s.acronym,
    s.name,
    s.parent_structure_id,
    s.depth,
    a.distance,
    s.structure_id_path,
    s.species,
    s.color_hex_triplet
from top
join structure_ancestors a on a.species = top.species and a.ancestor_id = top.structure_id
join structures s on s.species = a.species and s.structure_id = a.structure_id
order by s.graph_order, s.structure_id
