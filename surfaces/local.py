"""The local picture of a surface around a point, in float64: Newton's method, f and its
Hessian at many points at once, f along a line, and the quadratic (second-order Taylor)
model on a grid.

Newton's method p <- p - H^{-1} grad f(p) jumps to the stationary point of the local
quadratic model: on a quadratic it lands on the critical point in one step, whatever its
kind, because it solves grad f = 0 and never looks at whether f goes down.

Everything runs in float64 (thread-local ``jax.enable_x64``, as in surfaces.curvature);
jitted kernels are cached per fn.
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple, Sequence

import jax
import numpy as np

from surfaces.curvature import Fn, SurfaceOrFn, as_fn, as_point64, jet
from surfaces.jitcache import uncached_for


# ---------------------------------------------------------------------------------------
# Newton's method


class NewtonPath(NamedTuple):
    """Newton iterates (row 0: the start) and why the iteration stopped."""

    points: np.ndarray
    reason: str  # "converged" | "singular" | "not finite" | "left the box" | "steps"


def newton_path(
    surface_or_fn: SurfaceOrFn,
    start: Sequence[float],
    steps: int,
    box: tuple[tuple[float, float], tuple[float, float]] | None = None,
    rcond: float = 1e-12,
) -> NewtonPath:
    """Up to `steps` Newton steps p <- p - H(p)^{-1} grad f(p), in float64.

    Stops early when the step is below 1e-13 of the box diagonal, or the gradient is
    exactly 0 ("converged"), when H is singular (|lambda_min| <= rcond |lambda_max|: the
    step is undefined), when f, g or H is not finite, or when an iterate leaves `box`
    grown by its own size on every side.
    """
    p = as_point64(start)
    pts = [p.copy()]
    if box is not None:
        (x0, x1), (y0, y1) = box
        lo = np.array([x0 - (x1 - x0), y0 - (y1 - y0)])
        hi = np.array([x1 + (x1 - x0), y1 + (y1 - y0)])
        tiny = 1e-13 * float(np.hypot(x1 - x0, y1 - y0))
    else:
        lo, hi, tiny = np.full(2, -np.inf), np.full(2, np.inf), 0.0
    for _ in range(int(steps)):
        f, g, h = jet(surface_or_fn, p)
        if not (np.isfinite(f) and np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
            return NewtonPath(np.array(pts), "not finite")
        if not np.any(g):
            return NewtonPath(np.array(pts), "converged")
        lam = np.linalg.eigvalsh(h)
        big = float(np.max(np.abs(lam)))
        if big == 0 or float(np.min(np.abs(lam))) <= rcond * big:
            return NewtonPath(np.array(pts), "singular")
        dx = -np.linalg.solve(h, g)
        p = p + dx
        if not np.all(np.isfinite(p)):
            return NewtonPath(np.array(pts), "not finite")
        pts.append(p.copy())
        if np.any(p < lo) or np.any(p > hi):
            return NewtonPath(np.array(pts), "left the box")
        if float(np.linalg.norm(dx)) <= tiny:
            return NewtonPath(np.array(pts), "converged")
    return NewtonPath(np.array(pts), "steps")


# ---------------------------------------------------------------------------------------
# Batched float64 evaluation


class _Batch(NamedTuple):
    values: Callable[[jax.Array], jax.Array]
    hessians: Callable[[jax.Array], jax.Array]


@functools.lru_cache(maxsize=64)
def _batch_kernels(fn: Fn) -> _Batch:
    """f and its Hessian, vmapped over points of shape (n, 2), jitted once per fn."""
    return _Batch(values=uncached_for(fn, jax.jit(jax.vmap(fn))),
                  hessians=uncached_for(fn, jax.jit(jax.vmap(jax.hessian(fn)))))


def values_at(surface_or_fn: SurfaceOrFn, points: np.ndarray) -> np.ndarray:
    """f at each row of points (n, 2), float64; non-finite values come back as NaN."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    with jax.enable_x64(True):
        v = np.asarray(_batch_kernels(as_fn(surface_or_fn)).values(pts), dtype=np.float64)
    return np.where(np.isfinite(v), v, np.nan)


def hessians_at(surface_or_fn: SurfaceOrFn, points: np.ndarray) -> np.ndarray:
    """Symmetrised float64 Hessians (n, 2, 2) at each row of points (n, 2)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if pts.shape[0] == 0:
        return np.zeros((0, 2, 2))
    with jax.enable_x64(True):
        h = np.asarray(_batch_kernels(as_fn(surface_or_fn)).hessians(pts), dtype=np.float64)
    return 0.5 * (h + np.swapaxes(h, 1, 2))


def values_along(
    surface_or_fn: SurfaceOrFn, center: Sequence[float], direction: Sequence[float], ts: np.ndarray
) -> np.ndarray:
    """f(center + t direction) for each t, float64 (a 1-D slice of the surface)."""
    c, v = as_point64(center), as_point64(direction)
    return values_at(surface_or_fn, c[None, :] + np.asarray(ts, dtype=np.float64)[:, None] * v[None, :])


def quadratic_on_grid(
    center: Sequence[float], value: float, grad: Sequence[float], hessian: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> np.ndarray:
    """Q[i, j] = q(xs[j], ys[i]) for the model q(p) = f(c) + g.(p - c) + 1/2 (p - c)^T H (p - c)
    (rows follow y, like surfaces.evaluate_grid)."""
    c, g = as_point64(center), as_point64(grad)
    h = np.asarray(hessian, dtype=np.float64)
    dx = np.asarray(xs, dtype=np.float64)[None, :] - c[0]
    dy = np.asarray(ys, dtype=np.float64)[:, None] - c[1]
    return value + g[0] * dx + g[1] * dy + 0.5 * (h[0, 0] * dx**2 + 2.0 * h[0, 1] * dx * dy + h[1, 1] * dy**2)


def canonical_eigenvectors(vectors: np.ndarray) -> np.ndarray:
    """Eigenvector columns with a fixed sign (largest-magnitude entry positive; ties go to
    the first entry), so the same Hessian is drawn the same way on every rerun."""
    v = np.array(vectors, dtype=np.float64, copy=True)
    for i in range(v.shape[1]):
        j = int(np.argmax(np.abs(v[:, i]) + 1e-12 * (np.arange(v.shape[0]) == 0)))
        if v[j, i] < 0:
            v[:, i] = -v[:, i]
    return v
