-- name: gene_expression_by_cell_type
-- kind: macro
-- signature: gene_expression_by_cell_type(gene, level)
-- example: select cell_type, n_cells, mean_expression, fraction_expressing
--   from gene_expression_by_cell_type('Drd1', 'subclass') limit 10
-- question: How strongly, and in what fraction of cells, is a gene expressed in every cell type
--   at a level of the ABC whole-mouse-brain taxonomy (neurotransmitter, class, subclass,
--   supertype or cluster)? `gene` is a symbol or an Ensembl id; a symbol shared by several
--   Ensembl ids gives each id's rows. A type's statistics pool its clusters (MapMyCells
--   precomputed statistics): n = sum of n_cells, mean = sum of sums / n, variance =
--   (sum of sumsq - n mean^2) / (n - 1), fraction = sum of ge1 / n. Exact for a true-count
--   file; for a means-only file (the ABC release's: n_cells = 1 in the file) n is the real
--   cell count, the mean is exact (cluster means weighted by their cells) and variance and
--   fraction are null, with the reason in `note`.
-- grain: one row per cell type at the level and Ensembl gene the argument names, ordered by
--   mean_expression (largest first)
-- columns:
--   cell_type            VARCHAR  term name at the level
--   cell_type_label      VARCHAR  term label (names repeat across levels; labels do not)
--   gene_symbol          VARCHAR  the gene's symbol (gene.csv)
--   gene_identifier      VARCHAR  its Ensembl id
--   n_cells              BIGINT   cells of the type behind the statistics
--   mean_expression      DOUBLE   mean log2(CPM+1) over the type's cells
--   variance             DOUBLE   sample variance of log2(CPM+1) over them (null: not exact)
--   fraction_expressing  DOUBLE   fraction of them with CPM >= 1 (null: not exact)
--   note                 VARCHAR  why variance or fraction is null (null: all exact)
-- sources: expression_cluster_stats, expression_clusters, expression_membership,
--   expression_cell_types, expression_genes, expression_statistics, genes,
--   expression_arguments (the values accepted, built at build) (MapMyCells
--   precomputed_stats_*.h5, WMB-10X gene.csv); require_value, require_loaded (argument
--   checks). Pure SQL.
create or replace macro gene_expression_by_cell_type(of_gene, at_level) as table
with known as (
    select
        (select count(*) from expression_statistics) as n_loaded,
        coalesce((select list(value order by value) from expression_arguments
                  where argument = 'level'), []) as levels,
        -- the genes sharing the argument's first two letters: the gene itself when it is
        -- known, else the close names to suggest (one short run of a sorted table)
        coalesce((select list(value order by value) from expression_arguments
                  where argument = 'gene' and prefix = lower(left(of_gene, 2))), []) as genes
),

-- every argument checked, in this order: an error names the closest valid values. One
-- require_value for all of them, given the first wrong one: each call binds a did_you_mean,
-- 3-7 ms of planning per call on the development machine
checked as (
    select
        require_loaded(k.n_loaded, 'ABC MapMyCells statistics file',
            'brainwh ingest expression precomputed_stats_*.h5', 'gene_expression_by_cell_type')
            as loaded,
        require_value(
            case when k.level_known then of_gene else at_level end,
            case when k.level_known then k.genes else k.levels end,
            case when k.level_known then 'gene (a symbol or an Ensembl id, as in gene.csv)'
                else 'level' end,
            'gene_expression_by_cell_type') as arguments
    from (
        select *, coalesce(list_contains(levels, at_level::varchar), false) as level_known
        from known
    ) as k
),

wanted as (
    select e.gene_pos, e.gene_identifier, g.gene_symbol
    from expression_genes as e
    left join genes as g on g.gene_identifier = e.gene_identifier
    where e.gene_identifier = of_gene or g.gene_symbol = of_gene
),

types as (
    select type_pos, cell_type, cell_type_label, n_cells
    from expression_cell_types
    where level = at_level
),

sums as (
    select
        s.gene_pos,
        m.type_pos,
        sum(s.sum * c.scale) as total,
        sum(s.sumsq) as total_squares,
        sum(s.ge1) as expressing
    from wanted as w
    join expression_cluster_stats as s on s.gene_pos = w.gene_pos
    join expression_clusters as c on c.cluster_pos = s.cluster_pos
    join expression_membership as m on m.cluster_pos = s.cluster_pos
    join types as t on t.type_pos = m.type_pos
    group by s.gene_pos, m.type_pos
),

answer as (
    select
        t.cell_type,
        t.cell_type_label,
        w.gene_symbol,
        w.gene_identifier,
        t.n_cells,
        coalesce(x.total, 0) / nullif(t.n_cells, 0) as mean_expression,
        case when st.has_sumsq and t.n_cells > 1
            then greatest(coalesce(x.total_squares, 0)
                - coalesce(x.total, 0) * coalesce(x.total, 0) / t.n_cells, 0) / (t.n_cells - 1)
        end as variance,
        case when st.has_ge1 and t.n_cells > 0 then coalesce(x.expressing, 0) / t.n_cells
        end as fraction_expressing,
        st.note
    from types as t
    cross join wanted as w
    cross join (  -- once, not per row
        select has_sumsq, has_ge1,
            nullif(concat_ws('; ', variance_note, fraction_note), '') as note
        from expression_statistics
    ) as st
    left join sums as x on x.type_pos = t.type_pos and x.gene_pos = w.gene_pos
)

-- the checks run even where DuckDB can prove the answer empty and drop the plan leading to it:
-- this branch cannot be proven empty, reads every checked value, and never has a row
select * from answer
union all
select
    null::varchar, null::varchar, null::varchar, null::varchar, null::bigint, null::double,
    null::double, null::double, null::varchar
from checked
where hash(checked) * random() < 0
order by mean_expression desc nulls last, cell_type, gene_identifier
