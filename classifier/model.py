r"""A multilayer perceptron for 2-D points: layers, activations, initialisation, dropout.

Parameters are a list of layers, each ``{"w": (fan_in, fan_out), "b": (fan_out,)}``;
layer l computes :math:`z_l = h_{l-1} W_l + b_l` and, except for the last layer,
:math:`h_l = \sigma(z_l)`. The last layer's :math:`z` are the logits; class
probabilities are :math:`\mathrm{softmax}(z)`.

Initialisation of the weights (biases start at 0):

=========  ==============================================================
small      :math:`W_{ij} \sim N(0, 0.01^2)`
normal     :math:`W_{ij} \sim N(0, 1)`
xavier     Glorot normal, :math:`\mathrm{Var} = 2 / (\text{fan\_in} + \text{fan\_out})`
he         :math:`\mathrm{Var} = 2 / \text{fan\_in}`
=========  ==============================================================

Batch normalization (``batch_norm=True`` at init): every hidden layer also holds
``gamma`` (1), ``beta`` (0) and the running ``mean`` (0) and ``var`` (1) of its z. In
training (``forward_train``) z is normalized with the batch's own mean and (biased)
variance, :math:`\hat z = (z - \mu_B)/\sqrt{\sigma_B^2 + \epsilon}`, then
:math:`h = \sigma(\gamma \hat z + \beta)`; the batch statistics are returned so the
trainer can update the running averages (``update_running``, momentum ``BN_MOMENTUM``).
In evaluation (``forward``) the running averages take their place.

Dropout is inverted dropout on the hidden activations (never on inputs or logits):
in training each hidden unit is kept with probability 1 - p and the kept ones are
divided by 1 - p, so the expected activation is unchanged and evaluation uses the
network as it is, with no mask and no rescaling.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

MAX_HIDDEN_LAYERS = 8
MAX_WIDTH = 64
MAX_DROPOUT = 0.9
LEAKY_SLOPE = 0.01
BN_EPS = 1e-5
BN_MOMENTUM = 0.9  # running = 0.9 * running + 0.1 * batch

Params = list[dict[str, jax.Array]]
# What training moves. A batch-normalized layer also holds "mean" and "var", running
# averages of its batch statistics: not parameters, so no gradient, curvature or
# landscape direction ever includes them.
TRAINABLE = ("w", "b", "gamma", "beta")

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "leaky_relu": lambda z: jax.nn.leaky_relu(z, LEAKY_SLOPE),
}

ACTIVATION_LATEX = {
    "sigmoid": r"\sigma(z) = \frac{1}{1 + e^{-z}}",
    "tanh": r"\tanh(z)",
    "relu": r"\max(0, z)",
    "leaky_relu": r"\max(%g z, z)" % LEAKY_SLOPE,
}

INITS = ("small", "normal", "xavier", "he")


@dataclass(frozen=True)
class Architecture:
    """Layer widths and activation: what fixes the shapes of the compiled code."""

    hidden: tuple[int, ...] = (16, 16)
    activation: str = "tanh"
    n_in: int = 2
    n_out: int = 2
    batch_norm: bool = False  # each hidden layer also learns gamma and beta (its running averages are not learnt)

    def __post_init__(self) -> None:
        if len(self.hidden) > MAX_HIDDEN_LAYERS:
            raise ValueError(f"at most {MAX_HIDDEN_LAYERS} hidden layers")
        if any(not 1 <= w <= MAX_WIDTH for w in self.hidden):
            raise ValueError(f"hidden widths must be in [1, {MAX_WIDTH}]")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.n_in, *self.hidden, self.n_out)

    @property
    def n_layers(self) -> int:
        return len(self.hidden) + 1

    @property
    def n_params(self) -> int:
        s = self.sizes
        return sum(a * b + b for a, b in zip(s[:-1], s[1:])) + (2 * sum(self.hidden) if self.batch_norm else 0)

    def layer_names(self) -> list[str]:
        return layer_names(self.n_layers)


def layer_names(n_layers: int) -> list[str]:
    """'layer 1' is the first (input) layer, the last is the output layer."""
    return [f"layer {i + 1}" + (" (output)" if i == n_layers - 1 else "") for i in range(n_layers)]


def init_std(init: str, fan_in: int, fan_out: int) -> float:
    """Standard deviation of the weight distribution for an initialisation scheme."""
    if init == "small":
        return 0.01
    if init == "normal":
        return 1.0
    if init == "xavier":
        return float(np.sqrt(2.0 / (fan_in + fan_out)))
    if init == "he":
        return float(np.sqrt(2.0 / fan_in))
    raise ValueError(f"unknown init {init!r}; one of {INITS}")


def init_params(key: jax.Array, arch: Architecture, init: str = "xavier", batch_norm: bool = False) -> Params:
    """Weights ~ N(0, init_std^2) drawn from one key per layer; biases 0 (and with batch
    normalization, per hidden layer gamma 1, beta 0, running mean 0 and variance 1)."""
    sizes = arch.sizes
    keys = jax.random.split(key, len(sizes) - 1)
    layers = [
        {
            "w": init_std(init, a, b) * jax.random.normal(k, (a, b), jnp.float32),
            "b": jnp.zeros((b,), jnp.float32),
        }
        for k, a, b in zip(keys, sizes[:-1], sizes[1:])
    ]
    if batch_norm:
        for layer in layers[:-1]:
            n = layer["b"].shape[0]
            layer.update(gamma=jnp.ones((n,), jnp.float32), beta=jnp.zeros((n,), jnp.float32),
                         mean=jnp.zeros((n,), jnp.float32), var=jnp.ones((n,), jnp.float32))
    return layers


def batch_stats(z: jax.Array, weights: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """Per-unit mean and biased variance of z over the batch (weights: padding gets 0)."""
    if weights is None:
        return jnp.mean(z, axis=0), jnp.var(z, axis=0)
    w = weights[:, None] / jnp.maximum(jnp.sum(weights), 1.0)
    mean = jnp.sum(w * z, axis=0)
    return mean, jnp.sum(w * (z - mean) ** 2, axis=0)


def update_running(params: Params, stats: list[tuple[jax.Array, jax.Array]]) -> Params:
    """The running averages moved towards one batch's statistics (other entries as they are)."""
    out, it = [], iter(stats)
    for layer in params:
        if "mean" in layer:
            mean, var = next(it)
            layer = {**layer, "mean": BN_MOMENTUM * layer["mean"] + (1 - BN_MOMENTUM) * mean,
                     "var": BN_MOMENTUM * layer["var"] + (1 - BN_MOMENTUM) * var}
        out.append(layer)
    return out


