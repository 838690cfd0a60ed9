"""The saddle census (classifier/census.py) against known truths: an independent float64
gradient and Hessian (jax on classifier.losses.objective, finite differences), a critical
point whose spectrum is computed by hand, a toy function with a known saddle."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from classifier import census, datasets
from classifier import model as mlp
from classifier.census import CensusConfig, Kind
from classifier.losses import objective

TINY = CensusConfig(hidden=(3,), n_nets=6, max_points=60, chunk_steps=200, max_steps=1000, refine_iters=60,
                    refine_chunk=20)


def moons(n: int = 400, noise: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    data = datasets.make_dataset("moons", n, noise, 0.3, 0, 2)
    return data.x_train, data.y_train


def balanced(n_per_class: int = 20) -> tuple[np.ndarray, np.ndarray]:
    x, y = moons()
    keep = np.concatenate([np.flatnonzero(y == k)[:n_per_class] for k in (0, 1)])
    return x[keep], y[keep]


@pytest.fixture(scope="module")
def tiny_result() -> census.CensusResult:
    x, y = moons()
    return census.run_census(TINY, x, y, 2)


def f64(params):
    return jax.tree.map(lambda a: jnp.asarray(np.asarray(a), jnp.float64), params)


def independent_grad_and_hessian(params, x, y, activation, loss, l2):
    """jax on the pytree objective of classifier/losses.py, ravel_pytree's order (not census.flatten)."""
    with jax.enable_x64(True):
        flat, unravel = ravel_pytree(f64(params))
        xs, ys = jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.int32)

        def j(theta):
            return objective(unravel(theta), xs, ys, activation, loss, l2)

        grad = jax.jit(jax.grad(j))
        g = np.asarray(grad(flat))
        h = np.asarray(jax.jit(jax.hessian(j))(flat))
        eps = 1e-5
        steps = eps * jnp.eye(flat.shape[0])
        fd = np.asarray((jax.vmap(grad)(flat + steps) - jax.vmap(grad)(flat - steps)) / (2 * eps))
    return g, h, 0.5 * (fd + fd.T)


# ---------------------------------------------------------------------------------------
# Counting and verdicts


def test_classify_follows_the_definitions():
    assert census.classify(5, 0, 0) is Kind.MINIMUM
    assert census.classify(0, 5, 0) is Kind.MAXIMUM
    assert census.classify(3, 2, 0) is Kind.SADDLE
    assert census.classify(3, 2, 4) is Kind.SADDLE  # a descent direction exists, flat ones or not
    assert census.classify(3, 0, 1) is Kind.DEGENERATE
    assert census.classify(0, 3, 1) is Kind.DEGENERATE
    assert census.classify(0, 0, 4) is Kind.DEGENERATE


def test_count_signs_uses_the_relative_tolerance():
    lam = np.array([[-2.0, -1e-7, 0.0, 5e-7, 1e-5, 1.0]])  # tol = 1e-6 * 2 + 1e-9
    counts = census.count_signs(lam)
    assert counts.tol[0] == pytest.approx(2e-6 + 1e-9)
    assert (counts.positive[0], counts.negative[0], counts.flat[0]) == (2, 1, 3)


def test_gauge_directions_leave_the_objective_unchanged():
    x, y = balanced()
    arch = mlp.Architecture((3,), "tanh", 2, 2)
    params = mlp.init_params(jax.random.key(1), arch)
    with jax.enable_x64(True):
        theta = np.asarray(census.flatten(f64(params)))
        for l2, expected in ((1e-3, 1), (0.0, 4)):  # output bias; and without L2 each output-weight row
            g = census.gauge_directions(arch, "cross_entropy", l2)
            assert g.shape == (expected, arch.n_params)
            np.testing.assert_allclose(g @ g.T, np.eye(expected), atol=1e-12)

            @jax.jit
            def value(t):
                return objective(census.unflatten(t, arch), jnp.asarray(x, jnp.float64), jnp.asarray(y), "tanh",
                                 "cross_entropy", l2)

            def j(t):
                return float(value(jnp.asarray(t)))
            for v in g:
                assert j(theta + 0.7 * v) == pytest.approx(j(theta), abs=1e-12)
            # and a non-gauge direction does change it
            assert abs(j(theta + 0.7 * census.counted_basis(arch, "cross_entropy", l2)[:, 0]) - j(theta)) > 1e-6
    assert census.gauge_directions(mlp.Architecture((3,), "tanh", 2, 1), "index", 0.0).shape[0] == 0


