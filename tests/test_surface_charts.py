"""The server-drawn contour (charts.raster) and the contour figure built on it, without a
browser: PNGs are decoded here with zlib (chunks, CRCs, filters) and checked pixel by pixel."""
from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import plotly.graph_objects as go
import pytest

from charts import raster
from charts.surface import CLICK_GRID, MAX_PATH_POINTS, Arrow, Mark, Panel, Path, arrows_figure, contour_figure, contour_levels
from charts.surface import curves_figure, shaped
from charts.style import COLORSCALE

LINE_ALPHA = raster.LINE_RGBA[3] / 255.0


def decode_png(png: bytes) -> np.ndarray:
    """(h, w, 4) uint8 from an 8-bit RGBA PNG, checking every chunk's CRC on the way."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos: pos + 4])
        tag, data = png[pos + 4: pos + 8], png[pos + 8: pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length: pos + 12 + length])
        assert crc == zlib.crc32(tag + data) & 0xFFFFFFFF, f"bad CRC in {tag!r}"
        chunks.append((tag, data))
        pos += 12 + length
    assert pos == len(png)
    tags = [t for t, _ in chunks]
    assert tags[0] == b"IHDR" and tags[-1] == b"IEND" and b"IDAT" in tags
    w, h, depth, color_type, compression, filter_method, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color_type, compression, filter_method, interlace) == (8, 6, 0, 0, 0)
    raw = np.frombuffer(zlib.decompress(b"".join(d for t, d in chunks if t == b"IDAT")), np.uint8)
    assert raw.size == h * (w * 4 + 1)
    rows = raw.reshape(h, w * 4 + 1)
    out = np.zeros((h, w * 4), np.int64)
    for i in range(h):
        kind, line = rows[i, 0], rows[i, 1:].astype(np.int64)
        above = out[i - 1] if i else np.zeros(w * 4, np.int64)
        if kind == 0:
            out[i] = line
        elif kind == 1:
            for j in range(w * 4):  # a test may loop: it checks the encoder's vectorised filter
                out[i, j] = (line[j] + (out[i, j - 4] if j >= 4 else 0)) % 256
        elif kind == 2:
            out[i] = (line + above) % 256
        else:
            raise AssertionError(f"unexpected filter type {kind}")
    return out.astype(np.uint8).reshape(h, w, 4)


def image_of(source: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert source.startswith(prefix)
    return decode_png(base64.b64decode(source[len(prefix):]))


def bowl(nx: int = 101, ny: int = 81):
    """z = x^2 + y^2 on a non-square grid (a transposed image would not fit)."""
    xs, ys = np.linspace(-2, 2, nx), np.linspace(-2, 2, ny)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, gx**2 + gy**2


# --- the PNG encoder -------------------------------------------------------------------


@pytest.mark.parametrize("filter_type", [raster.FILTER_NONE, raster.FILTER_SUB, raster.FILTER_UP])
def test_png_round_trips_any_rgba_with_each_filter(filter_type: int) -> None:
    rgba = np.random.default_rng(filter_type).integers(0, 256, (7, 13, 4), dtype=np.uint8)
    np.testing.assert_array_equal(decode_png(raster.png_bytes(rgba, filter_type)), rgba)


def test_png_default_filter_and_a_banded_image_compresses() -> None:
    rgba = np.zeros((64, 48, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[:32, :, 0] = 200
    rgba[:, 20:, 2] = 90
    png = raster.png_bytes(rgba)
    np.testing.assert_array_equal(decode_png(png), rgba)
    assert len(png) < rgba.size / 20


def test_png_rejects_wrong_shapes() -> None:
    with pytest.raises(ValueError):
        raster.png_bytes(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError):
        raster.png_bytes(np.zeros((4, 4, 4), np.uint8), 4)


def test_data_uri_holds_the_bytes() -> None:
    png = raster.png_bytes(np.full((2, 3, 4), 255, np.uint8))
    uri = raster.data_uri(png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png


# --- colours -----------------------------------------------------------------------------


def test_colorscale_interpolation_matches_plotly_stops() -> None:
    from plotly.colors import get_colorscale, hex_to_rgb

    stops = get_colorscale(COLORSCALE)
    for pos, hex_color in stops:
        assert tuple(raster.colors_at(COLORSCALE, pos)) == hex_to_rgb(hex_color)
    mid = raster.colors_at([[0, "rgb(0, 0, 0)"], [1, "#ffffff"]], np.array([0.5, 0.25, -1, 2]))
    np.testing.assert_array_equal(mid, [[128] * 3, [64] * 3, [0] * 3, [255] * 3])


# --- the contour image -----------------------------------------------------------------


def test_bowl_minimum_has_the_lowest_band_and_corners_the_highest() -> None:
    xs, ys, z = bowl()
    levels = np.linspace(0.0, 8.0, 31)
    img = raster.contour_rgba(z, levels)
    assert img.shape == (81, 101, 4) and img.dtype == np.uint8
    fills = raster.band_fills(levels)
    np.testing.assert_array_equal(img[40, 50, :3], fills[0])  # (0, 0): z = 0
    for r, c in ((0, 0), (0, -1), (-1, 0), (-1, -1)):  # z = 8: the top level
        np.testing.assert_array_equal(img[r, c, :3], fills[-1])
    assert (img[..., 3] == 255).all()
    # go.Contour's fill rule: the scale's two ends on the lowest and highest bands, evenly between.
    np.testing.assert_array_equal(fills[0], raster.colors_at(COLORSCALE, 0.0))
    np.testing.assert_array_equal(fills[-1], raster.colors_at(COLORSCALE, 1.0))
    np.testing.assert_array_equal(fills[10], raster.colors_at(COLORSCALE, 10 / 29))


def test_row_zero_of_the_image_is_the_highest_y() -> None:
    xs, ys = np.linspace(0, 1, 20), np.linspace(0, 1, 30)
    z = np.repeat(ys[:, None], xs.size, axis=1)  # grows with y
    img = raster.contour_rgba(z, np.linspace(0, 1, 11))
    fills = raster.band_fills(np.linspace(0, 1, 11))
    np.testing.assert_array_equal(img[0, 5, :3], fills[-1])
    np.testing.assert_array_equal(img[-1, 5, :3], fills[0])


def test_a_pixel_on_a_level_line_is_darker_than_its_band() -> None:
    xs, ys, z = bowl()
    levels = np.linspace(0.0, 8.0, 33)  # 0.25 apart: z(1, 0) = 1 is level 4
    img = raster.contour_rgba(z, levels).astype(int)
    fills = raster.band_fills(levels).astype(int)
    on_line = img[40, 75, :3]  # y = 0, x = 1
    assert xs[75] == pytest.approx(1.0) and ys[40] == pytest.approx(0.0)
    assert (on_line < fills[4]).all() and (on_line < fills[3]).all()
    np.testing.assert_allclose(on_line, fills[4] * (1 - LINE_ALPHA), atol=1)  # covered fully, in black
    between = img[40, 70, :3]  # x = 0.8: z = 0.64 in band 2, 1.7 px from the nearest level
    np.testing.assert_array_equal(between, fills[2])
    # The line is about a pixel wide: the next pixel on either side (~1 px away) is plain fill.
    np.testing.assert_array_equal(img[40, 74, :3], fills[3])
    np.testing.assert_array_equal(img[40, 76, :3], fills[4])


def test_nan_pixels_are_transparent_and_their_neighbours_still_drawn() -> None:
    xs, ys, z = bowl(21, 21)
    z[3, 4] = np.nan
    z[10:, 15:] = np.nan
    img = raster.contour_rgba(z, np.linspace(0, 8, 31))
    flipped = np.isnan(z)[::-1]
    assert (img[flipped, 3] == 0).all() and (img[~flipped, 3] == 255).all()
    assert (img[flipped, :3] == 0).all()


def test_flat_and_empty_surfaces_do_not_break() -> None:
    flat = np.full((5, 6), 3.0)
    img = raster.contour_rgba(flat, contour_levels(flat))
    assert (img[..., 3] == 255).all() and len({tuple(p) for p in img.reshape(-1, 4)}) == 1
    empty = np.full((5, 6), np.nan)
    assert (raster.contour_rgba(empty, contour_levels(empty))[..., 3] == 0).all()
    with pytest.raises(ValueError):
        raster.contour_rgba(flat, np.array([1.0, 1.0]))


@pytest.mark.parametrize("lo, hi, step", [(0.0, 3.3997, 0.2), (0.0, 8.0, 0.5), (0.0, 6.0, 0.5), (-0.51, 22.25, 1.0),
                                         (100.0, 100.4, 0.02), (-6.75, 6.75, 0.5)])
def test_levels_follow_plotly_autocontour(lo: float, hi: float, step: float) -> None:
    """ncontours=30: the step is the 'nice' 2, 5 or 10 x 10^k strictly above (hi - lo) / 30,
    lines at its multiples strictly inside (lo, hi), and one step more on each side."""
    levels = contour_levels(np.array([[lo, hi], [np.nan, (lo + hi) / 2]]))
    np.testing.assert_allclose(np.diff(levels), step, rtol=1e-9)
    inner = levels[1:-1]
    assert lo < inner[0] <= lo + step + 1e-9 and hi - step - 1e-9 <= inner[-1] < hi
    np.testing.assert_allclose(inner / step, np.round(inner / step), atol=1e-9)
    assert levels[0] <= lo and levels[-1] >= hi and len(inner) <= 30


def test_uneven_levels_fill_by_band() -> None:
    z = np.array([[0.5, 1.5, 5.0]])
    img = raster.contour_rgba(z, np.array([0.0, 1.0, 2.0, 10.0]))
    fills = raster.band_fills(np.array([0.0, 1.0, 2.0, 10.0]))
    np.testing.assert_array_equal(img[0, :, :3], fills)


def test_image_dict_puts_pixel_centres_on_grid_points() -> None:
    xs, ys, z = bowl(101, 81)
    xs, ys = xs * 0.5 + 1.0, ys * 2.0 - 3.0  # any axes
    image = raster.contour_image(xs, ys, z, levels=np.linspace(0, 8, 31))
    img = image_of(image["source"])
    ny, nx = img.shape[:2]
    assert (ny, nx) == z.shape
    assert (image["xref"], image["yref"], image["sizing"], image["layer"]) == ("x", "y", "stretch", "below")
    assert (image["xanchor"], image["yanchor"]) == ("left", "top")
    px = image["sizex"] / nx
    py = image["sizey"] / ny
    centres_x = image["x"] + (np.arange(nx) + 0.5) * px
    centres_y = image["y"] - (np.arange(ny) + 0.5) * py  # row 0 at the top
    np.testing.assert_allclose(centres_x, xs, atol=1e-12)
    np.testing.assert_allclose(centres_y, ys[::-1], atol=1e-12)
    # It covers the axis ranges the figure sets, with half a pixel to spare on each side.
    assert image["x"] < xs[0] and image["x"] + image["sizex"] > xs[-1]
    assert image["y"] > ys[-1] and image["y"] - image["sizey"] < ys[0]
    with pytest.raises(ValueError):
        raster.contour_image(xs, ys, z.T, levels=np.linspace(0, 8, 31))


# --- the figure --------------------------------------------------------------------------


def racing_figure(log: bool = False):
    xs, ys, z = bowl(53, 53)
    pts = np.array([[1.5, 1.5], [1.0, 0.8], [0.5, 0.3], [0.1, 0.05]])
    diverged = np.array([[-1.5, 1.0], [-1.8, 1.9], [np.nan, np.nan]])
    paths = [Path("adam", "Adam", pts, (pts**2).sum(1)),
             Path("gd", "GD", diverged, np.array([3.25, 6.85, np.nan]), diverged_at=2)]
    marks = [Mark((0.0, 0.0), "minimum", "the bottom"), Mark((1.0, -1.0), "saddle")]
    fig = contour_figure(xs, ys, z, log=log, paths=paths, marks=marks, start=(1.5, 1.5), click_grid=27, animate=True)
    return xs, ys, z, paths, fig


def named(fig: go.Figure, name: str) -> list:
    return [d for d in fig.data if d.name == name]


def test_contour_figure_draws_the_fill_as_one_image_and_keeps_everything_else() -> None:
    xs, ys, z, paths, fig = racing_figure()
    assert not [d for d in fig.data if isinstance(d, go.Contour)]
    (image,) = fig.layout.images
    levels = contour_levels(z)
    np.testing.assert_array_equal(image_of(image.source), raster.contour_rgba(z, levels))
    assert image.layer == "below" and image.xref == "x" and image.yref == "y"
    # The axes keep the grid's exact ranges; grid lines would show through the image.
    assert tuple(fig.layout.xaxis.range) == (xs[0], xs[-1]) and tuple(fig.layout.yaxis.range) == (ys[0], ys[-1])
    assert fig.layout.xaxis.showgrid is False and fig.layout.yaxis.zeroline is False
    # Paths, the divergence cross, landmarks and the start are drawn as before.
    adam = named(fig, "Adam")[0]
    np.testing.assert_allclose(adam.x, paths[0].points[:, 0])
    np.testing.assert_allclose(adam.y, paths[0].points[:, 1])
    assert adam.mode == "lines+markers"
    gd = named(fig, "GD (diverged at step 2)")[0]
    assert len(gd.x) == 2 and not np.isnan(gd.x).any()
    assert any(getattr(d, "mode", None) == "markers+text" and "diverged at step 2" in d.text[0] for d in fig.data)
    assert named(fig, "minimum")[0].x == (0.0,) and named(fig, "saddle")[0].y == (-1.0,)
    assert named(fig, "start")[0].x == (1.5,)
    # Animation: one ball per path, frames move only the balls.
    spec = fig.to_dict()
    assert len(spec["frames"]) == 4 and all(len(f["data"]) == 2 for f in spec["frames"])
    assert spec["frames"][-1]["data"][0]["x"] == [0.1]
    assert spec["layout"]["sliders"] and fig.layout.updatemenus


def test_surface_trace_carries_the_colour_bar_only() -> None:
    xs, ys, z, _, fig = racing_figure(log=True)
    (surface,) = named(fig, "surface")
    assert fig.data[0] is surface and fig.data[1].name == CLICK_GRID  # clicks report curve 1, as before
    levels = contour_levels(shaped(z, True, float(np.nanmin(z))))
    m = surface.marker
    # The bar spans the first band's centre to the last's, where the image has the scale's ends.
    assert m.showscale and m.opacity == 0
    assert (m.cmin, m.cmax) == pytest.approx(((levels[0] + levels[1]) / 2, (levels[-2] + levels[-1]) / 2))
    assert m.colorscale == go.scatter.Marker(colorscale=COLORSCALE).colorscale
    assert m.colorbar.title.text == "log₁₀(1+f−f_min)" and m.colorbar.thickness == 12
    assert surface.hoverinfo == "skip" and surface.showlegend is False
    np.testing.assert_array_equal(image_of(fig.layout.images[0].source),
                                  raster.contour_rgba(shaped(z, True, float(np.nanmin(z))), levels))


def test_click_grid_hovers_f_at_its_points() -> None:
    xs, ys, z, _, fig = racing_figure(log=True)  # log colours, but the hover shows f itself
    (grid,) = named(fig, CLICK_GRID)
    assert "customdata" in grid.hovertemplate and grid.hoverinfo is None
    gx, gy, f = np.asarray(grid.x), np.asarray(grid.y), np.asarray(grid.customdata)
    assert f.size == 27 * 27
    # 53 grid points per side, 27 click points: every second grid point, so f is exact there.
    expected = z[::2, ::2].ravel()
    np.testing.assert_allclose(f, expected, rtol=1e-6)
    np.testing.assert_allclose(gx, np.tile(xs[::2], 27), atol=1e-4)
    np.testing.assert_allclose(gy, np.repeat(ys[::2], 27), atol=1e-4)


def test_click_grid_off_the_grid_interpolates_and_skips_nan() -> None:
    xs, ys, z = bowl(30, 30)
    z[0, 0] = np.nan
    fig = contour_figure(xs, ys, z, click_grid=7)
    (grid,) = named(fig, CLICK_GRID)
    f = np.asarray(grid.customdata, float)
    truth = np.asarray(grid.x) ** 2 + np.asarray(grid.y) ** 2
    assert np.isnan(f[0]) and np.isfinite(f[1:]).all()
    np.testing.assert_allclose(f[1:], truth[1:], atol=(4 / 29) ** 2 / 2)  # bilinear on a parabola: h^2/4 per axis


def test_no_click_grid_no_hover_trace() -> None:
    xs, ys, z = bowl(21, 21)
    fig = contour_figure(xs, ys, z)
    assert [d.name for d in fig.data] == ["surface"] and len(fig.layout.images) == 1


def test_arrows_figure_zooms_over_its_image() -> None:
    xs, ys, z = bowl(41, 41)
    xs, ys = xs * 0.1 + 1.0, ys * 0.1 - 0.5  # a local grid around (1, -0.5), radius 0.2
    fig = arrows_figure(xs, ys, z, [Arrow((1.0, -0.5), (0.1, 0.05), "#444444", "step")], center=(1.0, -0.5),
                        radius=0.2)
    (image,) = fig.layout.images
    assert image.x < 0.8 < 1.2 < image.x + image.sizex and image.y > -0.3 > -0.7 > image.y - image.sizey
    assert tuple(fig.layout.xaxis.range) == pytest.approx((0.8, 1.2))
    assert named(fig, "surface") and named(fig, "step") and len(fig.layout.annotations) == 1


# --- curves and animation -------------------------------------------------------------------


def test_curves_panels_share_one_legend_and_mark_divergence() -> None:
    from charts.surface import Panel, curves_figure

    ok = Path("gd", "GD", np.c_[np.arange(11.0), np.zeros(11)], np.linspace(10, 1, 11), None, "#ff0000")
    pts = np.c_[np.arange(11.0), np.zeros(11)]
    pts[6:] = np.nan
    bad = Path("adam", "Adam", pts, np.linspace(5, 1, 11), 6, "#00ff00")
    loss = Panel([ok.losses, bad.losses], "L", "loss")
    dist = Panel([np.full(11, 2.0), np.zeros(11)], "d", "distance", log_y=False)
    fig = curves_figure([ok, bad], [loss, dist])
    assert [(t.name, t.xaxis, t.showlegend) for t in fig.data] == [
        ("GD", "x", True), ("Adam", "x", True), ("GD", "x2", False), ("Adam", "x2", False)]
    assert all(t.legendgroup in ("gd", "adam") for t in fig.data)
    assert len(fig.data[1].y) == 6  # drawn up to the last good step only
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "linear"
    assert fig.layout.xaxis.domain[1] < fig.layout.xaxis2.domain[0]  # side by side, not overlapping
    # A dotted line at the divergence step in each panel, on that panel's axes.
    assert [(s.x0, s.xref, s.yref) for s in fig.layout.shapes] == [(6, "x", "y domain"), (6, "x2", "y2 domain")]


def test_animation_slider_has_few_steps_but_every_frame_plays() -> None:
    from charts.surface import CLICK_GRID_SIZE, MAX_FRAMES, SLIDER_STEPS

    path = Path("gd", "GD", np.c_[np.linspace(-1, 1, 1001), np.zeros(1001)], np.zeros(1001), None, "#ff0000")
    xs, ys, z = bowl(21, 21)
    fig = contour_figure(xs, ys, z, paths=[path], animate=True, click_grid=CLICK_GRID_SIZE).to_dict()
    frames = [f["name"] for f in fig["frames"]]
    steps = [s["args"][0][0] for s in fig["layout"]["sliders"][0]["steps"]]
    assert len(frames) == MAX_FRAMES and len(steps) <= SLIDER_STEPS
    assert set(steps) <= set(frames) and steps[0] == "0" and steps[-1] == "1000"
    assert fig["layout"]["hoverdistance"] >= 30  # a click anywhere reaches a click-grid point


def test_a_fill_drawn_once_is_the_fill_the_figure_would_draw() -> None:
    """Pages keep a surface's filled contour and pass it in on every rerun: the same image."""
    from charts.surface import draw_fill

    xs, ys, z = bowl(41, 41)
    fill = draw_fill(xs, ys, z, log=True)
    own = contour_figure(xs, ys, z, log=True).layout.images[0]
    given = contour_figure(xs, ys, z, log=True, fill=fill)
    assert given.layout.images[0].source == own.source == fill.image["source"]
    surface = next(t for t in given.data if t.name == "surface")
    assert surface.marker.cmin == pytest.approx((fill.levels[0] + fill.levels[1]) / 2)


