"""classifier.landscape against known truths: the objective computed directly at the
same networks, norms of the trained filters, exact second derivatives against finite
differences, PCA on trajectories whose plane and coordinates are known by construction."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from classifier import datasets
from classifier import landscape as ls
from classifier.losses import objective
from classifier.train import TrainConfig, evaluate, train


@pytest.fixture(scope="module")
def data():
    return datasets.make_dataset("moons", 200, 0.15, test_fraction=0.3, seed=1)


@pytest.fixture(scope="module")
def run(data):
    config = TrainConfig(hidden=(8, 8), activation="tanh", optimizer="adam", epochs=40, l2=1e-3, n_snapshots=12,
                         seed=3)
    return config, train(data, config)


@pytest.fixture(scope="module")
def bn_run(data):
    config = TrainConfig(hidden=(8, 8), activation="relu", optimizer="adam", epochs=15, batch_norm=True,
                         n_snapshots=5, seed=4)
    return config, train(data, config)


def direct(params, data, config) -> float:
    """The training objective, computed without the landscape module."""
    p = jax.tree.map(jnp.asarray, params)
    return float(objective(p, jnp.asarray(data.x_train), jnp.asarray(data.y_train), config.activation, config.loss,
                           config.l2))


def moved(params, terms):
    """params + sum(c * d) on the trainable keys, in NumPy (float64)."""
    out = []
    for i, layer in enumerate(params):
        new = {k: np.asarray(v, np.float64) for k, v in layer.items()}
        for k in ls.TRAINABLE:
            if k in layer:
                new[k] = new[k] + sum(c * np.asarray(d[i][k], np.float64) for c, d in terms)
        out.append(new)
    return out


def f64(params):
    return [{k: np.asarray(v, np.float64) for k, v in layer.items()} for layer in params]


# ---------------------------------------------------------------------------------------
# Directions


def test_directions_are_filter_normalised_with_biases_ignored(run):
    _, result = run
    params = result.snapshots[-1]
    for d in ls.directions(params, seed=5):
        assert len(d) == len(params)
        for layer, dl in zip(params, d):
            assert set(dl) == {"w", "b"}
            np.testing.assert_allclose(np.linalg.norm(dl["w"], axis=0), np.linalg.norm(layer["w"], axis=0),
                                       rtol=1e-6)
            assert not np.allclose(dl["w"], layer["w"])  # random, not the weights themselves
            assert np.all(dl["b"] == 0)


def test_directions_depend_on_the_seed_only(run):
    _, result = run
    params = result.snapshots[-1]
    a1, a2 = ls.directions(params, seed=7)
    b1, b2 = ls.directions(params, seed=7)
    c1, _ = ls.directions(params, seed=8)
    np.testing.assert_array_equal(a1[0]["w"], b1[0]["w"])
    np.testing.assert_array_equal(a2[1]["w"], b2[1]["w"])
    assert not np.allclose(a1[0]["w"], c1[0]["w"])
    assert not np.allclose(a1[0]["w"], a2[0]["w"])  # two different directions


def test_batch_norm_statistics_are_never_a_direction(bn_run, data):
    config, result = bn_run
    params = result.snapshots[-1]
    assert "mean" in params[0] and not np.allclose(params[0]["var"], 1.0)  # trained statistics
    before = [{k: v.copy() for k, v in layer.items()} for layer in params]
    d1, d2 = ls.directions(params, seed=0)
    for layer, dl in zip(params, d1):
        assert set(dl) == set(layer) - {"mean", "var"}
        if "gamma" in dl:
            assert np.all(dl["gamma"] == 0) and np.all(dl["beta"] == 0)
    # The plane moves w only; the running statistics are those of the network.
    losses = ls.plane_along(params, d1, d2, data, config, np.array([0.3]), np.array([-0.2]))
    expected = direct(moved(params, ((0.3, d1), (-0.2, d2))), data, config)
    np.testing.assert_allclose(losses[0, 0], expected, rtol=2e-5)
    for layer, old in zip(params, before):
        for k in layer:
            np.testing.assert_array_equal(layer[k], old[k])  # nothing was written into the network


# ---------------------------------------------------------------------------------------
# The 2-D slice


def test_plane_centre_is_the_trained_loss_and_rows_are_betas(run, data):
    config, result = run
    params = result.snapshots[-1]
    alphas, betas, losses = ls.plane(params, data, config, extent=0.8, n=9, seed=2)
    assert losses.shape == (9, 9)
    np.testing.assert_array_equal(alphas, betas)
    assert alphas[4] == 0.0 and alphas[0] == -0.8 and alphas[-1] == 0.8
    np.testing.assert_array_equal(alphas, -alphas[::-1])
    np.testing.assert_allclose(losses[4, 4], direct(params, data, config), rtol=1e-6)
    d1, d2 = ls.directions(params, seed=2)
    # beta = 0 is row 4: the line params + a d1, computed directly.
    for j in (0, 2, 7):
        np.testing.assert_allclose(losses[4, j], direct(moved(params, ((alphas[j], d1),)), data, config),
                                   rtol=2e-5)
    # An off-axis point fixes the orientation: losses[i, j] at (alphas[j], betas[i]).
    np.testing.assert_allclose(losses[1, 6], direct(moved(params, ((alphas[6], d1), (betas[1], d2))), data, config),
                               rtol=2e-5)
    assert not np.isclose(losses[1, 6], losses[6, 1], rtol=1e-3)


def test_plane_along_takes_any_axes(run, data):
    config, result = run
    params = result.snapshots[-1]
    d1, d2 = ls.directions(params, seed=0)
    alphas, betas = np.array([-0.5, 0.0, 0.25, 1.0]), np.array([0.1, -0.3])
    losses = ls.plane_along(params, d1, d2, data, config, alphas, betas)
    assert losses.shape == (2, 4)
    for i, b in enumerate(betas):
        for j, a in enumerate(alphas):
            np.testing.assert_allclose(losses[i, j], direct(moved(params, ((a, d1), (b, d2))), data, config),
                                       rtol=2e-5)


def test_even_grids_skip_zero_and_bad_requests_are_refused(run, data):
    config, result = run
    grid = ls.symmetric_grid(1.5, 8)
    assert 0.0 not in grid and np.isclose(grid[0], -1.5)
    np.testing.assert_array_equal(grid, -grid[::-1])
    with pytest.raises(ValueError):
        ls.symmetric_grid(0.0, 5)
    with pytest.raises(ValueError):
        ls.symmetric_grid(1.0, 1)
    params = result.snapshots[-1]
    d1, d2 = ls.directions(params)
    with pytest.raises(ValueError, match="trainable"):
        ls.plane_along(params, d1[:-1], d2, data, config, grid, grid)


def test_chunks_bound_memory_and_do_not_change_values(run, data, monkeypatch):
    config, result = run
    params = result.snapshots[-1]
    big = [{"w": np.zeros((2, 64))}] + [{"w": np.zeros((64, 64))}] * 7 + [{"w": np.zeros((64, 3))}]
    assert ls.chunk_size(5000, big) == 1
    assert ls.chunk_size(200, params) > 1
    reference = ls.plane(params, data, config, 1.0, 7, 1)[2]
    monkeypatch.setattr(ls, "chunk_size", lambda n, p: 5)  # 49 points: ten chunks, one padded
    np.testing.assert_allclose(ls.plane(params, data, config, 1.0, 7, 1)[2], reference, rtol=1e-6)


def test_largest_grid_is_the_largest_odd_grid_under_the_cap():
    for n_train, n_params, seconds in [(1001, 354, 0.3), (4999, 12866, 7.0), (4999, 12866, 1.0), (100, 50, 9.0)]:
        n = ls.largest_grid(n_train, n_params, seconds)
        assert n % 2 == 1 and 5 <= n <= 81
        if n > 5:
            assert ls.plane_seconds(n, n_train, n_params) <= seconds
        if n < 81:
            assert ls.plane_seconds(n + 2, n_train, n_params) > seconds
    assert ls.largest_grid(100, 50, 9.0) == 81
    assert ls.largest_grid(4999, 12866, 1e-6) == 5


# ---------------------------------------------------------------------------------------
# Interpolation


def test_interpolation_ends_are_the_two_networks(run, data):
    config, result = run
    p0, p1 = result.snapshots[0], result.snapshots[-1]
    alphas, losses = ls.interpolation(p0, p1, data, config, n=9)
    np.testing.assert_allclose(alphas, np.linspace(-0.5, 1.5, 9))
    np.testing.assert_allclose(losses[2], direct(p0, data, config), rtol=1e-6)
    np.testing.assert_allclose(losses[6], direct(p1, data, config), rtol=1e-6)
    average = [{k: 0.5 * (a[k] + b[k]) for k in a} for a, b in zip(p0, p1)]
    np.testing.assert_allclose(losses[4], direct(average, data, config), rtol=1e-5)
    beyond = [{k: 1.5 * b[k] - 0.5 * a[k] for k in a} for a, b in zip(p0, p1)]
    np.testing.assert_allclose(losses[8], direct(beyond, data, config), rtol=1e-5)
    assert losses[6] < losses[2]  # training lowered the objective


def test_interpolation_curves_score_the_test_set_too(run, data):
    config, result = run
    p0, p1 = result.snapshots[0], result.snapshots[-1]
    line = ls.interpolation_curves(p0, p1, data, config, n=5, span=(0.0, 1.0))
    test_loss, test_acc = evaluate(p1, data.x_test, data.y_test, config.activation, config.loss, data.n_classes)
    train_loss, train_acc = evaluate(p1, data.x_train, data.y_train, config.activation, config.loss, data.n_classes)
    np.testing.assert_allclose(line.test_loss[-1], test_loss, rtol=1e-6)
    np.testing.assert_allclose(line.test_acc[-1], test_acc)
    np.testing.assert_allclose(line.train_acc[-1], train_acc)
    np.testing.assert_allclose(line.train_loss[-1], train_loss, rtol=1e-6)
    # The objective adds the L2 penalty to the data loss.
    penalty = 0.5 * config.l2 * sum(np.sum(np.asarray(layer["w"], np.float64) ** 2) for layer in p1)
    np.testing.assert_allclose(line.objective[-1] - line.train_loss[-1], penalty, rtol=1e-3)
    with pytest.raises(ValueError):
        ls.interpolation_curves(p0, p1, data, config, n=5, span=(1.0, 0.0))


def test_batch_norm_interpolation_carries_the_statistics(bn_run, data):
    config, result = bn_run
    p0, p1 = result.snapshots[0], result.snapshots[-1]
    line = ls.interpolation_curves(p0, p1, data, config, n=9)
    np.testing.assert_allclose(line.objective[2], direct(p0, data, config), rtol=1e-5)
    np.testing.assert_allclose(line.objective[6], direct(p1, data, config), rtol=1e-5)
    assert np.all(np.isfinite(line.objective))  # the variance stays positive beyond the ends
    # Holding the final statistics instead: alpha 0 is the initial weights with them.
    end = ls.interpolation_curves(p0, p1, data, config, n=9, running=ls.RunningStats.END)
    hybrid = [{**a, **{k: b[k] for k in ls.RUNNING if k in b}} for a, b in zip(p0, p1)]
    np.testing.assert_allclose(end.objective[2], direct(hybrid, data, config), rtol=1e-5)
    np.testing.assert_allclose(end.objective[6], line.objective[6], rtol=1e-6)


# ---------------------------------------------------------------------------------------
# The training path


def synthetic_path(result, coefficients, seed=0, wobble_statistics=False):
    """Snapshots theta_T + c1 u + c2 v for given (c1, c2): a trajectory lying exactly in a
    2-D plane through the final network, u and v random (neither unit nor orthogonal)."""
    final = f64(result.snapshots[-1])
    rng = np.random.default_rng(seed)
    u = [{k: rng.standard_normal(np.shape(v)) for k, v in layer.items()} for layer in final]
    v = [{k: rng.standard_normal(np.shape(x)) for k, x in layer.items()} for layer in final]
    snaps = []
    for c1, c2 in coefficients:
        s = moved(final, ((c1, u), (c2, v)))
        if wobble_statistics:
            for layer in s:
                if "mean" in layer:
                    layer["mean"] = layer["mean"] + rng.standard_normal(layer["mean"].shape)
        snaps.append(s)
    def flat(p):
        return np.concatenate([np.ravel(layer[k]) for layer in p for k in ls.TRAINABLE if k in layer])

    return snaps, np.stack([flat(s) - flat(final) for s in snaps])


def test_projection_of_a_planar_path_keeps_its_geometry(bn_run):
    """Snapshots in a plane through the final network (BN running means wandering off it,
    as they are no parameters): the projection keeps every inner product."""
    _, result = bn_run
    rng = np.random.default_rng(1)
    coefficients = np.concatenate([rng.standard_normal((9, 2)), [[0.0, 0.0]]])
    snaps, diffs = synthetic_path(result, coefficients, wobble_statistics=True)
    coords, explained = ls.trajectory_projection(snaps)
    assert coords.shape == (10, 2) and explained.shape == (2,)
    np.testing.assert_allclose(explained.sum(), 1.0, rtol=1e-9)
    assert explained[0] >= explained[1] > 0
    np.testing.assert_array_equal(coords[-1], [0.0, 0.0])
    # Same plane, orthonormal axes: the coordinates keep every inner product of theta_t - theta_T.
    np.testing.assert_allclose(coords @ coords.T, diffs @ diffs.T, rtol=1e-9, atol=1e-9)
    assert np.all(coords[0] <= 0)  # the documented sign


def test_projection_matches_a_hand_computed_pca(bn_run):
    """Differences (2, 1), (-2, 1), (0, 0) on two coordinates. Centred, as scikit-learn's
    PCA in their projection.py does: mean (0, 2/3), rows (2, 1/3), (-2, 1/3), (0, -2/3),
    scatter diag(8, 2/3), so the ratios are 12/13 and 1/13 (uncentred they would be 0.8
    and 0.2). The coordinates are the uncentred differences on the two axes, signs set so
    the first snapshot is at (-2, -1). BN statistics that wander do not count: they are
    not trained parameters."""
    _, result = bn_run
    final = f64(result.snapshots[-1])
    e1 = [{k: np.zeros(np.shape(v)) for k, v in layer.items()} for layer in final]
    e2 = [{k: np.zeros(np.shape(v)) for k, v in layer.items()} for layer in final]
    e1[0]["w"][1, 3] = 1.0
    e2[1]["gamma"][2] = 1.0
    known = np.array([[2.0, 1.0], [-2.0, 1.0], [0.0, 0.0]])
    snaps = [moved(final, ((a, e1), (b, e2))) for a, b in known]
    rng = np.random.default_rng(0)
    for s in snaps[:-1]:
        s[0]["mean"] = s[0]["mean"] + rng.standard_normal(s[0]["mean"].shape)
        s[1]["var"] = s[1]["var"] * 2.0
    coords, explained = ls.trajectory_projection(snaps)
    np.testing.assert_allclose(explained, [12 / 13, 1 / 13], rtol=1e-12)
    np.testing.assert_allclose(coords, [[-2.0, -1.0], [2.0, -1.0], [0.0, 0.0]], atol=1e-12)


def test_loss_on_the_pca_plane_is_the_loss_of_each_snapshot(run, data):
    """A path lying in a plane: the plane's loss at a snapshot's coordinates is that
    snapshot's objective."""
    config, result = run
    coefficients = np.array([[-0.3, 0.2], [-0.1, -0.25], [0.15, 0.05], [0.0, 0.0]])
    snaps, _ = synthetic_path(result, coefficients, seed=2)
    d1, d2, coords, explained = ls.pca_plane(snaps)
    flat = lambda d: np.concatenate([np.ravel(layer[k]) for layer in d for k in layer])  # noqa: E731
    np.testing.assert_allclose([flat(d1) @ flat(d1), flat(d2) @ flat(d2), flat(d1) @ flat(d2)], [1, 1, 0],
                               atol=1e-9)
    final = snaps[-1]
    for s, (a, b) in zip(snaps, coords):
        got = ls.plane_along(final, d1, d2, data, config, np.array([a]), np.array([b]))[0, 0]
        np.testing.assert_allclose(got, direct(s, data, config), rtol=1e-4)
    plane = ls.trajectory_plane(snaps, data, config, n=7)
    assert plane.losses.shape == (7, 7)
    assert plane.alphas[0] < coords[:, 0].min() and plane.alphas[-1] > coords[:, 0].max()
    assert plane.betas[0] < coords[:, 1].min() and plane.betas[-1] > coords[:, 1].max()


