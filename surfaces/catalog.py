"""The catalog of teaching surfaces: one builder per key, cached per (key, parameters).

Every surface lists *all* of its critical points inside its plotting domain as landmarks
(tests/test_surfaces.py checks the list against a Newton search, both ways). Domains are
chosen so that no critical point lies on or near the boundary.

Where landmarks are hard-coded they come from float64 Newton on grad f = 0 started from a
150 x 150 seed grid (surfaces.critical), cross-checked against scipy.optimize.root started
from an independent 80 x 80 grid; both found the same set. Values are quoted to 15
decimals, the accuracy of float64 Newton at a non-degenerate critical point.
Goldstein-Price's critical points turned out to be exact decimals and are quoted as such.

What each surface teaches (Surface.lesson) is in the message catalog,
catalog/<language>/surfaces.toml, under the surface's key.
"""
from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from surfaces.base import Landmark, Surface

GLOBAL_MIN = "global minimum"
LOCAL_MIN = "local minimum"
SADDLE = "saddle point"
LOCAL_MAX = "local maximum"
DEGENERATE = "degenerate critical point"

_LABEL_OF_KIND = {"saddle": SADDLE, "maximum": LOCAL_MAX, "degenerate": DEGENERATE}


class Param(NamedTuple):
    """A numeric surface parameter: default, allowed closed range [low, high], and a label."""

    default: float
    low: float
    high: float
    label: str


ParamValues = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class _Entry:
    build: Callable[..., Surface]
    params: dict[str, Param]


def _landmarks(points: list[tuple[float, float, str]], fn: Callable[[np.ndarray], float]) -> tuple[Landmark, ...]:
    """Landmarks from (x, y, kind); minima within 1e-9 of the lowest are labelled global.

    fn evaluates the surface on a float64 NumPy point (only used to rank minima by value).
    The polynomial surfaces pass their own fn: it uses nothing but arithmetic on p[0], p[1],
    so it runs on NumPy as is, without tracing or compiling anything at build time.
    """
    minima = [fn(np.array([x, y])) for x, y, k in points if k == "minimum"]
    best = min(minima) if minima else math.inf
    out = []
    for x, y, kind in points:
        if kind == "minimum":
            label = GLOBAL_MIN if fn(np.array([x, y])) <= best + 1e-9 * (1 + abs(best)) else LOCAL_MIN
        else:
            label = _LABEL_OF_KIND[kind]
        out.append(Landmark(point=(float(x), float(y)), kind=kind, label=label))
    return tuple(out)


# ---------------------------------------------------------------- quadratics and saddles


def _bowl() -> Surface:
    def fn(p: jax.Array) -> jax.Array:
        return p[0] ** 2 + p[1] ** 2

    return Surface(
        key="bowl",
        english_title="Bowl",
        fn=fn,
        latex=r"f(x, y) = x^2 + y^2",
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        landmarks=(Landmark((0.0, 0.0), "minimum", GLOBAL_MIN),),
        starts=((-2.5, 1.5), (2.0, -2.5), (0.5, 2.8)),
    )


def _ravine(condition: float, angle: float) -> Surface:
    theta = math.radians(angle)
    c, s = math.cos(theta), math.sin(theta)
    kappa = condition

    def fn(p: jax.Array) -> jax.Array:
        u = c * p[0] + s * p[1]  # along the valley floor (curvature 1)
        v = -s * p[0] + c * p[1]  # across the valley (curvature kappa)
        return 0.5 * (u**2 + kappa * v**2)

    return Surface(
        key="ravine",
        english_title="Ravine (ill-conditioned quadratic)",
        fn=fn,
        latex=(
            r"f(x, y) = \tfrac12\left(u^2 + \kappa v^2\right),\quad "
            r"u = x\cos\theta + y\sin\theta,\ v = -x\sin\theta + y\cos\theta,\quad "
            rf"\kappa = {kappa:g},\ \theta = {angle:g}^\circ"
        ),
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        landmarks=(Landmark((0.0, 0.0), "minimum", GLOBAL_MIN),),
        starts=((-2.5, 0.5), (2.5, 2.5), (-1.0, -2.5)),
        params=(("condition", float(condition)), ("angle", float(angle))),
    )


