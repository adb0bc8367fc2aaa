-- name: betainc_cf
-- kind: macro
-- signature: betainc_cf(a, b, x)
-- example: select betainc_cf(10.0, 0.5, 0.2)
-- question: The continued fraction of the regularized incomplete beta function I_x(a, b)
--   (Numerical Recipes' betacf), so that I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * betainc_cf.
--   Evaluated from the tail with 80 terms: converges to ~1e-11 for x < (a+1)/(a+b+2) and the
--   a, b of Student's t up to 4,000 degrees of freedom (tests/test_microarray_tdist.py).
-- grain: one value per call
-- columns:
--   betainc_cf  DOUBLE  the continued fraction
-- sources: none (pure SQL: callable from any DuckDB client)
create or replace macro betainc_cf(cf_a, cf_b, cf_x) as (
    1.0::double / list_reduce(
        list_transform(range(80, 0, -1), lambda k:
            case
                when k % 2 = 0
                    then (k // 2) * (cf_b - k // 2) * cf_x / ((cf_a + k - 1) * (cf_a + k))
                else -(cf_a + k // 2) * (cf_a + cf_b + k // 2) * cf_x
                    / ((cf_a + k - 1) * (cf_a + k))
            end),
        lambda acc, d: 1.0::double + d / acc,
        1.0::double)
)
