"""The mouse ISH tables. Created empty in every warehouse so the views over them always bind.

Grid layout, chosen by measuring (README "Allen Mouse Brain Atlas"): the 3-D grids hold 159,326
voxels (67 AP x 41 DV x 58 ML at 200 um), of which only the ~62,500 annotated with a brain
structure take part in any structure question. Each experiment's brain voxels are one vector in
a fixed order (`ish_grid_voxels.position`: grouped by annotated structure in ontology order, then
by side of the midline, so that every structure's voxels, and every (structure, side) "cell",
are one contiguous run), stored in one row per experiment as `SLICES` columns of
`FLOAT[SLICE_LENGTH]` with the source's values as they are (-1 = no data). Fixed-size arrays in
one row: a search multiplies each by a constant seed array without copying it, and one grid is
one row (a point lookup). Per experiment and cell the load also stores the number, sum and sum
of squares of the valid voxel values (`ish_grid_cell_stats`), and the positions of the -1
voxels inside cells that have data elsewhere (`ish_grid_missing`, long, by position): a
differential search is then a few list products per experiment, a correlation search reads
each grid once. Voxels outside the annotated brain are kept too (`ish_grid_outside`, in
fixed-size chunks), so a grid comes back whole.
"""

from __future__ import annotations

# The 200 um expression grid (DATA_FORMATS.md §5.5): the raw file is x (AP) fastest, then y
# (DV), then z (ML); voxel index = ap + 67 * (dv + 41 * ml).
GRID_SHAPE = (67, 41, 58)  # AP, DV, ML, as the .mhd's DimSize lists them
GRID_VOXELS = 67 * 41 * 58
GRID_SPACING_UM = 200
NO_DATA = -1.0
# ML planes 0..28 and 29..57: the two sides of the midline (ML 5.7 mm in CCF coordinates).
# The Allen CCF's z axis runs from the left to the right, so side 'left' is ML < 29 (inferred:
# sagittal experiments, which cover the left hemisphere, have data there).
MIDLINE_PLANE = 29
SLICES = 16
SLICE_LENGTH = 4096  # SLICES x SLICE_LENGTH = 65,536 brain voxels at most (the atlas: 62,529)
SLICE_COLUMNS = tuple(f"s{k:02d}" for k in range(SLICES))
PLANES = {1: "coronal", 2: "sagittal"}
ADULT_REFERENCE_SPACES = {9: "coronal", 10: "sagittal"}  # P56 (abagen, DATA_FORMATS §5.2)

