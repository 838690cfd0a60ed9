"""Learning-rate schedules against Optax's (value for value, t = 0 .. 2000), the compiled
``parametric`` form and ScheduleConfig against the direct functions, and schedules
driving an optimizer against Optax driving the same schedule."""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax import lax

import optimizers
import surfaces
from optimizers import schedules
from optimizers.schedules import KINDS, SPECS, ScheduleConfig

T = np.arange(0, 2001)
RTOL = 1e-6


def values(schedule: Callable) -> np.ndarray:
    # Compiled: lax.switch-based schedules evaluated eagerly are several times slower.
    return np.asarray(jax.jit(jax.vmap(schedule))(jnp.asarray(T)), np.float64)


def test_constant() -> None:
    np.testing.assert_array_equal(values(schedules.constant(0.03)), np.full(T.shape, np.float32(0.03)))


@pytest.mark.parametrize("init,s,gamma", [(0.1, 200, 0.5), (0.01, 7, 0.9), (1.0, 1000, 0.1)])
def test_step_decay_is_optax_staircase(init: float, s: int, gamma: float) -> None:
    ours = values(schedules.step_decay(init, s, gamma))
    ref = values(optax.exponential_decay(init, transition_steps=s, decay_rate=gamma, staircase=True))
    np.testing.assert_allclose(ours, ref, rtol=RTOL)
    assert ours[s - 1] == ours[0] and ours[s] < ours[s - 1]  # drops exactly at t = s


@pytest.mark.parametrize("init,rate,steps", [(0.1, 0.5, 200), (0.01, 0.96, 1), (2.0, 0.1, 1500)])
def test_exponential_decay_is_optax(init: float, rate: float, steps: int) -> None:
    ours = values(schedules.exponential_decay(init, rate, steps))
    ref = values(optax.exponential_decay(init, transition_steps=steps, decay_rate=rate))
    np.testing.assert_allclose(ours, ref, rtol=RTOL)


@pytest.mark.parametrize("init,k", [(0.1, 0.01), (0.5, 1.0), (1.0, 1e-4)])
def test_inverse_time_formula(init: float, k: float) -> None:
    np.testing.assert_allclose(values(schedules.inverse_time(init, k)), init / (1.0 + k * T), rtol=RTOL)


@pytest.mark.parametrize("init,steps,alpha", [(0.1, 1000, 0.0), (0.02, 300, 0.1), (1.0, 1, 0.5)])
def test_cosine_is_optax(init: float, steps: int, alpha: float) -> None:
    ours = values(schedules.cosine(init, steps, alpha))
    ref = values(optax.cosine_decay_schedule(init, decay_steps=steps, alpha=alpha))
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=1e-7 * init)
    np.testing.assert_allclose(ours[steps:], alpha * init, rtol=RTOL, atol=1e-7 * init)  # flat after T


PAIRS: list[tuple[str, Callable, Callable]] = [
    ("constant", lambda: schedules.constant(0.1), lambda: optax.constant_schedule(0.1)),
    ("step", lambda: schedules.step_decay(0.1, 100, 0.5),
     lambda: optax.exponential_decay(0.1, transition_steps=100, decay_rate=0.5, staircase=True)),
    ("exponential", lambda: schedules.exponential_decay(0.1, 0.5, 300),
     lambda: optax.exponential_decay(0.1, transition_steps=300, decay_rate=0.5)),
    ("cosine", lambda: schedules.cosine(0.1, 800, 0.05), lambda: optax.cosine_decay_schedule(0.1, 800, 0.05)),
]


@pytest.mark.parametrize("w", [1, 50, 500])
@pytest.mark.parametrize("pair", PAIRS, ids=[p[0] for p in PAIRS])
def test_warmup_is_optax_join_of_linear_ramp(pair, w: int) -> None:
    _, ours_of, ref_of = pair
    ref_sched = ref_of()
    eta0 = float(ref_sched(0))
    ref = optax.join_schedules([optax.linear_schedule(0.0, eta0, w), ref_sched], [w])
    ours = values(schedules.warmup(ours_of(), w))
    # Optax's ramp is eta0 - eta0 (1 - t/w), which cancels: a few ulp of eta0 of error
    # near t = 0, where ours (eta0 t / w) is exact to rounding.
    np.testing.assert_allclose(ours, values(ref), rtol=RTOL, atol=2e-7 * eta0)
    assert ours[0] == 0.0 and ours[w] == pytest.approx(eta0, rel=RTOL)


def test_warmup_zero_is_the_schedule_itself() -> None:
    base = schedules.cosine(0.1, 500, 0.0)
    np.testing.assert_allclose(values(schedules.warmup(base, 0)), values(base), rtol=RTOL)


# ---------------------------------------------------------------------------------------
# parametric (traced kind and parameters) and ScheduleConfig

