-- name: ahba_expression
-- kind: view
-- example: select * from ahba_expression where probe_id = 1058685
-- question: Every Allen Human Brain Atlas microarray measurement in long form: one probe in one
--   sample of one donor, with its normalized log2 expression and PACall flag.
-- grain: one row per donor, sample and probe (217 M rows for the six donors)
-- columns:
--   donor_id      INTEGER  the donor's uid (9861, 10021, 12876, 14380, 15496, 15697)
--   sample_index  INTEGER  1-based: column j of the matrices = row j of SampleAnnot.csv
--   well_id       BIGINT   the sample's well id (unique across donors; joins ahba_samples)
--   probe_id      BIGINT   joins ahba_probes
--   expression    DOUBLE   normalized log2 expression, to 6 decimals (stored as integer codes)
--   present       BOOLEAN  PACall: expressed above background (1 in PACall.csv)
-- sources: ahba_expression_arrays (one row per donor and probe, codes[j] = sample j:
--   round(expression * 1e6) * 2 + present), ahba_samples. Filter on probe_id (or donor_id)
--   for fast lookups; gene-level questions are answered faster by the views below.
create or replace view ahba_expression as
select
    a.donor_id,
    s.sample_index,
    s.well_id,
    a.probe_id,
    (a.codes[s.sample_index] >> 1) / 1000000.0::double as expression,
    (a.codes[s.sample_index] & 1) = 1 as present
from ahba_expression_arrays as a
join ahba_samples as s on s.donor_id = a.donor_id
