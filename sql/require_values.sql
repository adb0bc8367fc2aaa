-- name: require_values
-- kind: macro
-- signature: require_values(wanted, allowed, what, caller)
-- example: select require_values(['Str', 'CX'], ['Str', 'CX', 'FL'], 'target structure', 'my_macro')
-- question: Is every element of a list argument one of the allowed values? Returns the list
--   unchanged when it is non-empty and every element is allowed; otherwise raises one error
--   naming the caller and every unknown element with its closest valid values
--   ("differential_search: unknown target structure 'STR' (did you mean 'Str'?)"), or saying
--   the list is empty or null. The list form of require_value.
-- grain: one value per call
-- columns:
--   require_values  VARCHAR[]  `wanted`, when allowed; else an Invalid Input Error
-- sources: did_you_mean (pure SQL)
create or replace macro require_values(wanted, allowed, what, caller) as (
    case
        when wanted is null or len(wanted) = 0 then error(caller || ': no ' || what || ' given')
        when len(list_filter(wanted, lambda w:
                not coalesce(list_contains(allowed, w::varchar), false))) = 0 then wanted
        else error(caller || ': ' || array_to_string(list_transform(
            list_filter(wanted, lambda w, i:
                not coalesce(list_contains(allowed, w::varchar), false)
                and coalesce(not list_contains(wanted[1:i - 1], w), true)),  -- first mention
            lambda w: case when w is null then what || ' is null'
                else 'unknown ' || what || ' ''' || w::varchar || '''' || did_you_mean(w, allowed)
            end), '; '))
    end
)
