-- name: did_you_mean
-- kind: macro
-- signature: did_you_mean(wanted, allowed)
-- example: select did_you_mean('mop', ['MOp', 'MOs', 'STRd'])
-- question: What should an error about an unknown value suggest instead? The allowed values
--   equal to it ignoring case ('mop' -> 'MOp', 'Cb' -> 'CB'); else the three most similar
--   (Jaro-Winkler similarity of the lower-cased texts at least 0.8); and, when there are at
--   most 12 allowed values, all of them. Used by require_value and require_values.
-- grain: one value per call
-- columns:
--   did_you_mean  VARCHAR  ' (did you mean ''MOp''?)', ' (did you mean ''a'', ''b'', ''c''? expected
--     one of ...)', ' (none are loaded)' when nothing is allowed, or '' when nothing
--     is close and the allowed values are too many to list
-- sources: none (pure SQL)
create or replace macro did_you_mean(wanted, allowed) as (
    -- No subquery and no repeated expression: inside a CASE branch nothing of this runs until a
    -- value is wrong (DuckDB hoists repeated expressions out of CASE branches and plans
    -- subqueries as joins, both evaluated for every call). list_transform([x], lambda v: ...)[1]
    -- names a value computed once.
    case
        when coalesce(len(allowed), 0) = 0 then ' (none are loaded)'
        else list_transform([list_distinct(allowed)], lambda candidates: list_transform([coalesce(
            -- the same but for case ('mop' -> 'MOp'), else the three most similar
            nullif(list_filter(candidates, lambda c: lower(c) = lower(wanted::varchar)), []),
            list_transform(list_filter(list_sort(list_transform(candidates, lambda c: {
                    'distance': 1 - jaro_winkler_similarity(lower(c), lower(wanted::varchar)),
                    'value': c})), lambda x: x.distance <= 0.2), lambda x: x.value)[1:3])],
            lambda close: case
                when len(close) = 0 and len(candidates) > 12 then ''
                else ' ('
                    || case when len(close) = 0 then ''
                        else 'did you mean ''' || array_to_string(close, ''', ''') || '''?'
                    end
                    || case when len(candidates) > 12 then ''
                        else case when len(close) = 0 then '' else ' ' end
                            || 'expected one of ''' || array_to_string(allowed, ''', ''') || ''''
                    end
                    || ')'
            end)[1])[1]
    end
)
