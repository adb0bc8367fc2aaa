-- name: require_structure_data
-- kind: macro
-- signature: require_structure_data(n, acronyms, what, caller)
-- example: select require_structure_data(64, ['CP'], 'annotated grid voxel', 'my_macro target')
-- question: Do a set of structures hold any data of the kind a macro reads? Returns n when it
--   is above 0; otherwise raises an error every client sees naming the caller, what is missing
--   and the structures ("mouse_differential_search target: no annotated grid voxel in 'SF'
--   or below it"), so a valid structure without data is an error that says why, not a result
--   of nulls. require_samples says the same of AHBA samples.
-- grain: one value per call
-- columns:
--   require_structure_data  BIGINT  n, when above 0; else an Invalid Input Error
-- sources: none (pure SQL)
create or replace macro require_structure_data(n, acronyms, what, caller) as (
    case
        when n > 0 then n
        else error(caller || ': no ' || what || ' in '''
            || array_to_string(list_transform(acronyms, lambda a: a::varchar), ''', ''')
            || ''' or below ' || case when len(acronyms) = 1 then 'it' else 'them' end)
    end
)
