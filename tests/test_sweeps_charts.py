"""charts.sweeps: the figures show exactly the data they are given (no browser)."""
from __future__ import annotations

import re

import numpy as np

from charts.sweeps import (
    BASIN_COLORS,
    DIVERGED,
    DIVERGED_COLOR,
    NOT_CONVERGED,
    NOT_CONVERGED_COLOR,
    SWEEP_CELLS,
    RaceRow,
    SweepAxis,
    basin_figure,
    race_bars_figure,
    race_rates_figure,
    sweep_figure,
)

LRS = np.array([1e-3, 1e-2, 1e-1, 1.0])
BETAS = np.array([0.0, 0.5, 0.9])
LOSS = np.array([[1.0, 0.1, 1e-3, np.nan], [0.5, 1e-2, 1e-5, np.nan], [0.2, 1e-4, 2.0, np.nan]]) + 3.0
DIV = np.array([[-1, -1, -1, 4], [-1, -1, -1, 2], [-1, -1, -1, 1]])
HIT = np.array([[-1, -1, 40, -1], [-1, 90, 12, -1], [-1, 30, -1, -1]])


def hover_text(template: str, row) -> str:
    """A hover template filled in with one point's customdata, as Plotly fills it
    (%{customdata[i]} and %{customdata[i]:spec}; d3's ".3~g" is Python's ".3g", and d3's
    ".3g" keeps trailing zeros, Python's ".3#g")."""
    def fill(m: re.Match) -> str:
        value = float(row[int(m.group(1))])
        spec = m.group(2)
        if spec and spec.endswith("g"):
            spec = spec.replace("~", "") if "~" in spec else spec[:-1] + "#g"
        return format(value, spec) if spec else f"{value:g}"

    return re.sub(r"%\{customdata\[(\d+)\](?::([^}]*))?\}", fill, template).replace("<extra></extra>", "")


def trace_named(fig, name):
    return next(t for t in fig.data if t.name == name)


def test_sweep_map_layers_and_cells():
    fig = sweep_figure(LRS, SweepAxis("momentum λ", BETAS), LOSS, DIV, HIT, mode="loss", l_star=3.0, tol=1e-3,
                       selected=(1, 2), best=(1, 2))
    main, diverged = trace_named(fig, "sweep"), trace_named(fig, "diverged")
    np.testing.assert_allclose(main.x, np.log10(LRS))
    z = np.asarray(main.z, float)
    # Colour = log10(L - L*), nothing drawn where the run diverged (that is the black layer).
    np.testing.assert_allclose(z[:, :3], np.log10(LOSS[:, :3] - 3.0), atol=1e-6)
    assert np.isnan(z[:, 3]).all()
    dz = np.asarray(diverged.z, float)
    assert np.array_equal(np.isfinite(dz), DIV >= 0)
    assert diverged.colorscale[0][1] == DIVERGED_COLOR
    cells = [c for c in fig.data if c.name == SWEEP_CELLS]
    assert sum(len(c.x) for c in cells) == LRS.size * BETAS.size
    # Every clickable cell sits on its cell centre and says what happened there (its hover
    # template filled in with its numbers, as Plotly does).
    seen = set()
    for c in cells:
        for row, x, y in zip(c.customdata, c.x, c.y):
            i, j = int(row[0]), int(row[1])
            seen.add((i, j))
            text = hover_text(c.hovertemplate, row)
            assert np.isclose(x, np.log10(LRS[j]), atol=1e-5) and np.isclose(y, BETAS[i])
            assert text.startswith(f"η = {LRS[j]:.3g}<br>momentum λ = {BETAS[i]:.4g}<br>")
            if DIV[i, j] >= 0:
                assert text.endswith(f"diverged at step {DIV[i, j]}")
            elif HIT[i, j] >= 0:
                assert f"final L − L* = {LOSS[i, j] - 3.0:.3g}<br>" in text and text.endswith(f"at step {HIT[i, j]}")
            else:
                assert f"final L − L* = {LOSS[i, j] - 3.0:.3g}<br>never reached" in text
    assert len(seen) == LRS.size * BETAS.size
    shown = trace_named(fig, "path shown")
    assert np.isclose(shown.x[0], np.log10(LRS[2])) and np.isclose(shown.y[0], BETAS[1])


