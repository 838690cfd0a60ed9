"""All critical points of a 2-D surface inside a rectangle, found by Newton's method.

Critical points solve grad f(p) = 0. Newton's method on that system,

    p <- p - H(p)^{-1} grad f(p),

converges to *any* nearby critical point (minimum, saddle or maximum alike; it is
attracted by zeros of the gradient, not by low values of f), quadratically where H is
invertible and linearly at degenerate points such as the monkey saddle. Starting it from
a dense grid of seeds therefore finds every critical point whose basin holds a seed.

Guards, so that a bad seed wanders off instead of blowing up:
- H^{-1} is applied through the closed-form eigen-decomposition of the symmetric 2x2 H,
  so a zero eigenvalue only affects its own direction;
- each step, and each of its two eigen-components, is capped at a trust radius (a quarter
  of the domain diagonal);
- iterates are clipped to the domain grown by its own size on every side.

A seed counts as converged when its last Newton step is below 1e-8 of the domain
diagonal and |grad f| there is below 1e-6 of the typical (median) slope at the seeds. The double
test rejects far-out "flat" points of plateau-like surfaces, where grad f is tiny but the
Newton step (grad f / curvature) is not. Converged points inside the domain are
deduplicated (1e-6 of the diagonal), classified from their float64 Hessian eigenvalues and
sorted minima first (by value), then saddles, degenerate points and maxima.

Everything runs in float64 (thread-local ``jax.enable_x64``), vmapped over seeds and
jitted once per fn (bounded cache); results are cached per (surface, domain, seeds).
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from surfaces.base import Surface
from surfaces.curvature import KINDS, Fn, as_fn, classify_eigenvalues, kernels
from surfaces.jitcache import uncached_for

SurfaceOrFn = Union[Surface, Fn]
Domain = tuple[tuple[float, float], tuple[float, float]]

NEWTON_ITERATIONS = 120  # enough for linear convergence at degenerate points (rate (m-1)/m)
TRUST_FRACTION = 0.25  # step cap, as a fraction of the domain diagonal
STEP_TOL = 1e-8  # converged when the last Newton step < STEP_TOL * diagonal
GRAD_TOL = 1e-6  # ... and |grad f| < GRAD_TOL * median |grad f| over the seeds
MERGE_TOL = 1e-6  # points closer than MERGE_TOL * diagonal are one critical point
DEFAULT_SEEDS = 48  # seeds per axis


class CriticalPoint(NamedTuple):
    """A point where grad f = 0, with f there, the Hessian eigenvalues (ascending) and the
    second-order verdict ("minimum", "saddle", "degenerate" or "maximum")."""

    point: tuple[float, float]
    value: float
    eigenvalues: tuple[float, float]
    kind: str


def _sym2_newton_step(g: jax.Array, h: jax.Array, radius: jax.Array) -> jax.Array:
    """-H^{-1} g for a symmetric 2x2 H via its closed-form eigen-decomposition, each
    eigen-component capped at radius (then the caller caps the whole step).

    With a = H00, b = H01, c = H11: lambda_{+-} = m +- r, m = (a + c)/2,
    r = hypot((a - c)/2, b); the lambda_+ eigenvector is at angle atan2(2b, a - c)/2.
    The eigenvalue of larger magnitude is formed without cancellation and the other as
    det(H) / that one, so a small eigenvalue next to a large one keeps its digits; that
    matters at degenerate points (x^6 + y^2), where the Newton step along the flat
    direction is the ratio of two tiny numbers and must stay exact to keep converging.
    """
    a, b, c = h[0, 0], 0.5 * (h[0, 1] + h[1, 0]), h[1, 1]
    m = 0.5 * (a + c)
    r = jnp.hypot(0.5 * (a - c), b)
    det = a * c - b * b
    big = jnp.where(m >= 0, m + r, m - r)
    small = jnp.where(big != 0, det / jnp.where(big != 0, big, 1.0), 0.0)
    lam_plus = jnp.where(m >= 0, big, small)
    lam_minus = jnp.where(m >= 0, small, big)
    theta = 0.5 * jnp.arctan2(2.0 * b, a - c)
    v_plus = jnp.stack([jnp.cos(theta), jnp.sin(theta)])
    v_minus = jnp.stack([-jnp.sin(theta), jnp.cos(theta)])

    def component(v: jax.Array, lam: jax.Array) -> jax.Array:
        # A zero eigenvalue gives +-inf (or 0 where g is orthogonal to v); the clip turns an
        # infinite Newton step into a trust-radius step downhill-or-uphill along v.
        safe = jnp.where(lam == 0, 1e-300, lam)
        return jnp.clip(-(v @ g) / safe, -radius, radius) * v

    return component(v_plus, lam_plus) + component(v_minus, lam_minus)


@functools.lru_cache(maxsize=32)
def _newton_kernel(fn: Fn) -> Callable[..., tuple[jax.Array, ...]]:
    """Jitted, seed-vmapped Newton solver for grad fn = 0 (one per fn, bounded cache).

    Returns, per seed: the final iterate, the length of the last step taken, |grad f| at the
    last-but-one iterate (where that step was computed) and |grad f| at the seed. The loop
    body holds the only copy of the gradient and Hessian code, which keeps compile time low.
    """
    grad = jax.grad(fn)
    hess = jax.hessian(fn)

    def solve_one(
        seed: jax.Array, box_lo: jax.Array, box_hi: jax.Array, radius: jax.Array, iters: jax.Array
    ) -> tuple[jax.Array, ...]:
        def body(i: jax.Array, carry: tuple[jax.Array, ...]) -> tuple[jax.Array, ...]:
            x, _, _, g_seed = carry
            g = grad(x)
            dx = _sym2_newton_step(g, hess(x), radius)
            norm = jnp.linalg.norm(dx)
            dx = dx * jnp.minimum(1.0, radius / jnp.where(norm > 0, norm, 1.0))
            g_norm = jnp.linalg.norm(g)
            g_seed = jnp.where(i == 0, g_norm, g_seed)
            return jnp.clip(x + dx, box_lo, box_hi), jnp.linalg.norm(dx), g_norm, g_seed

        zero = jnp.zeros((), seed.dtype)
        return jax.lax.fori_loop(0, iters, body, (seed, zero, zero, zero))

    return uncached_for(fn, jax.jit(jax.vmap(solve_one, in_axes=(0, None, None, None, None))))


def _normalize_domain(domain: object) -> Domain:
    (x0, x1), (y0, y1) = domain  # type: ignore[misc]
    d = ((float(x0), float(x1)), (float(y0), float(y1)))
    if not (d[0][0] < d[0][1] and d[1][0] < d[1][1]):
        raise ValueError(f"domain must be ((x_min, x_max), (y_min, y_max)) with min < max: {domain}")
    return d


def seed_grid(domain: Domain, n: int) -> np.ndarray:
    """n x n seeds at the cell centres of the domain, float64 of shape (n*n, 2)."""
    (x0, x1), (y0, y1) = domain
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


_KIND_RANK = {k: i for i, k in enumerate(KINDS)}


def _solve(fn: Fn, domain: Domain, seeds: np.ndarray, max_points: int) -> tuple[CriticalPoint, ...]:
    lo = np.array([domain[0][0], domain[1][0]])
    hi = np.array([domain[0][1], domain[1][1]])
    width = hi - lo
    diagonal = float(np.hypot(*width))
    kernel = _newton_kernel(fn)
    with jax.enable_x64(True):
        out = kernel(
            np.asarray(seeds, dtype=np.float64),
            lo - width,
            hi + width,
            np.float64(TRUST_FRACTION * diagonal),
            np.int32(NEWTON_ITERATIONS),
        )
    x, last_step, g_norm, g_seed = (np.asarray(a, dtype=np.float64) for a in out)

    finite_seed = np.isfinite(g_seed)
    slope = float(np.median(g_seed[finite_seed])) if finite_seed.any() else 0.0
    grad_tol = GRAD_TOL * slope if slope > 0 else 1e-12
    ok = (
        np.all(np.isfinite(x), axis=1)
        & np.all((x >= lo) & (x <= hi), axis=1)
        & (last_step <= STEP_TOL * diagonal)
        & (g_norm <= grad_tol)
    )
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return ()

    # Many seeds land on the same point: collapse exact-ish repeats first (cheap), then merge
    # greedily, keeping the representative with the smallest gradient.
    idx = idx[np.argsort(g_norm[idx], kind="stable")]
    merge = MERGE_TOL * diagonal
    keys = np.round(x[idx] / merge).astype(np.int64)
    _, first = np.unique(keys, axis=0, return_index=True)
    idx = idx[np.sort(first)]
    kept: list[int] = []
    for i in idx:
        if not kept or np.min(np.linalg.norm(x[kept] - x[i], axis=1)) > merge:
            kept.append(int(i))
    if len(kept) > max_points:
        kept = kept[: 4 * max_points]  # a continuum of critical points: classify a sample only

    jet = kernels(fn).jet
    points = []
    with jax.enable_x64(True):
        for i in kept:
            f, _, h = jet(x[i])
            h = np.asarray(h, dtype=np.float64)
            if not (np.isfinite(float(f)) and np.all(np.isfinite(h))):
                continue
            lam = np.linalg.eigvalsh(0.5 * (h + h.T))
            points.append(
                CriticalPoint(
                    point=(float(x[i, 0]), float(x[i, 1])),
                    value=float(f),
                    eigenvalues=(float(lam[0]), float(lam[1])),
                    kind=classify_eigenvalues(lam),
                )
            )
    points.sort(key=lambda c: (_KIND_RANK[c.kind], c.value, c.point))
    return tuple(points[:max_points])


@functools.lru_cache(maxsize=64)
def _cached(
    key: object, domain: Domain, seeds: int | tuple[tuple[float, float], ...], max_points: int
) -> tuple[CriticalPoint, ...]:
    fn = as_fn(key)  # key is the Surface (identity-hashed) or the fn itself
    grid = seed_grid(domain, seeds) if isinstance(seeds, int) else np.array(seeds, dtype=np.float64)
    return _solve(fn, domain, grid, max_points)


def critical_points(
    surface_or_fn: SurfaceOrFn,
    domain: object | None = None,
    seeds: int | Sequence[Sequence[float]] | np.ndarray = DEFAULT_SEEDS,
    max_points: int = 200,
) -> list[CriticalPoint]:
    """Every critical point of f inside `domain` (default: the surface's own domain).

    seeds is the number of Newton seeds per axis (a seeds x seeds grid of cell centres)
    or an explicit array of starting points of shape (N, 2). Surfaces with a continuum of
    critical points (f = x^2 has the whole line x = 0) yield a sample of it, truncated to
    max_points. Results are cached per (surface or fn object, domain, seeds).
    """
    if domain is None:
        if not isinstance(surface_or_fn, Surface):
            raise ValueError("critical_points(fn) needs a domain; a Surface carries its own")
        domain = surface_or_fn.domain
    dom = _normalize_domain(domain)
    if isinstance(seeds, (int, np.integer)):
        if seeds < 2:
            raise ValueError("need at least 2 seeds per axis")
        seeds_key: int | tuple[tuple[float, float], ...] = int(seeds)
    else:
        arr = np.asarray(seeds, dtype=np.float64).reshape(-1, 2)
        seeds_key = tuple((float(a), float(b)) for a, b in arr)
    return list(_cached(surface_or_fn, dom, seeds_key, int(max_points)))
