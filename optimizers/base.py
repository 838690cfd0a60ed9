"""The optimizer contract, the same as Optax's (optax/_src/base.py).

An optimizer is a pair of pure functions:

    init(params) -> state
    update(grads, state, params) -> (updates, state)

and the next parameters are ``params + updates``. Because the contract is Optax's,
an Optax optimizer can race ours and ours can run inside an Optax chain.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Union

import jax
import jax.numpy as jnp

Params = Any  # a pytree of arrays
Updates = Any
OptState = Any
Schedule = Callable[[jax.Array], jax.Array]
ScalarOrSchedule = Union[float, jax.Array, Schedule]


class GradientTransformation(NamedTuple):
    """init(params) -> state; update(grads, state, params) -> (updates, state)."""

    init: Callable[[Params], OptState]
    update: Callable[..., tuple[Updates, OptState]]


def learning_rate_at(learning_rate: ScalarOrSchedule, count: jax.Array) -> jax.Array:
    """The step size for the update with 0-based index ``count`` (Optax's convention:
    the first update uses schedule(0))."""
    return learning_rate(count) if callable(learning_rate) else jnp.asarray(learning_rate)


def apply_updates(params: Params, updates: Updates) -> Params:
    """params + updates, leaf by leaf."""
    return jax.tree.map(lambda p, u: p + u.astype(p.dtype), params, updates)


def tree_zeros_like(params: Params) -> Params:
    return jax.tree.map(jnp.zeros_like, params)


def tree_full_like(params: Params, value: float | jax.Array) -> Params:
    return jax.tree.map(lambda p: jnp.full_like(p, value), params)
