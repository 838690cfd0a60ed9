"""surfaces.stability against known truths: the stable step 2/lambda_max of a quadratic,
GD contraction measured on real (float32) traces against max_i |1 - eta lambda_i|, the
stability threshold itself, Newton's one-step landing on quadratics and its attraction to
saddles, and the float64 helpers against surfaces.curvature."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optimizers
import surfaces
from surfaces import local, stability

RAVINE_MIN = (0.0, 0.0)


def ravine_eigen() -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (1, kappa) of the default ravine, from its definition
    f = (u^2 + kappa v^2) / 2, with u, v the coordinates rotated by theta."""
    s = surfaces.get("ravine")
    params = dict(s.params)
    kappa, theta = params["condition"], math.radians(params["angle"])
    along = np.array([math.cos(theta), math.sin(theta)])
    across = np.array([-math.sin(theta), math.cos(theta)])
    return np.array([1.0, kappa]), np.stack([along, across], axis=1)


# ---------------------------------------------------------------------- step bound


def test_stable_step_is_two_over_the_largest_eigenvalue() -> None:
    assert stability.stable_step([1.0, 25.0]) == pytest.approx(0.08, rel=1e-15)
    assert stability.stable_step([-3.0, 4.0]) == pytest.approx(0.5, rel=1e-15)  # only lambda_max counts


@pytest.mark.parametrize("lam", [[-1.0, -2.0], [0.0, 0.0], [1.0, float("nan")], [1.0, float("inf")]])
def test_stable_step_refuses_what_bounds_nothing(lam: list[float]) -> None:
    with pytest.raises(ValueError):
        stability.stable_step(lam)


def test_contraction_factors() -> None:
    np.testing.assert_allclose(stability.contraction_factors(0.06, [1.0, 25.0]), [0.94, 0.5], rtol=1e-14)
    np.testing.assert_allclose(stability.contraction_factors(0.088, [1.0, 25.0]), [0.912, 1.2], rtol=1e-14)
    assert stability.predicted_ratio(0.088, [1.0, 25.0]) == pytest.approx(1.2, rel=1e-14)


def test_offset_start_is_radius_away_along_both_eigenvectors() -> None:
    lam, v = ravine_eigen()
    p = stability.offset_start((1.0, 2.0), v, 0.1, mix=(3.0, 4.0))
    e = p - np.array([1.0, 2.0])
    assert np.linalg.norm(e) == pytest.approx(0.1, rel=1e-14)
    np.testing.assert_allclose(v.T @ e, [0.06, 0.08], rtol=1e-12)


# ---------------------------------------------------------------------- measured contraction


@pytest.mark.parametrize("multiple", [0.75, 0.9, 1.1])
def test_measured_ratio_of_gd_on_ravine_matches_the_largest_factor(multiple: float) -> None:
    """GD in float32 (optimizers.trace) from 0.1 off the ravine's minimum along a mix of both
    eigenvectors: the median ratio of successive distances, from step 10 on and while the
    distance exceeds 1e-4, equals max_i |1 - eta lambda_i| to 1e-3 (the other direction's
    share has decayed by (0.5 / 0.94)^10 ~ 2e-3 by step 10 at 0.75x)."""
    s = surfaces.get("ravine")
    lam = np.linalg.eigvalsh(surfaces.hessian(s, RAVINE_MIN))
    np.testing.assert_allclose(lam, ravine_eigen()[0], rtol=1e-12)
    eta = multiple * stability.stable_step(lam)
    _, vecs = ravine_eigen()
    start = stability.offset_start(RAVINE_MIN, vecs, 0.1)
    t = optimizers.trace(s, "gd", tuple(map(float, start)), 150, learning_rate=eta)
    floor = stability.default_floor(RAVINE_MIN, 0.1)
    assert floor == pytest.approx(1e-4)
    measured = stability.measured_ratio(t.points, RAVINE_MIN, burn_in=10, floor=floor)
    predicted = stability.predicted_ratio(eta, lam)
    assert abs(measured - predicted) < 1e-3, (measured, predicted)
    # and the window really held many ratios
    assert stability.ratio_window(t.points, RAVINE_MIN, 10, floor).sum() >= 40