def test_projection_of_a_real_run(run):
    _, result = run
    coords, explained = ls.trajectory_projection(result.snapshots)
    assert coords.shape == (len(result.snapshots), 2)
    assert np.all((explained > 0) & (explained <= 1)) and explained[0] >= explained[1]
    assert explained.sum() <= 1 + 1e-12
    np.testing.assert_array_equal(coords[-1], [0.0, 0.0])
    # The first axis carries most of the distance travelled from the start.
    assert abs(coords[0, 0]) > abs(coords[0, 1])
    with pytest.raises(ValueError):
        ls.trajectory_projection(result.snapshots[:1])


# ---------------------------------------------------------------------------------------
# Flatness


def test_curvature_along_a_direction_matches_finite_differences(run, data):
    config, result = run
    with jax.enable_x64(True):
        params = f64(result.snapshots[-1])
        d1, _ = ls.directions(params, seed=4)
        c = ls.curvature_along(params, d1, data, config)
        h = 1e-3

        def j(t):
            p = jax.tree.map(jnp.asarray, moved(params, ((t, d1),)))
            x = jnp.asarray(data.x_train, jnp.float64)
            return float(objective(p, x, jnp.asarray(data.y_train), config.activation, config.loss, config.l2))

        fd = (j(h) - 2 * j(0.0) + j(-h)) / h**2
    np.testing.assert_allclose(c, fd, rtol=1e-5)