def _saddle() -> Surface:
    def fn(p: jax.Array) -> jax.Array:
        return p[0] ** 2 - p[1] ** 2

    return Surface(
        key="saddle",
        english_title="Saddle",
        fn=fn,
        latex=r"f(x, y) = x^2 - y^2",
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        landmarks=(Landmark((0.0, 0.0), "saddle", SADDLE),),
        starts=((-1.8, 0.05), (-1.8, 0.0), (1.5, -1.0)),
    )


def _monkey_saddle() -> Surface:
    def fn(p: jax.Array) -> jax.Array:
        return p[0] ** 3 - 3.0 * p[0] * p[1] ** 2

    return Surface(
        key="monkey_saddle",
        english_title="Monkey saddle",
        fn=fn,
        latex=r"f(x, y) = x^3 - 3xy^2",
        domain=((-1.5, 1.5), (-1.5, 1.5)),
        landmarks=(Landmark((0.0, 0.0), "degenerate", "monkey saddle (degenerate)"),),
        starts=((1.2, 0.1), (1.2, 0.0), (-0.5, 1.0)),
    )


def _plateau(width: float) -> Surface:
    w2 = 2.0 * width**2

    def fn(p: jax.Array) -> jax.Array:
        return 1.0 - jnp.exp(-(p[0] ** 2 + p[1] ** 2) / w2)

    # f depends on r = |p| only and df/dr = (r / width^2) exp(-r^2 / (2 width^2)) > 0 for
    # r > 0: the centre is the one critical point, however flat the rim gets.
    return Surface(
        key="plateau",
        english_title="Plateau",
        fn=fn,
        latex=rf"f(x, y) = 1 - \exp\!\left(-\frac{{x^2 + y^2}}{{2 w^2}}\right),\quad w = {width:g}",
        domain=((-4.0, 4.0), (-4.0, 4.0)),
        landmarks=(Landmark((0.0, 0.0), "minimum", GLOBAL_MIN),),
        starts=((3.0, 2.5), (-3.5, -0.5), (1.5, 1.0)),
        params=(("width", float(width)),),
    )


_TWO_WELLS_BEND = 0.5  # the valley floor follows y = 0.5 x^2


def _two_wells(tilt: float) -> Surface:
    bend = _TWO_WELLS_BEND

    def fn(p: jax.Array) -> jax.Array:
        x, y = p[0], p[1]
        return (x**2 - 1.0) ** 2 + tilt * x + (y - bend * x**2) ** 2

    # With A(x) = (x^2 - 1)^2 + tilt x: grad f = 0 iff y = bend x^2 and A'(x) = 4x^3 - 4x + tilt
    # = 0, and det H = 2 A''(x): the three real roots (tilt < 8 / (3 sqrt 3)) give two minima
    # (A'' > 0) and the saddle between them (A'' < 0). Roots polished by float64 Newton.
    roots = np.sort(np.real(np.roots([4.0, 0.0, -4.0, tilt])))
    for _ in range(5):
        roots = roots - (4 * roots**3 - 4 * roots + tilt) / (12 * roots**2 - 4)
    pts = [(float(r), float(bend * r * r), "minimum" if 12 * r * r - 4 > 0 else "saddle") for r in roots]

    def f64(q: np.ndarray) -> float:
        return float((q[0] ** 2 - 1) ** 2 + tilt * q[0] + (q[1] - bend * q[0] ** 2) ** 2)

    return Surface(
        key="two_wells",
        english_title="Two wells",
        fn=fn,
        latex=rf"f(x, y) = (x^2 - 1)^2 + t\,x + \left(y - \tfrac12 x^2\right)^2,\quad t = {tilt:g}",
        domain=((-2.0, 2.0), (-1.5, 2.5)),
        landmarks=_landmarks(pts, f64),
        starts=((1.7, -1.0), (-1.6, 2.0), (0.15, 1.8)),
        params=(("tilt", float(tilt)),),
    )


# ------------------------------------------------------------------ the course's own examples

