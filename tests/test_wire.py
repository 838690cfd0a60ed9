"""charts.wire: what the browser gets is the figure, in plain arrays, with its style written in."""
from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from charts.style import TEMPLATE
from charts.surface import Panel, Path, contour_figure, curves_figure, surface3d_figure
from charts.wire import SIGNIFICANT, numbers, plain, to_wire


def bowl(n: int = 21):
    xs = ys = np.linspace(-2.0, 2.0, n)
    return xs, ys, xs[None, :] ** 2 + ys[:, None] ** 2


def paths():
    pts = np.array([[1.5, 1.5], [1.0, 0.8], [0.5, 0.3], [0.1, 0.05]])
    bad = np.array([[-1.5, 1.0], [-1.8, 1.9], [np.nan, np.nan]])
    return [Path("adam", "Adam", pts, (pts**2).sum(1)),
            Path("gd", "GD", bad, np.array([3.25, 6.85, np.nan]), diverged_at=2)]


def all_arrays_are_lists(value) -> bool:
    if isinstance(value, dict):
        return "bdata" not in value and all(all_arrays_are_lists(v) for v in value.values())
    if isinstance(value, list):
        return all(all_arrays_are_lists(v) for v in value)
    return not isinstance(value, np.ndarray)


@pytest.fixture(params=["contour", "curves", "surface3d"])
def figure(request) -> go.Figure:
    xs, ys, z = bowl()
    if request.param == "contour":
        return contour_figure(xs, ys, z, paths=paths(), start=(1.5, 1.5), click_grid=9, animate=True)
    if request.param == "curves":
        return curves_figure(paths(), [Panel([p.losses for p in paths()], "loss"),
                                       Panel([p.losses for p in paths()], "again", log_y=False)])
    return surface3d_figure(xs, ys, z, paths=paths())


def test_the_wire_form_has_no_typed_arrays_no_template_and_a_revision(figure) -> None:
    before = figure.to_dict()
    assert "template" in before["layout"]
    assert not all_arrays_are_lists(before)  # the builders' NumPy arrays, as Plotly encodes them
    spec = to_wire(figure).to_dict()
    assert all_arrays_are_lists(spec)
    assert "template" not in spec["layout"]
    assert spec["layout"]["datarevision"] == 1
    json.loads(pio.to_json(spec, validate=False))  # strict JSON: NaN went out as null


def test_the_wire_form_carries_the_same_numbers(figure) -> None:
    before, after = figure.to_dict(), to_wire(figure).to_dict()
    assert len(before["data"]) == len(after["data"])
    compared = 0
    for b, a in zip(before["data"], after["data"]):
        for key in ("x", "y", "z", "customdata"):
            if key in b:
                want = np.asarray(plain(b[key]), dtype=float)
                np.testing.assert_allclose(np.asarray(a[key], dtype=float), want, rtol=10 ** (1 - SIGNIFICANT),
                                           equal_nan=True)
                compared += 1
    assert compared >= 2  # every figure has traces with coordinates
    assert after.get("frames") == plain(before.get("frames"))


def test_template_settings_are_written_into_every_axis_and_the_layout(figure) -> None:
    style = pio.templates[TEMPLATE].layout
    layout = to_wire(figure).to_dict()["layout"]
    axes = [k for k in layout if k[1:5] == "axis"]
    if "scene" in layout:
        assert layout["scene"]["xaxis"]["gridcolor"] == style.scene.xaxis.gridcolor
    else:
        assert {"xaxis", "yaxis"} <= set(axes)
    for k in axes:
        assert layout[k]["gridcolor"] == style.xaxis.gridcolor, k
    assert layout["font"]["color"] == style.font.color
    assert layout["font"]["family"]  # the figure's own setting kept over the template's
    assert layout["plot_bgcolor"] == style.plot_bgcolor
    spec = to_wire(figure).to_dict()
    spec.pop("frames", None)
    spec["layout"].pop("sliders", None)
    go.Figure(spec)  # still a valid figure, property by property


def test_the_figures_own_settings_win_over_the_template() -> None:
    fig = go.Figure(go.Scatter(x=[0, 1], y=[1, 0]))
    fig.update_layout(plot_bgcolor="black", xaxis=dict(gridcolor="red"))
    fig.add_annotation(x=0, y=0, text="", showarrow=True, arrowcolor="blue")
    layout = to_wire(fig).to_dict()["layout"]
    assert layout["plot_bgcolor"] == "black" and layout["xaxis"]["gridcolor"] == "red"
    assert layout["annotations"][0]["arrowcolor"] == "blue"
    assert layout["annotations"][0]["arrowwidth"] == pio.templates[TEMPLATE].layout.annotationdefaults.arrowwidth


def test_rounding_writes_what_formatting_would_write() -> None:
    """round_significant against "%.7g" (the text JSON then carries), over 24 decades and
    the extremes."""
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(size=20_000) * 10.0 ** rng.integers(-12, 12, 20_000),
                             [0.0, -0.0, 1e300, -1e-300, 5e-324, np.nan, np.inf, -np.inf, 0.1, 2.5, 123456789.0]])
    want = np.char.mod("%.7g", values).astype(np.float64)
    assert json.dumps(numbers(values)) == json.dumps(want.tolist())


def test_numbers_round_to_float32_digits_and_keep_gaps() -> None:
    out = numbers(np.array([np.float32(0.1), 1 / 3, np.nan, -1e-12, 12345678.9]))
    assert out[0] == 0.1 and out[1] == 0.3333333 and np.isnan(out[2]) and out[3] == -1e-12
    assert out[4] == 12345680.0
    assert numbers(np.array([[1, 2], [3, 4]], np.int16)) == [[1, 2], [3, 4]]
    assert json.dumps(numbers(np.linspace(0, 1, 7))) == "[0.0, 0.1666667, 0.3333333, 0.5, 0.6666667, 0.8333333, 1.0]"