def test_pages_draw_a_surface_fill_once() -> None:
    import surfaces
    from ui.surface_view import fill_of, grid_of

    s = surfaces.get("himmelblau")
    assert fill_of(s) is fill_of(s)
    xs, ys, z = grid_of(s)
    from charts.surface import draw_fill

    assert fill_of(s).image["source"] == draw_fill(xs, ys, z, s.log_levels).image["source"]


def test_figures_built_unvalidated_pass_plotly_validation() -> None:
    """The builders skip Plotly's per-property validation (it was most of a rerun's server
    time); the result must still be a figure Plotly accepts, property by property."""
    from charts.surface import Panel, curves_figure

    xs, ys, z, paths, fig = racing_figure()
    curves = curves_figure(paths, [Panel([p.losses for p in paths], "loss")])
    zoom = arrows_figure(xs, ys, z, [Arrow((0.5, 0.3), (-0.1, -0.1), "#444444", "step")], center=(0.5, 0.3),
                         radius=0.4, points=[("path", paths[0].points, "#ff0000")])
    for f in (fig, curves, zoom):
        spec = f.to_dict()
        spec.pop("frames", None)  # kept raw on purpose (AnimatedFigure)
        spec["layout"].pop("sliders", None)
        go.Figure(spec)  # raises ValueError on any invalid property or value
    with pytest.raises(ValueError):  # the check itself catches a misspelt property
        go.Figure({"data": [], "layout": {"xaxis": {"rnage": [0, 1]}}})


