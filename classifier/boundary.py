"""Class probabilities on a grid of raw 2-D coordinates, for decision-boundary plots."""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from classifier.datasets import Dataset
from classifier.losses import predicted_class
from classifier.model import Params, forward, predict_proba

MAX_RESOLUTION = 300


@partial(jax.jit, static_argnames=("activation", "loss", "n_classes"))
def _proba(params: Params, x: jax.Array, activation: str, loss: str, n_classes: int) -> jax.Array:
    if loss == "index":  # one number, not probabilities: the nearest class gets 1
        return jax.nn.one_hot(predicted_class(forward(params, x, activation), loss, n_classes), n_classes)
    return predict_proba(params, x, activation)


def probability_grid(
    params: Params,
    data: Dataset,
    activation: str,
    resolution: int = 120,
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
    loss: str = "cross_entropy",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs (R,), ys (R,), probs (R, R, n_classes)) with probs[i, j] at (xs[j], ys[i]).

    The grid is in raw coordinates (what the page plots); the network sees them through
    the data set's own transform (the training statistics when normalised). With the
    index loss the "probabilities" are 1 for the nearest class number and 0 elsewhere.
    """
    resolution = int(np.clip(resolution, 2, MAX_RESOLUTION))
    (x0, x1), (y0, y1) = bounds if bounds is not None else data.bounds()
    xs = np.linspace(x0, x1, resolution, dtype=np.float32)
    ys = np.linspace(y0, y1, resolution, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    points = data.transform(np.stack([gx.ravel(), gy.ravel()], axis=1))
    params = jax.tree.map(jnp.asarray, params)
    probs = np.asarray(_proba(params, jnp.asarray(points), activation, loss, int(data.n_classes)))
    return xs, ys, probs.reshape(resolution, resolution, -1)
