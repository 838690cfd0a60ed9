r"""Learning-rate schedules: functions of the 0-based update count t.

Each matches its Optax counterpart value for value (tests/test_schedules.py):

=================  ===========================================  ==========================================
kind               value at step t                               Optax
=================  ===========================================  ==========================================
constant           :math:`\eta_0`                                ``constant_schedule``
step               :math:`\eta_0 \gamma^{\lfloor t / s \rfloor}`  ``exponential_decay(.., staircase=True)``
exponential        :math:`\eta_0 \gamma^{t / s}`                  ``exponential_decay``
inverse_time       :math:`\eta_0 / (1 + k t)`                    (the course's decay; no Optax twin)
inverse_sqrt       :math:`\eta_0 / \sqrt{t + 1}`                 (the notes' decay, 003; no Optax twin)
cosine             :math:`\eta_0 (\alpha + (1-\alpha)\frac{1 + \cos(\pi \min(t, T)/T)}{2})`  ``cosine_decay_schedule``
=================  ===========================================  ==========================================

``warmup(schedule, w)`` climbs linearly from 0 to the schedule's first value over w
steps and then runs the schedule from its start, like
``optax.join_schedules([linear_schedule(0, eta0, w), schedule], [w])``.

For compiled loops, ``parametric`` builds any of these from traced numbers (the kind is
an index, selected with ``lax.switch``), so switching schedules does not recompile.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax

from optimizers.hyperparam import HyperParam

Schedule = Callable[[jax.Array], jax.Array]

KINDS = ("constant", "step", "exponential", "inverse_time", "cosine", "inverse_sqrt")


def _f(t) -> jax.Array:
    return jnp.asarray(t, jnp.float32)


def constant(init_value: float) -> Schedule:
    return lambda t: jnp.asarray(init_value, jnp.float32) + 0.0 * _f(t)


def step_decay(init_value: float, step_size: float, gamma: float) -> Schedule:
    """Multiply by gamma every step_size steps."""
    return lambda t: init_value * gamma ** jnp.floor(_f(t) / step_size)


def exponential_decay(init_value: float, decay_rate: float, transition_steps: float = 1.0) -> Schedule:
    """Multiply by decay_rate every transition_steps steps, smoothly."""
    return lambda t: init_value * decay_rate ** (_f(t) / transition_steps)


def inverse_time(init_value: float, decay: float) -> Schedule:
    """The course's decay: eta0 / (1 + decay * t)."""
    return lambda t: init_value / (1.0 + decay * _f(t))


def inverse_sqrt(init_value: float) -> Schedule:
    """The notes' decay (003, AdaGrad's eta^t = eta / sqrt(t + 1)): eta0 / sqrt(t + 1)."""
    return lambda t: init_value / jnp.sqrt(_f(t) + 1.0)


def cosine(init_value: float, decay_steps: float, alpha: float = 0.0) -> Schedule:
    """Half a cosine from eta0 down to alpha * eta0 over decay_steps, then flat."""

    def schedule(t):
        frac = jnp.minimum(_f(t), decay_steps) / decay_steps
        return init_value * ((1.0 - alpha) * 0.5 * (1.0 + jnp.cos(jnp.pi * frac)) + alpha)

    return schedule


def warmup(schedule: Schedule, warmup_steps: float) -> Schedule:
    """Linear warm-up from 0 to schedule(0) over warmup_steps, then schedule(t - warmup_steps)."""

    def warmed(t):
        tf = _f(t)
        ramp = schedule(jnp.zeros([])) * tf / jnp.maximum(warmup_steps, 1.0)
        return jnp.where(tf < warmup_steps, ramp, schedule(jnp.maximum(tf - warmup_steps, 0.0)))

    return warmed