# Lee's Pokémon regression (course notes, /work/shared/course-notes/003_94b4528276ad11f9.txt,
# "Step 1: Model  y = b + w*x_cp"): ten (CP before, CP after evolving) pairs, the ones of
# the lecture's demo. Raw CP values in the hundreds make L(w, b) a ravine: its Hessian
# 2/N [[sum x^2, sum x], [sum x, N]] has eigenvalues about 1.7e5 (across, in w) and 0.56
# (along, mostly b), a condition number about 3e5.
POKEMON_CP = np.array([338.0, 333.0, 328.0, 207.0, 226.0, 25.0, 179.0, 60.0, 208.0, 606.0])
POKEMON_EVOLVED = np.array([640.0, 633.0, 619.0, 393.0, 428.0, 27.0, 193.0, 66.0, 226.0, 1591.0])


def _pokemon() -> Surface:
    xs, ys = POKEMON_CP, POKEMON_EVOLVED

    def fn(p: jax.Array) -> jax.Array:
        b, w = p[0], p[1]  # b across, w up: the axes of Lee's figure
        x, y = jnp.asarray(xs, p.dtype), jnp.asarray(ys, p.dtype)  # float32 on the pages, float64 under x64
        return jnp.mean((y - (b + w * x)) ** 2)

    # A convex quadratic with a positive definite Hessian: its one critical point is the
    # least-squares fit (tests/test_course_examples_surfaces.py re-derives it in closed form).
    (w_star, b_star), *_ = np.linalg.lstsq(np.column_stack([xs, np.ones_like(xs)]), ys, rcond=None)
    return Surface(
        key="pokemon",
        english_title="Pokémon CP regression",
        fn=fn,
        latex=(r"f(x, y) = L(w, b) = \frac{1}{10}\sum_{n=1}^{10}\left(\hat y^n - (b + w\,x_{cp}^n)\right)^2,"
               r"\quad b = x,\ w = y"),
        domain=((-200.0, -100.0), (-5.0, 5.0)),
        landmarks=(Landmark((float(b_star), float(w_star)), "minimum", GLOBAL_MIN),),
        starts=((-120.0, -4.0), (-190.0, 4.0), (-110.0, 3.5)),
        log_levels=True,
    )


# One wrong example for a sigmoid unit: input 1, label 1, prediction sigma(w + b). Both
# losses depend on z = w + b alone, which leaves no minimum at all (cross-entropy falls
# for ever as z grows); a touch of weight decay (lambda / 2)(w^2 + b^2) pins one down
# without hiding the plateau: at (-5, -5) its slope is 7e-4.
SIGMOID_DECAY = 1e-4


def _sigmoid_critical(loss_slope: Callable[[float], float], loss_curve: Callable[[float], float]) -> float:
    """The one critical point (u, u) of loss(2u) + lambda u^2: both losses fall in z, so
    grad = 0 forces w = b = u with loss'(2u) + lambda u = 0; Newton in float64 on that,
    from u = 1 (the root is unique: lambda u rises, -loss'(2u) falls for u > 0, and for
    u < 0 both terms are negative)."""
    u = 1.0
    for _ in range(60):
        u -= (loss_slope(2 * u) + SIGMOID_DECAY * u) / (2 * loss_curve(2 * u) + SIGMOID_DECAY)
    return u


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _one_wrong_example(key: str, english_title: str, loss: Callable[[jax.Array], jax.Array], latex_loss: str,
                       slope: Callable[[float], float], curvature: Callable[[float], float]) -> Surface:
    """A loss of one example with label 1 through a sigmoid unit, z = w + b, plus a small
    L2 term (so a minimum exists); ``slope`` and ``curvature`` are the loss's first two
    derivatives in z, for its minimum on the line w = b."""
    lam = SIGMOID_DECAY

    def fn(p: jax.Array) -> jax.Array:
        return loss(p[0] + p[1]) + 0.5 * lam * (p[0] ** 2 + p[1] ** 2)

    u = _sigmoid_critical(slope, curvature)
    return Surface(
        key=key,
        english_title=english_title,
        fn=fn,
        latex=(rf"f(x, y) = {latex_loss} + \tfrac{{\lambda}}{{2}}\left(x^2 + y^2\right),\quad "
               r"x = w,\ y = b,\ \lambda = 10^{-4}"),
        domain=((-6.0, 6.0), (-6.0, 6.0)),
        landmarks=(Landmark((u, u), "minimum", GLOBAL_MIN),),
        starts=((-5.0, -4.0), (-2.0, -5.0), (5.0, -1.5)),
    )