def test_flatten_round_trip():
    arch = mlp.Architecture((3, 2), "tanh", 2, 3)
    params = mlp.init_params(jax.random.key(0), arch)
    theta = census.flatten(params)
    assert theta.shape == (arch.n_params,)
    back = census.unflatten(theta, arch)
    for a, b in zip(params, back):
        np.testing.assert_array_equal(a["w"], b["w"])
        np.testing.assert_array_equal(a["b"], b["b"])


# ---------------------------------------------------------------------------------------
# A critical point computed by hand: the all-zero tanh network


def zero_point(hidden: int = 3) -> tuple[mlp.Architecture, np.ndarray]:
    arch = mlp.Architecture((hidden,), "tanh", 2, 2)
    return arch, np.zeros(arch.n_params)


def hand_spectrum(x: np.ndarray, y: np.ndarray, hidden: int, l2: float) -> np.ndarray:
    """At w = 0, b = 0 on balanced classes: p = (1/2, 1/2) everywhere, h = 0. Per hidden unit
    the only data curvature is the cross term between its input weights and its output
    weights, C[a, k] = mean_i x_ia (p_k - y_ik), of rank one with singular value s; with
    L2 the unit's 4 weights have l2 + s, l2 - s, l2, l2 and its bias 0 (exactly flat). The
    output bias has the softmax curvature 1/2 along (1, -1) (and 0 along the gauge (1, 1))."""
    c = np.mean(x * (0.5 - (y == 0))[:, None], axis=0)
    s = np.sqrt(2.0) * np.linalg.norm(c)
    unit = [l2 + s, l2 - s, l2, l2, 0.0]
    return np.sort(np.array(unit * hidden + [0.5]))


