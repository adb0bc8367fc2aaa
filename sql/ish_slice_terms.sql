-- name: ish_slice_terms
-- kind: macro
-- signature: ish_slice_terms(energy, missing, xd, x2d, vd, ed, se)
-- example: select ish_slice_terms([1.0, -1.0], [2], [0.5, 0.0], [0.25, 0.0], [1.0, 0.0],
--   [0.0, 0.0], [])
-- question: The sums one slice of one experiment's grid adds to a correlation with a seed
--   (mouse_correlation_search): the experiment's raw values (energy, -1 = no data) against
--   the seed's values centered and masked by the domain (xd, their squares x2d, the seed-valid
--   domain mask vd, the mask ed and positions se of the seed's missing voxels in the domain),
--   and the experiment's own missing positions (missing).
-- grain: one value per call
-- columns:
--   ish_slice_terms  STRUCT  dot (energy . xd), gsum and gsq (sum and sum of squares of the
--     energy at se), gv, gx, gx2, ge (sums of vd, xd, x2d, ed at the missing positions)
-- sources: none (arithmetic on lists); used by mouse_correlation_search
create or replace macro ish_slice_terms(energy, missing, xd, x2d, vd, ed, se) as {
    'dot': list_inner_product(energy::double[], xd),
    'gsum': coalesce(list_sum(list_select(energy, se)), 0),
    'gsq': coalesce(list_inner_product(list_select(energy, se)::double[],
                                       list_select(energy, se)::double[]), 0),
    'gv': coalesce(list_sum(list_select(vd, missing)), 0),
    'gx': coalesce(list_sum(list_select(xd, missing)), 0),
    'gx2': coalesce(list_sum(list_select(x2d, missing)), 0),
    'ge': coalesce(list_sum(list_select(ed, missing)), 0)
}