def parametric(init_value, kind, a=0.0, b=0.0, warmup_steps=0.0) -> Schedule:
    """Any schedule of KINDS from traced numbers.

    kind: index into KINDS. The two parameters a, b by kind:
      step: a = step size, b = gamma; exponential: a = decay rate, b = transition steps;
      inverse_time: a = decay; cosine: a = decay steps, b = alpha; constant, inverse_sqrt: unused.
    warmup_steps: 0 for none.
    """
    branches = (
        lambda t: constant(init_value)(t),
        lambda t: step_decay(init_value, jnp.maximum(a, 1.0), b)(t),
        lambda t: exponential_decay(init_value, a, jnp.maximum(b, 1.0))(t),
        lambda t: inverse_time(init_value, a)(t),
        lambda t: cosine(init_value, jnp.maximum(a, 1.0), b)(t),
        lambda t: inverse_sqrt(init_value)(t),
    )
    base = lambda t: lax.switch(jnp.asarray(kind, jnp.int32), branches, _f(t))
    return warmup(base, warmup_steps)


@functools.partial(jax.jit, static_argnums=1)
def table_kernel(packed: jax.Array, length: int) -> jax.Array:
    """eta_t / eta_0 for t < length from ScheduleConfig.packed(), compiled once per length."""
    return parametric(1.0, packed[0], packed[1], packed[2], packed[3])(jnp.arange(length))


@dataclass(frozen=True)
class ScheduleSpec:
    """What a page shows for one kind: its title, its (at most two) parameters a, b, its formula."""

    kind: str
    title: str
    params: tuple[HyperParam, ...]
    latex: str


SPECS: dict[str, ScheduleSpec] = {
    "constant": ScheduleSpec("constant", "Constant", (), r"\eta_t = \eta_0"),
    "step": ScheduleSpec(
        "step",
        "Step decay",
        (
            HyperParam("step_size", 200, 1, 5000, False, "steps between drops", kind="int"),
            HyperParam("gamma", 0.5, 0.01, 1.0, False, "factor at each drop"),
        ),
        r"\eta_t = \eta_0\, \gamma^{\lfloor t / s \rfloor}",
    ),
    "exponential": ScheduleSpec(
        "exponential",
        "Exponential decay",
        (
            HyperParam("decay_rate", 0.5, 0.01, 1.0, False, "factor per transition"),
            HyperParam("transition_steps", 200, 1, 5000, False, "steps per factor", kind="int"),
        ),
        r"\eta_t = \eta_0\, \gamma^{t / s}",
    ),
    "inverse_time": ScheduleSpec(
        "inverse_time",
        "Inverse time (1/t)",
        (HyperParam("decay", 0.01, 1e-4, 10.0, True, "k: how fast the rate falls"),),
        r"\eta_t = \frac{\eta_0}{1 + k\, t}",
    ),
    "inverse_sqrt": ScheduleSpec("inverse_sqrt", "1/√(t+1) decay", (),
                                 r"\eta_t = \frac{\eta_0}{\sqrt{t + 1}}"),
    "cosine": ScheduleSpec(
        "cosine",
        "Cosine",
        (
            HyperParam("decay_steps", 1000, 1, 5000, False, "T: steps to reach the floor", kind="int"),
            HyperParam("alpha", 0.0, 0.0, 1.0, False, "floor as a fraction of the start"),
        ),
        r"\eta_t = \eta_0 \left(\alpha + (1-\alpha)\,\tfrac{1 + \cos(\pi \min(t,T)/T)}{2}\right)",
    ),
}
WARMUP_LATEX = r"t < w:\ \eta_t = \eta_0\, t / w; \quad t \ge w:\ \eta_t = \mathrm{schedule}(t - w)"


@dataclass(frozen=True)
class ScheduleConfig:
    """A chosen schedule: kind, its parameters by name, and warm-up steps (0 for none)."""

    kind: str = "constant"
    params: tuple[tuple[str, float], ...] = ()
    warmup_steps: int = 0

    def packed(self) -> tuple[float, float, float, float]:
        """(kind index, a, b, warm-up) for ``parametric``; missing parameters take defaults."""
        spec = SPECS[self.kind]
        given = dict(self.params)
        values = [float(given.get(p.name, p.default)) for p in spec.params] + [0.0, 0.0]
        return float(KINDS.index(self.kind)), values[0], values[1], float(self.warmup_steps)

    def build(self, init_value) -> Schedule:
        kind, a, b, w = self.packed()
        return parametric(init_value, kind, a, b, w)
