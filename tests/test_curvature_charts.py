"""Curvature figures without a browser: the traces, arrows and levels each builder must
draw, carrying the data it was given."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from charts import curvature as charts
from charts.surface import CLICK_GRID, Mark, Path


def grid(n: int = 21):
    xs = np.linspace(-2, 2, n)
    ys = np.linspace(-2, 2, n)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, gx**2 - gy**2


def named(fig: go.Figure, name: str) -> list:
    return [d for d in fig.data if d.name == name]


def test_eigen_arrows_scale_with_abs_lambda_and_colour_by_sign() -> None:
    v = np.array([[0.6, -0.8], [0.8, 0.6]])
    a = charts.eigen_arrows((1.0, 2.0), [-2.0, 4.0], v, length=0.5)
    assert [x.color for x in a] == [charts.NEGATIVE, charts.POSITIVE]
    lengths = [np.hypot(*x.vector) for x in a]
    assert lengths == pytest.approx([0.25, 0.5])
    np.testing.assert_allclose(np.array(a[1].vector) / 0.5, v[:, 1])
    assert all(x.start == (1.0, 2.0) for x in a)
    assert "λ₁ = -2" in a[0].label and "λ₂ = 4" in a[1].label


def test_zero_eigenvalue_gets_a_short_dotted_arrow() -> None:
    a = charts.eigen_arrows((0.0, 0.0), [0.0, 3.0], np.eye(2), length=1.0, zero=(True, False))
    assert a[0].color == charts.ZERO and a[0].dash == "dot" and "≈ 0" in a[0].label
    assert np.hypot(*a[0].vector) == pytest.approx(charts.ARROW_MIN_FRACTION)
    flat = charts.eigen_arrows((0.0, 0.0), [0.0, 0.0], np.eye(2), length=1.0)  # H = 0
    assert all(x.color == charts.ZERO and np.hypot(*x.vector) > 0 for x in flat)


def test_model_levels_pass_through_f_at_the_point() -> None:
    z = np.linspace(-3.0, 7.0, 101).reshape(1, -1)
    start, end, size = charts.model_levels(1.234, z, count=10)
    assert size == pytest.approx((np.percentile(z, 95) - np.percentile(z, 5)) / 10)
    k = (1.234 - start) / size
    assert k == pytest.approx(round(k)) and start <= -3.0 + size and end >= 7.0 - size
    assert (end - start) / size <= charts.MAX_LEVELS
    flat = charts.model_levels(5.0, np.full((3, 3), 5.0))  # a constant window still gets levels
    assert flat[2] > 0 and flat[0] <= 5.0 <= flat[1]


def test_curvature_figure_has_marks_by_kind_arrows_model_newton_and_point() -> None:
    xs, ys, z = grid()
    marks = [Mark((0.0, 0.0), "saddle"), Mark((1.0, 1.0), "minimum"), Mark((-1.0, 1.0), "minimum")]
    arrows = charts.eigen_arrows((0.5, 0.5), [-2.0, 2.0], np.eye(2), 0.4)
    wx, wy = xs[5:15], ys[5:15]
    model = charts.ModelOverlay(wx, wy, z[5:15, 5:15], z[5:15, 5:15] + 0.1, (-4.0, 4.0, 0.5))
    newton = np.array([[0.5, 0.5], [0.0, 0.0]])
    fig = charts.curvature_figure(xs, ys, z, point=(0.5, 0.5), marks=marks, arrows=arrows, model=model, newton=newton)
    assert len(named(fig, "minimum")) == 1 and len(named(fig, "minimum")[0].x) == 2  # one trace per kind
    assert len(named(fig, "saddle")[0].x) == 1
    assert named(fig, CLICK_GRID)
    lines = [d for d in fig.data if isinstance(d, go.Contour) and d.contours.coloring == "none"]
    assert [d.name for d in lines] == ["f levels", "quadratic model"]
    assert len(lines) == 2 and {d.line.dash for d in lines} == {"solid", "dash"}
    assert all(d.contours.start == -4.0 and d.contours.size == 0.5 for d in lines)  # same levels for f and q
    np.testing.assert_allclose(lines[1].z, np.round(z[5:15, 5:15] + 0.1, 6))
    both_ways = [a for a in fig.layout.annotations if a.arrowside == "end+start"]
    assert len(both_ways) == 2
    assert {a.arrowcolor for a in both_ways} == {charts.NEGATIVE, charts.POSITIVE}
    assert both_ways[1].x - 0.5 == pytest.approx(0.5 - both_ways[1].ax)  # centred on the point
    np.testing.assert_allclose(named(fig, "Newton steps")[0].x, [0.5, 0.0])
    assert named(fig, "θ′ (the point)")[0].x == (0.5,)
    assert fig.layout.yaxis.scaleanchor == "x"  # equal scales: orthogonal eigenvectors look orthogonal
    assert fig.layout.template.layout.plot_bgcolor == "white"  # our plotly_white-like template, assigned cheaply


def test_curvature_figure_without_curvature_still_draws_the_map() -> None:
    xs, ys, z = grid()
    fig = charts.curvature_figure(xs, ys, z, point=(0.0, 0.0), marks=[Mark((0.0, 0.0), "degenerate")])
    assert named(fig, "degenerate") and not named(fig, "Newton steps") and not fig.layout.annotations


def test_slices_figure_two_panels() -> None:
    ts = np.linspace(-1, 1, 11)
    f = [ts**2, -(ts**2) + ts**3]
    q = [ts**2, -(ts**2)]
    fig = charts.slices_figure(ts, f, q, ["along v₁", "along v₂"], ["red", "green"])
    assert len(fig.data) == 4
    assert [d.xaxis for d in fig.data] == ["x", "x", "x2", "x2"]
    np.testing.assert_allclose(fig.data[2].y, f[1])
    np.testing.assert_allclose(fig.data[3].y, q[1])
    assert fig.data[1].line.dash == "dash" and fig.data[0].line.color == "red"
    assert fig.layout.xaxis.domain[1] < fig.layout.xaxis2.domain[0]
    assert [a.text for a in fig.layout.annotations] == ["along v₁", "along v₂"]


def test_factors_figure_bars_and_limit() -> None:
    factors = np.array([[0.96, 0.0], [0.928, 0.8], [0.912, 1.2]])
    fig = charts.factors_figure(["0.5×", "0.9×", "1.1×"], factors, [0.96, 0.928, np.nan], ["v₁", "v₂"],
                                list(charts.DIRECTION_COLORS))
    assert [type(d).__name__ for d in fig.data] == ["Bar", "Bar", "Bar", "Scatter"]
    assert fig.data[3].name == "1: the stability limit"
    np.testing.assert_allclose(fig.data[1].y, [0.0, 0.8, 1.2])
    assert fig.data[2].text[2] == "—"  # not measurable: said, not drawn as 0
    assert fig.layout.shapes[0].y0 == 1.0 and fig.layout.yaxis.range[1] >= 1.2


def test_ratios_figure_two_traces_per_run() -> None:
    r = [np.full(20, 0.9), np.r_[np.full(10, 1.2), np.full(10, np.nan)]]
    fig = charts.ratios_figure(["a", "b"], r, [0.9, 1.2], ["red", "blue"])
    assert len(fig.data) == 4
    assert fig.data[1].y == (0.9, 0.9) and fig.data[1].line.dash == "dot"
    assert fig.data[2].line.color == "blue"


def test_stability_figure_zooms_and_marks_divergence() -> None:
    xs, ys, z = grid()
    pts = np.array([[0.1, 0.1], [-0.12, -0.12], [np.nan, np.nan]])
    paths = [Path("gd1.1", "1.1×", pts, np.array([1.0, 2.0, np.nan]), diverged_at=2, color="red")]
    arrows = charts.eigen_arrows((0.0, 0.0), [1.0, 3.0], np.eye(2), 0.1)
    fig = charts.stability_figure(xs, ys, z, p_star=(0.0, 0.0), paths=paths, start=(0.1, 0.1), center=(0.0, 0.0),
                                  radius=0.3, arrows=arrows)
    assert tuple(fig.layout.xaxis.range) == (-0.3, 0.3) and tuple(fig.layout.yaxis.range) == (-0.3, 0.3)
    crosses = [d for d in fig.data if getattr(d, "mode", None) == "markers+text"]
    assert any("diverged at step 2" in d.text[0] for d in crosses)
    assert named(fig, "1.1× (diverged at step 2)")
    assert len([a for a in fig.layout.annotations if a.arrowside == "end+start"]) == 2


# ---------------------------------------------------------------------------------------
# The page's figures from an experiments.curvature Result


def _result(surface: str, **by_key):
    from experiments import curvature as lab

    return lab.run(lab.Settings().replace(surface=surface, **by_key))


def test_point_figure_draws_what_the_result_holds() -> None:
    from ui.surface_view import grid_of  # the page's cached grid, here without a session

    r = _result("himmelblau", px=0.5, py=2.5, gdsteps=20)
    fig = charts.point_figure(*grid_of(r.surface), r)
    assert len(named(fig, "minimum")[0].x) == 4 and len(named(fig, "maximum")[0].x) == 1
    assert [d.name for d in fig.data if isinstance(d, go.Contour) and d.contours.coloring == "none"] == \
        ["f levels", "quadratic model"]
    np.testing.assert_allclose(np.column_stack([named(fig, "Newton steps")[0].x, named(fig, "Newton steps")[0].y]),
                               r.newton.points)
    arrows = [a for a in fig.layout.annotations if a.arrowside == "end+start"]
    (x0, x1), _ = r.surface.domain
    longest = max(np.hypot(a.x - a.ax, a.y - a.ay) / 2 for a in arrows)
    assert longest == pytest.approx(charts.ARROW * (x1 - x0))  # the most curved direction gets ARROW
    assert named(fig, "θ′ (the point)")[0].x == (0.5,)


def test_point_figure_where_f_is_not_finite_is_the_map_alone() -> None:
    r = _result("custom", expr="log(x) + y^2", px=-1.0, py=0.0)
    xs, ys = np.linspace(-3, 3, 11), np.linspace(-3, 3, 11)
    fig = charts.point_figure(xs, ys, np.zeros((11, 11)), r)
    assert not named(fig, "Newton steps") and not fig.layout.annotations and named(fig, "θ′ (the point)")


def test_step_figures_one_path_bar_and_ratio_per_run() -> None:
    r = _result("ravine", gdsteps=200)
    limit = r.step_limit
    paths, factors, ratios = charts.step_figures(limit)
    labels = [charts.run_label(g) for g in limit.runs]
    assert labels == ["0.5× (η = 0.04)", "0.9× (η = 0.072)", "1.1× (η = 0.088)"]
    assert named(paths, "1.1× (η = 0.088) (diverged at step 94)")  # the diverged run says so
    assert [a.arrowcolor for a in paths.layout.annotations if a.arrowside == "end+start"] == \
        list(charts.DIRECTION_COLORS)
    np.testing.assert_allclose(factors.data[1].y, [g.factors[1] for g in limit.runs])
    assert list(factors.data[0].x) == ["0.5×", "0.9×", "1.1×"]
    assert [d.name for d in ratios.data if d.showlegend is not False] == labels
    assert [d.y[0] for d in ratios.data[1::2]] == pytest.approx([0.96, 0.928, 1.2])
