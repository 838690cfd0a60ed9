"""Evaluate a surface on a regular grid, for contour and 3-D surface plots."""
from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from surfaces.base import Surface
from surfaces.curvature import Fn, SurfaceOrFn, as_fn
from surfaces.jitcache import uncached_for


@functools.lru_cache(maxsize=64)
def _grid_kernel(fn: Fn) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """Jitted Z[i, j] = fn((xs[j], ys[i])) with non-finite values replaced by NaN.

    Coordinates are traced arrays, so one compilation serves every domain of a given
    resolution n (a new n compiles once more; pages use a few fixed sizes).
    """

    def at(x: jax.Array, y: jax.Array) -> jax.Array:
        z = fn(jnp.stack([x, y]))
        return jnp.where(jnp.isfinite(z), z, jnp.nan)

    row = jax.vmap(at, in_axes=(0, None))  # varies x along a row
    return uncached_for(fn, jax.jit(jax.vmap(row, in_axes=(None, 0))))  # one row per y


def evaluate_grid(
    surface_or_fn: SurfaceOrFn, domain: object | None = None, n: int = 121
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, ys, Z) with xs, ys = n evenly spaced points spanning the domain (ends included)
    and Z[i, j] = f(xs[j], ys[i]) - rows follow y, the layout Plotly's contour and surface
    traces expect. Everything is float32 NumPy (the precision pages compute in);
    +-inf and NaN values come back as NaN so that charts can mask them.
    """
    if domain is None:
        if not isinstance(surface_or_fn, Surface):
            raise ValueError("evaluate_grid(fn) needs a domain; a Surface carries its own")
        domain = surface_or_fn.domain
    (x0, x1), (y0, y1) = domain  # type: ignore[misc]
    n = int(n)
    if n < 2:
        raise ValueError("a grid needs n >= 2")
    xs = np.linspace(float(x0), float(x1), n).astype(np.float32)
    ys = np.linspace(float(y0), float(y1), n).astype(np.float32)
    z = _grid_kernel(as_fn(surface_or_fn))(xs, ys)
    return xs, ys, np.asarray(z, dtype=np.float32)