def test_zero_tanh_network_is_a_saddle_with_the_hand_computed_spectrum():
    x, y = balanced()
    l2 = 1e-3
    arch, theta = zero_point(3)
    g, h, fd = independent_grad_and_hessian(census.unflatten(theta, arch), x, y, "tanh", "cross_entropy", l2)
    assert np.linalg.norm(g) < 1e-15  # a critical point, exactly
    seen = census.inspect_points(theta[None], x, y, arch, "cross_entropy", l2)
    expected = hand_spectrum(x, y, 3, l2)
    assert seen.n_gauge == 1 and seen.eigenvalues.shape == (1, arch.n_params - 1)
    np.testing.assert_allclose(seen.eigenvalues[0], expected, atol=1e-12)
    # the independent Hessians have the same spectrum plus the gauge's zero
    np.testing.assert_allclose(np.linalg.eigvalsh(h), np.sort(np.append(expected, 0.0)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.eigvalsh(fd), np.sort(np.append(expected, 0.0)), atol=1e-8)
    assert expected[0] < 0  # s > l2 on this data: a descent direction
    assert (seen.n_negative[0], seen.n_flat[0], seen.n_positive[0]) == (3, 3, 10)
    assert seen.kinds == (Kind.SADDLE,)
    assert seen.min_ratio[0] == pytest.approx(10 / 16)
    assert seen.converged[0]
    assert seen.loss[0] == pytest.approx(np.log(2.0), abs=1e-14)


def test_zero_network_with_strong_l2_is_degenerate_not_a_minimum():
    """With l2 > s every weight direction curves up, but the hidden biases stay exactly flat:
    the second-order test cannot call it a minimum."""
    x, y = balanced()
    arch, theta = zero_point(2)
    l2 = 2.0 * hand_spectrum(x, y, 1, 0.0)[-1]  # above s
    seen = census.inspect_points(theta[None], x, y, arch, "cross_entropy", l2)
    assert (seen.n_negative[0], seen.n_flat[0]) == (0, 2)
    assert seen.kinds == (Kind.DEGENERATE,)


# ---------------------------------------------------------------------------------------
# The refinement walks to saddles; gradient descent slides off them


def test_levenberg_marquardt_converges_to_a_known_saddle_where_gd_slides_off():
    """f = x^4/4 - x^2/2 + y^2/2: minima at (+-1, 0), a saddle at (0, 0)."""
    def f(p):
        return p[0] ** 4 / 4 - p[0] ** 2 / 2 + p[1] ** 2 / 2

    with jax.enable_x64(True):
        start = jnp.array([0.3, 0.2])
        state = census.levenberg_marquardt(jax.grad(f), jax.hessian(f), census.start_state(start), 30,
                                           jnp.float64(1e-12))
        np.testing.assert_allclose(np.asarray(state.theta), [0.0, 0.0], atol=1e-12)
        assert float(state.grad_norm) < 1e-12
        lam = np.linalg.eigvalsh(np.asarray(jax.hessian(f)(state.theta)))
        assert lam[0] == pytest.approx(-1.0) and lam[1] == pytest.approx(1.0)
        p = jax.lax.fori_loop(0, 500, lambda _, q: q - 0.1 * jax.grad(f)(q), start)
        np.testing.assert_allclose(np.asarray(p), [1.0, 0.0], atol=1e-6)


def test_refinement_returns_to_the_zero_saddle_of_a_tanh_network():
    x, y = balanced()
    l2 = 1e-3
    arch, theta = zero_point(3)
    start = theta + 1e-3 * np.random.default_rng(0).standard_normal(theta.shape)
    with jax.enable_x64(True):
        xs, ys = jnp.asarray(x, jnp.float64), jnp.asarray(y)
        states = jax.vmap(census.start_state)(jnp.asarray(start[None]))
        states = census.refine_chunk(states, xs, ys, jnp.float64(l2), jnp.float64(1e-12), arch=arch,
                                     loss="cross_entropy", iters=60)
        refined = np.asarray(states.theta[0])
        # gradient descent from the same start leaves the plateau
        grad = jax.grad(census.flat_objective)
        p = jax.jit(lambda p0: jax.lax.fori_loop(
            0, 300, lambda _, q: q - 1.0 * grad(q, xs, ys, jnp.float64(l2), arch, "cross_entropy"), p0))(
            jnp.asarray(start))
        gd_loss = float(census.flat_data_loss(p, xs, ys, arch, "cross_entropy"))
    seen = census.inspect_points(refined[None], x, y, arch, "cross_entropy", l2)
    assert seen.grad_norm[0] < 1e-10
    weights = np.concatenate([layer["w"].ravel() for layer in census.unflatten(refined, arch)])
    assert np.max(np.abs(weights)) < 1e-8  # back on {w = 0}: the saddle's line of critical points
    assert seen.loss[0] == pytest.approx(np.log(2.0), abs=1e-8)
    assert seen.kinds == (Kind.SADDLE,)
    assert gd_loss < np.log(2.0) - 0.2


# ---------------------------------------------------------------------------------------
# The census itself


def test_census_points_are_critical_and_their_ratio_comes_from_the_exact_spectrum(tiny_result):
    r = tiny_result
    x, y = census.subsample(*moons(), TINY.max_points, TINY.data_seed)
    assert r.n_converged >= 4
    for i in np.flatnonzero(r.converged):
        g, h, fd = independent_grad_and_hessian(r.params(i), x, y, TINY.activation, TINY.loss, TINY.l2)
        assert np.linalg.norm(g) < 1e-6
        assert np.linalg.norm(g) == pytest.approx(r.grad_norm[i], rel=1e-3, abs=1e-12)
        full = np.sort(np.concatenate([r.eigenvalues[i], np.zeros(r.n_gauge)]))
        np.testing.assert_allclose(np.linalg.eigvalsh(h), full, atol=1e-10)
        np.testing.assert_allclose(np.linalg.eigvalsh(fd), full, atol=1e-7)
        # the ratio from the independent spectrum, the gauge's exact zero left out
        lam = np.linalg.eigvalsh(h)
        gauge = np.argsort(np.abs(lam))[: r.n_gauge]
        counted = np.delete(lam, gauge)
        tol = census.FLAT_RTOL * np.max(np.abs(counted)) + census.FLAT_ATOL
        assert r.min_ratio[i] == pytest.approx(np.sum(counted > tol) / counted.size)


def test_counts_add_up_and_kinds_follow_their_definitions(tiny_result):
    r = tiny_result
    assert r.n_counted + r.n_gauge == r.n_params == 17
    np.testing.assert_array_equal(r.n_positive + r.n_negative + r.n_flat, r.n_counted)
    for i, kind in enumerate(r.kinds):
        if not r.converged[i]:
            assert kind is None and np.isnan(r.min_ratio[i])
            continue
        p, n, f = r.n_positive[i], r.n_negative[i], r.n_flat[i]
        if kind is Kind.MINIMUM:
            assert n == 0 and f == 0 and r.min_ratio[i] == 1.0
        elif kind is Kind.SADDLE:
            assert n > 0 and p > 0 and r.min_ratio[i] < 1.0
        elif kind is Kind.MAXIMUM:
            assert p == 0 and f == 0
        else:
            assert f > 0 and not (n > 0 and p > 0)
        assert np.all(np.diff(r.eigenvalues[i]) >= 0)
    assert sum(r.summary.values()) == r.n_converged
    assert np.all(r.grad_norm[r.converged] < census.CONVERGED_GRAD)


def test_the_census_is_deterministic(tiny_result):
    again = census.run_census(TINY, *moons(), 2)
    np.testing.assert_array_equal(again.theta, tiny_result.theta)
    np.testing.assert_array_equal(again.eigenvalues, tiny_result.eigenvalues)
    assert again.kinds == tiny_result.kinds
    np.testing.assert_array_equal(again.stuck_step, tiny_result.stuck_step)


def test_progress_rises_to_one_and_a_raising_report_cancels():
    seen: list[tuple[float, str, dict]] = []
    config = dataclasses.replace(TINY, stuck_tol=0.0)  # never stuck: every chunk runs
    census.run_census(config, *moons(), 2, report=lambda f, n: seen.append((f, n.key, dict(n.params))))
    fractions = [f for f, _, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[0] == 0.0
    train = [p for _, k, p in seen if k == census.PROGRESS_TRAIN]
    assert [p["i"] for p in train] == list(range(1, 6)) and all(p["n"] == 5 for p in train)
    assert any(k == census.PROGRESS_REFINE for _, k, _ in seen)

    class Stop(Exception):
        pass

    calls = []

    def cancel(fraction, notice):
        calls.append(notice)
        if len(calls) == 3:
            raise Stop()

    with pytest.raises(Stop):
        census.run_census(config, *moons(), 2, report=cancel)
    assert len(calls) == 3 and all(n.key == census.PROGRESS_TRAIN for n in calls)


def test_config_is_validated():
    x, y = moons()
    with pytest.raises(ValueError):
        census.run_census(dataclasses.replace(TINY, hidden=(64, 64)), x, y, 2)
    with pytest.raises(ValueError):
        census.run_census(dataclasses.replace(TINY, n_nets=0), x, y, 2)


@pytest.mark.slow
def test_with_the_defaults_most_stuck_points_are_not_minima():
    """Lee's claim on the page's default data (measured for several base seeds; see the
    module docstring): of the networks whose refinement reached a critical point, fewer than
    half are minima."""
    r = census.run_census(CensusConfig(), *moons(), 2)
    assert r.n_converged >= 20
    assert r.count(Kind.MINIMUM) < r.n_converged / 2
    assert r.count(Kind.SADDLE) > r.n_converged / 2
