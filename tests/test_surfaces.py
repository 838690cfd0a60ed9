"""The surface catalog against known truths: published minima and values, zero gradients at
every landmark, a Newton search that must find exactly the listed critical points, AD
Hessians against finite differences, and the quadratic model against exact quadratics."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import surfaces
from surfaces import curvature
from surfaces.critical import seed_grid

REQUIRED = [
    "bowl",
    "ravine",
    "saddle",
    "monkey_saddle",
    "rosenbrock",
    "beale",
    "himmelblau",
    "rastrigin",
    "ackley",
    "six_hump_camel",
    "goldstein_price",
    "plateau",
    "two_wells",
]
KINDS = {"minimum", "maximum", "saddle", "degenerate"}


def _inside(p: tuple[float, float], domain: tuple[tuple[float, float], tuple[float, float]]) -> bool:
    (x0, x1), (y0, y1) = domain
    return x0 < p[0] < x1 and y0 < p[1] < y1


# ------------------------------------------------------------------------ catalog


def test_names_cover_the_catalog_in_a_stable_order() -> None:
    names = surfaces.names()
    assert set(REQUIRED) <= set(names)
    assert len(names) == len(set(names))
    assert names[0] == "bowl"  # teaching order starts from the simplest surface
    assert surfaces.names() == names


def test_get_returns_one_object_per_key_and_parameters() -> None:
    s = surfaces.get("ravine")
    assert surfaces.get("ravine") is s
    assert surfaces.get("ravine", condition=25, angle=30.0) is s  # explicit defaults
    other = surfaces.get("ravine", condition=100.0)
    assert other is not s and other.fn is not s.fn
    assert dict(other.params)["condition"] == 100.0
    assert surfaces.get("ravine", condition=100) is other


def test_get_rejects_unknown_keys_parameters_and_ranges() -> None:
    with pytest.raises(KeyError):
        surfaces.get("no_such_surface")
    with pytest.raises(TypeError):
        surfaces.get("bowl", condition=3.0)
    with pytest.raises(ValueError):
        surfaces.get("ravine", condition=0.5)
    for key in surfaces.names():
        for name, p in surfaces.parameters(key).items():
            assert p.low <= p.default <= p.high, (key, name)


@pytest.mark.parametrize("key", surfaces.names())
def test_catalog_metadata_is_sane(key: str) -> None:
    s = surfaces.get(key)
    assert s.key == key and s.title and s.latex.startswith("f(x, y) =")
    (x0, x1), (y0, y1) = s.domain
    assert x0 < x1 and y0 < y1
    assert s.lesson.endswith(".") and s.lesson.count(". ") == 0  # one sentence
    assert 2 <= len(s.starts) <= 4
    assert s.landmarks and all(lm.kind in KINDS and lm.label for lm in s.landmarks)
    for lm in s.landmarks:
        assert _inside(lm.point, s.domain), lm
    for start in s.starts:
        assert _inside(start, s.domain), start
        assert not curvature.is_critical(s, start, tol=1e-6), start  # a start must go somewhere
        assert np.isfinite(float(s.fn(jnp.asarray(start, dtype=jnp.float32))))
    z = s.fn(jnp.asarray(s.starts[0], dtype=jnp.float32))
    assert z.shape == () and z.dtype == jnp.float32  # pages run in float32


@pytest.mark.parametrize("key", surfaces.names())
def test_global_minimum_labels_mark_the_lowest_minima(key: str) -> None:
    s = surfaces.get(key)
    if not s.minima:
        pytest.skip(f"{key} has no known minimum")
    values = {lm.point: curvature.value(s, lm.point) for lm in s.minima}
    best = min(values.values())
    for lm in s.minima:
        is_lowest = values[lm.point] <= best + 1e-9 * (1 + abs(best))
        assert (lm.label == "global minimum") == is_lowest, (lm, values[lm.point], best)


@pytest.mark.parametrize(
    ("key", "point", "value"),
    [
        ("bowl", (0.0, 0.0), 0.0),
        ("ravine", (0.0, 0.0), 0.0),
        ("plateau", (0.0, 0.0), 0.0),
        ("rosenbrock", (1.0, 1.0), 0.0),
        ("beale", (3.0, 0.5), 0.0),
        ("himmelblau", (3.0, 2.0), 0.0),
        ("himmelblau", (-2.805118, 3.131312), 0.0),
        ("himmelblau", (-3.779310, -3.283186), 0.0),
        ("himmelblau", (3.584428, -1.848126), 0.0),
        ("goldstein_price", (0.0, -1.0), 3.0),
        ("six_hump_camel", (0.0898, -0.7126), -1.0316),
        ("six_hump_camel", (-0.0898, 0.7126), -1.0316),
        ("rastrigin", (0.0, 0.0), 0.0),
        ("ackley", (0.0, 0.0), 0.0),
    ],
)
def test_published_minima(key: str, point: tuple[float, float], value: float) -> None:
    """Textbook minima (to the digits they are usually quoted with) are listed global minima."""
    s = surfaces.get(key)
    nearest = min(s.minima, key=lambda lm: math.dist(lm.point, point))
    assert math.dist(nearest.point, point) < 1e-4 and nearest.label == "global minimum"
    assert curvature.value(s, nearest.point) == pytest.approx(value, abs=1e-4)
    assert float(s.fn(jnp.asarray(point, dtype=jnp.float32))) == pytest.approx(value, abs=1e-3)


def test_float32_fn_agrees_with_float64_at_himmelblau_minimum() -> None:
    s = surfaces.get("himmelblau")
    assert float(s.fn(jnp.array([3.0, 2.0]))) == 0.0


@pytest.mark.parametrize("key", surfaces.names())
def test_every_landmark_is_a_critical_point_of_its_kind(key: str) -> None:
    """Independent of the Newton search: AD gradient and Hessian at the listed points."""
    s = surfaces.get(key)
    for lm in s.landmarks:
        g = curvature.gradient(s, lm.point)
        scale = 1.0 + np.abs(curvature.hessian(s, lm.point)).max()
        assert np.linalg.norm(g) <= 1e-9 * scale, (lm, g)
        assert curvature.classify(s, lm.point) == lm.kind, lm


# --------------------------------------------------------------- critical points


def _assert_matches_landmarks(s: surfaces.Surface) -> None:
    found = surfaces.critical_points(s)
    assert len(found) == len(s.landmarks), [c.point for c in found]
    listed = np.array([lm.point for lm in s.landmarks])
    for c in found:
        assert c.kind in KINDS
        dist = np.linalg.norm(listed - np.array(c.point), axis=1)
        j = int(np.argmin(dist))
        assert dist[j] <= 1e-4, f"unlisted critical point {c}"
        assert c.kind == s.landmarks[j].kind, (c, s.landmarks[j])
        assert c.value == pytest.approx(curvature.value(s, s.landmarks[j].point), abs=1e-8, rel=1e-8)
    pts = np.array([c.point for c in found])
    for lm in s.landmarks:
        assert np.min(np.linalg.norm(pts - np.array(lm.point), axis=1)) <= 1e-4, f"missed {lm}"


@pytest.mark.parametrize("key", surfaces.names())
def test_critical_points_are_exactly_the_landmarks(key: str) -> None:
    _assert_matches_landmarks(surfaces.get(key))


@pytest.mark.parametrize(
    ("key", "params"),
    [
        ("ravine", {"condition": 200.0, "angle": 45.0}),
        ("two_wells", {"tilt": 0.15}),
        ("two_wells", {"tilt": 1.0}),
        ("plateau", {"width": 0.5}),
        ("rosenbrock", {"b": 1000.0}),
    ],
)
def test_critical_points_match_landmarks_for_other_parameters(key: str, params: dict[str, float]) -> None:
    _assert_matches_landmarks(surfaces.get(key, **params))


def test_himmelblau_has_four_minima_four_saddles_one_maximum() -> None:
    found = surfaces.critical_points(surfaces.get("himmelblau"))
    assert [c.kind for c in found] == ["minimum"] * 4 + ["saddle"] * 4 + ["maximum"]
    assert all(abs(c.value) < 1e-20 for c in found[:4])
    saddle_values = [c.value for c in found[4:8]]
    assert saddle_values == sorted(saddle_values)
    assert found[8].point == pytest.approx((-0.270845, -0.923039), abs=1e-6)
    assert found[8].value == pytest.approx(181.617, abs=1e-3)
    lam = found[8].eigenvalues
    assert lam[0] <= lam[1] < 0


def test_critical_points_on_plain_functions() -> None:
    def sinsin(p: jax.Array) -> jax.Array:
        return jnp.sin(p[0]) * jnp.sin(p[1])

    # grad = (cos x sin y, sin x cos y) = 0 at (k pi, l pi) [saddles] and
    # (pi/2 + k pi, pi/2 + l pi) [extrema]: in [-2, 2]^2 that is (0, 0) and (+-pi/2, +-pi/2).
    found = surfaces.critical_points(sinsin, ((-2.0, 2.0), (-2.0, 2.0)), seeds=24)
    by_point = {tuple(round(v, 9) for v in c.point): c.kind for c in found}
    h = round(math.pi / 2, 9)
    assert by_point == {
        (0.0, 0.0): "saddle",
        (h, h): "maximum",
        (-h, -h): "maximum",
        (h, -h): "minimum",
        (-h, h): "minimum",
    }
    with pytest.raises(ValueError):
        surfaces.critical_points(sinsin)  # a bare fn has no domain of its own

    # an explicit seed array, and a function without any critical point
    seeds = seed_grid(((-1.0, 1.0), (-1.0, 1.0)), 5)
    assert surfaces.critical_points(lambda p: p[0] + 2 * p[1], ((-1, 1), (-1, 1)), seeds=seeds) == []


def test_degenerate_points_are_found_and_reported_degenerate() -> None:
    def quartic(p: jax.Array) -> jax.Array:
        return p[0] ** 4 + p[1] ** 2  # Newton converges only linearly in x

    (c,) = surfaces.critical_points(quartic, ((-1.5, 1.0), (-1.0, 1.5)))
    assert c.kind == "degenerate" and np.hypot(*c.point) < 1e-8


def test_library_never_turns_on_x64_globally() -> None:
    surfaces.critical_points(surfaces.get("saddle"))
    surfaces.hessian(surfaces.get("saddle").fn, (0.1, 0.2))
    assert not jax.config.jax_enable_x64
    assert jnp.asarray(1.0).dtype == jnp.float32


# ------------------------------------------------------------------------ curvature


@pytest.mark.parametrize("key", surfaces.names())
def test_hessian_and_gradient_match_central_differences(key: str) -> None:
    s = surfaces.get(key)
    rng = np.random.default_rng(7)
    (x0, x1), (y0, y1) = s.domain
    pts = np.column_stack([rng.uniform(x0, x1, 4), rng.uniform(y0, y1, 4)])
    h = 1e-5
    eye = np.eye(2)
    for p in pts:
        f_fd = np.array([(curvature.value(s, p + h * e) - curvature.value(s, p - h * e)) / (2 * h) for e in eye])
        g = surfaces.gradient(s, p)
        g_scale = 1.0 + np.abs(g).max()
        np.testing.assert_allclose(g, f_fd, atol=1e-5 * g_scale)
        # differences of the (exact, AD) gradient: truncation error ~ h^2 f''''
        hess_fd = np.column_stack(
            [(surfaces.gradient(s, p + h * e) - surfaces.gradient(s, p - h * e)) / (2 * h) for e in eye]
        )
        hess = surfaces.hessian(s, p)
        np.testing.assert_allclose(hess, hess.T, rtol=0, atol=0)
        np.testing.assert_allclose(hess, hess_fd, atol=1e-6 * (1.0 + np.abs(hess).max()))


def test_hessian_of_rosenbrock_matches_hand_derivation() -> None:
    x, y = -0.7, 1.3
    expected = np.array([[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200.0]])
    np.testing.assert_allclose(surfaces.hessian(surfaces.get("rosenbrock"), (x, y)), expected, rtol=1e-14)


def test_eigen_is_ascending_orthonormal_and_reconstructs_the_hessian() -> None:
    s = surfaces.get("ravine", condition=25.0, angle=30.0)
    lam, vecs = surfaces.eigen(s.fn, (0.4, -1.1))
    np.testing.assert_allclose(lam, [1.0, 25.0], rtol=1e-12)  # the quadratic's curvatures
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(vecs @ np.diag(lam) @ vecs.T, surfaces.hessian(s, (0.4, -1.1)), atol=1e-12)
    # the flat direction is the valley axis at 30 degrees (up to sign)
    valley = np.array([math.cos(math.radians(30)), math.sin(math.radians(30))])
    assert abs(vecs[:, 0] @ valley) == pytest.approx(1.0, abs=1e-12)


def test_classify_known_points() -> None:
    assert surfaces.classify(surfaces.get("bowl").fn, (0.0, 0.0)) == "minimum"
    assert surfaces.classify(surfaces.get("saddle").fn, (0.0, 0.0)) == "saddle"
    assert surfaces.classify(surfaces.get("monkey_saddle").fn, (0.0, 0.0)) == "degenerate"
    assert surfaces.classify(lambda p: -(p[0] ** 2) - 3 * p[1] ** 2, (0.0, 0.0)) == "maximum"
    assert surfaces.classify(lambda p: (p[0] - p[1]) ** 2, (0.5, 0.5)) == "degenerate"  # a valley line
    assert surfaces.classify(surfaces.get("himmelblau"), (-0.270844590667, -0.923038556480)) == "maximum"
    assert surfaces.classify(surfaces.get("goldstein_price"), (1.4, 0.6)) == "saddle"


def test_classify_is_scale_free_but_tolerance_governed() -> None:
    for scale in (1e-6, 1.0, 1e6):
        assert surfaces.classify(lambda p: scale * (p[0] ** 2 - p[1] ** 2), (0.0, 0.0)) == "saddle"
    # curvatures 1 and 1e-8: the small one is below the relative tolerance 1e-6 -> degenerate,
    # unless the caller tightens the tolerance
    def flat(p: jax.Array) -> jax.Array:
        return p[0] ** 2 + 1e-8 * p[1] ** 2

    assert surfaces.classify(flat, (0.0, 0.0)) == "degenerate"
    assert surfaces.classify(flat, (0.0, 0.0), tol=1e-10, atol=0.0) == "minimum"


def test_is_critical() -> None:
    s = surfaces.get("six_hump_camel")
    assert all(surfaces.is_critical(s, lm.point) for lm in s.landmarks)
    assert not surfaces.is_critical(s, (0.5, 0.5))


def test_taylor2_is_exact_for_quadratics() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(2, 2))
    a = a + a.T
    b = rng.normal(size=2)
    c = float(rng.normal())

    def quad(p: jax.Array) -> jax.Array:
        return c + p @ jnp.asarray(b) + 0.5 * p @ jnp.asarray(a) @ p

    q = surfaces.taylor2(quad, rng.normal(size=2))
    np.testing.assert_allclose(q.hessian, a, atol=1e-12)
    xs = rng.normal(scale=3.0, size=(20, 2))
    with jax.enable_x64(True):
        expected = np.array([float(quad(jnp.asarray(x))) for x in xs])
        np.testing.assert_allclose(np.asarray(q(jnp.asarray(xs))), expected, rtol=1e-12, atol=1e-12)
    # float32 callers get float32 back
    assert q(jnp.zeros(2, dtype=jnp.float32)).dtype == jnp.float32


def test_taylor2_error_is_third_order() -> None:
    s = surfaces.get("himmelblau")
    p = np.array([1.0, -0.5])
    q = surfaces.taylor2(s, p)
    assert q.value == pytest.approx(curvature.value(s, p), rel=1e-14)
    np.testing.assert_allclose(q.grad, surfaces.gradient(s, p), rtol=1e-14)
    d = np.array([0.3, -0.2])
    with jax.enable_x64(True):
        errs = [abs(curvature.value(s, p + t * d) - float(q(jnp.asarray(p + t * d)))) for t in (1.0, 0.5, 0.25)]
    assert errs[0] / errs[1] == pytest.approx(8.0, rel=0.25)
    assert errs[1] / errs[2] == pytest.approx(8.0, rel=0.15)


def test_taylor2_newton_step_lands_on_quadratic_minimum() -> None:
    s = surfaces.get("ravine", condition=40.0, angle=40.0)
    step = surfaces.taylor2(s, (2.0, -1.5)).newton_step()
    np.testing.assert_allclose(np.array([2.0, -1.5]) + step, [0.0, 0.0], atol=1e-12)


# ------------------------------------------------------------------------------ grid


@pytest.mark.parametrize("key", ["himmelblau", "ackley", "ravine"])
def test_evaluate_grid_shape_dtype_and_values(key: str) -> None:
    s = surfaces.get(key)
    xs, ys, z = surfaces.evaluate_grid(s, n=41)
    assert xs.shape == (41,) and ys.shape == (41,) and z.shape == (41, 41)
    assert xs.dtype == ys.dtype == z.dtype == np.float32
    (x0, x1), (y0, y1) = s.domain
    assert (xs[0], xs[-1], ys[0], ys[-1]) == pytest.approx((x0, x1, y0, y1))
    for i, j in [(0, 0), (3, 17), (40, 5), (20, 20)]:  # rows follow y, columns x
        expected = float(s.fn(jnp.array([xs[j], ys[i]], dtype=jnp.float32)))
        assert z[i, j] == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_evaluate_grid_masks_non_finite_values_as_nan() -> None:
    def f(p: jax.Array) -> jax.Array:
        return jnp.log(p[0]) + 1.0 / p[1]

    xs, ys, z = surfaces.evaluate_grid(f, ((-1.0, 1.0), (-1.0, 1.0)), n=5)  # x, y hit -1, 0, 1
    assert np.isnan(z[:, xs < 0]).all()  # log of a negative number
    assert np.isnan(z[ys == 0, :]).all()  # 1/0 = inf becomes NaN
    assert not np.isinf(z).any()
    assert z[4, 4] == pytest.approx(1.0)  # log 1 + 1/1
    with pytest.raises(ValueError):
        surfaces.evaluate_grid(f)  # a bare fn has no domain of its own


# ---------------------------------------------------------------------------------------
# Issue 17: what "degenerate" means, and when a zero eigenvalue leaves the test undecided


def test_mixed_nonzero_signs_are_a_saddle_whatever_the_zero_eigenvalues_do() -> None:
    """The test is undecided only when some eigenvalue is 0 and every nonzero one has the
    same sign (in 2-D that is any zero eigenvalue)."""
    assert curvature.classify_eigenvalues([-1.0, 0.0, 2.0]) == "saddle"
    assert curvature.classify_eigenvalues([-3.0, 0.0, 0.0, 1.0]) == "saddle"
    assert curvature.classify_eigenvalues([0.0, 1.0, 2.0]) == "degenerate"
    assert curvature.classify_eigenvalues([-1.0, -2.0, 0.0]) == "degenerate"
    assert curvature.classify_eigenvalues([0.0, 0.0]) == "degenerate"
    assert curvature.classify_eigenvalues([0.0, 5.0]) == "degenerate" and curvature.classify_eigenvalues([-1.0, 5.0]) == "saddle"
    assert curvature.classify_eigenvalues([1.0, 5.0]) == "minimum" and curvature.classify_eigenvalues([-1.0, -5.0]) == "maximum"


def test_degenerate_means_a_singular_hessian_not_only_a_vanishing_one() -> None:
    """x^2 + y^4 at 0: H = diag(2, 0) is singular but not zero, and the point is degenerate;
    the monkey saddle is the special case H = 0. The texts say so in both languages."""
    import catalog

    f = lambda p: p[0] ** 2 + p[1] ** 4  # noqa: E731
    H = surfaces.hessian(f, (0.0, 0.0))
    assert np.abs(H).max() == pytest.approx(2.0) and abs(np.linalg.det(H)) < 1e-12
    assert surfaces.classify(f, (0.0, 0.0)) == "degenerate"
    assert np.abs(surfaces.hessian(surfaces.get("monkey_saddle"), (0.0, 0.0))).max() < 1e-12
    en, zh = catalog.messages("en"), catalog.messages("zh")
    assert "singular" in en["surfaces.monkey_saddle.lesson"] and "奇异" in zh["surfaces.monkey_saddle.lesson"]
    test_en, test_zh = en["curvature.test"], zh["curvature.test"]
    assert "whatever the zero ones do" in test_en and "every nonzero one has the same sign" in test_en
    assert "不论为零的特征值如何" in test_zh and "所有非零特征值同号" in test_zh
    assert "a zero eigenvalue, the test cannot decide" not in test_en
