-- name: cell_type_markers
-- kind: macro
-- signature: cell_type_markers(cell_type, level, contrast)
-- example: select gene_symbol, log2_fold_change, fraction_in, fraction_out, q_value
--   from cell_type_markers('L2/3 IT CTX Glut', 'subclass', 'rest') limit 20
-- question: Which genes mark a cell type of the ABC whole-mouse-brain taxonomy? `cell_type` is
--   a term label (CS20230722_SUBC_007), name (007 L2/3 IT CTX Glut) or name without its
--   number (L2/3 IT CTX Glut) at `level`; `contrast` is 'rest' (every other cell) or
--   'siblings' (the other children of the type's parent; for a class or neurotransmitter
--   type, the rest). Each side pools its clusters' MapMyCells statistics (n = sum of
--   n_cells, sums and sums of squares added). Welch's t on the cells' log2(CPM+1) values from
--   those sums, two-sided p from Student's t (t_dist_sf), Benjamini-Hochberg q over the
--   genes with a p-value: for a true-count file this is scipy.stats.ttest_ind(equal_var=
--   False) on the cells (scanpy's rank_genes_groups method='t-test'). For a means-only file
--   (the ABC release's) the means, fold changes and ranks are exact (clusters weighted by
--   their real cells) and fractions, t, p and q are null, with the reason in `note`.
-- grain: one row per gene of the statistics, ordered by q_value, then log2_fold_change
--   (largest first)
-- columns:
--   gene_symbol       VARCHAR  the gene's symbol (gene.csv; symbols repeat)
--   gene_identifier   VARCHAR  its Ensembl id
--   n_in              BIGINT   cells of the type
--   n_out             BIGINT   cells of the contrast
--   mean_in           DOUBLE   mean log2(CPM+1) over the type's cells
--   mean_out          DOUBLE   mean over the contrast's cells
--   log2_fold_change  DOUBLE   mean_in - mean_out (the values are log2)
--   fraction_in       DOUBLE   fraction of the type's cells with CPM >= 1 (null: not exact)
--   fraction_out      DOUBLE   fraction of the contrast's cells with CPM >= 1
--   t                 DOUBLE   Welch's t (null when a side has one cell, or no variance)
--   df                DOUBLE   Welch-Satterthwaite degrees of freedom
--   p_value           DOUBLE   two-sided P(|T| > |t|)
--   q_value           DOUBLE   Benjamini-Hochberg over the genes with a p-value
--   rank              BIGINT   1 = first in the order above
--   note              VARCHAR  why fractions, t, p and q are null (null: all exact)
-- sources: expression_type_stats (per cell type, pooled at load), expression_cluster_stats,
--   expression_clusters, expression_cell_types, expression_genes, expression_statistics,
--   genes, expression_arguments (the values accepted, built at build); welch_t, welch_dof,
--   t_dist_sf; require_value, require_loaded (argument checks). Pure SQL: works from any
--   DuckDB client.
create or replace macro cell_type_markers(of_cell_type, at_level, versus) as table
with known as (
    select
        (select count(*) from expression_statistics) as n_loaded,
        coalesce((select list(value order by value) from expression_arguments
                  where argument = 'level'), []) as levels,
        -- the names sharing the argument's first two letters (see gene_expression_by_cell_type)
        coalesce((select list(value order by value) from expression_arguments
                  where argument = 'cell_type' and level = at_level
                      and prefix = lower(left(of_cell_type, 2))), []) as cell_types
),

-- every argument checked, in this order: an error names the closest valid values. One
-- require_value for all of them, given the first wrong one: each call binds a did_you_mean,
-- 3-7 ms of planning per call on the development machine
checked as (
    select
        require_loaded(k.n_loaded, 'ABC MapMyCells statistics file',
            'brainwh ingest expression precomputed_stats_*.h5', 'cell_type_markers') as loaded,
        require_value(
            case k.first_wrong when 'level' then at_level when 'contrast' then versus
                else of_cell_type end,
            case k.first_wrong when 'level' then k.levels when 'contrast' then k.contrasts
                else k.cell_types end,
            case k.first_wrong when 'level' then 'level' when 'contrast' then 'contrast'
                else coalesce(at_level, 'cell type') || ' (a term label, a name, or a name '
                    || 'without its number)' end,
            'cell_type_markers') as arguments
    from (
        select
            *,
            case
                when not coalesce(list_contains(levels, at_level::varchar), false) then 'level'
                when not coalesce(list_contains(contrasts, versus::varchar), false)
                    then 'contrast'
            end as first_wrong
        from (select *, ['rest', 'siblings'] as contrasts from known)
    ) as k
),

matches as (
    select *
    from expression_cell_types
    where level = at_level
        and of_cell_type in (cell_type_label, cell_type, regexp_replace(cell_type, '^[0-9]+ ', ''))
),

-- a name without its number can name two types: ask for a label
ambiguity as (
    select count(*) as n_matches, string_agg(cell_type_label || ' ' || cell_type, ', ') as names
    from matches
),

chosen as (
    select
        t.type_pos as in_pos,
        t.cluster_pos as in_cluster,
        t.n_cells as n_in,
        o.type_pos as out_pos,
        o.n_cells - t.n_cells as n_out
    from matches as t
    join expression_cell_types as o
        on o.type_pos = case when versus = 'siblings' then t.parent_pos else 0 end
    cross join ambiguity as a
    where coalesce(case when a.n_matches > 1
            then error('cell_type_markers: ' || of_cell_type || ' names ' || a.n_matches || ' '
                || at_level || ' types (' || a.names || '): give a label') end, true)
        and coalesce(case when o.n_cells - t.n_cells <= 0
            then error('cell_type_markers: ' || of_cell_type || ' has no ' || versus
                || ' (its parent holds no other cells): use ''rest''') end, true)
),

-- the type's sums: pooled at load above the cluster level; a cluster's own rows otherwise
inside as (
    select s.gene_pos, s.sum, s.sumsq, s.ge1
    from expression_type_stats as s
    join chosen as c on s.type_pos = c.in_pos
    union all
    select s.gene_pos, s.sum * k.scale, s.sumsq, s.ge1
    from expression_cluster_stats as s
    join chosen as c on s.cluster_pos = c.in_cluster
    join expression_clusters as k on k.cluster_pos = s.cluster_pos
),

-- the contrast's sums: its whole (root or parent) minus the type
whole as (
    select s.gene_pos, s.sum, s.sumsq, s.ge1
    from expression_type_stats as s
    join chosen as c on s.type_pos = c.out_pos
),

-- one row per gene from a GROUP BY: its output is read in parallel, so the Student t tail
-- below (most of a call's time) runs on every core; a pipeline from a table of 32,285 rows
-- (one row group), from a materialized CTE or into a window runs on one. Each gene has at
-- most one row of each side: max() returns it unchanged.
sides as (
    select
        p.gene_pos,
        p.gene_identifier,
        c.n_in,
        c.n_out,
        coalesce(p.i_sum, 0) as s_in,
        coalesce(p.i_sumsq, 0) as q_in,
        coalesce(p.i_ge1, 0) as e_in,
        coalesce(p.w_sum, 0) - coalesce(p.i_sum, 0) as s_out,
        coalesce(p.w_sumsq, 0) - coalesce(p.i_sumsq, 0) as q_out,
        coalesce(p.w_ge1, 0) - coalesce(p.i_ge1, 0) as e_out
    from (
        select
            gene_pos,
            max(gene_identifier) as gene_identifier,
            max(i_sum) as i_sum,
            max(i_sumsq) as i_sumsq,
            max(i_ge1) as i_ge1,
            max(w_sum) as w_sum,
            max(w_sumsq) as w_sumsq,
            max(w_ge1) as w_ge1
        from (
            select gene_pos, gene_identifier, null::double as i_sum, null::double as i_sumsq,
                null::bigint as i_ge1, null::double as w_sum, null::double as w_sumsq,
                null::bigint as w_ge1
            from expression_genes
            union all
            select gene_pos, null, sum, sumsq, ge1, null, null, null from inside
            union all
            select gene_pos, null, null, null, null, sum, sumsq, ge1 from whole
        )
        group by gene_pos
        having count(gene_identifier) > 0  -- the genes of the statistics, as a join to them
    ) as p
    cross join chosen as c
),

moments as (
    select
        d.*,
        d.s_in / d.n_in as mean_in,
        d.s_out / d.n_out as mean_out,
        -- squared standard errors of the two means
        case when st.has_sumsq and d.n_in > 1
            then greatest(d.q_in - d.s_in * d.s_in / d.n_in, 0) / (d.n_in - 1) / d.n_in
        end as se2_in,
        case when st.has_sumsq and d.n_out > 1
            then greatest(d.q_out - d.s_out * d.s_out / d.n_out, 0) / (d.n_out - 1) / d.n_out
        end as se2_out,
        case when st.has_ge1 then d.e_in / d.n_in end as fraction_in,
        case when st.has_ge1 then d.e_out / d.n_out end as fraction_out
    from sides as d
    cross join expression_statistics as st
),

t_stats as (
    select
        *,
        welch_t(mean_in, mean_out, se2_in, se2_out) as t_stat,
        welch_dof(se2_in, se2_out, n_in, n_out) as dof
    from moments
),

-- the Student t tail only where there is a t (a means-only file has none: CASE evaluates it
-- on no row), one continued fraction per gene, between the GROUP BY above and one more (of
-- one row per gene: max() returns it unchanged), so both ends of its pipeline are parallel.
-- Every CTE from here on is read once: a CTE read twice is planned twice unless DuckDB
-- materializes it, and a macro stored in the warehouse file keeps no AS MATERIALIZED.
tails as (
    select
        gene_pos,
        max(gene_identifier) as gene_identifier, max(n_in) as n_in, max(n_out) as n_out,
        max(mean_in) as mean_in, max(mean_out) as mean_out, max(fraction_in) as fraction_in,
        max(fraction_out) as fraction_out, max(t_stat) as t_stat, max(dof) as dof, max(p) as p
    from (
        select
            *,
            case when t_stat is not null then 2 * t_dist_sf(abs(t_stat), dof) end as p
        from t_stats
    )
    group by gene_pos
),

-- Benjamini-Hochberg over the genes with a t: the rows without one sort after them (their p
-- is null), so the ranks and the running minimum of the others are as over those genes alone
ranked as (
    select
        *,
        count(p) over () as m,
        row_number() over (order by p asc nulls last, gene_pos) as p_rank
    from tails
),

tested as (
    select
        * exclude (m, p_rank),
        case when t_stat is not null then least(1.0, min(p * m / p_rank) over (
            order by p desc nulls first, gene_pos desc
            rows between unbounded preceding and current row)) end as q
    from ranked
),

ranks as (
    select
        *,
        row_number() over (order by q asc nulls last, mean_in - mean_out desc, gene_pos) as rank
    from tested
),

answer as (
    select
        g.gene_symbol,
        a.gene_identifier,
        a.n_in::bigint as n_in,
        a.n_out::bigint as n_out,
        a.mean_in,
        a.mean_out,
        a.mean_in - a.mean_out as log2_fold_change,
        a.fraction_in,
        a.fraction_out,
        a.t_stat as t,
        a.dof as df,
        a.p as p_value,
        a.q as q_value,
        a.rank,
        st.note
    from ranks as a
    cross join (  -- once, not per gene
        select nullif(concat_ws('; ', variance_note, fraction_note), '') as note
        from expression_statistics
    ) as st
    left join genes as g on g.gene_identifier = a.gene_identifier
)

-- the checks run even where DuckDB can prove the answer empty and drop the plan leading to it:
-- this branch cannot be proven empty, reads every checked value, and never has a row
select * from answer
union all
select
    null::varchar, null::varchar, null::bigint, null::bigint, null::double, null::double,
    null::double, null::double, null::double, null::double, null::double, null::double,
    null::double, null::bigint, null::varchar
from checked
where hash(checked) * random() < 0
order by rank
