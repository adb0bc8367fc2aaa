-- name: require_samples
-- kind: macro
-- signature: require_samples(n_samples, acronyms, caller)
-- example: select require_samples(12, ['Str'], 'my_macro target')
-- question: Does a set of structures hold any sample? Returns n_samples when it is above 0;
--   otherwise raises an error every client sees naming the caller and the structures
--   ("differential_search target: no sample lies in 'SubTH' or below it"), so valid
--   structures without data are an error that says why, not a result of nulls.
-- grain: one value per call
-- columns:
--   require_samples  BIGINT  n_samples, when above 0; else an Invalid Input Error
-- sources: none (pure SQL)
create or replace macro require_samples(n_samples, acronyms, caller) as (
    case
        when n_samples > 0 then n_samples
        else error(caller || ': no sample lies in '''
            || array_to_string(list_transform(acronyms, lambda a: a::varchar), ''', ''')
            || ''' or below ' || case when len(acronyms) = 1 then 'it' else 'them' end)
    end
)
