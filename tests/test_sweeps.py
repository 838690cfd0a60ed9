"""optimizers.sweeps against closed forms and against single runs.

Known truths used here:

* GD on the quadratic L = (a x^2 + b y^2) / 2 moves each coordinate by the factor
  (1 - eta a), (1 - eta b) per step, so the loss after k steps, the step at which it first
  drops below a tolerance and the step at which |theta| first passes the divergence bound
  are all closed forms.
* Heavy-ball momentum on the same quadratic is stable iff 0 < eta*lambda < 2(1 + beta) for
  every curvature lambda (roots of z^2 - (1 + beta - eta lambda) z + beta).
* On L = (x^2 - 1)^2 + y^2 (two wells at x = +-1, a ridge at x = 0), GD with a small step
  never crosses the ridge: a start with x > 0 ends at (1, 0), with x < 0 at (-1, 0).
* Himmelblau has four minima; GD with a small step splits the plane into four basins, and a
  single optimizers.trace from a cell's start ends in the minimum the map says.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import optimizers
import surfaces
from optimizers import sweeps
from optimizers.trace import DEFAULT_BOUND

A, B = 1.0, 10.0  # curvatures of the test quadratic


def quadratic(p):
    return 0.5 * (A * p[0] ** 2 + B * p[1] ** 2)


def two_wells(p):
    return (p[0] ** 2 - 1.0) ** 2 + p[1] ** 2


def gd_closed_form(lr: float, start, steps: int, tol: float):
    """(final loss, first step with loss < tol or -1, first step past the bound or -1)."""
    k = np.arange(steps + 1)
    x = start[0] * (1 - lr * A) ** k
    y = start[1] * (1 - lr * B) ** k
    with np.errstate(over="ignore", invalid="ignore"):
        loss = 0.5 * (A * x**2 + B * y**2)
    out = np.flatnonzero((np.abs(x) > DEFAULT_BOUND) | (np.abs(y) > DEFAULT_BOUND))
    diverged = int(out[0]) if out.size else -1
    below = np.flatnonzero(loss[: diverged if diverged >= 0 else None] < tol)
    return float(loss[-1]), int(below[0]) if below.size else -1, diverged


# ---------------------------------------------------------------------------------------
# grids


def test_axis_values_log_and_linear():
    v = sweeps.axis_values(1e-4, 1.0, 5, log=True)
    np.testing.assert_allclose(v, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-12)
    np.testing.assert_allclose(sweeps.axis_values(0.0, 0.9, 4, log=False), [0.0, 0.3, 0.6, 0.9])
    assert sweeps.axis_values(0.5, 0.5, 1, log=True).tolist() == [0.5]
    with pytest.raises(ValueError):
        sweeps.axis_values(0.0, 1.0, 3, log=True)
    with pytest.raises(ValueError):
        sweeps.axis_values(1.0, 0.5, 3, log=False)


def test_start_grid_is_row_major_with_y_rows():
    xs, ys, starts = sweeps.start_grid(((-1.0, 3.0), (0.0, 2.0)), 5)
    assert starts.shape == (25, 2)
    grid = starts.reshape(5, 5, 2)
    i, j = 3, 1
    assert tuple(grid[i, j]) == (xs[j], ys[i])
    assert xs[0] == -1.0 and xs[-1] == 3.0 and ys[0] == 0.0 and ys[-1] == 2.0


def test_caps_are_enforced():
    lrs = np.geomspace(1e-3, 1e-1, sweeps.MAX_SWEEP_SIDE + 1)
    with pytest.raises(ValueError):
        sweeps.sweep(quadratic, "gd", (1.0, 1.0), 10, lrs)
    with pytest.raises(ValueError):
        sweeps.sweep(quadratic, "momentum", (1.0, 1.0), 10, lrs[:4], "momentum", np.linspace(0, 0.9, 65))
    with pytest.raises(ValueError):
        sweeps.start_grid(((-1, 1), (-1, 1)), sweeps.MAX_BASIN_SIDE + 1)
    with pytest.raises(ValueError):
        sweeps.sweep(quadratic, "gd", (1.0, 1.0), optimizers.MAX_STEPS + 1, lrs[:4])
    with pytest.raises(ValueError):  # bias correction is a switch, not a range
        sweeps.sweep(quadratic, "adam", (1.0, 1.0), 10, lrs[:4], "bias_correction", [0.0, 1.0])


def test_sweepable_hyperparameters():
    assert sweeps.sweepable("gd") == []
    assert [h.name for h in sweeps.sweepable("momentum")] == ["momentum"]
    assert [h.name for h in sweeps.sweepable("adam")] == ["b1", "b2", "eps"]


# ---------------------------------------------------------------------------------------
# sweeps


def test_gd_learning_rate_sweep_matches_closed_form():
    lrs = np.geomspace(1e-3, 0.5, 24)  # divergence sets in above 2 / B = 0.2
    start, steps, tol = (1.0, 1.0), 300, 1e-4
    sw = sweeps.sweep(quadratic, "gd", start, steps, lrs, tol=tol)
    assert sw.final_losses.shape == (1, 24) and sw.second is None
    for j, lr in enumerate(lrs):
        loss, hit, diverged = gd_closed_form(float(lr), start, steps, tol)
        got_div = int(sw.diverged_at[0, j])
        if diverged >= 0:
            assert abs(got_div - diverged) <= 1, (lr, got_div, diverged)
            continue
        assert got_div == -1, lr
        np.testing.assert_allclose(sw.final_losses[0, j], loss, rtol=2e-3, atol=1e-12)
        assert abs(int(sw.hit_at[0, j]) - hit) <= 1 if hit >= 0 else sw.hit_at[0, j] == -1
    assert (sw.diverged_at[0] >= 0).sum() == np.sum(lrs > 2 / B)


def test_momentum_sweep_finds_the_stability_boundary():
    lrs = np.geomspace(0.02, 1.0, 16)
    betas = np.linspace(0.0, 0.95, 12)
    sw = sweeps.sweep(quadratic, "momentum", (1.0, 1.0), 1000, lrs, "momentum", betas)
    assert sw.diverged_at.shape == (12, 16)
    ratio = (lrs[None, :] * B) / (2 * (1 + betas[:, None]))  # > 1: unstable along y
    diverged = sw.diverged_at >= 0
    assert np.all(diverged[ratio > 1.05]) and np.all(~diverged[ratio < 0.95])
    assert diverged[ratio > 1.05].size > 10 and (~diverged[ratio < 0.95]).size > 10


def test_sweep_cells_agree_with_single_runs():
    lrs = np.geomspace(1e-3, 0.3, 6)
    betas = np.linspace(0.0, 0.9, 4)
    sw = sweeps.sweep(quadratic, "momentum", (0.7, -1.2), 200, lrs, "momentum", betas)
    for i, j in [(0, 0), (1, 3), (2, 5), (3, 2), (3, 4)]:
        t = optimizers.trace(quadratic, "momentum", (0.7, -1.2), 200, **sw.settings(i, j))
        assert (t.diverged_at is None) == (sw.diverged_at[i, j] < 0)
        if t.diverged_at is None:
            np.testing.assert_allclose(sw.final_points[i, j], t.points[-1], rtol=1e-4, atol=1e-6)


def test_sweep_other_hyperparameters_are_passed_through():
    lrs = np.geomspace(1e-3, 0.1, 4)
    a = sweeps.sweep(quadratic, "adam", (1.0, 1.0), 50, lrs, "b1", [0.0, 0.9], b2=0.9)
    b = sweeps.sweep(quadratic, "adam", (1.0, 1.0), 50, lrs, "b1", [0.0, 0.9], b2=0.999)
    assert not np.allclose(a.final_losses, b.final_losses)
    t = optimizers.trace(quadratic, "adam", (1.0, 1.0), 50, b2=0.9, **a.settings(1, 2))
    np.testing.assert_allclose(a.final_points[1, 2], t.points[-1], rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError):
        sweeps.sweep(quadratic, "adam", (1.0, 1.0), 50, lrs, "b1", [0.0, 0.9], b1=0.5)


# ---------------------------------------------------------------------------------------
# best learning rate


def test_best_index_rule():
    hit = np.array([5, 3, 3, -1, -1])
    loss = np.array([0.1, 0.02, 0.01, 0.0, np.nan])
    div = np.array([-1, -1, -1, -1, 7])
    assert sweeps.best_index(hit, loss, div) == 2  # fewest steps, then lowest final loss
    assert sweeps.best_index(np.array([4, 4]), np.array([0.5, 0.5]), np.array([-1, -1])) == 0  # then the first
    # Nobody reached the tolerance: lowest final loss among the runs that did not diverge.
    assert sweeps.best_index(np.array([-1, -1, -1]), np.array([0.3, 0.1, np.nan]), np.array([-1, -1, 4])) == 1
    assert sweeps.best_index(np.array([-1, -1]), np.array([np.nan, np.nan]), np.array([2, 3])) is None


def test_best_learning_rate_on_a_quadratic():
    """GD on the quadratic: simulate every rate in float64 and apply the same rule."""
    lrs = np.geomspace(1e-3, 0.5, 33)
    start, steps, tol = (1.0, 1.0), 400, 1e-6
    best = sweeps.best_learning_rate(quadratic, "gd", start, steps, lrs, tol=tol)
    expected = [gd_closed_form(float(lr), start, steps, tol) for lr in lrs]
    fewest = min(h for _, h, d in expected if h >= 0 and d < 0)
    assert best.reached and abs(best.steps - fewest) <= 1
    # The winner contracts the slowest direction fastest without blowing up the fastest:
    # close to 2 / (A + B), the rate that balances |1 - eta A| and |1 - eta B|.
    assert 0.1 < best.learning_rate < 0.2
    assert np.all((best.diverged_at >= 0) == (lrs > 2 / B))


def test_best_learning_rate_when_everything_diverges():
    best = sweeps.best_learning_rate(quadratic, "gd", (1.0, 1.0), 200, [0.5, 1.0, 2.0], tol=1e-6)
    assert best.index is None and best.learning_rate is None and not best.reached


# ---------------------------------------------------------------------------------------
# basins


def test_label_basins_rule():
    minima = np.array([[0.0, 0.0], [1.0, 0.0]])
    values = np.array([0.0, 2.0])
    pts = np.array([[0.01, 0.0], [0.99, 0.0], [0.5, 0.0], [0.98, 0.0], [0.02, 0.0], [0.0, 0.0]])
    loss = np.array([0.0001, 2.0, 0.3, 2.5, 0.0, 0.0])
    div = np.array([-1, -1, -1, -1, -1, 12])
    labels = sweeps.label_basins(pts, loss, div, minima, values, radius=0.05, loss_tol=0.01)
    assert labels.tolist() == [0, 1, sweeps.NOT_CONVERGED, sweeps.NOT_CONVERGED, 0, sweeps.DIVERGED]
    # Two minima within the radius: the nearest wins.
    both = sweeps.label_basins([[0.4, 0.0]], [0.0], [-1], [[0.0, 0.0], [0.5, 0.0]], [0.0, 0.0], radius=1.0,
                               loss_tol=1.0)
    assert both.tolist() == [1]
    none = sweeps.label_basins(pts, loss, div, np.zeros((0, 2)), np.zeros(0), radius=1.0, loss_tol=1.0)
    assert set(none.tolist()) == {sweeps.NOT_CONVERGED, sweeps.DIVERGED}


def test_two_wells_basins_split_at_the_ridge():
    minima = np.array([[-1.0, 0.0], [1.0, 0.0]])
    b = sweeps.basins(two_wells, "gd", ((-2.0, 2.0), (-1.5, 1.5)), 21, 500, minima, np.zeros(2), radius=0.05,
                      loss_tol=1e-3, learning_rate=0.02)
    x = np.broadcast_to(b.xs[None, :], b.labels.shape)
    assert np.all(b.labels[x < 0] == 0) and np.all(b.labels[x > 0] == 1)
    assert np.all(b.labels[np.isclose(x, 0.0)] == sweeps.NOT_CONVERGED)  # on the ridge: stuck at the saddle


def test_himmelblau_gd_has_four_basins_and_single_runs_agree():
    s = surfaces.get("himmelblau")
    minima = np.array([m.point for m in s.minima])
    values = np.array([float(s.fn(jnp.asarray(m, jnp.float32))) for m in minima])
    radius, lr, steps = 0.1, 0.005, 500
    b = sweeps.basins(s, "gd", s.domain, 40, steps, minima, values, radius=radius, loss_tol=1e-2, learning_rate=lr)
    counts = b.counts(4)
    assert counts[sweeps.DIVERGED] == 0
    assert all(counts[k] > 0.15 * b.labels.size for k in range(4)), counts
    assert len(np.unique(b.labels)) == 4
    # Sample cells away from basin boundaries (all 8 neighbours agree) and rerun them singly.
    lab = b.labels
    interior = np.zeros_like(lab, bool)
    interior[1:-1, 1:-1] = True
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            interior[1:-1, 1:-1] &= lab[1 + di : lab.shape[0] - 1 + di, 1 + dj : lab.shape[1] - 1 + dj] == lab[1:-1, 1:-1]
    rng = np.random.default_rng(0)
    cells = np.argwhere(interior)
    for i, j in cells[rng.choice(len(cells), 12, replace=False)]:
        t = optimizers.trace(s, "gd", (float(b.xs[j]), float(b.ys[i])), steps, learning_rate=lr)
        assert t.diverged_at is None
        nearest = int(np.argmin(np.linalg.norm(minima - t.points[-1], axis=1)))
        assert nearest == lab[i, j] and np.linalg.norm(minima[nearest] - t.points[-1]) < radius
