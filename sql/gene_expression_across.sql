-- name: gene_expression_across
-- kind: view
-- example: select structure_acronym, human_structure_acronym, mapping, ish_energy,
--   single_cell_expression, ahba_expression from gene_expression_across
--   where gene_symbol = 'Pvalb' order by ish_energy desc
-- question: How is one gene expressed across sources, side by side: mouse ISH energy (Allen
--   Mouse Brain Atlas), mouse single-cell pseudo-bulk (region_expression of the ABC Atlas
--   cell types, when loaded) and human microarray (Allen Human Brain Atlas), in the structures
--   the two ontologies share? Mapping rules: a gene is the same in mouse and human when its symbols
--   are equal ignoring case (Pvalb = PVALB; Allen's mouse Drd1a has no such human twin); a mouse
--   and a human structure are paired when they have the same acronym and their names share a
--   word (CA1, DG, VTA; not the false friends PL, prelimbic area and parietal lobe, or MB,
--   midbrain and mammillary body), or are in brainwh's list of homologous regions below
--   (cerebral cortex CTX = CX, hippocampal formation HPF = HiF, striatum STR = Str, thalamus
--   TH = Th, medulla MY = MY, ...). Each side is its regional view: mouse
--   mouse_regional_expression (the structure with everything below it); human the
--   sample-weighted mean of regional_expression over the structures with that acronym (left
--   and right twins share one).
-- grain: one row per ISH gene and structure pair with ISH rows for the mouse structure
-- columns:
--   gene_symbol              VARCHAR  mouse gene (Allen's ISH symbol)
--   human_gene_symbol        VARCHAR  the AHBA gene of the same symbol, ignoring case (null:
--                                     none)
--   structure_acronym        VARCHAR  mouse structure (graph 1)
--   structure_id             BIGINT   its id
--   human_structure_acronym  VARCHAR  the paired human structure (graph 10)
--   mapping                  VARCHAR  'same acronym' or 'homologous'
--   ish_energy               DOUBLE   mean ISH expression energy (mouse_regional_expression)
--   ish_density              DOUBLE   mean ISH expression density
--   ish_n_experiments        INTEGER  non-failed ISH experiments averaged
--   single_cell_expression   DOUBLE   mouse single-cell pseudo-bulk log2(CPM+1) of the
--                                     structure (region_expression): from its MERFISH cells
--                                     when it has them, else from the 10x dissection; null
--                                     when the ABC cell-type expression is not loaded, the
--                                     structure has no cells, or the symbol names several
--                                     Ensembl ids in gene.csv (which one ISH probed is unknown)
--   single_cell_n_cells      BIGINT   cells behind it
--   single_cell_method       VARCHAR  composition's method of those cells: 'spatial' or
--                                     'dissection'
--   ahba_expression          DOUBLE   human mean log2 expression (regional_expression)
--   ahba_n_samples           BIGINT   human samples behind it
-- sources: mouse_regional_expression (ish_regional_means), region_expression (ABC
--   MapMyCells statistics weighted by composition), regional_expression
--   (ahba_regional_means), structures; the homologous regions are listed here
create or replace view gene_expression_across as
with homologous (mouse_acronym, human_acronym) as (
    values
        ('CTX', 'CX'), ('HPF', 'HiF'), ('STR', 'Str'), ('CP', 'Cd'), ('CP', 'Pu'),
        ('ACB', 'Acb'), ('PAL', 'GP'), ('CLA', 'Cl'), ('TH', 'Th'), ('HY', 'Hy'),
        ('RT', 'R'), ('LGd', 'LGB'), ('MH', 'MHb'), ('LH', 'LHb'), ('MB', 'MES'),
        ('SNc', 'SNC'), ('SNr', 'SNR'), ('P', 'Pons'), ('CB', 'Cb'), ('CBX', 'CbCx'),
        ('CBN', 'CbN'), ('MY', 'MY'), ('grey', 'GM')
),

-- the words of a structure's name that say what it is (not 'nucleus', 'area', 'left', ...)
words as (
    select
        species,
        structure_id,
        acronym,
        list_filter(string_split(regexp_replace(lower(name), '[^a-z0-9]+', ' ', 'g'), ' '),
                    lambda w: len(w) >= 3 and w not in ('nucleus', 'nuclei', 'area', 'field',
                        'part', 'the', 'and', 'left', 'right', 'region', 'group', 'layer'))
            as name_words
    from structures
    where species in ('mouse', 'human')
),

pairs as (
    select distinct m.structure_id, m.acronym, h.acronym as human_acronym,
           'same acronym' as mapping
    from words as m
    join words as h on h.species = 'human' and h.acronym = m.acronym
    where m.species = 'mouse' and len(list_intersect(m.name_words, h.name_words)) > 0
    union
    select m.structure_id, m.acronym, p.human_acronym, 'homologous'
    from homologous as p
    join structures as m on m.species = 'mouse' and m.acronym = p.mouse_acronym
    where exists (select 1 from structures as h
                  where h.species = 'human' and h.acronym = p.human_acronym)
),

-- one row per gene symbol and CCF structure: the MERFISH cells' pseudo-bulk where there are
-- any, else the 10x dissection's; symbols naming several Ensembl ids are left out
single_cell as (
    select
        lower(gene_symbol) as gene_key,
        structure_id,
        arg_min(mean_expression, method <> 'spatial') as expression,
        arg_min(n_cells, method <> 'spatial') as n_cells,
        arg_min(method, method <> 'spatial') as method
    from region_expression
    where region_kind = 'structure' and gene_symbol is not null
    group by lower(gene_symbol), structure_id
    having count(distinct gene_identifier) = 1
),

human as (
    select
        upper(gene_symbol) as gene_key,
        gene_symbol,
        structure_acronym,
        sum(mean_expression * n_samples) / sum(n_samples) as expression,
        sum(n_samples) as n_samples
    from regional_expression
    where n_samples > 0
    group by gene_symbol, structure_acronym
)

select
    i.gene_symbol,
    h.gene_symbol as human_gene_symbol,
    p.acronym as structure_acronym,
    p.structure_id,
    p.human_acronym as human_structure_acronym,
    p.mapping,
    i.mean_expression_energy as ish_energy,
    i.mean_expression_density as ish_density,
    i.n_experiments as ish_n_experiments,
    s.expression as single_cell_expression,
    s.n_cells as single_cell_n_cells,
    s.method as single_cell_method,
    h.expression as ahba_expression,
    h.n_samples::bigint as ahba_n_samples
from mouse_regional_expression as i
join pairs as p on p.structure_id = i.structure_id
left join single_cell as s
    on s.gene_key = lower(i.gene_symbol) and s.structure_id = p.structure_id
left join human as h
    on h.gene_key = upper(i.gene_symbol) and h.structure_acronym = p.human_acronym
