-- name: t_dist_tail
-- kind: macro
-- signature: t_dist_tail(t_squared, df)
-- example: select t_dist_tail(4.0, 30)
-- question: P(T > |t|) for Student's t with df degrees of freedom, given t squared:
--   0.5 * I_x(df/2, 1/2) with x = df / (df + t^2), through betainc_cf directly when it converges
--   fast (t^2 > 3 df / (df + 2)), else through I_x(a, b) = 1 - I_{1-x}(b, a). Computed in log
--   space, so tiny tails keep their relative precision. One betainc_cf whose a, b, x (and
--   1 - x, computed as its own ratio) follow the branch: half the expression of one call per
--   branch, so the macros using it are planned in about half the time.
-- grain: one value per call
-- columns:
--   t_dist_tail  DOUBLE  the one-sided tail probability beyond |t|
-- sources: betainc_cf
create or replace macro t_dist_tail(t_squared, dof) as (
    list_transform([t_squared > 3.0 * dof / (dof + 2.0)], lambda direct:
        list_transform([[
            case when direct then dof / 2 else 0.5 end,
            case when direct then 0.5 else dof / 2 end,
            case when direct then dof / (dof + t_squared) else t_squared / (dof + t_squared) end,
            case when direct then t_squared / (dof + t_squared) else dof / (dof + t_squared) end
        ]], lambda abx:
            case when direct then 0.0 else 0.5 end
            + case when direct then 0.5 else -0.5 end
            * exp(abx[1] * ln(abx[3]) + abx[2] * ln(abx[4])
                - lgamma(dof / 2) - lgamma(0.5) + lgamma(dof / 2 + 0.5)) / abx[1]
            * betainc_cf(abx[1], abx[2], abx[3]))[1])[1]
)
