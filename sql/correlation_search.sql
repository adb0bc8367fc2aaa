-- name: correlation_search
-- kind: macro
-- signature: correlation_search(gene, structures)
-- example: select gene_symbol, r, n_samples from correlation_search('PPP1R1B', ['Br']) limit 20
-- question: Which genes' expression follows a seed gene's across the samples of the given
--   human structures (Allen's "correlative search", locally)? Pearson r between the seed's
--   gene-level values and every other gene's over the samples in (or below) the structures,
--   donors pooled.
-- grain: one row per gene other than the seed, ordered by r (largest first)
-- columns:
--   gene_symbol  VARCHAR  gene (its RefSeq probes averaged per sample)
--   entrez_id    BIGINT   its Entrez id
--   r            DOUBLE   Pearson correlation with the seed gene (null if either is constant)
--   n_samples    BIGINT   samples the correlation is over
-- sources: ahba_gene_samples (gene-level values per sample, centered), ahba_genes,
--   ahba_leaf_stats, ahba_leaves, ahba_samples, structures, structure_ancestors. Pure SQL.
create or replace macro correlation_search(seed_gene, within_acronyms) as table
with problems as (
    select string_agg(problem, '; ') as message
    from (
        select 'no human structure has the acronym ' || wanted as problem
        from (select unnest(within_acronyms) as wanted)
        where wanted not in (select acronym from structures where species = 'human')
        union all
        select 'no gene ' || seed_gene || ' in ahba_genes'
        where seed_gene not in (select gene_symbol from ahba_genes)
    )
),

sample_chosen as (
    select
        x.array_index,
        coalesce(bool_or(list_contains(within_acronyms, s.acronym)), false) as chosen
    from ahba_samples as x
    left join structure_ancestors as a on a.species = 'human' and a.structure_id = x.structure_id
    left join structures as s on s.species = 'human' and s.structure_id = a.ancestor_id
    group by x.array_index
),

sample_mask as (
    select list(chosen::int::double order by array_index) as mask
    from sample_chosen
    where coalesce((select error('correlation_search: ' || message) from problems
                    where message is not null), true)
),

-- the seed's (centered) values on the chosen samples, zero elsewhere
seed as (
    select list_transform(g.centered, lambda v, i: v::double * m.mask[i]) as weights
    from ahba_gene_samples as g
    cross join sample_mask as m
    where g.gene_symbol = seed_gene
),

-- sum over the chosen samples of (x - center_x) * (y - center_y)
cross_products as (
    select g.gene_symbol, list_inner_product(g.centered::double[], s.weights) as szz
    from ahba_gene_samples as g
    cross join seed as s
),

leaf_mask as (
    select
        list(chosen::int::double order by leaf_pos) as mask,
        sum(n_samples) filter (where chosen) as n
    from (
        select
            l.leaf_pos,
            l.n_samples,
            coalesce(bool_or(list_contains(within_acronyms, s.acronym)), false) as chosen
        from ahba_leaves as l
        left join structure_ancestors as a
            on a.species = 'human' and a.structure_id = l.structure_id
        left join structures as s on s.species = 'human' and s.structure_id = a.ancestor_id
        group by l.leaf_pos, l.n_samples
    )
),

-- sums over the chosen samples of the genes' centered values and their squares
moments as (
    select
        g.gene_symbol,
        m.n,
        list_inner_product(g.sums, m.mask) as sz,
        list_inner_product(g.sumsqs, m.mask) as szz
    from ahba_leaf_stats as g
    cross join leaf_mask as m
),

seed_moments as (
    select sz as sz_seed, szz - sz * sz / n as ss_seed from moments where gene_symbol = seed_gene
)

select
    x.gene_symbol,
    g.entrez_id,
    case when x.szz - x.sz * x.sz / x.n > 0 and s.ss_seed > 0
        then greatest(-1.0, least(1.0,
            (c.szz - x.sz * s.sz_seed / x.n) / sqrt((x.szz - x.sz * x.sz / x.n) * s.ss_seed)))
    end as r,
    x.n::bigint as n_samples
from moments as x
join cross_products as c on c.gene_symbol = x.gene_symbol
cross join seed_moments as s
left join ahba_genes as g on g.gene_symbol = x.gene_symbol
where x.gene_symbol <> seed_gene
order by r desc nulls last, x.gene_symbol