DIRECT = {
    # kind: (a, b) -> the direct schedule with init 0.05
    "constant": lambda a, b: schedules.constant(0.05),
    "step": lambda a, b: schedules.step_decay(0.05, a, b),
    "exponential": lambda a, b: schedules.exponential_decay(0.05, a, b),
    "inverse_time": lambda a, b: schedules.inverse_time(0.05, a),
    "cosine": lambda a, b: schedules.cosine(0.05, a, b),
    "inverse_sqrt": lambda a, b: schedules.inverse_sqrt(0.05),
}
PARAMS = {"constant": (0.0, 0.0), "step": (150.0, 0.5), "exponential": (0.3, 400.0),
          "inverse_time": (0.02, 0.0), "cosine": (700.0, 0.2), "inverse_sqrt": (0.0, 0.0)}


@jax.jit
def _parametric_values(init, kind, a, b, w):
    # One compiled program for every kind and parameter: all are traced.
    return jax.vmap(schedules.parametric(init, kind, a, b, w))(jnp.asarray(T))


def test_kinds_cover_the_specs() -> None:
    assert set(KINDS) == set(SPECS) == set(DIRECT)


@pytest.mark.parametrize("w", [0, 100])
@pytest.mark.parametrize("kind", KINDS)
def test_parametric_and_config_agree_with_direct(kind: str, w: int) -> None:
    a, b = PARAMS[kind]
    direct = schedules.warmup(DIRECT[kind](a, b), w) if w else DIRECT[kind](a, b)
    expected = values(direct)
    got = np.asarray(_parametric_values(0.05, KINDS.index(kind), a, b, float(w)))
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-10)

    names = [p.name for p in SPECS[kind].params]
    config = ScheduleConfig(kind, tuple(zip(names, (a, b))), warmup_steps=w)
    np.testing.assert_allclose(values(config.build(0.05)), expected, rtol=RTOL, atol=1e-10)


def test_config_table_is_the_multiplier() -> None:
    config = ScheduleConfig("step", (("step_size", 150), ("gamma", 0.5)), warmup_steps=100)
    expected = values(schedules.warmup(schedules.step_decay(1.0, 150, 0.5), 100))
    table = schedules.table_kernel(np.asarray(config.packed(), np.float32), len(T))  # what trace reads
    np.testing.assert_allclose(np.asarray(table), expected, rtol=RTOL, atol=1e-8)


def test_parametric_compiles_once_for_all_kinds() -> None:
    before = _parametric_values._cache_size()
    for kind in KINDS:
        _parametric_values(0.1, KINDS.index(kind), *PARAMS[kind], 10.0)
    assert _parametric_values._cache_size() == max(before, 1)


def test_config_fills_missing_parameters_with_defaults() -> None:
    spec = SPECS["step"]
    defaults = {p.name: p.default for p in spec.params}
    config = ScheduleConfig("step", (("gamma", 0.25),))
    np.testing.assert_allclose(
        values(config.build(1.0)), values(schedules.step_decay(1.0, defaults["step_size"], 0.25)), rtol=RTOL
    )


# ---------------------------------------------------------------------------------------
# A schedule driving an optimizer


def _points(opt: optax.GradientTransformation, num_steps: int = 100) -> np.ndarray:
    f = surfaces.get("rosenbrock").fn

    @jax.jit
    def go(p0):
        def body(carry, _):
            p, state = carry
            updates, state = opt.update(jax.grad(f)(p), state, p)
            p = optax.apply_updates(p, updates)
            return (p, state), p

        return lax.scan(body, (p0, opt.init(p0)), None, length=num_steps)[1]

    return np.asarray(go(jnp.asarray([-1.5, 2.0])))


SCHEDULED = [
    ("gd", lambda: schedules.cosine(1e-3, 60, 0.1), lambda: optax.cosine_decay_schedule(1e-3, 60, 0.1)),
    ("gd", lambda: schedules.step_decay(1e-3, 25, 0.5),
     lambda: optax.exponential_decay(1e-3, transition_steps=25, decay_rate=0.5, staircase=True)),
    ("adam", lambda: schedules.warmup(schedules.exponential_decay(0.05, 0.5, 30), 10),
     lambda: optax.join_schedules(
         [optax.linear_schedule(0.0, 0.05, 10), optax.exponential_decay(0.05, transition_steps=30, decay_rate=0.5)],
         [10])),
]


@pytest.mark.parametrize("name,ours_of,ref_of", SCHEDULED)
def test_scheduled_optimizer_matches_optax(name: str, ours_of, ref_of) -> None:
    ref_opt = optax.sgd(ref_of()) if name == "gd" else optax.adam(ref_of())
    ref = _points(ref_opt)
    ours = _points(optimizers.build(name, learning_rate=ours_of()))
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    constant = _points(optimizers.build(name, learning_rate=float(ours_of()(0)) or 0.05))
    assert np.abs(ours - constant).max() > 1e-3  # the schedule really changed the path