def test_stability_threshold_on_the_ravine() -> None:
    """Just below 2/lambda_max GD converges; just above it the error along the steep
    eigenvector grows by |1 - eta lambda_max| > 1 per step until the run diverges."""
    s = surfaces.get("ravine")
    lam, vecs = ravine_eigen()
    start = tuple(map(float, stability.offset_start(RAVINE_MIN, vecs, 0.1)))
    eta_max = stability.stable_step(lam)
    below = optimizers.trace(s, "gd", start, 1000, learning_rate=0.99 * eta_max, bound=10.0)
    above = optimizers.trace(s, "gd", start, 1000, learning_rate=1.01 * eta_max, bound=10.0)
    assert below.diverged_at is None
    assert np.linalg.norm(below.points[-1]) < 1e-6
    assert above.diverged_at is not None
    # growth 1.02 per step from the v2 share 0.08 to the box |x|, |y| <= 10: ~240 steps
    assert 150 < above.diverged_at < 400
    assert stability.oscillates(above.points[: above.diverged_at], RAVINE_MIN, vecs[:, 1])
    assert not stability.oscillates(below.points, RAVINE_MIN, vecs[:, 0], burn_in=5)


@settings(max_examples=25, deadline=None)
@given(
    lam_min=st.floats(0.05, 1.0),
    lam_max=st.floats(1.0, 50.0),
    angle=st.floats(0.0, math.pi),
    multiple=st.one_of(st.floats(0.05, 0.95), st.floats(1.05, 1.6)),
)
def test_gd_on_a_quadratic_is_stable_iff_eta_below_two_over_lambda_max(
    lam_min: float, lam_max: float, angle: float, multiple: float
) -> None:
    """Exact float64 GD on f = 1/2 p^T H p: after 300 steps the error shrank iff
    eta < 2/lambda_max, and every eigen-component was scaled by exactly (1 - eta lambda)."""
    c, s = math.cos(angle), math.sin(angle)
    v = np.array([[c, -s], [s, c]])
    lam = np.array([lam_min, lam_max])
    h = v @ np.diag(lam) @ v.T
    eta = multiple * stability.stable_step(lam)
    e0 = stability.offset_start((0.0, 0.0), v, 1.0)
    e = e0.copy()
    for _ in range(300):
        e = e - eta * (h @ e)
    comps = v.T @ e
    # rounding leaks ~1e-16 of the larger component into the other each step
    leak = 1e-12 * float(np.max(np.abs(1 - eta * lam))) ** 299
    np.testing.assert_allclose(comps, (v.T @ e0) * (1 - eta * lam) ** 300, rtol=1e-6, atol=leak)
    assert (np.linalg.norm(e) < np.linalg.norm(e0)) == (multiple < 1)


def test_distance_ratios_and_window_on_a_known_sequence() -> None:
    k = np.arange(30)
    pts = np.stack([0.5 * 0.8**k, -0.3 * 0.8**k], axis=1) + np.array([1.0, 2.0])
    pts[-1] = np.nan
    r = stability.distance_ratios(pts, (1.0, 2.0))
    np.testing.assert_allclose(r[:-1], 0.8, rtol=1e-12)
    assert np.isnan(r[-1])
    d = np.linalg.norm(pts - [1.0, 2.0], axis=1)
    mask = stability.ratio_window(pts, (1.0, 2.0), burn_in=5, floor=1e-2)
    assert not mask[:5].any() and mask[5]
    with np.errstate(invalid="ignore"):
        assert not mask[~(d[1:] > 1e-2)].any() and mask[~(d[1:] > 1e-2)].size > 0  # below floor or NaN
    assert stability.measured_ratio(pts, (1.0, 2.0), 5, 1e-2) == pytest.approx(0.8, rel=1e-12)
    assert math.isnan(stability.measured_ratio(pts[:4], (1.0, 2.0), 5, 0.0))


