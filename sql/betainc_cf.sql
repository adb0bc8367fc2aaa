-- name: betainc_cf
-- kind: macro
-- signature: betainc_cf(a, b, x)
-- example: select betainc_cf(10.0, 0.5, 0.2)
-- question: The continued fraction of the regularized incomplete beta function I_x(a, b)
--   (Numerical Recipes' betacf), so that I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * betainc_cf.
--   Evaluated from the tail with 80 terms d_1..d_80, two per step (d_2m then d_2m-1, m = 40
--   down to 1: no CASE and half the lambda steps of one term per step, ~3x faster). For the a, b
--   of Student's t, through t_dist_tail, the tail agrees with scipy to 1e-8 relative up to 4,000
--   degrees of freedom and to 2e-7 up to 10 million, next to the switch between its two
--   fractions (tests/test_microarray_tdist.py).
-- grain: one value per call
-- columns:
--   betainc_cf  DOUBLE  the continued fraction
-- sources: none (pure SQL: callable from any DuckDB client)
create or replace macro betainc_cf(cf_a, cf_b, cf_x) as (
    1.0::double / list_reduce(range(40, 0, -1), lambda acc, m:
        1.0::double - (cf_a + m - 1) * (cf_a + cf_b + m - 1) * cf_x
            / ((cf_a + 2 * m - 2) * (cf_a + 2 * m - 1))
            / (1.0::double + m * (cf_b - m) * cf_x / ((cf_a + 2 * m - 1) * (cf_a + 2 * m)) / acc),
        1.0::double)
)
