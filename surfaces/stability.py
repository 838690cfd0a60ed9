"""Curvature and the step size: how the Hessian bounds gradient descent, and how fast a
run contracts (Newton's method and f along a line are in surfaces/local.py).

Near a minimum p* with Hessian H = V diag(lambda) V^T, gradient descent p <- p - eta grad f
acts on the error e_k = p_k - p* as (to first order, exactly on a quadratic)

    e_{k+1} = (I - eta H) e_k,   so   (v_i . e_{k+1}) = (1 - eta lambda_i) (v_i . e_k).

Each eigen-direction is scaled by 1 - eta lambda_i per step: the run is stable iff
|1 - eta lambda_i| < 1 for every i, i.e. 0 < eta < 2 / lambda_max, it oscillates along v_i
when eta lambda_i > 1, and the distance ratio ||e_{k+1}|| / ||e_k|| tends to
max_i |1 - eta lambda_i| (the slowest-shrinking component takes over) when the start has a
component along that direction.

Everything that asks "what is the curvature" runs in float64 (thread-local
``jax.enable_x64``, as in surfaces.curvature); jitted kernels are cached per fn.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from surfaces.curvature import as_point64

FLOAT32_EPS = float(np.finfo(np.float32).eps)


# ---------------------------------------------------------------------------------------
# The stable step and the contraction factors


def stable_step(eigenvalues: Sequence[float]) -> float:
    """2 / lambda_max: gradient descent on a quadratic with these Hessian eigenvalues is
    stable iff 0 < eta < 2 / lambda_max. ValueError if lambda_max is not positive and finite
    (no curvature bounds the step at a maximum, a flat point or a non-smooth one)."""
    lam = np.asarray(eigenvalues, dtype=np.float64).reshape(-1)
    if lam.size == 0 or not np.all(np.isfinite(lam)):
        raise ValueError("eigenvalues must be finite")
    top = float(np.max(lam))
    if top <= 0:
        raise ValueError(f"lambda_max = {top:g} is not positive: no step size bound from curvature")
    return 2.0 / top


def contraction_factors(eta: float, eigenvalues: Sequence[float]) -> np.ndarray:
    """|1 - eta lambda_i| per eigen-direction: the factor by which one GD step scales the
    error component along v_i (exactly, on a quadratic)."""
    return np.abs(1.0 - float(eta) * np.asarray(eigenvalues, dtype=np.float64))


def predicted_ratio(eta: float, eigenvalues: Sequence[float]) -> float:
    """max_i |1 - eta lambda_i|: the long-run ratio of successive distances to p*."""
    return float(np.max(contraction_factors(eta, eigenvalues)))


def offset_start(
    p_star: Sequence[float], eigenvectors: np.ndarray, radius: float, mix: tuple[float, float] = (0.6, 0.8)
) -> np.ndarray:
    """p* + radius (mix_0 v_1 + mix_1 v_2), with mix normalised to length 1: a start near
    p* with a component along every eigen-direction (columns of eigenvectors)."""
    w = np.asarray(mix, dtype=np.float64)
    w = w / np.linalg.norm(w)
    return as_point64(p_star) + float(radius) * (np.asarray(eigenvectors, dtype=np.float64) @ w)


def distance_ratios(points: np.ndarray, p_star: Sequence[float]) -> np.ndarray:
    """r_k = ||p_{k+1} - p*|| / ||p_k - p*|| for k = 0..N-1 (NaN where either point is not
    finite or ||p_k - p*|| = 0)."""
    d = np.linalg.norm(np.asarray(points, dtype=np.float64) - as_point64(p_star), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = d[1:] / d[:-1]
    return np.where(np.isfinite(r) & (d[:-1] > 0), r, np.nan)


def ratio_window(
    points: np.ndarray, p_star: Sequence[float], burn_in: int, floor: float, ceiling: float = np.inf
) -> np.ndarray:
    """Boolean mask over the ratios r_k that measure the contraction: k >= burn_in (the
    faster components have died out), both distances above ``floor`` (float32 paths end in
    rounding noise near p*), and no distance up to step k+1 at or beyond ``ceiling`` (far
    from p* f is no longer its quadratic model, and what a run does after leaving that
    region says nothing about the factors, even if it comes back)."""
    d = np.linalg.norm(np.asarray(points, dtype=np.float64) - as_point64(p_star), axis=1)
    k = np.arange(len(d) - 1)
    with np.errstate(invalid="ignore"):
        left = np.maximum.accumulate(~np.isfinite(d) | (d >= ceiling))
        ok = ~left & (d > floor)
    return (k >= burn_in) & ok[1:] & ok[:-1]


def burn_in_for(factors: Sequence[float], share: float = 0.03, cap: int = 50) -> int:
    """Steps until the error components other than the slowest-shrinking one have fallen
    to ``share`` of it relative to the start: k = ceil(log(share) / log(f_other / f_max)),
    at most ``cap`` (near-equal factors need no burn-in to speak of: the ratio is already
    between them). 0 when all factors are equal, 1 when the other factor is 0.

    With a share s left, ||e|| = A a^k sqrt(1 + s^2), so the distance ratio is off from
    a = f_max by at most ~ s^2 / 2: 0.03 gives < 5e-4 (from a start with equal shares)."""
    f = np.sort(np.abs(np.asarray(factors, dtype=np.float64).reshape(-1)))
    if f.size < 2 or not np.all(np.isfinite(f)) or f[-1] == 0:
        return 0
    q = float(f[-2] / f[-1])
    if q >= 1.0 - 1e-12:
        return 0
    if q == 0.0:
        return 1
    return int(min(cap, math.ceil(math.log(share) / math.log(q))))


def measured_ratio(
    points: np.ndarray,
    p_star: Sequence[float],
    burn_in: int = 10,
    floor: float = 0.0,
    ceiling: float = np.inf,
    min_count: int = 3,
) -> float:
    """Median of the distance ratios r_k inside `ratio_window`; NaN if fewer than
    min_count ratios qualify. The median shrugs off the odd step where rounding or the
    last good step before divergence spoils one ratio."""
    r = distance_ratios(points, p_star)
    ok = ratio_window(points, p_star, burn_in, floor, ceiling) & np.isfinite(r)
    if int(ok.sum()) < min_count:
        return float("nan")
    return float(np.median(r[ok]))


def default_floor(p_star: Sequence[float], radius: float) -> float:
    """Distances below this are not measured: 1e-3 of the start offset, and never below
    1000 float32 ulps of p* (a float32 path cannot resolve finer)."""
    scale = float(np.max(np.abs(as_point64(p_star))))
    return max(1e-3 * float(radius), 1e3 * FLOAT32_EPS * scale)


def two_cycle(points: np.ndarray, rtol: float = 1e-3) -> float | None:
    """The distance between the two points a run ends up bouncing between, or None.

    A step size too large for p* but not for the surface further out can end in a period-2
    orbit: p_N ~ p_{N-2} while p_N and p_{N-1} stay apart."""
    p = np.asarray(points, dtype=np.float64)
    p = p[np.all(np.isfinite(p), axis=1)]
    if len(p) < 6:
        return None
    hop = float(np.linalg.norm(p[-1] - p[-2]))
    back = max(float(np.linalg.norm(p[-1] - p[-3])), float(np.linalg.norm(p[-2] - p[-4])))
    return hop if hop > 0 and back <= rtol * hop else None


def oscillates(points: np.ndarray, p_star: Sequence[float], direction: Sequence[float], burn_in: int = 0) -> bool:
    """True when the error component along ``direction`` flips sign on most steps (the
    factor 1 - eta lambda along it is negative)."""
    e = (np.asarray(points, dtype=np.float64) - as_point64(p_star)) @ np.asarray(direction, dtype=np.float64)
    e = e[burn_in:]
    e = e[np.isfinite(e) & (e != 0)]
    if e.size < 3:
        return False
    flips = np.sign(e[1:]) != np.sign(e[:-1])
    return bool(flips.mean() > 0.5)