def test_burn_in_lets_the_faster_direction_die_out() -> None:
    assert stability.burn_in_for([0.5, 0.94]) == math.ceil(math.log(0.03) / math.log(0.5 / 0.94))  # 6
    assert stability.burn_in_for([0.5, 0.94], share=1e-3) == 11
    assert stability.burn_in_for([0.0, 0.96]) == 1  # the other direction is gone after one step
    assert stability.burn_in_for([0.9, 0.9]) == 0  # equal factors: every ratio is the factor
    assert stability.burn_in_for([0.999, 0.9999]) == 50  # capped
    assert stability.burn_in_for([1.2, 0.401]) == stability.burn_in_for([0.401, 1.2])


def test_ceiling_keeps_only_the_region_near_p_star() -> None:
    k = np.arange(30)
    pts = np.stack([0.01 * 1.3**k, np.zeros(30)], axis=1)  # growing by 1.3 per step
    mask = stability.ratio_window(pts, (0.0, 0.0), burn_in=0, floor=0.0, ceiling=1.0)
    d = pts[:, 0]
    np.testing.assert_array_equal(mask, (d[1:] < 1.0) & (d[:-1] < 1.0))
    assert stability.measured_ratio(pts, (0.0, 0.0), 0, 0.0, 1.0) == pytest.approx(1.3, rel=1e-12)


def test_window_ends_at_the_first_exit() -> None:
    d = np.array([0.1, 0.2, 0.5, 2.0, 0.5, 0.2, 0.1, 0.05])  # out beyond 1 and back
    pts = np.stack([d, np.zeros_like(d)], axis=1)
    mask = stability.ratio_window(pts, (0.0, 0.0), burn_in=0, floor=0.0, ceiling=1.0)
    np.testing.assert_array_equal(mask, [True, True, False, False, False, False, False])


def test_two_cycle_detection() -> None:
    bounce = np.array([[0.0, 0.0], [0.3, 0.1]] * 5 + [[0.0, 0.0]])
    assert stability.two_cycle(bounce) == pytest.approx(math.hypot(0.3, 0.1))
    k = np.arange(12)
    shrink = np.stack([(-0.5) ** k, np.zeros(12)], axis=1)
    assert stability.two_cycle(shrink) is None
    assert stability.two_cycle(np.zeros((12, 2))) is None  # converged is not a cycle


def test_oscillates_sees_sign_flips_only() -> None:
    k = np.arange(20)
    v = np.array([1.0, 0.0])
    flip = np.stack([(-0.5) ** k, np.zeros(20)], axis=1)
    same = np.stack([0.5**k, np.zeros(20)], axis=1)
    assert stability.oscillates(flip, (0.0, 0.0), v)
    assert not stability.oscillates(same, (0.0, 0.0), v)


# ---------------------------------------------------------------------- Newton


@pytest.mark.parametrize("key,start,target", [
    ("bowl", (2.0, -1.5), (0.0, 0.0)),
    ("ravine", (-2.5, 0.5), (0.0, 0.0)),
    ("saddle", (1.3, -0.7), (0.0, 0.0)),
])
def test_newton_lands_on_the_critical_point_of_a_quadratic_in_one_step(key, start, target) -> None:
    s = surfaces.get(key)
    path = local.newton_path(s, start, 5, s.domain)
    np.testing.assert_allclose(path.points[1], target, atol=1e-12)
    assert path.reason == "converged"


