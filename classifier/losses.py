r"""Losses of the classifier, averaged over examples, and the L2 penalty.

With logits :math:`z_i`, probabilities :math:`p_i = \mathrm{softmax}(z_i)`, one-hot
targets :math:`y_i` and example weights :math:`m_i` (1, or 0 for padding in a short
last mini-batch):

* cross_entropy: :math:`\frac{\sum_i m_i\,(-\log p_{i, y_i})}{\sum_i m_i}`
  (computed with log-softmax, so it stays finite for large logits);
* mse: :math:`\frac{\sum_i m_i \sum_k (p_{ik} - y_{ik})^2}{\sum_i m_i}`, squared error
  of the softmax output against the one-hot target, summed over classes.
* index: :math:`\frac{\sum_i m_i (z_i - (y_i + 1))^2}{\sum_i m_i}`, regression of ONE
  output on the class number 1, 2, ..., K; the predicted class is the nearest number,
  clip(round(z), 1, K). It tells the network that class 1 is nearer to 2 than to 3, which
  the labels never said (the notes' point for one-hot targets).

The L2 penalty is :math:`\frac{\lambda}{2} \sum_l \|W_l\|_F^2` on the weights only
(biases are not decayed), so its gradient with respect to a weight is :math:`\lambda W`.
The training objective is data loss + penalty; curves report the data loss alone, so
train and test losses are comparable.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from classifier.model import Params, forward

LOSSES = ("cross_entropy", "mse", "index")
LOSS_TITLES = {"cross_entropy": "softmax cross-entropy", "mse": "MSE on softmax vs one-hot",
               "index": "MSE on the class index"}


def n_outputs(loss: str, n_classes: int) -> int:
    """Output units: one per class, or one number for the class index."""
    return 1 if loss == "index" else n_classes


def predicted_class(logits: jax.Array, loss: str = "cross_entropy", n_classes: int | None = None) -> jax.Array:
    """argmax of the outputs, or for the index loss the nearest class number (0-based)."""
    if loss == "index":
        top = (n_classes or 2) - 1
        return jnp.clip(jnp.round(logits[:, 0]) - 1, 0, top).astype(jnp.int32)
    return jnp.argmax(logits, axis=-1)


def per_example(logits: jax.Array, y: jax.Array, loss: str) -> jax.Array:
    """Loss of each example, shape (n,)."""
    if loss == "cross_entropy":
        logp = jax.nn.log_softmax(logits, axis=-1)
        return -jnp.take_along_axis(logp, y[:, None], axis=-1)[:, 0]
    if loss == "mse":
        p = jax.nn.softmax(logits, axis=-1)
        onehot = jax.nn.one_hot(y, logits.shape[-1], dtype=p.dtype)
        return jnp.sum((p - onehot) ** 2, axis=-1)
    if loss == "index":
        return (logits[:, 0] - (y + 1).astype(logits.dtype)) ** 2
    raise ValueError(f"unknown loss {loss!r}; one of {LOSSES}")


def mean_loss(logits: jax.Array, y: jax.Array, loss: str, weights: jax.Array | None = None) -> jax.Array:
    """Weighted mean of the per-example loss (weights None: plain mean)."""
    values = per_example(logits, y, loss)
    if weights is None:
        return jnp.mean(values)
    return jnp.sum(weights * values) / jnp.maximum(jnp.sum(weights), 1.0)


def l2_penalty(params: Params, l2: jax.Array | float) -> jax.Array:
    """lambda/2 * sum of squared weights (biases excluded)."""
    return 0.5 * l2 * sum(jnp.sum(layer["w"] ** 2) for layer in params)


def accuracy(logits: jax.Array, y: jax.Array, loss: str = "cross_entropy", n_classes: int | None = None) -> jax.Array:
    return jnp.mean((predicted_class(logits, loss, n_classes) == y).astype(jnp.float32))


def objective(
    params: Params,
    x: jax.Array,
    y: jax.Array,
    activation: str,
    loss: str,
    l2: jax.Array | float = 0.0,
) -> jax.Array:
    """Deterministic training objective (no dropout): data loss + L2 penalty.
    This is the function whose gradient is checked and whose Hessian gives the sharpness."""
    return mean_loss(forward(params, x, activation), y, loss) + l2_penalty(params, l2)
