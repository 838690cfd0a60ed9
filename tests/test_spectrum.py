"""The Hessian spectrum (classifier/spectrum.py) against known truths: finite-difference
Hessians, Hessians known in closed form, the exact null space of softmax regression,
Gauss-quadrature identities of Lanczos on dense matrices, the exact spectrum for the
SLQ estimates, and the sharpness module's Lanczos for the top eigenvalue."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from classifier import datasets, model, sharpness, spectrum as sp
from classifier.losses import objective
from classifier.sharpness import top_hessian_eigenvalue
from classifier.train import TrainConfig, train

FD_STEP = 1e-5  # central differences of the float64 gradient: error ~h^2 (1e-10) + eps/h (1e-11)


@pytest.fixture(scope="module")
def moons() -> datasets.Dataset:
    return datasets.make_dataset("moons", 400, 0.15, seed=0)  # the page's default data: 280 training points


@pytest.fixture(scope="module")
def tiny() -> datasets.Dataset:
    return datasets.make_dataset("moons", 60, 0.2, seed=3)


def net(hidden, activation="tanh", init="xavier", seed=0, batch_norm=False, n_out=2):
    arch = model.Architecture(tuple(hidden), activation, 2, n_out, batch_norm)
    return model.to_numpy(model.init_params(jax.random.key(seed), arch, init, batch_norm))


def fd_hessian(params, x, y, activation, loss, l2, h=FD_STEP) -> np.ndarray:
    """Central differences of the AD gradient over the trainable leaves, float64."""
    with jax.enable_x64(True):
        p64 = [{k: jnp.asarray(v, jnp.float64) for k, v in layer.items()} for layer in params]
        trainable = [{k: v for k, v in layer.items() if k in ("w", "b", "gamma", "beta")} for layer in p64]
        fixed = [{k: v for k, v in layer.items() if k in ("mean", "var")} for layer in p64]
        flat, unravel = ravel_pytree(trainable)
        x64, y32 = jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.int32)
        grad = jax.jit(jax.grad(lambda t: objective([{**a, **b} for a, b in zip(unravel(t), fixed)],
                                                    x64, y32, activation, loss, l2)))
        eye = np.eye(flat.size)
        cols = [np.asarray(grad(flat + h * e)) - np.asarray(grad(flat - h * e)) for e in eye]
        fd = np.stack(cols, axis=1) / (2 * h)
    return 0.5 * (fd + fd.T)


def pre_activations(params, x) -> np.ndarray:
    """Every hidden pre-activation of every point (evaluation mode, no batch norm)."""
    h, out = np.asarray(x, np.float64), []
    for layer in params[:-1]:
        z = h @ layer["w"] + layer["b"]
        out.append(z.ravel())
        h = np.maximum(z, 0.0)
    return np.concatenate(out)


# ---------------------------------------------------------------------------------------
# Exact eigenvalues


def _batch_norm_net():
    p = net((3,), "tanh", batch_norm=True, seed=4)
    rng = np.random.default_rng(0)
    layer = p[0]
    # Running averages and affine parameters away from their initial values, so they matter.
    layer.update(mean=rng.normal(0, 0.3, 3).astype(np.float32), var=rng.uniform(0.5, 2.0, 3).astype(np.float32),
                 gamma=rng.uniform(0.5, 1.5, 3).astype(np.float32), beta=rng.normal(0, 0.3, 3).astype(np.float32))
    return p


CASES = {
    "tanh 2-3-2": (lambda: net((3,), "tanh", seed=1), "tanh", "cross_entropy", 0.0),
    "relu 2-4-3-2, mse": (lambda: net((4, 3), "relu", "he", seed=2), "relu", "mse", 0.0),
    "leaky 2-3-2, l2": (lambda: net((3,), "leaky_relu", "he", seed=3), "leaky_relu", "cross_entropy", 0.05),
    "sigmoid 2-3-1, index": (lambda: net((3,), "sigmoid", seed=5, n_out=1), "sigmoid", "index", 0.01),
    "batch norm 2-3-2": (_batch_norm_net, "tanh", "cross_entropy", 0.02),
}


@pytest.mark.parametrize("case", list(CASES))
def test_exact_hessian_matches_finite_differences(tiny, case):
    make, activation, loss, l2 = CASES[case]
    params = make()
    x, y = tiny.x_train, tiny.y_train
    if activation in ("relu", "leaky_relu"):
        # Precondition: no kink within 100 steps of any pre-activation (else FD could straddle it).
        assert np.abs(pre_activations(params, x)).min() > 100 * FD_STEP
    h = sp.hessian_matrix(params, x, y, activation, loss, l2)
    fd = fd_hessian(params, x, y, activation, loss, l2)
    n = sp.n_trainable(params)
    assert h.shape == fd.shape == (n, n) and h.dtype == np.float64
    scale = np.abs(fd).max()
    assert scale > 1e-3
    # Matrices: every entry within 1e-7 of the largest (FD error ~1e-10 relative).
    np.testing.assert_allclose(h, fd, rtol=0, atol=1e-7 * scale)
    # Eigenvalues: Weyl's bound, |delta lambda| <= ||delta H||_2 <= n x max entry error.
    ev = sp.hessian_eigenvalues(params, x, y, activation, loss, l2)
    np.testing.assert_allclose(ev, np.linalg.eigvalsh(fd), rtol=0, atol=1e-7 * scale * n)


def test_batch_norm_counts_gamma_beta_but_not_the_running_averages(tiny):
    params = _batch_norm_net()
    arch = model.Architecture((3,), "tanh", batch_norm=True)
    ev = sp.hessian_eigenvalues(params, tiny.x_train, tiny.y_train, "tanh")
    # 2*3+3 + 3*2+2 weights and biases, + 3 gamma + 3 beta; the 6 running numbers are not counted.
    assert ev.size == sp.n_trainable(params) == arch.n_params == 23
    # The running averages are used (evaluation mode), fixed: moving them changes H.
    moved = [dict(layer) for layer in params]
    moved[0]["mean"] = moved[0]["mean"] + 0.5
    assert np.abs(sp.hessian_eigenvalues(moved, tiny.x_train, tiny.y_train, "tanh") - ev).max() > 1e-4


def test_sharpness_of_a_batch_norm_network_is_the_top_trainable_eigenvalue(tiny):
    """classifier.sharpness's Lanczos runs over the trained parameters only, as the exact
    spectrum does: with the running averages among its coordinates it found the curvature
    along them too (a direction training never moves)."""
    params = _batch_norm_net()
    for l2 in (0.0, 0.02):
        ev = sp.hessian_eigenvalues(params, tiny.x_train, tiny.y_train, "tanh", "cross_entropy", l2)
        top = top_hessian_eigenvalue(params, tiny.x_train, tiny.y_train, "tanh", "cross_entropy", l2, n_iter=23)
        assert top == pytest.approx(ev[-1], rel=1e-4)


def test_linear_regression_on_the_class_index_has_its_closed_form_hessian(tiny):
    # No hidden layer, one output, J = mean (x w + b - (y + 1))^2 + l2/2 |w|^2:
    # H = (2/N) [1 x]^T [1 x] + diag(0, l2, l2) in ravel order (b, w1, w2).
    l2 = 0.3
    params = net((), n_out=1, seed=7)
    x, y = tiny.x_train.astype(np.float64), tiny.y_train
    a = np.column_stack([np.ones(len(x)), x])
    expected = 2.0 / len(x) * a.T @ a + np.diag([0.0, l2, l2])
    np.testing.assert_allclose(sp.hessian_matrix(params, x, y, "tanh", "index", l2), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sp.hessian_eigenvalues(params, x, y, "tanh", "index", l2),
                               np.linalg.eigvalsh(expected), rtol=1e-12)


def test_l2_adds_l2_on_the_weights_and_nothing_on_the_biases(tiny):
    params = net((3, 3), "tanh", seed=8)
    h0 = sp.hessian_matrix(params, tiny.x_train, tiny.y_train, "tanh", "cross_entropy", 0.0)
    h1 = sp.hessian_matrix(params, tiny.x_train, tiny.y_train, "tanh", "cross_entropy", 0.25)
    is_weight = np.concatenate([np.full(np.size(layer[k]), k == "w", float)
                                for layer in params for k in sorted(layer)])
    np.testing.assert_allclose(h1 - h0, 0.25 * np.diag(is_weight), rtol=0, atol=1e-12)


def test_softmax_regression_has_exactly_the_logit_shift_null_space(tiny):
    # Adding c to every class's logit changes nothing: per input (and the bias) one exact
    # zero eigenvalue, 3 of 6; the loss is convex, so the other 3 are positive.
    params = net((), seed=9)
    s = sp.spectrum(params, tiny.x_train, tiny.y_train, "tanh")
    assert s.exact and s.n_params == 6
    assert (s.n_negative, s.n_flat, s.n_positive) == (0, 3, 3)
    assert s.min_ratio == 0.5
    flat = np.sort(np.abs(s.eigenvalues))[:3]
    assert flat.max() < 1e-12 < s.tol < np.sort(np.abs(s.eigenvalues))[3]


def test_eigenvalues_are_ascending_float64_one_per_trainable_parameter(moons):
    params = net((16, 16))
    ev = sp.hessian_eigenvalues(params, moons.x_train, moons.y_train, "tanh")
    assert ev.dtype == np.float64 and ev.shape == (354,) == (model.Architecture((16, 16)).n_params,)
    assert np.all(np.diff(ev) >= 0)


def test_exact_refuses_more_than_max_exact_params(moons):
    params = net((64, 64))  # 4,482 parameters
    assert sp.n_trainable(params) > sp.MAX_EXACT_PARAMS
    with pytest.raises(ValueError, match="3000"):
        sp.hessian_eigenvalues(params, moons.x_train, moons.y_train, "tanh")
    with pytest.raises(ValueError, match="3000"):
        sp.hessian_matrix(params, moons.x_train, moons.y_train, "tanh")


def test_changing_l2_or_the_data_values_does_not_recompile(tiny):
    params = net((3,), seed=1)
    sp.hessian_eigenvalues(params, tiny.x_train, tiny.y_train, "tanh", "cross_entropy", 0.0)
    before = sp._hessian._cache_size()
    sp.hessian_eigenvalues(params, tiny.x_train, tiny.y_train, "tanh", "cross_entropy", 0.7)
    sp.hessian_eigenvalues(params, tiny.x_train + 1.0, 1 - tiny.y_train, "tanh", "cross_entropy", 0.1)
    assert sp._hessian._cache_size() == before


# ---------------------------------------------------------------------------------------
# Lanczos and the quadrature


def _symmetric(n, seed, spectrum=None):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam = rng.normal(size=n) if spectrum is None else np.asarray(spectrum, float)
    return (q * lam) @ q.T, q, lam


def _quadrature(a, v0, k, seed=0):
    with jax.enable_x64(True):
        am = jnp.asarray(a)
        alpha, beta = sp.lanczos_tridiagonal(lambda v: am @ v, jnp.asarray(v0), k, jax.random.key(seed))
        nodes, weights = sp.ritz(alpha, beta)
        return np.asarray(nodes), np.asarray(weights)


def test_lanczos_quadrature_is_exact_for_polynomials_below_degree_2k():
    # Gauss quadrature: sum_j w_j theta_j^m = u^T A^m u (u = v0 / |v0|) for m < 2k.
    a, _, _ = _symmetric(40, 0)
    v0 = np.random.default_rng(1).choice([-1.0, 1.0], 40)
    u = v0 / np.linalg.norm(v0)
    k = 6
    nodes, weights = _quadrature(a, v0, k)
    norm = np.abs(np.linalg.eigvalsh(a)).max()
    for m in range(2 * k):
        exact = u @ np.linalg.matrix_power(a, m) @ u
        assert abs(weights @ nodes**m - exact) < 1e-10 * norm**m, m
    # ...and not beyond (the test can tell): degree 2k differs.
    m = 2 * k
    assert abs(weights @ nodes**m - u @ np.linalg.matrix_power(a, m) @ u) > 1e-6 * norm**m


def test_full_lanczos_gives_every_eigenvalue_and_the_probe_weights():
    a, q, lam = _symmetric(12, 2)
    v0 = np.random.default_rng(3).choice([-1.0, 1.0], 12)
    nodes, weights = _quadrature(a, v0, 12)
    order = np.argsort(lam)
    np.testing.assert_allclose(nodes, lam[order], atol=1e-10)
    np.testing.assert_allclose(weights, ((q.T @ v0 / np.linalg.norm(v0)) ** 2)[order], atol=1e-10)


def test_lanczos_breakdown_restarts_and_gives_the_new_nodes_no_weight():
    # Three distinct eigenvalues (multiplicities 5, 4, 3): the Krylov space of one vector
    # is 3-dimensional, so Lanczos breaks down after 3 steps.
    lam = np.repeat([-1.0, 0.5, 2.0], [5, 4, 3])
    a, q, _ = _symmetric(12, 4, lam)
    v0 = np.random.default_rng(5).choice([-1.0, 1.0], 12)
    nodes, weights = _quadrature(a, v0, 8)
    assert np.all(np.isfinite(nodes)) and abs(weights.sum() - 1) < 1e-12
    # Every node is a Ritz value, so within [lambda_min, lambda_max]; the ones carrying
    # weight (the first block, before the breakdown) are the three eigenvalues exactly.
    assert np.all((nodes >= -1 - 1e-12) & (nodes <= 2 + 1e-12))
    weighted = nodes[weights > 1e-14]
    assert np.all(np.min(np.abs(weighted[:, None] - lam[None, :]), axis=1) < 1e-9)
    u = q.T @ v0 / np.linalg.norm(v0)
    for value in (-1.0, 0.5, 2.0):
        assert abs(weights[np.abs(nodes - value) < 1e-9].sum() - np.sum(u[lam == value] ** 2)) < 1e-10
    # A multiple of the identity: every step breaks down, every node is c, one carries it all.
    nodes, weights = _quadrature(3.0 * np.eye(10), np.ones(10), 4)
    np.testing.assert_allclose(nodes, 3.0, atol=1e-12)
    assert abs(weights.max() - 1) < 1e-12 and abs(weights.sum() - 1) < 1e-12


def test_density_integrates_to_one_and_sits_on_the_top_eigenvalue(moons):
    params = net((16, 16))
    x, y = moons.x_train, moons.y_train
    exact = sp.hessian_eigenvalues(params, x, y, "tanh")
    quad = sp.slq_nodes(params, x, y, "tanh", n_probes=3, n_iter=40, seed=1)
    assert quad.nodes.shape == quad.weights.shape == (3, 40)
    np.testing.assert_allclose(quad.weights.sum(axis=1), 1.0, atol=1e-12)
    sigma = sp.kernel_sigma(quad.nodes)
    grid = sp.density_grid(quad.nodes, sigma)
    # Before normalising: already 1 up to the Gaussian tails past 6 sigma (2e-9).
    raw = sp.gaussian_density(quad.nodes, quad.weights, grid, sigma)
    assert abs(np.trapezoid(raw, grid) - 1) < 1e-6
    grid, density = sp.eigenvalue_density(params, x, y, "tanh", n_probes=3, n_iter=40, seed=1)
    assert abs(np.trapezoid(density, grid) - 1) < 1e-12 and np.all(density >= 0)
    # The top Ritz value is the top eigenvalue (extremes converge first) ...
    top = quad.nodes.max()
    assert abs(top - exact[-1]) < 1e-8 * exact[-1]
    # ... where the sharpness module's Lanczos (float32) puts it ...
    lanczos = sharpness.top_hessian_eigenvalue(params, x, y, "tanh", n_iter=40)
    assert abs(lanczos - exact[-1]) < 1e-3 * exact[-1]
    # ... and the density's last peak is there, within a tenth of a kernel width.
    peaks = np.flatnonzero((density[1:-1] > density[:-2]) & (density[1:-1] >= density[2:])) + 1
    assert abs(grid[peaks[-1]] - exact[-1]) < 0.1 * sigma
    assert grid[-1] - exact[-1] == pytest.approx(sp.PAD_SIGMAS * sigma, rel=1e-6)


def test_slq_counts_estimate_the_exact_fractions(moons):
    # 2-32-32-2 at initialisation (1,218 parameters, a saddle: ~9 % of eigenvalues below -sigma).
    params = net((32, 32))
    x, y = moons.x_train, moons.y_train
    ev = sp.hessian_eigenvalues(params, x, y, "tanh")
    s = sp.spectrum(params, x, y, "tanh", exact=False, n_probes=4, n_iter=60)
    quad = sp.slq_nodes(params, x, y, "tanh", n_probes=4, n_iter=60)  # the same probes
    sigma = sp.kernel_sigma(quad.nodes)
    assert not s.exact and s.eigenvalues is None and s.tol == sigma  # the kernel's width bounds the resolution
    n = ev.size
    exact_negative = np.mean(ev < -s.tol)
    exact_flat = np.mean(np.abs(ev) <= s.tol)
    assert exact_negative > 0.05  # the test can see a difference
    # Hutchinson's spread with 4 probes of 1,218 coordinates: ~0.007; 0.03 is > 4 of it.
    assert abs(s.negative_fraction - exact_negative) < 0.03
    assert abs(s.n_flat / n - exact_flat) < 0.03
    assert s.n_negative == round(s.negative_fraction * n)
    # The density's mass below -tol is the exact eigenvalues' mass under the same kernel.
    smoothed = np.mean([0.5 * math.erfc((s.tol + lam) / (sigma * math.sqrt(2))) for lam in ev])
    assert abs(sp.mass_below(quad.nodes, quad.weights, sigma, -s.tol) - smoothed) < 0.03
    np.testing.assert_allclose(s.top, ev[::-1][:3], rtol=1e-8)


# ---------------------------------------------------------------------------------------
# The summary and the history


def test_spectrum_counts_add_up(moons):
    params = net((16, 16), init="normal", seed=2)
    x, y = moons.x_train, moons.y_train
    s = sp.spectrum(params, x, y, "tanh", k=4)
    ev = s.eigenvalues
    assert s.tol == pytest.approx(sp.FLAT_RTOL * np.abs(ev).max() + sp.FLAT_ATOL)
    assert s.n_negative == np.sum(ev < -s.tol) > 0 and s.n_positive == np.sum(ev > s.tol)
    assert s.n_negative + s.n_flat + s.n_positive == s.n_params == 354
    assert s.min_ratio == s.n_positive / s.n_params and s.negative_fraction == s.n_negative / s.n_params
    np.testing.assert_array_equal(s.top, ev[::-1][:4])
    np.testing.assert_array_equal(sp.top_eigenvalues(params, x, y, "tanh", k=2), ev[::-1][:2])
    est = sp.spectrum(params, x, y, "tanh", exact=False, n_probes=2, n_iter=30)
    assert est.n_negative + est.n_flat + est.n_positive == est.n_params
    assert est.min_ratio == est.n_positive / est.n_params


def test_spectrum_over_training_follows_the_snapshots(tiny):
    config = TrainConfig(hidden=(8, 8), epochs=40, optimizer="adam", l2=1e-3, n_snapshots=4, seed=1)
    result = train(tiny, config)
    epochs, top, negative = sp.spectrum_over_training(result, tiny, k=2)
    np.testing.assert_array_equal(epochs, result.snapshot_epochs)
    assert top.shape == (len(epochs), 2) and negative.shape == (len(epochs),)
    # Each row is that snapshot's exact spectrum (training set, the run's loss and L2) ...
    for e, row, frac, p in zip(epochs, top, negative, result.snapshots):
        ev = sp.hessian_eigenvalues(p, tiny.x_train, tiny.y_train, "tanh", "cross_entropy", 1e-3)
        np.testing.assert_allclose(row, ev[::-1][:2], rtol=1e-12)
        assert frac == np.mean(ev < -sp.flat_tolerance(np.abs(ev).max()))
    # ... and the last top eigenvalue is the sharpness module's (float32 Lanczos).
    last = sharpness.top_hessian_eigenvalue(result.snapshots[-1], tiny.x_train, tiny.y_train, "tanh",
                                            l2=1e-3, n_iter=60)
    assert abs(top[-1, 0] - last) < 1e-3 * abs(last)
    sub = sp.spectrum_over_training(result, tiny, epochs=[int(epochs[-1])], k=2)
    np.testing.assert_array_equal(sub.top, top[-1:])
    with pytest.raises(ValueError, match="no snapshot"):
        sp.spectrum_over_training(result, tiny, epochs=[int(epochs[-1]) + 1])


def test_spectrum_over_training_of_a_big_network_uses_lanczos(tiny):
    config = TrainConfig(hidden=(64, 64), epochs=6, optimizer="adam", n_snapshots=2, seed=0)
    result = train(tiny, config)
    assert sp.n_trainable(result.snapshots[-1]) > sp.MAX_EXACT_PARAMS
    epochs, top, negative = sp.spectrum_over_training(result, tiny, k=1, n_probes=1, n_iter=30)
    assert top.shape == (2, 1) and np.all((negative >= 0) & (negative <= 1))
    s = sp.spectrum(result.snapshots[-1], tiny.x_train, tiny.y_train, "tanh", n_probes=1, n_iter=30)
    assert not s.exact and s.eigenvalues is None and s.n_params == 4482 and s.top[0] == top[-1, 0]
    last = sharpness.top_hessian_eigenvalue(result.snapshots[-1], tiny.x_train, tiny.y_train, "tanh", n_iter=60)
    assert abs(top[-1, 0] - last) < 1e-3 * abs(last)