def test_small_circle_rise_is_the_quadratic_model(run, data):
    """Mean over evenly spaced angles: the gradient term cancels exactly, the quadratic
    term gives r^2/4 (d1'Hd1 + d2'Hd2), the rest is O(r^4)."""
    config, result = run
    with jax.enable_x64(True):
        params = f64(result.snapshots[-1])
        r = 1e-2
        flat = ls.flatness(params, data, config, radius=r, seed=6, n_angles=16)
    assert flat.curvature > 0
    np.testing.assert_allclose(flat.rise, r**2 / 2 * flat.curvature, rtol=1e-3)
    assert flat.max_rise >= flat.rise


def test_filter_normalised_plane_ignores_relu_rescaling(data):
    """Li et al.'s reason for filter normalisation: multiplying a ReLU layer (w and b) by c
    and the next layer's weights by 1/c leaves the network's function unchanged, and the
    filter-normalised directions scale the same way, so the whole slice is unchanged
    (without L2, which sees the scale). Raw Gaussian directions would see a different
    landscape."""
    config = TrainConfig(hidden=(8, 8), activation="relu", epochs=20, seed=2)
    params = f64(train(data, config).snapshots[-1])
    c = 4.0
    rescaled = [dict(layer) for layer in params]
    rescaled[0] = {"w": c * params[0]["w"], "b": c * params[0]["b"]}
    rescaled[1] = {"w": params[1]["w"] / c, "b": params[1]["b"]}
    a = ls.plane(params, data, config, extent=1.0, n=5, seed=9)[2]
    b = ls.plane(rescaled, data, config, extent=1.0, n=5, seed=9)[2]
    assert np.ptp(a) > 0.05  # a landscape, not a flat sheet
    np.testing.assert_allclose(b, a, rtol=1e-4)
    raw = [{k: np.random.default_rng(9).standard_normal(np.shape(v)) * 0.3 for k, v in layer.items()}
           for layer in ls.trainable(params)]
    zero = [{k: np.zeros_like(v) for k, v in layer.items()} for layer in raw]
    at = (np.array([1.0]), np.array([0.0]))
    assert not np.isclose(ls.plane_along(params, raw, zero, data, config, *at)[0, 0],
                          ls.plane_along(rescaled, raw, zero, data, config, *at)[0, 0], rtol=1e-3)
