"""Any optimizer of the registry as one GradientTransformation, chosen by a traced index.

The Classifier trains the same network with up to ten optimizers (compare mode), and a
student switches optimizers far more often than architectures. With the optimizer's name
compiled in, each one was a program of its own: seconds of XLA compile each, and tens of
MB of server memory each while it stays cached. Here every update rule sits in one
``lax.switch``, so one program per architecture serves all of them; the state is the
tuple of every optimizer's state (a few copies of the parameters), of which the chosen
branch updates its own and passes the others through.
"""
from __future__ import annotations

from typing import Mapping

import jax

import optimizers
from optimizers.base import GradientTransformation, ScalarOrSchedule

NAMES: tuple[str, ...] = tuple(optimizers.REGISTRY)


def index_of(name: str) -> int:
    return NAMES.index(name)


def any_optimizer(index: jax.Array, learning_rate: ScalarOrSchedule,
                  hyperparams: Mapping[str, Mapping[str, jax.Array]]) -> GradientTransformation:
    """The optimizer ``NAMES[index]``; ``hyperparams[name]`` holds every optimizer's own
    hyperparameters (learning rate excepted), traced, so none of them recompiles."""
    rules = [optimizers.build(name, learning_rate=learning_rate, **hyperparams[name]) for name in NAMES]

    def init(params):
        return tuple(rule.init(params) for rule in rules)

    def branch(i: int):
        def update(operands):
            grads, states, params = operands
            updates, state = rules[i].update(grads, states[i], params)
            return updates, states[:i] + (state,) + states[i + 1:]
        return update

    def update(grads, states, params=None):
        return jax.lax.switch(index, [branch(i) for i in range(len(rules))], (grads, states, params))

    return GradientTransformation(init, update)
