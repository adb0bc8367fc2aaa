"""`brainwh plot`: pictures of the answers, as PNG or SVG files.

* `composition`: a stacked bar per region of its cell-type fractions at one taxonomy level
  (the `composition` view), in the taxonomy's own colours;
* `section`: one MERFISH section's cells (`spatial_cells`) at their section, reconstructed or CCF
  coordinates, coloured by their cell type (the taxonomy's colours) or by their CCF
  parcellation (the parcellation terms' colours).

Drawn with matplotlib (an optional dependency: `pip install 'brainwh[plot]'`), without pyplot's
global state: each picture is its own `Figure`, written to a temporary file beside the target
and renamed into place when complete. An existing file is replaced only with `force`.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse import db
from warehouse.errors import BrainwhError, UsageError

TAXONOMY_LEVELS = ("neurotransmitter", "class", "subclass", "supertype", "cluster")
PARCELLATION_LEVELS = ("division", "structure", "substructure")
COORDINATES = {"section": ("x_section", "y_section"),
               "reconstructed": ("x_reconstructed", "y_reconstructed"),
               "ccf": ("z_ccf", "y_ccf")}
FORMATS = (".png", ".svg")
OTHER_COLOR = "#BBBBBB"
UNKNOWN_COLOR = "#888888"


def _matplotlib():
    try:
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError as error:
        raise BrainwhError("brainwh plot needs matplotlib, which is not installed",
                           hint="pip install 'brainwh[plot]' (make install sets it up)"
                           ) from error
    return Figure, Patch


def _closest(value: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.5)
    if not close:
        close = [c for c in choices if c.lower() == value.lower()][:3]
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def _label_column(level: str) -> str:
    return "cluster_term_label" if level == "cluster" else f"{level}_label"


def _colors(con: duckdb.DuckDBPyConnection, level: str) -> dict[str, str]:
    """Term label -> its taxonomy colour (#RRGGBB), for one level."""
    return {label: color for label, color in con.execute(
        f"select distinct {_label_column(level)}, {level}_color from cell_types "
        f"where {_label_column(level)} is not null and {level}_color is not null").fetchall()}


def _fallback_colors(names: list[str]) -> dict[str, str]:
    """Distinct colours for names without a taxonomy colour (a taxonomy loaded from the
    pivoted view has names only)."""
    from matplotlib import colormaps

    palette = colormaps["tab20"]
    return {name: "#{:02X}{:02X}{:02X}".format(*(int(255 * c) for c in palette(i % 20)[:3]))
            for i, name in enumerate(names)}


# ------------------------------------------------------------------------------ composition

@dataclass
class CompositionBars:
    regions: list[str]
    method: str
    level: str
    cell_types: list[tuple[str, str | None, str]]  # (name, label, colour), "other" last
    fractions: dict[str, list[float]]  # region -> a fraction per cell type


def composition_bars(con: duckdb.DuckDBPyConnection, regions: list[str], *, level: str,
                     method: str | None, top: int) -> CompositionBars:
    """The fractions to draw: the `top` cell types (by their largest fraction in any region),
    the rest as "other"."""
    if level not in TAXONOMY_LEVELS:
        raise UsageError(f"unknown level {level!r}{_closest(level, list(TAXONOMY_LEVELS))}")
    if method not in (None, "spatial", "dissection"):
        raise UsageError(f"unknown method {method!r}: use spatial or dissection")
    found = con.execute(
        "select region_acronym, region_kind, method, cell_type, cell_type_label, n_cells, "
        "fraction from composition where level = ? and region_acronym in "
        f"({', '.join('?' * len(regions))})", [level, *regions]).fetchall()
    with_spatial = {r[0] for r in found if r[2] == "spatial"}
    chosen = method or ("spatial" if all(r in with_spatial for r in regions) else "dissection")
    rows: dict[str, list[tuple]] = {}
    for region in regions:
        mine = [r for r in found if r[0] == region and r[2] == chosen]
        kinds = {r[1] for r in mine}
        kind = "roi" if "roi" in kinds else "structure"  # a dissection ROI wins, as in SQL
        rows[region] = [r for r in mine if r[1] == kind]
        if not rows[region]:
            raise UsageError(_no_rows_message(con, region, chosen, level),
                             hint="`brainwh sql \"select distinct method, region_acronym from "
                             "composition\"` lists the regions with cells")
    best: dict[tuple[str, str | None], float] = {}
    for region_rows in rows.values():
        for _r, _k, _m, name, label, _n, fraction in region_rows:
            best[(name, label)] = max(best.get((name, label), 0.0), fraction)
    ranked = sorted(best, key=lambda key: (-best[key], key[0]))
    kept = ranked[:top]
    colors = _colors(con, level)
    missing = [name for name, label in kept if label not in colors]
    fallback = _fallback_colors(missing) if missing else {}
    cell_types = [(name, label, colors.get(label) or fallback[name]) for name, label in kept]
    has_other = len(ranked) > top
    if has_other:
        cell_types.append((f"other ({len(ranked) - top})", None, OTHER_COLOR))
    fractions = {}
    for region, region_rows in rows.items():
        by_type = {(r[3], r[4]): r[6] for r in region_rows}
        values = [by_type.get(key, 0.0) for key in kept]
        if has_other:
            values.append(max(0.0, 1.0 - sum(values)))
        fractions[region] = values
    return CompositionBars(regions, chosen, level, cell_types, fractions)


def _no_rows_message(con: duckdb.DuckDBPyConnection, region: str, method: str,
                     level: str) -> str:
    known = [name for (name,) in con.execute(
        "select distinct region_acronym from composition").fetchall()]
    structures = [name for (name,) in con.execute(
        "select acronym from structures where species = 'mouse'").fetchall()]
    if region not in known and region not in structures:
        return f"unknown region {region!r}{_closest(region, sorted(set(known) | set(structures)))}"
    what = ("MERFISH cells (spatial)" if method == "spatial"
            else "10x cells of a dissection region wholly inside it (dissection)")
    return f"{region!r} has no {what} at level {level}"


def draw_composition(bars: CompositionBars):
    Figure, Patch = _matplotlib()
    width = 2.5 + 1.1 * len(bars.regions) + 3.2
    fig = Figure(figsize=(width, 5.2), layout="constrained")
    ax = fig.add_subplot()
    bottoms = [0.0] * len(bars.regions)
    for index, (_name, _label, color) in enumerate(bars.cell_types):
        heights = [bars.fractions[region][index] for region in bars.regions]
        ax.bar(range(len(bars.regions)), heights, bottom=bottoms, color=color, width=0.7,
               edgecolor="white", linewidth=0.4)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    ax.set_xticks(range(len(bars.regions)), bars.regions)
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction of cells")
    source = ("MERFISH cells by CCF parcellation" if bars.method == "spatial"
              else "10x cells by dissection region")
    ax.set_title(f"Composition at {bars.level} level ({bars.method}: {source})", fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles = [Patch(facecolor=color, label=name) for name, _label, color in bars.cell_types]
    fig.legend(handles=handles[::-1], loc="outside right center", fontsize=7, frameon=False)
    return fig


# ------------------------------------------------------------------------------ section

@dataclass
class SectionPoints:
    section: str
    color_by: str
    coordinates: str
    x: list[float]
    y: list[float]
    colors: list[str]
    legend: list[tuple[str, str, int]]  # (name, colour, cells), largest first


def section_points(con: duckdb.DuckDBPyConnection, section: str, *, color_by: str,
                   coordinates: str, legend_size: int = 12) -> SectionPoints:
    if color_by not in TAXONOMY_LEVELS + PARCELLATION_LEVELS:
        raise UsageError(f"unknown --color-by {color_by!r}"
                         + _closest(color_by, list(TAXONOMY_LEVELS + PARCELLATION_LEVELS)))
    if coordinates not in COORDINATES:
        raise UsageError(f"unknown --coordinates {coordinates!r}: use "
                         + ", ".join(COORDINATES))
    sections = [name for (name,) in con.execute(
        "select distinct brain_section_label from spatial_cells order by 1").fetchall()]
    if not sections:
        raise UsageError("the warehouse has no MERFISH cells",
                         hint="brainwh ingest spatial PATH (MERFISH-C57BL6J-638850 and its "
                         "-CCF coordinates)")
    if section not in sections:
        raise UsageError(f"unknown section {section!r}{_nearest_sections(section, sections)}",
                         hint=f"the {len(sections)} sections run from {sections[0]} to "
                         f"{sections[-1]}")
    x, y = COORDINATES[coordinates]
    if color_by in TAXONOMY_LEVELS:
        name = "t.cluster" if color_by == "cluster" else f"t.{color_by}"
        color = f"t.{color_by}_color"
        joins = "left join cell_types as t on t.cluster_alias = c.cluster_alias"
    else:
        name, color = "pt.acronym", "pt.color_hex_triplet"
        joins = ("left join parcellations as p on p.parcellation_index = c.parcellation_index "
                 f"left join parcellation_terms as pt on pt.label = p.{color_by}_label")
    found = con.execute(
        f"select c.{x}, c.{y}, {name}, {color} from spatial_cells as c {joins} "
        f"where c.brain_section_label = ? and c.{x} is not null and c.{y} is not null",
        [section]).fetchall()
    names = [row[2] if row[2] is not None else "unknown" for row in found]
    missing = sorted({n for n, row in zip(names, found, strict=True) if row[3] is None} -
                     {"unknown"})
    fallback = _fallback_colors(missing) if missing else {}
    colors = [row[3] or fallback.get(n, UNKNOWN_COLOR) for n, row in zip(names, found,
                                                                         strict=True)]
    counts: dict[str, tuple[str, int]] = {}
    for n, c in zip(names, colors, strict=True):
        counts[n] = (c, counts.get(n, (c, 0))[1] + 1)
    legend = sorted(((n, c, k) for n, (c, k) in counts.items()), key=lambda t: (-t[2], t[0]))
    return SectionPoints(section, color_by, coordinates, [row[0] for row in found],
                         [row[1] for row in found], colors, legend[:legend_size])


def _nearest_sections(section: str, sections: list[str]) -> str:
    """The sections whose number is nearest (a gap's neighbours), else the closest names."""
    number = re.search(r"\.(\d+)$", section)
    numbered = {int(m.group(1)): s for s in sections if (m := re.search(r"\.(\d+)$", s))}
    if not number or not numbered:
        return _closest(section, sections)
    wanted = int(number.group(1))
    near = sorted(numbered, key=lambda n: (abs(n - wanted), n))[:2]
    return f"; did you mean {', '.join(repr(numbered[n]) for n in sorted(near))}?"


def draw_section(points: SectionPoints):
    Figure, Patch = _matplotlib()
    fig = Figure(figsize=(9.5, 6.5), layout="constrained")
    ax = fig.add_subplot()
    n = len(points.x)
    size = min(30.0, max(0.3, 30_000 / max(n, 1)))
    ax.scatter(points.x, points.y, s=size, c=points.colors, marker="o", linewidths=0,
               rasterized=n > 5_000)
    ax.set_aspect("equal")
    ax.invert_yaxis()  # dorsal up
    x_name, y_name = COORDINATES[points.coordinates]
    ax.set_xlabel(f"{x_name} (mm)")
    ax.set_ylabel(f"{y_name} (mm)")
    ax.set_title(f"{points.section}: {n:,} MERFISH cells by {points.color_by}", fontsize=10)
    handles = [Patch(facecolor=color, label=f"{name} ({cells:,})")
               for name, color, cells in points.legend]
    fig.legend(handles=handles, loc="outside right center", fontsize=7, frameon=False)
    return fig


# ------------------------------------------------------------------------------ files

def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_")


def default_name(*parts: str) -> Path:
    return Path("-".join(_slug(p) for p in parts) + ".png")


def save(fig, out: Path, *, force: bool) -> Path:
    """Write `fig` to `out` (PNG or SVG by its suffix) through a temporary file; an existing
    file is replaced only with `force`."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"cannot tell the format of {out}: name it .png or .svg")
    if out.exists() and not force:
        raise UsageError(f"{out} exists", hint="choose another --out, or --force to replace it")
    if out.is_dir():
        raise UsageError(f"{out} is a folder", hint="give --out a file name ending in .png or .svg")
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=suffix, dir=out.parent)
    os.close(handle)
    try:
        fig.savefig(temporary, format=suffix[1:], dpi=150)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 is for the temporary only
        os.replace(temporary, out)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return out


def plot_composition(db_path: Path, regions: list[str], *, level: str, method: str | None,
                     top: int, out: Path | None, force: bool) -> Path:
    con = db.connect(db_path, read_only=True)
    try:
        bars = composition_bars(con, regions, level=level, method=method, top=top)
    finally:
        con.close()
    target = out or default_name("composition", *regions, level)
    return save(draw_composition(bars), target, force=force)


def plot_section(db_path: Path, section: str, *, color_by: str, coordinates: str,
                 out: Path | None, force: bool) -> Path:
    con = db.connect(db_path, read_only=True)
    try:
        points = section_points(con, section, color_by=color_by, coordinates=coordinates)
    finally:
        con.close()
    target = out or default_name("section", section, color_by)
    return save(draw_section(points), target, force=force)
