-- name: ish_slice_terms
-- kind: macro
-- signature: ish_slice_terms(grid_column, seed_column, seed_missing)
-- example: select ish_slice_terms([1.0, -1.0]::float[2], [0.5, 0.0]::float[2], [2])
-- question: What one column of an experiment's grid (ish_grids.s00..s15, the values as the
--   source has them, -1 = no data) adds to a correlation with a seed (mouse_correlation_search):
--   its product with the seed's column (the seed's centered values in the domain, 0
--   elsewhere), and the sum and sum of squares of its values at the positions where the seed
--   misses voxels (seed_missing).
-- grain: one value per call
-- columns:
--   ish_slice_terms  STRUCT  dot (the product, summed in single precision over the column),
--     gsum and gsq (sum and sum of squares of the values at seed_missing)
-- sources: none (arithmetic on arrays); used by mouse_correlation_search
create or replace macro ish_slice_terms(grid_column, seed_column, seed_missing) as {
    'dot': array_inner_product(grid_column, seed_column)::double,
    'gsum': coalesce(list_sum(list_select(grid_column, seed_missing)), 0)::double,
    'gsq': coalesce(list_inner_product(list_select(grid_column, seed_missing)::double[],
                                       list_select(grid_column, seed_missing)::double[]), 0)
}
