"""Local calculus of a 2-D surface in float64: gradient, Hessian, eigen-decomposition,
second-order classification and the quadratic (second-order Taylor) model.

Pages run their optimizers in float32, but the questions asked here ("is this a saddle?",
"how curved is it?") need float64: a float32 Hessian has only ~7 significant digits, so a
small eigenvalue next to a large one is noise. Every function below therefore evaluates the
surface's jax.numpy code with float64 inputs inside a *thread-local* ``jax.enable_x64``
context (Streamlit runs each session in its own thread; the global flag is never touched).

The jitted kernels are cached per fn in a bounded LRU, so a page that asks for the Hessian
on every rerun pays the compile once and then ~10 microseconds per call.
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple, Union

import jax
import jax.numpy as jnp
import numpy as np

from surfaces.base import Surface
from surfaces.jitcache import uncached_for

Fn = Callable[[jax.Array], jax.Array]
SurfaceOrFn = Union[Surface, Fn]

MINIMUM = "minimum"
MAXIMUM = "maximum"
SADDLE = "saddle"
DEGENERATE = "degenerate"
KINDS = (MINIMUM, SADDLE, DEGENERATE, MAXIMUM)

# An eigenvalue counts as zero when |lambda| <= RTOL * max|lambda| + ATOL. The relative part
# is ~1e10 times float64 epsilon, far above the rounding error of an AD Hessian, yet any
# Hessian with condition number beyond 1e6 is degenerate for every practical (float32)
# optimizer. The absolute floor catches the all-zero Hessian, where a relative test is void.
RTOL = 1e-6
ATOL = 1e-9


def as_fn(surface_or_fn: SurfaceOrFn) -> Fn:
    """The scalar function p -> f(p) of a Surface, or the function itself."""
    return surface_or_fn.fn if isinstance(surface_or_fn, Surface) else surface_or_fn


def as_point64(p: object) -> np.ndarray:
    """Any 2-vector (tuple, list, NumPy or JAX array) as a float64 NumPy array of shape (2,)."""
    q = np.asarray(p, dtype=np.float64).reshape(-1)
    if q.shape != (2,):
        raise ValueError(f"expected a point with 2 coordinates, got shape {np.shape(p)}")
    return q


class _Kernels(NamedTuple):
    value: Callable[[jax.Array], jax.Array]
    grad: Callable[[jax.Array], jax.Array]
    jet: Callable[[jax.Array], tuple[jax.Array, jax.Array, jax.Array]]  # (f, grad f, Hessian)


@functools.lru_cache(maxsize=64)
def kernels(fn: Fn) -> _Kernels:
    """Jitted value / gradient / jet of fn, one set per fn object (bounded cache); a user
    formula's are kept out of the persistent compilation cache.

    The Hessian has no program of its own: `hessian` reads it from the jet, which
    critical_points compiles anyway. A separate Hessian program was a second compile of
    the same code, 0.1-0.6 s of every new formula's cost (surfaces/cost.py).
    """

    def jet(p: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        value, grad = jax.value_and_grad(fn)(p)
        return value, grad, jax.hessian(fn)(p)

    return _Kernels(
        value=uncached_for(fn, jax.jit(fn)),
        grad=uncached_for(fn, jax.jit(jax.grad(fn))),
        jet=uncached_for(fn, jax.jit(jet)),
    )


def value(surface_or_fn: SurfaceOrFn, p: object) -> float:
    """f(p) evaluated in float64."""
    k = kernels(as_fn(surface_or_fn))
    with jax.enable_x64(True):
        return float(k.value(as_point64(p)))


def gradient(surface_or_fn: SurfaceOrFn, p: object) -> np.ndarray:
    """grad f(p) = (df/dx, df/dy), float64 array of shape (2,)."""
    k = kernels(as_fn(surface_or_fn))
    with jax.enable_x64(True):
        return np.asarray(k.grad(as_point64(p)), dtype=np.float64)


def hessian(surface_or_fn: SurfaceOrFn, p: object) -> np.ndarray:
    """H_ij = d^2 f / dp_i dp_j at p, float64 (2, 2), symmetrised (H + H^T) / 2.

    Forward-over-reverse AD gives H up to rounding, so symmetrising only removes
    last-bit asymmetry; it makes the eigen-decomposition well defined.
    """
    return jet(surface_or_fn, p)[2]


def jet(surface_or_fn: SurfaceOrFn, p: object) -> tuple[float, np.ndarray, np.ndarray]:
    """(f(p), grad f(p), Hessian(p)) in one compiled call, float64."""
    k = kernels(as_fn(surface_or_fn))
    with jax.enable_x64(True):
        f, g, h = k.jet(as_point64(p))
    h = np.asarray(h, dtype=np.float64)
    return float(f), np.asarray(g, dtype=np.float64), 0.5 * (h + h.T)


def eigen(surface_or_fn: SurfaceOrFn, p: object) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of the Hessian at p.

    Returns (lam, V) with H V[:, i] = lam[i] V[:, i] and V orthonormal. lam[0] is the
    curvature along the flattest (or most negative) direction V[:, 0].
    """
    lam, vecs = np.linalg.eigh(hessian(surface_or_fn, p))
    return lam, vecs


