-- name: require_value
-- kind: macro
-- signature: require_value(wanted, allowed, what, caller)
-- example: select require_value('class', ['class', 'subclass'], 'level', 'my_macro')
-- question: Is a macro's argument one of the values it may take? Returns the argument
--   unchanged when it is in `allowed`; otherwise raises an error every client sees (the
--   DuckDB CLI, Python, BI tools through `brainwh serve`) naming the caller, what was expected
--   and the closest valid values: "compare_composition: unknown level 'Class' (did you mean
--   'class'? expected one of ...)". Table macros check each argument with it (require_values
--   for lists), so a wrong argument is an error, never a plausible empty or one-sided answer.
-- grain: one value per call
-- columns:
--   require_value  VARCHAR  `wanted`, when allowed; else an Invalid Input Error
-- sources: did_you_mean (pure SQL)
create or replace macro require_value(wanted, allowed, what, caller) as (
    case
        when wanted is null then error(caller || ': ' || what || ' is null')
        when coalesce(list_contains(allowed, wanted::varchar), false) then wanted
        else error(caller || ': unknown ' || what || ' ''' || wanted::varchar || ''''
            || did_you_mean(wanted, allowed))
    end
)
