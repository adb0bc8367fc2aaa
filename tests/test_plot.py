"""`brainwh plot`: the pictures are written, are the right size, and show the taxonomy's own
colours where the answer puts them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="brainwh plot needs matplotlib (make install)")


def pixels(path: Path) -> np.ndarray:
    from matplotlib import image

    data = image.imread(str(path))
    return np.round(data[..., :3] * 255).astype(int)


def count(rgb: np.ndarray, color: str) -> int:
    wanted = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    return int((rgb == wanted).all(axis=-1).sum())


def one(db: Path, sql: str, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchone()
    finally:
        con.close()


def test_composition_bars_in_the_taxonomy_colours(tiny_db, tmp_path):
    from warehouse.plot import plot_composition

    # the largest subclass of the dentate gyrus (MERFISH) and its taxonomy colour
    name, color, fraction = one(
        tiny_db, "select c.cell_type, t.subclass_color, c.fraction from composition c "
        "join (select distinct subclass_label, subclass_color from cell_types) t "
        "on t.subclass_label = c.cell_type_label where c.method = 'spatial' and "
        "c.region_acronym = 'DG' and c.level = 'subclass' order by c.n_cells desc, 1 limit 1")
    out = plot_composition(tiny_db, ["CA1", "DG"], level="subclass", method=None, top=10,
                           out=tmp_path / "bars.png", force=False)
    assert out == tmp_path / "bars.png" and out.stat().st_size > 10_000
    rgb = pixels(out)
    assert rgb.shape[0] > 500 and rgb.shape[1] > 800
    # a bar 0.7 units wide and `fraction` of ~560 pixels high: thousands of pixels
    assert count(rgb, color) > 1_000 * fraction, (name, color)


def test_a_section_scatter_in_the_taxonomy_colours(tiny_db, tmp_path, cli):
    section, = one(tiny_db, "select brain_section_label from spatial_cells group by 1 "
                   "order by count(*) desc, 1 limit 1")
    subclass, color = one(
        tiny_db, "select t.subclass, t.subclass_color from spatial_cells c join cell_types t "
        "using (cluster_alias) where c.brain_section_label = ? group by all "
        "order by count(*) desc, 1 limit 1", [section])
    out = tmp_path / "section.png"
    result = cli("plot", "section", section, "--color-by", "subclass", "--out", str(out),
                 "--db", str(tiny_db))
    assert result.exit_code == 0, result.stderr
    assert f"wrote {out}" in result.stderr and result.stdout == ""
    assert out.stat().st_size > 10_000
    assert count(pixels(out), color) > 20, (subclass, color)
    # SVG by the suffix; the parcellation's colours for a CCF level
    from warehouse.plot import plot_section

    svg = plot_section(tiny_db, section, color_by="division", coordinates="ccf",
                       out=tmp_path / "section.svg", force=False)
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text and len(text) > 5_000


def test_plots_refuse_what_they_cannot_draw(tiny_db, tmp_path, cli):
    from warehouse.errors import UsageError
    from warehouse.plot import plot_composition, plot_section

    with pytest.raises(UsageError, match=r"unknown section 'C57BL6J-638850\.07'; did you "
                       r"mean 'C57BL6J-638850\.06', 'C57BL6J-638850\.08'\?"):
        plot_section(tiny_db, "C57BL6J-638850.07", color_by="subclass",
                     coordinates="section", out=tmp_path / "x.png", force=False)
    with pytest.raises(UsageError, match="unknown region 'CAX'; did you mean"):
        plot_composition(tiny_db, ["CAX"], level="class", method=None, top=5,
                         out=tmp_path / "x.png", force=False)
    with pytest.raises(UsageError, match="'CA1' has no 10x cells of a dissection region"):
        plot_composition(tiny_db, ["CA1"], level="class", method="dissection", top=5,
                         out=tmp_path / "x.png", force=False)
    existing = tmp_path / "mine.png"
    existing.write_bytes(b"a user's picture")
    result = cli("plot", "composition", "MOp", "--out", str(existing), "--db", str(tiny_db))
    assert result.exit_code == 2 and "exists" in result.stderr and "--force" in result.stderr
    assert existing.read_bytes() == b"a user's picture"
    with pytest.raises(UsageError, match="name it .png or .svg"):
        plot_composition(tiny_db, ["MOp"], level="class", method=None, top=5,
                         out=tmp_path / "x.jpg", force=False)
    assert not list(tmp_path.glob(".x*"))  # no temporary file left behind


def test_the_method_follows_compare_compositions_rule(tiny_db, tmp_path):
    from warehouse.plot import composition_bars

    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        spatial = composition_bars(con, ["MOp", "STRd"], level="class", method=None, top=4)
        dissection = composition_bars(con, ["MOp", "STRd"], level="class",
                                      method="dissection", top=4)
        mixed = composition_bars(con, ["MOp", "MO-FRP"], level="class", method=None, top=4)
    finally:
        con.close()
    # both have MERFISH cells: spatial; an ROI without them (MO-FRP): dissection
    assert (spatial.method, dissection.method, mixed.method) == (
        "spatial", "dissection", "dissection")
    for found in (spatial, dissection):
        assert len(found.cell_types) == 5 and found.cell_types[-1][0].startswith("other")
        assert all(sum(values) == pytest.approx(1.0) for values in found.fractions.values())
