-- name: t_dist_tail
-- kind: macro
-- signature: t_dist_tail(t_squared, df)
-- example: select t_dist_tail(4.0, 30)
-- question: P(T > |t|) for Student's t with df degrees of freedom, given t squared:
--   0.5 * I_x(df/2, 1/2) with x = df / (df + t^2), through betainc_cf directly when it converges
--   fast (t^2 > 3 df / (df + 2)), else through I_x(a, b) = 1 - I_{1-x}(b, a). Computed in log
--   space, so tiny tails keep their relative precision.
-- grain: one value per call
-- columns:
--   t_dist_tail  DOUBLE  the one-sided tail probability beyond |t|
-- sources: betainc_cf
create or replace macro t_dist_tail(t_squared, dof) as (
    case
        when t_squared > 3.0 * dof / (dof + 2.0) then
            0.5 * exp((dof / 2) * ln(dof / (dof + t_squared)) + 0.5 * ln(t_squared / (dof + t_squared))
                - lgamma(dof / 2) - lgamma(0.5) + lgamma(dof / 2 + 0.5)) / (dof / 2)
            * betainc_cf(dof / 2, 0.5, dof / (dof + t_squared))
        else
            0.5 - 0.5 * exp(0.5 * ln(t_squared / (dof + t_squared)) + (dof / 2) * ln(dof / (dof + t_squared))
                - lgamma(0.5) - lgamma(dof / 2) + lgamma(dof / 2 + 0.5)) / 0.5
            * betainc_cf(0.5, dof / 2, t_squared / (dof + t_squared))
    end
)
