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
--   ahba_leaf_stats, ahba_leaves, ahba_samples, structures, structure_ancestors;
--   require_value, require_values, require_loaded, require_samples (argument checks). Pure SQL.
create or replace macro correlation_search(seed_gene, within_acronyms) as table
with known as (
    select
        coalesce((select list(acronym) from structures where species = 'human'), [])
            as acronyms,
        coalesce((select list(gene_symbol) from ahba_gene_samples), []) as genes
),

-- every argument checked: an error names the closest valid gene symbols and acronyms
checked as (
    select
        require_loaded(len(k.genes), 'Allen Human Brain Atlas microarray data',
            'brainwh ingest microarray', 'correlation_search') as loaded,
        require_value(seed_gene, k.genes, 'gene (AHBA gene symbol)', 'correlation_search')
            as seed_symbol,
        require_values(within_acronyms, k.acronyms, 'structure (human acronym)',
            'correlation_search') as within_list
    from known as k
),

sample_chosen as (
    select
        x.array_index,
        coalesce(bool_or(list_contains(c.within_list, s.acronym)), false) as chosen
    from ahba_samples as x
    cross join checked as c
    left join structure_ancestors as a on a.species = 'human' and a.structure_id = x.structure_id
    left join structures as s on s.species = 'human' and s.structure_id = a.ancestor_id
    where c.loaded
    group by x.array_index
),

sample_mask as (
    select list(chosen::int::double order by array_index) as mask
    from sample_chosen
    having require_samples(count(*) filter (where chosen), within_acronyms,
        'correlation_search') > 0
),

-- the seed's (centered) values on the chosen samples, zero elsewhere
seed as (
    select list_transform(g.centered, lambda v, i: v::double * m.mask[i]) as weights
    from ahba_gene_samples as g
    cross join sample_mask as m
    cross join checked as c
    where g.gene_symbol = c.seed_symbol
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
),

answer as (
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
)

-- the checks run even where DuckDB can prove the answer empty and drop the plan leading to it:
-- this branch cannot be proven empty, reads every checked value, and never has a row
select * from answer
union all
select
    null::varchar, null::bigint, null::double, null::bigint
from checked
where hash(checked) * random() < 0
order by r desc nulls last, gene_symbol