def test_sweep_map_steps_mode():
    fig = sweep_figure(LRS, SweepAxis("β₁", BETAS), LOSS, DIV, HIT, mode="steps", l_star=3.0, tol=1e-3)
    z = np.asarray(trace_named(fig, "sweep").z, float)
    reached = (HIT >= 0) & (DIV < 0)
    np.testing.assert_array_equal(z[reached], HIT[reached])
    assert np.isnan(z[~reached]).all()
    missed = np.asarray(trace_named(fig, "not reached").z, float)
    assert np.array_equal(np.isfinite(missed), (HIT < 0) & (DIV < 0))


def test_sweep_map_log_second_axis():
    eps = np.array([1e-8, 1e-6, 1e-4])
    fig = sweep_figure(LRS, SweepAxis("ε", eps, log=True), LOSS, DIV, HIT, mode="loss", l_star=3.0, tol=1e-3)
    np.testing.assert_allclose(trace_named(fig, "sweep").y, np.log10(eps))
    assert list(fig.layout.yaxis.ticktext) == ["1e-08", "1e-07", "1e-06", "1e-05", "0.0001"]


def test_learning_rate_only_sweep_is_a_curve():
    fig = sweep_figure(LRS, None, LOSS[:1], DIV[:1], HIT[:1], mode="loss", l_star=3.0, tol=1e-3)
    runs = trace_named(fig, "runs")
    np.testing.assert_allclose(np.asarray(runs.y[:3], float), LOSS[0, :3] - 3.0, rtol=1e-6)
    assert runs.y[3] is None or np.isnan(runs.y[3])
    assert len(trace_named(fig, "diverged").x) == 1
    assert len(trace_named(fig, SWEEP_CELLS).x) == LRS.size


def _color_at(scale, u):
    """The colour a stepped Plotly colour scale gives at u in [0, 1]."""
    for (a, ca), (b, cb) in zip(scale[:-1], scale[1:]):
        if a <= u <= b and ca == cb:
            return ca
    return None


def test_basin_map_colours_and_hover():
    xs, ys = np.linspace(-1, 1, 4), np.linspace(0, 2, 3)
    labels = np.array([[0, 1, 2, NOT_CONVERGED], [DIVERGED, 0, 0, 1], [2, 2, 1, 0]])
    minima = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]])
    fig = basin_figure(xs, ys, labels, minima)
    hm = trace_named(fig, "basins")
    z, scale = np.asarray(hm.z), [tuple(s) for s in hm.colorscale]
    expected = {0: BASIN_COLORS[0], 1: BASIN_COLORS[1], 2: BASIN_COLORS[2], NOT_CONVERGED: NOT_CONVERGED_COLOR,
                DIVERGED: DIVERGED_COLOR}
    names = {0: "M1", 1: "M2", 2: "M3", NOT_CONVERGED: "not converged", DIVERGED: "diverged"}
    for i in range(3):
        for j in range(4):
            u = (z[i, j] - hm.zmin) / (hm.zmax - hm.zmin)
            assert _color_at(scale, u) == expected[labels[i, j]]
            assert hm.text[i][j] == names[labels[i, j]]
    legend = [t.name for t in fig.data if t.showlegend is not False and t.name and ":" in t.name]
    shares = [float(n.split(": ")[1].rstrip("%")) for n in legend]
    assert legend[0].startswith("M1: 33%") and abs(sum(shares) - 100) <= len(shares)
    assert list(trace_named(fig, "minima").text) == ["M1", "M2", "M3"]


def test_race_figures():
    rows = [
        RaceRow("gd", "Gradient descent", "#1f77b4", LRS, np.array([-1, 80, -1, -1]), np.array([-1, -1, 5, 2]), 1e-2, 80),
        RaceRow("adam", "Adam", "#d62728", LRS, np.array([-1, -1, -1, -1]), np.array([-1, -1, -1, -1]), 1e-3, None),
        RaceRow("nesterov", "Nesterov", "#8c564b", LRS, np.full(4, -1), np.array([3, 3, 3, 3]), None, None),
    ]
    bars = race_bars_figure(rows, num_steps=500, tol=1e-3)
    assert [b.y[0] for b in bars.data] == [80, 0, 0]
    assert "not reached in 500 steps" in bars.data[1].text[0] and "all rates diverged" in bars.data[2].text[0]
    rates = race_rates_figure(rows, num_steps=500, tol=1e-3)
    gd = trace_named(rates, "Gradient descent")
    assert list(np.isfinite(np.asarray(gd.y, float))) == [False, True, False, False]
    assert len(trace_named(rates, "Gradient descent: diverged").x) == 2
    assert len(trace_named(rates, "Nesterov: diverged").x) == 4