def test_curves_send_four_digits_and_let_plotly_count_the_steps() -> None:
    from charts.surface import CURVE_DIGITS
    from charts.wire import round_significant

    assert CURVE_DIGITS == 4
    np.testing.assert_array_equal(round_significant(np.array([123456.0, 0.0012345678, -9.87654, 0.0, np.nan, np.inf]), 4),
                                  [123500.0, 0.001235, -9.877, 0.0, np.nan, np.inf])
    short = Path("gd", "GD", np.zeros((11, 2)), np.linspace(1, 2, 11))
    long = Path("adam", "Adam", np.zeros((4001, 2)), np.linspace(1, 2, 4001))
    fig = curves_figure([short, long], [Panel([short.losses, long.losses], "loss")])
    every, thinned = fig.data
    # Every step drawn: no x array, Plotly counts 0, 1, 2, ... itself.
    assert every.x is None and (every.x0, every.dx) == (0, 1) and len(every.y) == 11
    assert every.y[3] == pytest.approx(1.3, abs=1e-12)
    # A long path is thinned: its steps are sent, ending at the last one.
    assert thinned.x is not None and len(thinned.x) == len(thinned.y) <= MAX_PATH_POINTS and thinned.x[-1] == 4000
    assert all(float(f"{v:.4g}") == v for v in thinned.y)  # four significant digits, no more
