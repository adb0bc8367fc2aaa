-- name: t_dist_sf
-- kind: macro
-- signature: t_dist_sf(t, df)
-- example: select t_dist_sf(2.5, 12.3)
-- question: The upper tail P(T > t) of Student's t with df (possibly fractional, as in Welch's
--   test) degrees of freedom: the one-sided p-value of a t statistic. Agrees with
--   scipy.stats.t.sf to ~1e-10 relative (tested to 1e-8), tiny p-values included.
--   t_dist_tail is named once (both signs use the same tail): planned in half the time.
-- grain: one value per call
-- columns:
--   t_dist_sf  DOUBLE  P(T > t); null when t or df is null, NaN, or df <= 0
-- sources: t_dist_tail, betainc_cf
create or replace macro t_dist_sf(t_value, dof) as (
    list_transform([t_dist_tail(t_value * t_value, dof)], lambda tail:
        case
            when t_value is null or dof is null or isnan(t_value) or isnan(dof) or dof <= 0
                then null
            when isinf(t_value) then case when t_value > 0 then 0.0::double else 1.0::double end
            when t_value = 0 then 0.5::double
            when t_value > 0 then tail
            else 1.0 - tail
        end)[1]
)
