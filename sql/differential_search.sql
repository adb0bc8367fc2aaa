-- name: differential_search
-- kind: macro
-- signature: differential_search(target, contrast)
-- example: select gene_symbol, log2_fold_change, q_value
--   from differential_search(['Str'], ['FL', 'TL']) limit 20
-- question: Which genes are expressed more in the target structures than in the contrast
--   structures (Allen's "differential search", locally)? target and contrast are lists of
--   human structure acronyms; a sample belongs to a side when its structure is one of them or
--   below one of them; samples are pooled over donors (a sample in both sides counts in both).
--   One-sided Welch t-test (target greater), Benjamini-Hochberg q over the genes returned.
-- grain: one row per gene, ordered by q_value then log2_fold_change (largest first)
-- columns:
--   gene_symbol       VARCHAR  gene (its RefSeq probes averaged per sample)
--   entrez_id         BIGINT   its Entrez id
--   n_target          BIGINT   samples on the target side
--   n_contrast        BIGINT   samples on the contrast side
--   mean_target       DOUBLE   mean gene-level log2 expression over the target samples
--   mean_contrast     DOUBLE   mean over the contrast samples
--   log2_fold_change  DOUBLE   mean_target - mean_contrast (the values are log2)
--   t                 DOUBLE   Welch's t (null when a side has fewer than 2 samples)
--   df                DOUBLE   Welch-Satterthwaite degrees of freedom
--   p_value           DOUBLE   one-sided: P(T > t), target greater than contrast
--   q_value           DOUBLE   Benjamini-Hochberg over the genes with a p-value
-- sources: ahba_leaf_stats and ahba_leaves (per-structure sums, computed at build), ahba_genes,
--   structures, structure_ancestors; welch_t, welch_dof, t_dist_sf; require_values,
--   require_loaded, require_samples (argument checks). Pure SQL: works from any DuckDB client.
create or replace macro differential_search(target_acronyms, contrast_acronyms) as table
with known as (
    select coalesce(list(acronym), []) as acronyms from structures where species = 'human'
),

-- every argument checked: an error names the closest valid acronyms
checked as (
    select
        require_values(target_acronyms, k.acronyms, 'target structure (human acronym)',
            'differential_search') as target_list,
        require_values(contrast_acronyms, k.acronyms, 'contrast structure (human acronym)',
            'differential_search') as contrast_list,
        require_loaded((select count(*) from ahba_leaves),
            'Allen Human Brain Atlas microarray data', 'brainwh ingest microarray',
            'differential_search') as loaded
    from known as k
),

sides as (
    select
        l.leaf_pos,
        l.n_samples,
        coalesce(bool_or(list_contains(c.target_list, s.acronym)), false) as in_target,
        coalesce(bool_or(list_contains(c.contrast_list, s.acronym)), false) as in_contrast
    from ahba_leaves as l
    cross join checked as c
    left join structure_ancestors as a on a.species = 'human' and a.structure_id = l.structure_id
    left join structures as s on s.species = 'human' and s.structure_id = a.ancestor_id
    where c.loaded
    group by l.leaf_pos, l.n_samples
),

-- a side without samples is an error, not a column of nulls
masks as (
    select
        list(in_target::int::double order by leaf_pos) as target_mask,
        list(in_contrast::int::double order by leaf_pos) as contrast_mask,
        require_samples(coalesce(sum(n_samples) filter (where in_target), 0),
            target_acronyms, 'differential_search target') as n_t,
        require_samples(coalesce(sum(n_samples) filter (where in_contrast), 0),
            contrast_acronyms, 'differential_search contrast') as n_c
    from sides
),

-- sums of the genes' values minus their centers (precise sums of squares)
sums as (
    select
        g.gene_symbol,
        c.center,
        m.n_t,
        m.n_c,
        list_inner_product(g.sums, m.target_mask) as s_t,
        list_inner_product(g.sumsqs, m.target_mask) as q_t,
        list_inner_product(g.sums, m.contrast_mask) as s_c,
        list_inner_product(g.sumsqs, m.contrast_mask) as q_c
    from ahba_leaf_stats as g
    join ahba_genes as c on c.gene_symbol = g.gene_symbol
    cross join masks as m
),

moments as (
    select
        gene_symbol,
        n_t,
        n_c,
        center,
        s_t / n_t as mean_t,
        s_c / n_c as mean_c,
        -- squared standard errors of the two means
        case when n_t > 1 then greatest(q_t - s_t * s_t / n_t, 0) / (n_t - 1) / n_t end as e_t,
        case when n_c > 1 then greatest(q_c - s_c * s_c / n_c, 0) / (n_c - 1) / n_c end as e_c
    from sums
),

welch as (
    select
        *,
        welch_t(mean_t, mean_c, e_t, e_c) as t_stat,
        welch_dof(e_t, e_c, n_t, n_c) as dof
    from moments
),

tested as (
    select *, t_dist_sf(t_stat, dof) as p
    from welch
),

ranked as (
    select
        *,
        count(p) over () as m,
        row_number() over (order by p asc nulls last, gene_symbol) as p_rank
    from tested
),

adjusted as (
    select
        *,
        least(1.0, min(p * m / p_rank) over (
            order by p desc nulls first, gene_symbol desc
            rows between unbounded preceding and current row)) as q
    from ranked
),

answer as (
    select
        a.gene_symbol,
        g.entrez_id,
        a.n_t::bigint as n_target,
        a.n_c::bigint as n_contrast,
        a.center + a.mean_t as mean_target,
        a.center + a.mean_c as mean_contrast,
        a.mean_t - a.mean_c as log2_fold_change,
        a.t_stat as t,
        a.dof as df,
        a.p as p_value,
        case when a.p is not null then a.q end as q_value
    from adjusted as a
    left join ahba_genes as g on g.gene_symbol = a.gene_symbol
)

-- the checks run even where DuckDB can prove the answer empty and drop the plan leading to it:
-- this branch cannot be proven empty, reads every checked value, and never has a row
select * from answer
union all
select
    null::varchar, null::bigint, null::bigint, null::bigint, null::double, null::double, null::double, null::double, null::double, null::double, null::double
from checked
where hash(checked) * random() < 0
order by q_value asc nulls last, log2_fold_change desc, gene_symbol