def _cross_entropy() -> Surface:
    # -log sigma(z) = softplus(-z); d/dz = sigma(z) - 1, d2/dz2 = sigma(z)(1 - sigma(z))
    return _one_wrong_example("cross_entropy", "Cross-entropy, one wrong example", lambda z: jax.nn.softplus(-z),
                              r"-\ln \sigma(x + y)", lambda z: _sig(z) - 1.0, lambda z: _sig(z) * (1.0 - _sig(z)))


def _mse_sigmoid() -> Surface:
    # with s = sigma(z): d/dz (1 - s)^2 = -2 s (1 - s)^2, d2/dz2 = -2 s (1 - s)^2 (1 - 3 s)
    def slope(z: float) -> float:
        s = _sig(z)
        return -2.0 * s * (1.0 - s) ** 2

    return _one_wrong_example("mse_sigmoid", "Squared error, one wrong example", lambda z: jax.nn.sigmoid(-z) ** 2,
                              r"\left(1 - \sigma(x + y)\right)^2", slope,
                              lambda z: slope(z) * (1.0 - 3.0 * _sig(z)))


# --------------------------------------------------------------------- classic benchmarks


def _rosenbrock(b: float) -> Surface:
    def fn(p: jax.Array) -> jax.Array:
        return (1.0 - p[0]) ** 2 + b * (p[1] - p[0] ** 2) ** 2

    # df/dy = 0 forces y = x^2, and then df/dx = -2(1 - x) = 0: (1, 1) is the only critical point.
    return Surface(
        key="rosenbrock",
        english_title="Rosenbrock",
        fn=fn,
        latex=rf"f(x, y) = (1 - x)^2 + b\,(y - x^2)^2,\quad b = {b:g}",
        domain=((-2.0, 2.0), (-1.0, 3.0)),
        landmarks=(Landmark((1.0, 1.0), "minimum", GLOBAL_MIN),),
        starts=((-1.5, 2.0), (-1.2, 1.0), (1.8, 0.5)),
        log_levels=True,
        params=(("b", float(b)),),
    )


def _beale() -> Surface:
    def fn(p: jax.Array) -> jax.Array:
        x, y = p[0], p[1]
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2

    # f(0, y) is constant, so df/dy = 0 on the whole line x = 0, and df/dx(0, y) = 0 only at
    # y = 1 (the other factor 5.25 y^2 + 9.75 y + 12.75 has no real root): (0, 1) is a saddle.
    pts = [
        (3.0, 0.5, "minimum"),
        (0.100537937324158, -2.644513585023126, "saddle"),
        (0.0, 1.0, "saddle"),
    ]
    return Surface(
        key="beale",
        english_title="Beale",
        fn=fn,
        latex=r"f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
        domain=((-4.5, 4.5), (-4.5, 4.5)),
        landmarks=_landmarks(pts, fn),
        starts=((1.0, 1.5), (-2.0, -1.5), (2.0, -1.0)),
        log_levels=True,
    )


def _himmelblau() -> Surface:
    def fn(p: jax.Array) -> jax.Array:
        x, y = p[0], p[1]
        return (x**2 + y - 11.0) ** 2 + (x + y**2 - 7.0) ** 2

    pts = [
        (3.0, 2.0, "minimum"),
        (-2.805118086952745, 3.131312518250573, "minimum"),
        (-3.779310253377747, -3.283185991286170, "minimum"),
        (3.584428340330492, -1.848126526964404, "minimum"),
        (3.385154183607021, 0.073851879837749, "saddle"),
        (0.086677504555396, 2.884254701174776, "saddle"),
        (-3.073025750764390, -0.081353044287968, "saddle"),
        (-0.127961346730680, -1.953714980244577, "saddle"),
        (-0.270844590667348, -0.923038556479981, "maximum"),
    ]
    return Surface(
        key="himmelblau",
        english_title="Himmelblau",
        fn=fn,
        latex=r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        landmarks=_landmarks(pts, fn),
        starts=((-0.2, -0.5), (-0.5, 0.0), (0.0, -0.8), (-1.0, -2.0)),
        log_levels=True,
    )


