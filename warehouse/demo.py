"""`brainwh demo`: sample release → warehouse → answers to the standard questions.

`ANSWERS` holds (title, SQL) pairs; each source adds the questions it answers.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from warehouse import config, db, progress
from warehouse.errors import UsageError
from warehouse.output import render_table
from warehouse.query import run_query

ANSWERS: list[tuple[str, str]] = [
    (
        "Composition of MOp at subclass level (top 10)",
        """
        select cell_type as subclass, n_cells, round(fraction, 4) as fraction
        from composition
        where region_kind = 'roi' and region_acronym = 'MOp' and level = 'subclass'
        order by n_cells desc, cell_type limit 10
        """,
    ),
    (
        "MOp vs STRd: subclasses most enriched in MOp, then in STRd",
        """
        (select cell_type as subclass, n_a as n_mop, n_b as n_strd,
                round(fraction_a, 4) as frac_mop, round(fraction_b, 4) as frac_strd,
                round(difference, 4) as difference
         from compare_composition('MOp', 'STRd', 'subclass', 'dissection')
         order by difference desc limit 5)
        union all
        (select cell_type, n_a, n_b, round(fraction_a, 4), round(fraction_b, 4),
                round(difference, 4)
         from compare_composition('MOp', 'STRd', 'subclass', 'dissection')
         order by difference asc limit 5)
        """,
    ),
    (
        "Classes of Isocortex (CCF structure, all ROIs within it)",
        """
        select cell_type as class, n_cells, round(fraction, 4) as fraction
        from composition
        where method = 'dissection' and region_kind = 'structure'
          and region_acronym = 'Isocortex' and level = 'class'
        order by n_cells desc, cell_type
        """,
    ),
    (
        "CA1 vs the dentate gyrus (MERFISH cells in their CCF structures): top subclasses",
        """
        select cell_type as subclass, n_a as n_ca1, n_b as n_dg, round(fraction_a, 4) as
               frac_ca1, round(fraction_b, 4) as frac_dg, method
        from compare_composition('CA1', 'DG', 'subclass')
        order by greatest(fraction_a, fraction_b) desc limit 8
        """,
    ),
    (
        "Densest subclasses of the caudoputamen, each hemisphere (MERFISH cells per mm³)",
        """
        select hemisphere, cell_type as subclass, n_cells, round(cells_per_mm3) as per_mm3
        from cell_density
        where structure_acronym = 'CP' and level = 'subclass' and hemisphere <> 'both'
        qualify row_number() over (partition by hemisphere order by n_cells desc,
                                   cell_type) <= 3
        order by hemisphere, n_cells desc
        """,
    ),
    (
        "Electrophysiology of mouse VISp (all layers) by dendrite type (Cell Types)",
        """
        select dendrite_type, n_cells, round(mean_vrest, 1) as mean_vrest_mv,
               round(median_threshold_i_long_square) as median_rheobase_pa,
               round(mean_tau, 1) as mean_tau_ms, round(mean_ri) as mean_ri_mohm,
               round(mean_upstroke_downstroke_ratio_long_square, 2) as upstroke_downstroke
        from ephys_by_region
        where structure_acronym = 'VISp' and species = 'mouse' and layer = 'all'
        order by dendrite_type = 'all', n_cells desc, dendrite_type
        """,
    ),
    (
        "Where is PPP1R1B (DARPP-32) expressed? Top human structures (AHBA microarray)",
        """
        select structure_acronym, structure_name, round(mean_expression, 2) as mean_log2,
               n_samples, n_donors
        from regional_expression
        where gene_symbol = 'PPP1R1B' and n_samples >= 3
        order by mean_expression desc, structure_id limit 8
        """,
    ),
    (
        "Marker genes of L2/3 IT CTX Glut against every other cell (ABC MapMyCells statistics; "
        "the release's are cluster means, so ranked by fold change, without t or p)",
        """
        select gene_symbol, round(mean_in, 2) as mean_in, round(mean_out, 2) as mean_out,
               round(log2_fold_change, 2) as log2_fold_change
        from cell_type_markers('L2/3 IT CTX Glut', 'subclass', 'rest')
        limit 10
        """,
    ),
    (
        "Where is Drd1 expressed? Mouse dissection regions from single cells (pseudo-bulk)",
        """
        select region_acronym, round(mean_expression, 2) as mean_log2, n_cells
        from region_expression
        where gene_symbol = 'Drd1' and region_kind = 'roi'
        order by mean_expression desc, region_acronym limit 6
        """,
    ),
    (
        "Genes higher in striatum than in cerebral cortex (AHBA differential search)",
        """
        select gene_symbol, n_target as n_str, n_contrast as n_cx,
               round(log2_fold_change, 2) as log2_fold_change, q_value
        from differential_search(['Str'], ['CX'])
        limit 10
        """,
    ),
    (
        "Mouse ISH: experiments higher in striatum than in isocortex (Allen's differential "
        "search, from the 3-D grids)",
        """
        select gene_symbol, plane, round(target_energy, 2) as str_energy,
               round(contrast_energy, 2) as isocortex_energy, round(fold_change, 1) as fold
        from mouse_differential_search(['STR'], ['Isocortex'])
        limit 8
        """,
    ),
    (
        "Mouse ISH: grids whose 3-D pattern follows Ppp1r1b's (Allen's correlation search)",
        """
        select gene_symbol, plane, experiment_id, round(r, 3) as r, n_voxels
        from mouse_correlation_search('Ppp1r1b', [])
        limit 8
        """,
    ),
]

BUILT_BY = ("built_by", "brainwh demo")  # in warehouse_info: the demo may replace this file
NEXT_QUERY = "select * from compare_composition('VIS', 'HIP', 'class')"


def _refuse_other_warehouses(db_path: Path) -> None:
    """The demo replaces only a warehouse an earlier demo built (never a real build)."""
    if not db_path.exists():
        return
    con = db.connect(db_path, read_only=True)  # refuses a file that is not a warehouse
    try:
        rows = con.execute("select value from warehouse_info where key = ?",
                           [BUILT_BY[0]]).fetchall() if "warehouse_info" in db.table_names(
            con) else []
    finally:
        con.close()
    if rows != [(BUILT_BY[1],)]:
        raise UsageError(f"{db_path} holds a warehouse `brainwh demo` did not build: the demo "
                         "will not replace it",
                         hint="give the demo its own file, e.g. `brainwh demo --db "
                         "demo.duckdb`, or unset BRAINWH_DB")


def _program() -> Path | None:
    """The `brainwh` script being run, when typing plain `brainwh` would not find it."""
    program = Path(sys.argv[0])
    on_path = shutil.which("brainwh")
    if program.name != "brainwh" or (on_path and Path(on_path).resolve() == program.resolve()):
        return None
    return program


def _shown(path: Path) -> str:
    inside = path.resolve().is_relative_to(Path.cwd().resolve())
    return os.path.relpath(path.resolve()) if inside else str(path.resolve())


def next_commands(db_path: Path) -> list[str]:
    """The next commands, as the user can type them here: the `brainwh` being run (its path
    when it is not on PATH, e.g. `.venv/bin/brainwh` after `make demo`), and --db unless it is
    where every command looks by default."""
    program = _program()
    exe = _shown(program) if program else "brainwh"
    db_part = "" if db_path == config.database_path() else f" --db {db_path}"
    plotting = "" if importlib.util.find_spec("matplotlib") else \
        "   (needs matplotlib: pip install 'brainwh[plot]')"
    commands = [f'{exe} sql "{NEXT_QUERY}"{db_part}', f"{exe} views"]
    if program and (program.parent / "activate").exists():
        commands.append(f"(or `source {_shown(program.parent / 'activate')}` once, then type "
                        "`brainwh ...`)")
    return [*commands, f"{exe} plot composition CA1 DG CP{db_part}{plotting}"]


def run_demo(data: Path, *, scale: str, seed: int, db_path: Path) -> None:
    from ingest.sample import write_release
    from warehouse.build import run

    _refuse_other_warehouses(db_path)
    release = data / f"sample-{scale}"
    progress.note(f"writing the {scale} sample release to {release}")
    write_release(release, scale=scale, seed=seed)
    outcome = run(db_path, [str(release)], fresh=True, info=dict([BUILT_BY]))
    progress.note(f"built {db_path} from {outcome.files} files in {outcome.seconds:.1f} s")
    con = db.connect(db_path, read_only=True)
    try:
        for title, query in ANSWERS:
            sys.stdout.write(f"\n== {title}\n")
            sys.stdout.write(render_table(run_query(con, query)))
    finally:
        con.close()
    sys.stdout.write(f"\nThe warehouse is {db_path}. Next, try:\n")
    sys.stdout.writelines(f"  {line}\n" for line in next_commands(db_path))