def test_newton_walks_to_the_nearby_saddle_of_himmelblau() -> None:
    """Started next to a saddle, Newton converges to it: it solves grad f = 0 and does not
    know down from up. Gradient descent from the same start goes downhill instead."""
    s = surfaces.get("himmelblau")
    saddle = np.array([0.086677504555396, 2.884254701174776])
    start = saddle + np.array([0.25, -0.2])
    path = local.newton_path(s, start, 10, s.domain)
    np.testing.assert_allclose(path.points[-1], saddle, atol=1e-10)
    assert surfaces.classify(s, path.points[-1]) == "saddle"
    assert s.fn(jnp.asarray(path.points[-1], jnp.float32)) > s.fn(jnp.asarray(start, jnp.float32))
    gd = optimizers.trace(s, "gd", tuple(start), 300, learning_rate=0.01)
    assert gd.losses[-1] < 1e-3  # GD found a minimum (value 0)


def test_newton_stops_on_a_singular_hessian_and_at_a_critical_point() -> None:
    def flat(p: jax.Array) -> jax.Array:  # f = x^2: H = diag(2, 0) everywhere
        return p[0] ** 2

    assert local.newton_path(flat, (1.0, 1.0), 5).reason == "singular"
    s = surfaces.get("monkey_saddle")
    path = local.newton_path(s, (0.0, 0.0), 5, s.domain)
    assert path.reason == "converged" and len(path.points) == 1


def test_newton_reports_leaving_the_box() -> None:
    def tilted(p: jax.Array) -> jax.Array:  # critical point at (50, 0), far outside the box
        return 0.5 * p[0] ** 2 - 50.0 * p[0] + p[1] ** 2

    path = local.newton_path(tilted, (0.0, 0.0), 5, ((-1.0, 1.0), (-1.0, 1.0)))
    assert path.reason == "left the box" and len(path.points) == 2


# ---------------------------------------------------------------------- float64 helpers


def test_batched_values_and_hessians_match_surfaces_curvature() -> None:
    s = surfaces.get("himmelblau")
    pts = np.array([[0.3, -1.2], [2.5, 1.0], [-3.0, 3.1]])
    h = local.hessians_at(s, pts)
    for p, hp in zip(pts, h):
        np.testing.assert_allclose(hp, surfaces.hessian(s, p), rtol=1e-13, atol=1e-12)
    ts = np.linspace(-1, 1, 5)
    v = np.array([0.6, 0.8])
    f = local.values_along(s, pts[0], v, ts)
    exact = [(x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2 for x, y in pts[0] + ts[:, None] * v]
    np.testing.assert_allclose(f, exact, rtol=1e-13)
    assert local.hessians_at(s, np.zeros((0, 2))).shape == (0, 2, 2)
    assert not jax.config.jax_enable_x64


def test_quadratic_on_grid_matches_taylor2_and_is_exact_on_a_quadratic() -> None:
    s = surfaces.get("himmelblau")
    c = (0.7, -0.4)
    model = surfaces.taylor2(s, c)
    xs, ys = np.linspace(-1, 2, 7), np.linspace(-2, 1, 5)
    q = local.quadratic_on_grid(c, model.value, model.grad, model.hessian, xs, ys)
    gx, gy = np.meshgrid(xs, ys)
    with jax.enable_x64(True):
        expected = np.asarray(model(np.stack([gx, gy], axis=-1)))
    np.testing.assert_allclose(q, expected, rtol=1e-12)
    r = surfaces.get("ravine")
    rm = surfaces.taylor2(r, (1.0, -2.0))
    rq = local.quadratic_on_grid((1.0, -2.0), rm.value, rm.grad, rm.hessian, xs, ys)
    rf = local.values_at(r, np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gx.shape)
    np.testing.assert_allclose(rq, rf, rtol=1e-12, atol=1e-12)


def test_canonical_eigenvectors_fix_the_sign_only() -> None:
    h = np.array([[2.0, 1.0], [1.0, -1.0]])
    lam, v = np.linalg.eigh(h)
    c = local.canonical_eigenvectors(-v)
    np.testing.assert_allclose(np.abs(c), np.abs(v))
    np.testing.assert_allclose(h @ c, c * lam, atol=1e-12)
    np.testing.assert_allclose(local.canonical_eigenvectors(v), c)
    assert all(c[np.argmax(np.abs(c[:, i])), i] > 0 for i in range(2))