GENES = """
create table if not exists ish_genes (
    gene_id bigint not null,           -- Allen's Gene.id
    gene_symbol varchar not null,      -- Gene.acronym, e.g. Pvalb
    gene_name varchar,
    entrez_id bigint,                  -- NCBI gene id (null for some probes' genes)
    ensembl_id varchar,
    homologene_id bigint,
    chromosome_id bigint,
    organism_id integer,               -- 2 = mouse
    alias_tags varchar,
    original_symbol varchar
)
"""
EXPERIMENTS = """
create table if not exists ish_experiments (
    experiment_id bigint not null,     -- SectionDataSet.id
    gene_id bigint,                    -- the gene it probes (null: the file did not include it)
    gene_symbol varchar,
    plane varchar not null,            -- coronal | sagittal
    is_failed boolean not null,        -- Allen's QC failed it: kept, excluded from every view
    specimen_id bigint,
    reference_space_id integer,        -- 9 (P56 coronal) or 10 (P56 sagittal)
    section_thickness double,          -- um
    qc_date timestamp,
    is_expression boolean,             -- SectionDataSet.expression
    storage_directory varchar,
    has_grid boolean not null default false  -- its 3-D energy grid is loaded
)
"""
STRUCTURE_EXPRESSION = """
create table if not exists ish_structure_expression (
    experiment_id bigint not null,     -- SectionDataSet.id
    structure_id bigint not null,      -- mouse ontology (graph 1); the structure with everything
                                       -- below it (Allen unionizes descendants into parents)
    expression_energy double,          -- sum_expressing_pixel_intensity / sum_pixels
    expression_density double,         -- sum_expressing_pixels / sum_pixels
    sum_pixels double,
    sum_expressing_pixels double,
    sum_pixel_intensity double,
    sum_expressing_pixel_intensity double,
    voxel_energy_mean double,
    voxel_energy_cv double,
    unionize_id bigint                 -- StructureUnionize.id
)
"""
REGIONAL = """
create table if not exists ish_regional_means (
    gene_id bigint,
    gene_symbol varchar not null,
    structure_id bigint not null,
    mean_expression_energy double,
    mean_expression_density double,
    n_experiments integer not null,
    n_coronal integer not null,
    n_sagittal integer not null,
    mean_energy_coronal double,
    mean_energy_sagittal double
)
"""
GRID_VOXELS_TABLE = """
create table if not exists ish_grid_voxels (
    position integer not null,         -- 1-based place in the brain vector (all slices)
    slice smallint not null,           -- 0..15: its column of ish_grids (s00..s15)
    slice_position integer not null,   -- 1-based place within that column
    voxel_index integer not null,      -- place in energy.raw: ap + 67 * (dv + 41 * ml)
    ap smallint not null,              -- 0..66, anterior to posterior, 200 um apart
    dv smallint not null,              -- 0..40, dorsal to ventral
    ml smallint not null,              -- 0..57, left to right
    structure_id bigint not null,      -- the finest structure annotated there (graph 1)
    cell integer not null              -- 1-based ish_grid_cells.cell
)
"""
GRID_CELLS = """
create table if not exists ish_grid_cells (
    cell integer not null,             -- 1-based place in ish_grid_cell_stats' lists
    structure_id bigint not null,      -- an annotated structure
    side varchar not null,             -- left (ML < 29) | right
    first_position integer not null,   -- its voxels: positions first..last of the brain vector
    last_position integer not null,
    n_voxels integer not null
)
"""
GRID_META = """
create table if not exists ish_grid_layout (
    n_brain_voxels integer not null,   -- voxels annotated with a structure
    slice_length integer not null,     -- positions per ish_grids column s00..s15 (4096)
    n_cells integer not null,
    annotation_source varchar,         -- the gridAnnotation file
    outside_voxels integer[]           -- voxel indices outside the brain, ascending (the order
                                       -- of ish_grid_outside's chunks)
)
"""
GRID_MISSING = """
create table if not exists ish_grid_missing (
    position integer not null,         -- a brain voxel (ish_grid_voxels.position) that is -1
    grid integer not null              -- in this grid (ish_grids.grid), inside a cell with data
                                       -- elsewhere (the rest of the -1 are whole cells)
)
"""
GRID_OUTSIDE = """
create table if not exists ish_grid_outside (
    experiment_id bigint not null,
    chunk smallint not null,           -- 0, 1, ...: voxels 4096 * chunk + 1 .. of the list
                                       -- ish_grid_layout.outside_voxels
    energy float[4096] not null        -- their values (-1 = no data; the last chunk padded)
)
"""
GRID_CELL_STATS = """
create table if not exists ish_grid_cell_stats (
    experiment_id bigint not null,
    n_valid integer[] not null,        -- [cell]: voxels with data
    sums double[] not null,            -- [cell]: sum of their energies
    sumsqs double[] not null,          -- [cell]: sum of their squares
    covered double[] not null          -- [cell]: 1 if it has data, else 0 (a mask for sums)
)
"""
GRIDS = """
create table if not exists ish_grids (
    experiment_id bigint not null,
    grid integer not null,             -- 1, 2, ...: the grid's number in ish_grid_missing
    n_valid integer not null,          -- brain voxels with data
    s00 float[4096] not null,          -- brain positions 1-4096, as the source has them (-1 =
                                       -- no data; padding -1)
    s01 float[4096] not null,          -- positions 4097-8192
    s02 float[4096] not null,          -- positions 8193-12288
    s03 float[4096] not null,          -- positions 12289-16384
    s04 float[4096] not null,          -- positions 16385-20480
    s05 float[4096] not null,          -- positions 20481-24576
    s06 float[4096] not null,          -- positions 24577-28672
    s07 float[4096] not null,          -- positions 28673-32768
    s08 float[4096] not null,          -- positions 32769-36864
    s09 float[4096] not null,          -- positions 36865-40960
    s10 float[4096] not null,          -- positions 40961-45056
    s11 float[4096] not null,          -- positions 45057-49152
    s12 float[4096] not null,          -- positions 49153-53248
    s13 float[4096] not null,          -- positions 53249-57344
    s14 float[4096] not null,          -- positions 57345-61440
    s15 float[4096] not null,          -- positions 61441-65536
    source_uri varchar
)
"""
DDL = (GENES, EXPERIMENTS, STRUCTURE_EXPRESSION, REGIONAL, GRID_VOXELS_TABLE, GRID_CELLS,
       GRID_META, GRID_MISSING, GRID_OUTSIDE, GRID_CELL_STATS, GRIDS)
METADATA_TABLES = ("ish_genes", "ish_experiments")
UNIONIZE_TABLES = ("ish_structure_expression", "ish_regional_means")
ANNOTATION_TABLES = ("ish_grid_voxels", "ish_grid_cells", "ish_grid_layout")
GRID_TABLES = ("ish_grid_missing", "ish_grid_outside", "ish_grid_cell_stats", "ish_grids")