def _run(params, x, activation, dropout_rate, key, train_bn: bool, weights, depth=None):
    act = ACTIVATIONS[activation]
    h, stats = x, []
    for i, layer in enumerate(params[:-1]):
        before = h
        z = h @ layer["w"] + layer["b"]
        if "gamma" in layer:
            if train_bn:
                mean, var = batch_stats(z, weights)
                stats.append((mean, var))
            else:
                mean, var = layer["mean"], layer["var"]
            z = layer["gamma"] * (z - mean) / jnp.sqrt(var + BN_EPS) + layer["beta"]
        h = act(z)
        if dropout_rate is not None and key is not None:
            keep = 1.0 - jnp.asarray(dropout_rate, h.dtype)
            mask = jax.random.bernoulli(jax.random.fold_in(key, i), keep, h.shape)
            h = jnp.where(mask, h / keep, 0.0)
        if depth is not None and i > 0:
            h = jnp.where(i < depth, h, before)  # past ``depth`` a layer passes its input on
    last = params[-1]
    return h @ last["w"] + last["b"], stats


def forward_train(params: Params, x: jax.Array, activation: str, dropout_rate=None, key=None,
                  weights: jax.Array | None = None,
                  depth=None) -> tuple[jax.Array, list[tuple[jax.Array, jax.Array]]]:
    """Training mode: (logits, each batch-normalized layer's batch mean and variance)."""
    return _run(params, x, activation, dropout_rate, key, True, weights, depth)


def forward(
    params: Params,
    x: jax.Array,
    activation: str,
    dropout_rate: jax.Array | float | None = None,
    key: jax.Array | None = None,
    depth: jax.Array | int | None = None,
) -> jax.Array:
    """Logits (n, n_out). Dropout only when both a rate and a key are given (training).
    Batch normalization, if the layers have it, uses the running averages (evaluation).

    ``depth`` (traced or not): only the first ``depth`` hidden layers act, the others pass
    their input on unchanged (their weights get zero gradient), so networks of every depth
    up to the stack's share one compiled program: the depth sweep's. The result is the
    network of the first ``depth`` hidden layers and the output layer, exactly."""
    return _run(params, x, activation, dropout_rate, key, False, None, depth)[0]


def predict_proba(params: Params, x: jax.Array, activation: str) -> jax.Array:
    """softmax(logits): class probabilities (n, n_out), evaluation mode."""
    return jax.nn.softmax(forward(params, x, activation), axis=-1)


def to_numpy(params: Params) -> list[dict[str, np.ndarray]]:
    """A host copy (what a page may cache or hand to st.session_state)."""
    return [{k: np.asarray(v) for k, v in layer.items()} for layer in params]


def layer_norms(tree: Params) -> jax.Array:
    """Per layer sqrt(||W||^2 + ||b||^2): shape (n_layers,)."""
    return jnp.stack([jnp.sqrt(jnp.sum(l["w"] ** 2) + jnp.sum(l["b"] ** 2)) for l in tree])
