-- name: welch_t
-- kind: macro
-- signature: welch_t(mean_a, mean_b, se2_a, se2_b)
-- example: select welch_t(8.1, 6.9, 0.04, 0.02)
-- question: Welch's t statistic of two group means, given each mean's squared standard error
--   (variance over n): (mean_a - mean_b) / sqrt(se2_a + se2_b).
-- grain: one value per call
-- columns:
--   welch_t  DOUBLE  the t statistic; null when both squared standard errors are 0 or null
-- sources: none (arithmetic); used by differential_search and differential_search_probes
create or replace macro welch_t(mean_a, mean_b, se2_a, se2_b) as (
    case when se2_a + se2_b > 0 then (mean_a - mean_b) / sqrt(se2_a + se2_b) end
)