def _point_symmetric(reps: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """reps plus their mirror images through the origin (f(-p) = f(p))."""
    out = list(reps)
    out += [(-x, -y, k) for x, y, k in reps if (x, y) != (0.0, 0.0)]
    return out


def _six_hump_camel() -> Surface:
    def fn(p: jax.Array) -> jax.Array:
        x, y = p[0], p[1]
        return (4.0 - 2.1 * x**2 + x**4 / 3.0) * x**2 + x * y + (-4.0 + 4.0 * y**2) * y**2

    # f(-x, -y) = f(x, y): listed are the points with x >= 0, the rest are their mirror images.
    pts = _point_symmetric(
        [
            (0.0, 0.0, "saddle"),
            (0.089842013100318, -0.712656403020740, "minimum"),
            (1.703606714969981, -0.796083568672625, "minimum"),
            (1.607104752920197, 0.568651454884131, "minimum"),
            (1.109205336804787, -0.768268092509540, "saddle"),
            (1.638067984189779, 0.228674069044394, "saddle"),
            (1.296070267167109, 0.605084388038658, "saddle"),
            (1.230229876516652, 0.162334584458995, "maximum"),
        ]
    )
    return Surface(
        key="six_hump_camel",
        english_title="Six-hump camel",
        fn=fn,
        latex=r"f(x, y) = \left(4 - 2.1x^2 + \tfrac{x^4}{3}\right)x^2 + xy + \left(4y^2 - 4\right)y^2",
        domain=((-2.0, 2.0), (-1.0, 1.0)),
        landmarks=_landmarks(pts, fn),
        starts=((-1.9, 0.2), (0.3, 0.9), (1.0, -0.3)),
    )


def _goldstein_price() -> Surface:
    def fn(p: jax.Array) -> jax.Array:
        x, y = p[0], p[1]
        a = 1.0 + (x + y + 1.0) ** 2 * (19.0 - 14.0 * x + 3.0 * x**2 - 14.0 * y + 6.0 * x * y + 3.0 * y**2)
        b = 30.0 + (2.0 * x - 3.0 * y) ** 2 * (
            18.0 - 32.0 * x + 12.0 * x**2 + 48.0 * y - 36.0 * x * y + 27.0 * y**2
        )
        return a * b

    # Newton converged to these exact decimals (to the last float64 bit).
    pts = [
        (0.0, -1.0, "minimum"),
        (-0.6, -0.4, "minimum"),
        (1.8, 0.2, "minimum"),
        (1.2, 0.8, "minimum"),
        (-0.4, -0.6, "saddle"),
        (1.2, -0.2, "saddle"),
        (1.4, 0.6, "saddle"),
        (0.6, 0.4, "saddle"),
        (0.8, 0.2, "maximum"),
    ]
    return Surface(
        key="goldstein_price",
        english_title="Goldstein-Price",
        fn=fn,
        latex=(
            r"f(x, y) = \left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]"
            r"\left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]"
        ),
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        landmarks=_landmarks(pts, fn),
        starts=((-1.5, 1.5), (1.5, 1.5), (1.0, -1.5)),
        log_levels=True,
    )


# ----------------------------------------------------------------- many local minima

_BUMPY_HALF_WIDTH = 2.3  # critical points of both nearest the edge are >= 0.2 inside / outside


def _rastrigin_roots_1d(half_width: float) -> list[tuple[float, str]]:
    """Critical points of g(z) = z^2 - 10 cos(2 pi z) in [-half_width, half_width].

    g'(z) = 2z + 20 pi sin(2 pi z) has one root near each multiple of 1/2 (for |z| < 10 pi):
    minima near integers, maxima near half-integers. Polished by float64 Newton.
    """
    out = []
    k_max = int(2 * half_width + 1)
    for k in range(-k_max, k_max + 1):
        z = 0.5 * k
        for _ in range(30):
            z -= (2 * z + 20 * math.pi * math.sin(2 * math.pi * z)) / (2 + 40 * math.pi**2 * math.cos(2 * math.pi * z))
        if abs(z) <= half_width:
            out.append((z, "minimum" if k % 2 == 0 else "maximum"))
    return out


def _rastrigin() -> Surface:
    def fn(p: jax.Array) -> jax.Array:
        return 20.0 + jnp.sum(p**2 - 10.0 * jnp.cos(2.0 * jnp.pi * p))

    # Separable: grad f = 0 iff each coordinate is a 1-D critical point, and the Hessian is
    # diagonal, so (min, min) is a minimum, (max, max) a maximum, mixed pairs are saddles.
    roots = _rastrigin_roots_1d(_BUMPY_HALF_WIDTH)
    pts = []
    for x, kx in roots:
        for y, ky in roots:
            kind = kx if kx == ky else "saddle"
            pts.append((x, y, kind))

    def f64(q: np.ndarray) -> float:
        return float(20 + np.sum(q**2 - 10 * np.cos(2 * np.pi * q)))

    h = _BUMPY_HALF_WIDTH
    return Surface(
        key="rastrigin",
        english_title="Rastrigin",
        fn=fn,
        latex=r"f(x, y) = 20 + \left(x^2 - 10\cos 2\pi x\right) + \left(y^2 - 10\cos 2\pi y\right)",
        domain=((-h, h), (-h, h)),
        landmarks=_landmarks(pts, f64),
        starts=((2.1, 1.7), (-1.3, 0.4), (0.3, -0.2)),
    )


ACKLEY_SMOOTHING = 1e-2  # epsilon under the square root; see _ackley


def _dihedral(reps: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """reps under the symmetries of the square: (+-x, +-y) and (+-y, +-x), without repeats."""
    out: dict[tuple[float, float], str] = {}
    for x, y, k in reps:
        for a, b in ((x, y), (y, x)):
            for sa in (1.0, -1.0):
                for sb in (1.0, -1.0):
                    out.setdefault((sa * a + 0.0, sb * b + 0.0), k)  # + 0.0 folds -0.0 into 0.0
    return [(x, y, k) for (x, y), k in out.items()]


def _ackley() -> Surface:
    eps = ACKLEY_SMOOTHING
    shift = 20.0 * math.exp(-0.2 * math.sqrt(eps))  # makes f(0, 0) = 0 exactly

    def fn(p: jax.Array) -> jax.Array:
        x, y = p[0], p[1]
        r = jnp.sqrt(0.5 * (x**2 + y**2) + eps)
        return (
            shift
            - 20.0 * jnp.exp(-0.2 * r)
            + jnp.e
            - jnp.exp(0.5 * (jnp.cos(2.0 * jnp.pi * x) + jnp.cos(2.0 * jnp.pi * y)))
        )

    # The textbook Ackley uses sqrt((x^2 + y^2)/2), a cone tip at the origin where the
    # gradient is undefined. With +eps under the root the tip is rounded off within
    # |p| ~ 0.1, the origin becomes a smooth minimum with a Hessian, and f changes by at
    # most 20 * 0.2 * sqrt(eps) = 0.4 anywhere. Listed: the points with x >= y >= 0;
    # the rest follow from the symmetries of the square.
    pts = _dihedral(
        [
            (0.0, 0.0, "minimum"),
            (0.952805834669506, 0.0, "minimum"),
            (0.968688769995164, 0.968688769995164, "minimum"),
            (1.959064674928705, 0.0, "minimum"),
            (1.964717758168428, 0.982465665801963, "minimum"),
            (1.974499464000317, 1.974499464000317, "minimum"),
            (0.622631209615949, 0.0, "saddle"),
            (0.876531321206350, 0.576124047157334, "saddle"),
            (1.609811074541792, 0.0, "saddle"),
            (1.594675039707432, 0.946060620950722, "saddle"),
            (1.857275891536345, 0.536212432397490, "saddle"),
            (1.916371739378708, 1.567275651008395, "saddle"),
            (0.671726775423172, 0.671726775423172, "maximum"),
            (1.771782244010002, 0.549723553549411, "maximum"),
            (1.651599334291446, 1.651599334291446, "maximum"),
        ]
    )
    def f64(q: np.ndarray) -> float:  # NumPy twin, only to label the global minimum
        r = math.sqrt(0.5 * (q[0] ** 2 + q[1] ** 2) + eps)
        waves = 0.5 * (math.cos(2 * math.pi * q[0]) + math.cos(2 * math.pi * q[1]))
        return shift - 20 * math.exp(-0.2 * r) + math.e - math.exp(waves)

    h = _BUMPY_HALF_WIDTH
    return Surface(
        key="ackley",
        english_title="Ackley (smoothed)",
        fn=fn,
        latex=(
            r"f(x, y) = 20\left(e^{-0.2\sqrt{\varepsilon}} - e^{-0.2\sqrt{(x^2 + y^2)/2 + \varepsilon}}\right)"
            r" + e - e^{(\cos 2\pi x + \cos 2\pi y)/2},\quad \varepsilon = 10^{-2}"
        ),
        domain=((-h, h), (-h, h)),
        landmarks=_landmarks(pts, f64),
        starts=((2.0, 1.2), (-1.5, -2.0), (0.4, 0.2)),
    )


# ------------------------------------------------------------------------- registry

_CATALOG: dict[str, _Entry] = {
    "bowl": _Entry(_bowl, {}),
    "ravine": _Entry(
        _ravine,
        {
            "condition": Param(25.0, 1.0, 1000.0, "condition number kappa"),
            "angle": Param(30.0, 0.0, 90.0, "valley angle (degrees)"),
        },
    ),
    "saddle": _Entry(_saddle, {}),
    "monkey_saddle": _Entry(_monkey_saddle, {}),
    "plateau": _Entry(_plateau, {"width": Param(1.0, 0.5, 1.5, "well width w")}),
    "two_wells": _Entry(_two_wells, {"tilt": Param(0.5, 0.1, 1.0, "tilt t (depth difference)")}),
    "rosenbrock": _Entry(_rosenbrock, {"b": Param(100.0, 1.0, 1000.0, "valley steepness b")}),
    "beale": _Entry(_beale, {}),
    "himmelblau": _Entry(_himmelblau, {}),
    "six_hump_camel": _Entry(_six_hump_camel, {}),
    "goldstein_price": _Entry(_goldstein_price, {}),
    "rastrigin": _Entry(_rastrigin, {}),
    "ackley": _Entry(_ackley, {}),
    "pokemon": _Entry(_pokemon, {}),
    "cross_entropy": _Entry(_cross_entropy, {}),
    "mse_sigmoid": _Entry(_mse_sigmoid, {}),
}


def names() -> list[str]:
    """Catalog keys in teaching order: quadratics, saddles, flat and multi-well shapes,
    then the classic benchmarks from valleys to many local minima."""
    return list(_CATALOG)


def parameters(key: str) -> dict[str, Param]:
    """The tunable parameters of a catalog surface (empty for fixed ones)."""
    return dict(_entry(key).params)


def _entry(key: str) -> _Entry:
    try:
        return _CATALOG[key]
    except KeyError:
        raise KeyError(f"unknown surface {key!r}; known: {', '.join(_CATALOG)}") from None


def _resolve(key: str, params: dict[str, float]) -> ParamValues:
    spec = _entry(key).params
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise TypeError(f"surface {key!r} has no parameter(s) {unknown}; it takes {sorted(spec)}")
    values = []
    for name, p in spec.items():
        v = float(params.get(name, p.default))
        if not (p.low <= v <= p.high):
            raise ValueError(f"{key}.{name} = {v:g} is outside [{p.low:g}, {p.high:g}]")
        values.append((name, v))
    return tuple(values)


_BUILD_LOCK = threading.Lock()  # Streamlit sessions are threads: keep "one object per key" true


@functools.lru_cache(maxsize=256)
def _build(key: str, values: ParamValues) -> Surface:
    return _entry(key).build(**dict(values))


def get(key: str, **params: float) -> Surface:
    """The catalog surface `key` with the given parameters (defaults for the rest).

    Returns the same object for the same (key, parameter values), so fn identity is stable
    and every jit cache keyed on fn is reused across Streamlit reruns.
    """
    values = _resolve(key, params)
    with _BUILD_LOCK:
        return _build(key, values)
