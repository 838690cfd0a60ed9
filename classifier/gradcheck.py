r"""Gradient check: back-propagation against central finite differences, in float64.

For a coordinate :math:`\theta_i` the numerical derivative is

.. math:: g^{num}_i = \frac{J(\theta + \epsilon e_i) - J(\theta - \epsilon e_i)}{2 \epsilon}

with error :math:`O(\epsilon^2)` from truncation and :math:`O(u J / \epsilon)` from
rounding (u the machine epsilon). In float32 (u ~ 1e-7) the two cannot both be small,
so the check runs in float64 (u ~ 1e-16), inside a ``jax.enable_x64`` context only.

J is the deterministic objective (data loss + L2, no dropout) on the given data. Per
layer l (its W and b together, over the checked coordinates S_l):

.. math:: r_l = \frac{\|g^{a}_{S_l} - g^{num}_{S_l}\|}{\|g^{a}_{S_l}\| + \|g^{num}_{S_l}\|}

(0 when both gradients vanish). Rules of thumb: r < 1e-7 correct; r > 1e-2 a bug
(or a ReLU kink crossed by the perturbation).

Checking every coordinate costs 2 forward passes each, so large layers are sampled:
``max_coords_per_layer`` random coordinates per layer (None: all), and J is taken on
the first ``max_examples`` points (None: all). The check is about the derivative code,
which any data exercises; a 4 x 64 network on 3,500 points would take seconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from classifier.losses import objective
from classifier.model import Params, layer_names


@dataclass(frozen=True)
class GradCheckResult:
    layer_names: tuple[str, ...]
    rel_errors: np.ndarray  # (n_layers,)
    analytic_norms: np.ndarray  # (n_layers,) over the checked coordinates
    numeric_norms: np.ndarray
    n_checked: np.ndarray  # (n_layers,) coordinates checked per layer
    eps: float

    def passed(self, tol: float = 1e-6) -> bool:
        return bool(np.all(self.rel_errors < tol))


BATCH = 32  # perturbed copies of the network evaluated at once


@partial(jax.jit, static_argnames=("activation", "loss", "batch_size"))
def _gradients(params, idx, x, y, l2, eps, *, activation: str, loss: str, batch_size: int = BATCH):
    """Analytic gradient at the coordinates idx and their central differences. idx holds
    whole batches (``padded``): a remainder would compile the batch's body a second time
    (8 x 64 ReLU: 1.9 s of compile for 126 coordinates, 1.0 s for 128)."""
    flat, unravel = ravel_pytree(params)

    def j(theta):
        return objective(unravel(theta), x, y, activation, loss, l2)

    analytic = jax.grad(j)(flat)[idx]

    def central(i):
        return (j(flat.at[i].add(eps)) - j(flat.at[i].add(-eps))) / (2.0 * eps)

    numeric = jax.lax.map(central, idx, batch_size=batch_size)
    return analytic, numeric


def padded(idx: np.ndarray, batch: int = BATCH) -> np.ndarray:
    """idx with its last coordinate repeated up to a whole number of batches."""
    return np.concatenate([idx, np.full(-idx.size % batch, idx[-1], idx.dtype)])


def _layer_of_coordinate(params: Params) -> np.ndarray:
    """For each coordinate of ravel_pytree(params), the index of its layer."""
    marks = [{k: np.full(np.shape(v), i, np.float64) for k, v in layer.items()} for i, layer in enumerate(params)]
    flat, _ = ravel_pytree(marks)
    return np.asarray(flat).astype(np.int64)


def gradient_check(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    activation: str,
    loss: str = "cross_entropy",
    l2: float = 0.0,
    eps: float = 1e-6,
    max_coords_per_layer: int | None = 64,
    max_examples: int | None = 512,
    seed: int = 0,
) -> GradCheckResult:
    """Relative error per layer of the analytic gradient, in float64 (see module doc)."""
    if max_examples is not None:
        x, y = np.asarray(x)[:max_examples], np.asarray(y)[:max_examples]
    layer_of = _layer_of_coordinate(params)
    n_layers = len(params)
    rng = np.random.default_rng(seed)
    chosen: list[np.ndarray] = []
    for l in range(n_layers):
        coords = np.flatnonzero(layer_of == l)
        if max_coords_per_layer is not None and coords.size > max_coords_per_layer:
            coords = np.sort(rng.choice(coords, max_coords_per_layer, replace=False))
        chosen.append(coords)
    idx = np.concatenate(chosen)
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(np.asarray(a), jnp.float64), params)
        analytic, numeric = _gradients(
            p64,
            jnp.asarray(padded(idx)),
            jnp.asarray(np.asarray(x), jnp.float64),
            jnp.asarray(np.asarray(y), jnp.int32),
            jnp.asarray(l2, jnp.float64),
            jnp.asarray(eps, jnp.float64),
            activation=activation,
            loss=loss,
        )
        analytic, numeric = np.asarray(analytic)[: idx.size], np.asarray(numeric)[: idx.size]
    bounds = np.cumsum([0] + [c.size for c in chosen])
    rel, na, nn = [], [], []
    for l in range(n_layers):
        a, n = analytic[bounds[l] : bounds[l + 1]], numeric[bounds[l] : bounds[l + 1]]
        denom = np.linalg.norm(a) + np.linalg.norm(n)
        rel.append(np.linalg.norm(a - n) / denom if denom > 0 else 0.0)
        na.append(np.linalg.norm(a))
        nn.append(np.linalg.norm(n))
    return GradCheckResult(
        layer_names=tuple(layer_names(n_layers)),
        rel_errors=np.asarray(rel),
        analytic_norms=np.asarray(na),
        numeric_norms=np.asarray(nn),
        n_checked=np.asarray([c.size for c in chosen]),
        eps=float(eps),
    )
