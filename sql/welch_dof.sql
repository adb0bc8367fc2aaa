-- name: welch_dof
-- kind: macro
-- signature: welch_dof(se2_a, se2_b, n_a, n_b)
-- example: select welch_dof(0.04, 0.02, 12, 30)
-- question: The Welch–Satterthwaite degrees of freedom of Welch's t test, from each group's
--   squared standard error (variance over n) and size.
-- grain: one value per call
-- columns:
--   welch_dof  DOUBLE  (se2_a + se2_b)^2 / (se2_a^2 / (n_a - 1) + se2_b^2 / (n_b - 1)); null
--     when both squared standard errors are 0 or null
-- sources: none (arithmetic); used by differential_search and differential_search_probes
create or replace macro welch_dof(se2_a, se2_b, n_a, n_b) as (
    case when se2_a + se2_b > 0
        then (se2_a + se2_b) * (se2_a + se2_b)
            / (se2_a * se2_a / (n_a - 1) + se2_b * se2_b / (n_b - 1))
    end
)
