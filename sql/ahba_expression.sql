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
-- sources: ahba_expression_arrays (one row per donor and probe; each UBIGINT element holds two
--   samples' 32-bit codes, round(expression * 1e6) * 2 + present + 2^31), ahba_samples. Filter on
--   probe_id (or donor_id) for fast lookups; gene-level questions are answered by the views.
create or replace view ahba_expression as
with measured as (
    select
        a.donor_id,
        s.sample_index,
        s.well_id,
        a.probe_id,
        (a.codes[(s.sample_index + 1) // 2] >> (32 * ((s.sample_index - 1) % 2)))
            & 4294967295 as code
    from ahba_expression_arrays as a
    join ahba_samples as s on s.donor_id = a.donor_id
)

select
    donor_id,
    sample_index,
    well_id,
    probe_id,
    ((code::bigint - 2147483648) >> 1) / 1000000.0::double as expression,
    (code & 1) = 1 as present
from measured