def classify_eigenvalues(lam: object, rtol: float = RTOL, atol: float = ATOL) -> str:
    """Second-order verdict from the two Hessian eigenvalues; see `classify`."""
    lam = np.asarray(lam, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(lam)):
        return DEGENERATE
    zero = rtol * float(np.max(np.abs(lam))) + atol
    nonzero = lam[np.abs(lam) > zero]
    # Nonzero eigenvalues of both signs make a saddle whatever the zero ones do.
    if np.any(nonzero > 0) and np.any(nonzero < 0):
        return SADDLE
    if nonzero.size < lam.size:  # a zero eigenvalue, every nonzero one of one sign: undecided
        return DEGENERATE
    return MINIMUM if np.all(lam > 0) else MAXIMUM


def classify(
    surface_or_fn: SurfaceOrFn, p: object, tol: float = RTOL, atol: float = ATOL
) -> str:
    """Second-derivative test at p: "minimum", "maximum", "saddle" or "degenerate".

    With Hessian eigenvalues lam_1 <= lam_2: both > 0 is a minimum, both < 0 a maximum,
    opposite signs a saddle. In general nonzero eigenvalues of both signs make a saddle
    whatever the zero ones do; the test is inconclusive ("degenerate": H is singular)
    only when some eigenvalue is zero and every nonzero one has the same sign. In 2-D
    that is any zero eigenvalue: the monkey saddle x^3 - 3xy^2 at the origin (H = 0), or
    the flat line of f = x^2 (H singular, not zero).

    "Zero" cannot mean exactly zero: the Hessian is computed in floating point, so a true
    zero eigenvalue comes out as +-1e-16 times the size of the terms. An eigenvalue counts
    as zero when |lam| <= tol * max(|lam_1|, |lam_2|) + atol: relative to the largest
    curvature at p (scale-free, so multiplying f by 1000 changes nothing), plus an
    absolute floor for the case where both eigenvalues are (numerically) zero.

    The test describes the local shape at any p, but it is a statement about a critical
    point only where grad f(p) = 0 (see `is_critical`).
    """
    lam = np.linalg.eigvalsh(hessian(surface_or_fn, p))
    return classify_eigenvalues(lam, tol, atol)


def is_critical(surface_or_fn: SurfaceOrFn, p: object, tol: float = 1e-6) -> bool:
    """True when |grad f(p)| <= tol (Euclidean norm, float64).

    The tolerance is absolute: a float64 gradient at a true critical point of a catalog
    surface is ~1e-12 or smaller, while a point 1e-6 away has |grad f| ~ 1e-6 * |H|.
    """
    g = gradient(surface_or_fn, p)
    return bool(np.all(np.isfinite(g)) and np.linalg.norm(g) <= tol)


class Taylor2(NamedTuple):
    """Second-order Taylor model of f about `center`:

        q(x) = f(c) + g . (x - c) + 1/2 (x - c)^T H (x - c),   g = grad f(c), H = Hessian(c).

    Calling the model evaluates q; it accepts x of shape (2,) or (..., 2), NumPy or JAX
    (it is written in jax.numpy, so it can be traced, gridded and differentiated like any
    surface fn). Coefficients are stored in float64 NumPy.
    """

    center: np.ndarray
    value: float
    grad: np.ndarray
    hessian: np.ndarray

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.result_type(float))
        d = x - jnp.asarray(self.center, dtype=x.dtype)
        g = jnp.asarray(self.grad, dtype=x.dtype)
        h = jnp.asarray(self.hessian, dtype=x.dtype)
        return (
            jnp.asarray(self.value, dtype=x.dtype)
            + d @ g
            + 0.5 * jnp.einsum("...i,ij,...j->...", d, h, d)
        )

    def newton_step(self) -> np.ndarray:
        """The stationary point of q minus the center, -H^{-1} g (least-squares if H is singular)."""
        return -np.linalg.lstsq(self.hessian, self.grad, rcond=None)[0]


def taylor2(surface_or_fn: SurfaceOrFn, p: object) -> Taylor2:
    """The second-order Taylor model q of f about p (callable: q(x)); see `Taylor2`."""
    f, g, h = jet(surface_or_fn, p)
    return Taylor2(center=as_point64(p), value=f, grad=g, hessian=h)
