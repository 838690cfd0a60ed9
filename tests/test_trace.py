"""Compiled trajectories: trace against a hand-written loop of the same optimizer, the
per-step records against hand-computed float64 statistics, noise, schedules,
divergence, the compile-once promise, trace_batch against single traces, and GD's
stability threshold 2 / lambda_max on random quadratics."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax import lax

import optimizers
import surfaces
from optimizers.registry import REGISTRY
from optimizers.schedules import ScheduleConfig

ROSEN = surfaces.get("rosenbrock")
RAVINE = surfaces.get("ravine")
START = (-1.5, 2.0)
RTOL, ATOL = 1e-5, 1e-6

# Rates that keep 200 steps on Rosenbrock finite, moving, and not chaotic.
LR = {"gd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 0.1, "rmsprop": 5e-3,
      "adam": 0.01, "adamw": 0.01, "amsgrad": 0.01, "nadam": 0.01, "radam": 0.01}


def manual_loop(
    name: str,
    f: Callable[[jax.Array], jax.Array],
    start: tuple[float, float],
    num_steps: int,
    *,
    schedule: ScheduleConfig | None = None,
    noise: np.ndarray | None = None,
    **given: float,
) -> np.ndarray:
    """The user-level loop trace promises to equal: build the optimizer (hyperparameters
    as float32 inputs, as trace passes them), p <- p + update(grad f(p) + noise)."""
    spec = REGISTRY[name]
    h = {**spec.defaults, **given}
    keys = list(h)
    config = schedule or ScheduleConfig()
    noise = np.zeros((num_steps, 2), np.float32) if noise is None else noise[:num_steps]

    def go(p0, hv, noise):
        hyper = dict(zip(keys, hv))
        if "bias_correction" in hyper:
            hyper["bias_correction"] = hyper["bias_correction"] > 0.5
        opt = spec.build(**{**hyper, "learning_rate": config.build(hyper["learning_rate"])})

        def body(carry, n):
            p, state = carry
            updates, state = opt.update(jax.grad(f)(p) + n, state, p)
            return (p + updates, state), p + updates

        _, ps = lax.scan(body, (p0, opt.init(p0)), noise)
        return jnp.concatenate([p0[None], ps])

    hv = jnp.asarray([h[k] for k in keys], jnp.float32)
    return np.asarray(jax.jit(go)(jnp.asarray(start, jnp.float32), hv, jnp.asarray(noise)))


def grad_at(f: Callable, points: np.ndarray) -> np.ndarray:
    return np.asarray(jax.vmap(jax.grad(f))(jnp.asarray(points, jnp.float32)))


# ---------------------------------------------------------------------------------------
# Shapes and agreement with the manual loop


def test_shapes_and_row_zero() -> None:
    t = optimizers.trace(ROSEN, "adam", START, 37, learning_rate=0.01, with_stats=True)
    assert t.points.shape == (38, 2) and t.losses.shape == (38,) and t.num_steps == 37
    assert t.gradients.shape == t.updates.shape == (38, 2) and t.learning_rates.shape == (38,)
    assert set(t.stats) == set(REGISTRY["adam"].stats)
    assert all(v.shape == (38, 2) for v in t.stats.values())
    np.testing.assert_array_equal(t.points[0], np.float32(START))
    for arr in [t.gradients[0], t.updates[0], t.learning_rates[0], *(v[0] for v in t.stats.values())]:
        assert np.all(np.isnan(arr))
    assert np.all(np.isfinite(t.points)) and t.diverged_at is None and t.last_valid == 37
    np.testing.assert_allclose(t.losses, np.asarray(jax.vmap(ROSEN.fn)(t.points)), rtol=1e-6)


def test_trace_equals_manual_loop_for_a_plain_function_and_nondefault_hyperparameters() -> None:
    f = lambda p: (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2  # noqa: E731
    h = dict(learning_rate=0.02, b1=0.8, b2=0.99, eps=1e-6)
    t = optimizers.trace(f, "adam", (1.8, 0.5), 150, **h)
    np.testing.assert_allclose(t.points, manual_loop("adam", f, (1.8, 0.5), 150, **h), rtol=RTOL, atol=ATOL)
    default = optimizers.trace(f, "adam", (1.8, 0.5), 150, learning_rate=0.02)
    assert np.abs(default.points - t.points).max() > 1e-3


# ---------------------------------------------------------------------------------------
# Per-step records: gradients[k] taken at points[k-1], updates[k] = points[k] - points[k-1],
# stats[k] after step k, against float64 hand computations.


def reference_steps(name: str, h: dict[str, float], grads: np.ndarray, prev: np.ndarray) -> dict[str, np.ndarray]:
    """Updates and statistics for steps 1..K from the recorded gradients g_1..g_K and
    the points the steps started from, by the textbook formulas in float64."""
    lr = h["learning_rate"]
    b1, b2, eps = h.get("b1", 0.9), h.get("b2", 0.999), h.get("eps", 1e-8)
    v = np.zeros(2)
    m = np.zeros(2)
    G = np.full(2, h.get("initial_accumulator_value", 0.0))
    vmax = np.zeros(2)
    out: dict[str, list] = {}

    def put(**rows: np.ndarray | float) -> None:
        for key, x in rows.items():
            out.setdefault(key, []).append(np.asarray(x, float) * np.ones(2))

    for t, (g, p) in enumerate(zip(grads.astype(float), prev.astype(float)), start=1):
        if name == "gd":
            put(updates=-lr * g)
        elif name == "momentum":
            v = h["momentum"] * v - lr * g
            put(updates=v, velocity=v)
        elif name == "nesterov":
            v = h["momentum"] * v + g
            put(updates=-lr * (g + h["momentum"] * v), velocity=v)
        elif name == "adagrad":
            G = G + g * g
            step = lr / np.sqrt(G + h["eps"])
            put(updates=-step * g, sum_sq=G, step_size=step)
        elif name == "rmsprop":
            v = h["decay"] * v + (1 - h["decay"]) * g * g
            step = lr / (np.sqrt(v) + h["eps"])
            put(updates=-step * g, sq_avg=v, step_size=step)
        else:  # the Adam family
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            step = lr / (np.sqrt(v_hat) + eps)
            if name == "adam":
                put(updates=-m_hat * step, m_hat=m_hat, v_hat=v_hat, step_size=step)
            elif name == "adamw":
                put(updates=-lr * (m_hat / (np.sqrt(v_hat) + eps) + h["weight_decay"] * p),
                    m_hat=m_hat, v_hat=v_hat, step_size=step)
            elif name == "amsgrad":
                vmax = np.maximum(vmax, v_hat)
                step = lr / (np.sqrt(vmax) + eps)
                put(updates=-m_hat * step, m_hat=m_hat, v_hat=v_hat, v_max=vmax, step_size=step)
            elif name == "nadam":
                m_bar = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
                put(updates=-m_bar * step, m_hat=m_hat, m_bar=m_bar, v_hat=v_hat, step_size=step)
            elif name == "radam":
                rho_inf = 2 / (1 - b2) - 1
                rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
                if rho >= h["threshold"]:
                    r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
                    step = r * step
                else:
                    step = lr
                put(updates=-m_hat * step, m_hat=m_hat, v_hat=v_hat, step_size=step)
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("name", list(LR))
def test_with_stats_records_match_hand_computation(name: str) -> None:
    K = 8  # RAdam switches to its adaptive step at t = 6
    given = {"learning_rate": LR[name]}
    if name == "adagrad":
        given["initial_accumulator_value"] = 0.1
    h = {**REGISTRY[name].defaults, **given}
    t = optimizers.trace(ROSEN, name, START, 60, with_stats=True, **given)
    assert set(t.stats) == set(REGISTRY[name].stats)

    # Alignment, over the whole run.
    np.testing.assert_allclose(t.points, manual_loop(name, ROSEN.fn, START, 60, **given), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(t.gradients[1:], grad_at(ROSEN.fn, t.points[:-1]), rtol=1e-5, atol=1e-4)
    scale = np.abs(t.points).max()
    np.testing.assert_allclose(t.updates[1:], np.diff(t.points, axis=0), rtol=1e-5, atol=2e-7 * scale)
    np.testing.assert_allclose(t.learning_rates[1:], np.float32(h["learning_rate"]), rtol=1e-7)

    # Values, for the first K steps, from the recorded gradients.
    # (atol: float32 cancellation where terms nearly cancel, e.g. Nesterov's g + mu b.)
    ref = reference_steps(name, h, t.gradients[1 : K + 1], t.points[:K])
    for key, got in [("updates", t.updates), *t.stats.items()]:
        want = ref[key]
        np.testing.assert_allclose(got[1 : K + 1], want, rtol=1e-5, atol=1e-6 * np.abs(want).max(), err_msg=key)


@pytest.mark.parametrize("name", ["adam", "amsgrad", "radam", "nadam", "rmsprop", "adagrad", "momentum"])
def test_stats_explain_the_step_actually_taken(name: str) -> None:
    """Over 200 steps: the step equals -(m_bar, m_hat or g) * step_size, or the velocity:
    the numbers the step inspector fills into the formula add up to the step taken."""
    t = optimizers.trace(ROSEN, name, START, 200, with_stats=True, learning_rate=LR[name])
    u = t.updates[1:]
    if name == "momentum":
        predicted = t.stats["velocity"][1:]
    elif name == "nadam":  # Nadam steps with its look-ahead m_bar, not with m_hat
        predicted = -t.stats["m_bar"][1:] * t.stats["step_size"][1:]
        assert np.abs(t.stats["m_bar"][1:] - t.stats["m_hat"][1:]).max() > 1e-2  # m_hat would not add up
    elif "m_hat" in t.stats:
        predicted = -t.stats["m_hat"][1:] * t.stats["step_size"][1:]
    else:
        predicted = -t.gradients[1:] * t.stats["step_size"][1:]
    np.testing.assert_allclose(u, predicted, rtol=1e-5, atol=1e-9)


# ---------------------------------------------------------------------------------------
# Noise and schedules


def test_noise_is_reproducible_per_seed_and_zero_sigma_is_no_noise() -> None:
    run = lambda **kw: optimizers.trace(ROSEN, "gd", START, 300, learning_rate=1e-3, **kw)  # noqa: E731
    a, b, c = run(noise=0.5, seed=1), run(noise=0.5, seed=1), run(noise=0.5, seed=2)
    np.testing.assert_array_equal(a.points, b.points)
    assert np.abs(a.points - c.points).max() > 1e-3
    clean = run()
    np.testing.assert_array_equal(run(noise=0.0, seed=7).points, clean.points)
    assert np.abs(a.points - clean.points).max() > 1e-3
    # Extending the run keeps its beginning (the slider for steps does not reshuffle noise).
    longer = optimizers.trace(ROSEN, "gd", START, 600, learning_rate=1e-3, noise=0.5, seed=1)
    np.testing.assert_array_equal(longer.points[:301], a.points)


def test_noise_has_the_requested_size_and_enters_the_gradient() -> None:
    sigma, n = 0.3, 4000
    t = optimizers.trace(RAVINE, "gd", (-2.5, 0.5), n, learning_rate=0.01, noise=sigma, seed=5, with_stats=True)
    noise = t.gradients[1:].astype(float) - grad_at(RAVINE.fn, t.points[:-1])
    assert abs(noise.std() / sigma - 1) < 0.05
    assert np.abs(noise.mean(axis=0)).max() < 5 * sigma / np.sqrt(n)
    assert abs(np.corrcoef(noise[:-1, 0], noise[1:, 0])[0, 1]) < 0.1  # fresh each step
    # The path is the manual loop fed the same noise.
    np.testing.assert_allclose(t.points, manual_loop("gd", RAVINE.fn, (-2.5, 0.5), n, noise=noise.astype(np.float32),
                                                     learning_rate=0.01), rtol=1e-4, atol=1e-5)


SCHEDULES = [
    ScheduleConfig("step", (("step_size", 20), ("gamma", 0.5)), warmup_steps=10),
    ScheduleConfig("exponential", (("decay_rate", 0.5), ("transition_steps", 50))),
    ScheduleConfig("inverse_time", (("decay", 0.05),)),
    ScheduleConfig("cosine", (("decay_steps", 100), ("alpha", 0.1)), warmup_steps=5),
]


@pytest.mark.parametrize("name", ["gd", "adam"])
@pytest.mark.parametrize("schedule", SCHEDULES, ids=[s.kind for s in SCHEDULES])
def test_schedule_in_trace_matches_manual(name: str, schedule: ScheduleConfig) -> None:
    lr = LR[name]
    t = optimizers.trace(ROSEN, name, START, 150, schedule=schedule, with_stats=True, learning_rate=lr)
    np.testing.assert_allclose(t.points, manual_loop(name, ROSEN.fn, START, 150, schedule=schedule, learning_rate=lr),
                               rtol=RTOL, atol=ATOL)
    # learning_rates[k] is the rate of step k: the schedule at the 0-based count k - 1.
    expected_lr = np.asarray(schedule.build(lr)(jnp.arange(150)))
    np.testing.assert_allclose(t.learning_rates[1:], expected_lr, rtol=1e-6, atol=1e-12)
    constant = optimizers.trace(ROSEN, name, START, 150, learning_rate=lr)
    assert np.abs(constant.points - t.points).max() > 1e-3


# ---------------------------------------------------------------------------------------
# Divergence and limits


def _gd_step64(p: np.ndarray, lr: float) -> np.ndarray:
    x, y = p.astype(float)
    return np.array([x - lr * (-2 * (1 - x) - 400 * x * (y - x * x)), y - lr * 200 * (y - x * x)])


def test_gd_on_rosenbrock_with_lr_001_diverges() -> None:
    t = optimizers.trace(ROSEN, "gd", START, 500, learning_rate=0.01, with_stats=True)
    k = t.diverged_at
    assert k is not None and 1 <= k <= 500 and t.last_valid == k - 1
    assert np.all(np.isfinite(t.points[:k])) and np.all(np.abs(t.points[:k]) <= 1e6)
    assert np.all(np.isnan(t.points[k:])) and np.all(np.isnan(t.losses[k:]))
    assert np.all(np.isfinite(t.losses[:k]))
    for arr in [t.gradients, t.updates, t.learning_rates, *t.stats.values()]:
        assert np.all(np.isnan(arr[k:]))
    # The step from the last good point really leaves the box (or overflows).
    nxt = _gd_step64(t.points[k - 1], 0.01)
    assert not np.all(np.isfinite(nxt)) or np.abs(nxt).max() > 1e6

    # A tighter box: divergence is the first step leaving |x|, |y| <= 10.
    small = optimizers.trace(ROSEN, "gd", START, 500, learning_rate=0.01, bound=10.0)
    first_out = int(np.argmax(~(np.abs(t.points) <= 10).all(axis=1)))
    assert small.diverged_at == first_out < k
    np.testing.assert_array_equal(small.points[:first_out], t.points[:first_out])


def test_divergence_step_follows_the_bound_on_a_quadratic() -> None:
    """GD at lr 0.09 > 2/25 on the ravine grows by |1 - 0.09 * 25| = 1.25 per step, so the
    step that leaves the box moves by ~10 steps per factor 10 of bound."""
    A = np.asarray(jax.hessian(RAVINE.fn)(jnp.zeros(2)), float)
    start, eta = np.float32([-2.5, 0.5]), float(np.float32(0.09))
    exits = []
    for bound in (10.0, 1e3, 1e6):
        t = optimizers.trace(RAVINE, "gd", tuple(start), 300, learning_rate=eta, bound=bound)
        expected = _first_exit64(A, start, eta, bound, 300)
        assert t.diverged_at is not None and abs(t.diverged_at - expected) <= 1
        exits.append(t.diverged_at)
    assert exits[0] + 15 < exits[1] < exits[2] - 15


def test_stable_run_has_no_divergence() -> None:
    t = optimizers.trace(ROSEN, "gd", START, 500, learning_rate=1e-3)
    assert t.diverged_at is None and np.all(np.isfinite(t.points)) and np.all(np.isfinite(t.losses))


def test_step_count_limits() -> None:
    zero = optimizers.trace(RAVINE, "adam", (-2.5, 0.5), 0, learning_rate=0.01, with_stats=True)
    assert zero.points.shape == (1, 2) and zero.diverged_at is None and zero.last_valid == 0
    np.testing.assert_allclose(zero.losses[0], float(RAVINE.fn(jnp.asarray([-2.5, 0.5]))), rtol=1e-6)

    full = optimizers.trace(RAVINE, "gd", (-2.5, 0.5), optimizers.MAX_STEPS, learning_rate=0.07)
    assert full.points.shape == (optimizers.MAX_STEPS + 1, 2) and full.diverged_at is None
    assert np.abs(full.points[-1]).max() < 1e-6  # converged to the minimum at 0

    for bad in (optimizers.MAX_STEPS + 1, -1):
        with pytest.raises(ValueError):
            optimizers.trace(RAVINE, "gd", (0.0, 0.0), bad)
        with pytest.raises(ValueError):
            optimizers.trace_batch(RAVINE, "gd", (0.0, 0.0), bad)


def test_unknown_hyperparameter_raises_type_error() -> None:
    with pytest.raises(TypeError):
        optimizers.trace(RAVINE, "gd", (0.0, 0.0), 5, momentum=0.9)
    with pytest.raises(TypeError):
        optimizers.trace_batch(RAVINE, "adam", (0.0, 0.0), 5, learning_rat=0.1)


# ---------------------------------------------------------------------------------------
# Compile once


@contextlib.contextmanager
def xla_compiles() -> Iterator[list[str]]:
    """Collects a line per XLA compilation done inside the block (jax.log_compiles)."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if message.startswith("Finished XLA compilation"):
                seen.append(message)

    handler, logger = Collect(), logging.getLogger("jax")
    logger.addHandler(handler)
    try:
        with jax.log_compiles(True):
            yield seen
    finally:
        logger.removeHandler(handler)


def counting(base: Callable[[jax.Array], jax.Array]) -> tuple[Callable[[jax.Array], jax.Array], list[int]]:
    """base, plus a counter bumped each time JAX traces it (Python runs only then)."""
    calls = [0]

    def f(p):
        calls[0] += 1
        return base(p)

    return f, calls


def test_trace_compiles_once_per_function_optimizer_and_stats() -> None:
    f, calls = counting(ROSEN.fn)
    with xla_compiles() as compiled:
        optimizers.trace(f, "adam", START, 100, learning_rate=0.01)
    first = calls[0]
    assert first > 0 and compiled  # the probes see the first compilation
    runs = [
        dict(learning_rate=0.02, b1=0.8, b2=0.99, eps=1e-6, bias_correction=0.0),
        dict(start=(1.8, 0.5)),
        dict(noise=0.3, seed=4),
        dict(noise=1.0, seed=5),
        dict(schedule=ScheduleConfig("cosine", (("decay_steps", 300),), warmup_steps=20)),
        dict(schedule=ScheduleConfig("step", (("step_size", 10), ("gamma", 0.3)))),
        dict(num_steps=10), dict(num_steps=1000), dict(num_steps=4999), dict(num_steps=0),
        dict(bound=5.0),
    ]
    with xla_compiles() as compiled:
        for kw in runs:
            kw = {"start": START, "num_steps": 100, **kw}
            optimizers.trace(f, "adam", kw.pop("start"), kw.pop("num_steps"), **kw)
            assert calls[0] == first, f"retraced for {kw}"
    assert compiled == []

    # The probe does see a genuinely new program: stats on.
    optimizers.trace(f, "adam", START, 100, learning_rate=0.01, with_stats=True)
    with_stats = calls[0]
    assert with_stats > first
    optimizers.trace(f, "adam", (1.0, 1.0), 2000, learning_rate=0.001, noise=0.1, with_stats=True,
                     schedule=ScheduleConfig("exponential"))
    assert calls[0] == with_stats


def test_trace_batch_final_states_compile_once_for_fixed_m() -> None:
    f, calls = counting(ROSEN.fn)
    starts = np.array([[-1.5, 2.0], [-1.2, 1.0], [1.8, 0.5], [0.0, 0.0]])
    optimizers.trace_batch(f, "adam", starts, 100, learning_rate=[0.01, 0.02, 0.005, 0.001])
    first = calls[0]
    assert first > 0
    with xla_compiles() as compiled:
        for kw in [
            dict(starts=starts + 0.1),
            dict(learning_rate=[0.1, 0.2, 0.3, 0.4]),
            dict(num_steps=10), dict(num_steps=1000), dict(num_steps=4999),
            dict(schedule=ScheduleConfig("inverse_time", (("decay", 0.1),), warmup_steps=3)),
            dict(tol=1e-3), dict(bound=3.0), dict(b1=0.5),
        ]:
            kw = {"starts": starts, "num_steps": 100, "learning_rate": [0.01, 0.02, 0.005, 0.001], **kw}
            optimizers.trace_batch(f, "adam", kw.pop("starts"), kw.pop("num_steps"), **kw)
            assert calls[0] == first, f"retraced for {kw}"
    assert compiled == []
    # Varying another column is a new program by design (shared values stay unbatched).
    optimizers.trace_batch(f, "adam", starts, 100, learning_rate=[0.01, 0.02, 0.005, 0.001], b1=[0.9, 0.8, 0.7, 0.6])
    assert calls[0] > first


# ---------------------------------------------------------------------------------------
# trace_batch


@pytest.mark.parametrize("schedule", [None, ScheduleConfig("cosine", (("decay_steps", 200),), warmup_steps=20)])
def test_batch_final_states_equal_single_traces(schedule: ScheduleConfig | None) -> None:
    starts = np.array([[-1.5, 2.0], [-1.2, 1.0], [1.8, 0.5]], np.float32)
    lrs = np.array([0.01, 0.02, 0.005], np.float32)
    b = optimizers.trace_batch(ROSEN, "adam", starts, 300, learning_rate=lrs, b2=0.99, schedule=schedule)
    for i in range(3):
        t = optimizers.trace(ROSEN, "adam", tuple(starts[i]), 300, learning_rate=float(lrs[i]), b2=0.99,
                             schedule=schedule)
        np.testing.assert_allclose(b.final_points[i], t.points[-1], rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(b.final_losses[i], t.losses[-1], rtol=1e-4, atol=1e-7)
    assert np.all(b.diverged_at == -1) and np.all(b.hit_at == -1)


def test_batch_over_learning_rates_freezes_diverged_runs() -> None:
    """GD on the ravine (curvature 25 across it) is stable below lr 2/25 = 0.08."""
    lrs = np.array([0.01, 0.05, 0.079, 0.09, 0.2], np.float32)
    b = optimizers.trace_batch(RAVINE, "gd", (-2.5, 0.5), 400, learning_rate=lrs)
    assert list(b.diverged_at[:3]) == [-1, -1, -1] and np.all(b.diverged_at[3:] >= 1)
    assert np.all(np.isfinite(b.final_points)) and np.all(np.isfinite(b.final_losses))
    for i, lr in enumerate(lrs):
        t = optimizers.trace(RAVINE, "gd", (-2.5, 0.5), 400, learning_rate=float(lr))
        if t.diverged_at is None:
            assert b.diverged_at[i] == -1
            np.testing.assert_allclose(b.final_points[i], t.points[-1], rtol=RTOL, atol=ATOL)
        else:
            assert b.diverged_at[i] == t.diverged_at
            np.testing.assert_allclose(b.final_points[i], t.points[t.diverged_at - 1], rtol=RTOL)
            np.testing.assert_allclose(b.final_losses[i], t.losses[t.diverged_at - 1], rtol=1e-4)
    assert b.diverged_at[4] < b.diverged_at[3]  # faster growth, earlier exit


def test_batch_hit_at_is_first_step_below_tol() -> None:
    starts = np.array([[-2.5, 0.5], [0.01, 0.0], [2.5, 2.5]], np.float32)
    tol = 1e-3
    b = optimizers.trace_batch(RAVINE, "momentum", starts, 300, learning_rate=0.01, tol=tol)
    assert b.hit_at[1] == 0  # starts below tol
    for i in range(3):
        t = optimizers.trace(RAVINE, "momentum", tuple(starts[i]), 300, learning_rate=0.01)
        below = np.flatnonzero(t.losses < tol)
        assert b.hit_at[i] == (below[0] if below.size else -1)
    assert b.hit_at[0] > 0
    never = optimizers.trace_batch(RAVINE, "momentum", starts, 300, learning_rate=0.01)
    assert np.all(never.hit_at == -1)
    slow = optimizers.trace_batch(RAVINE, "momentum", starts[:1], 5, learning_rate=0.01, tol=tol)
    assert slow.hit_at[0] == -1


def test_batch_paths_match_single_traces_and_final_mode() -> None:
    lrs = np.array([0.01, 0.05, 0.09], np.float32)
    n = 120
    final = optimizers.trace_batch(RAVINE, "gd", (-2.5, 0.5), n, learning_rate=lrs, tol=1e-2)
    paths = optimizers.trace_batch(RAVINE, "gd", (-2.5, 0.5), n, learning_rate=lrs, tol=1e-2, paths=True)
    assert paths.points.shape == (3, n + 1, 2) and paths.losses.shape == (3, n + 1)
    np.testing.assert_array_equal(paths.diverged_at, final.diverged_at)
    np.testing.assert_array_equal(paths.hit_at, final.hit_at)
    np.testing.assert_allclose(paths.final_points, final.final_points, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(paths.final_losses, final.final_losses, rtol=1e-4, atol=1e-9)
    assert final.diverged_at[2] >= 1 and final.diverged_at[0] == -1
    for i, lr in enumerate(lrs):
        t = optimizers.trace(RAVINE, "gd", (-2.5, 0.5), n, learning_rate=float(lr))
        np.testing.assert_allclose(paths.points[i], t.points, rtol=RTOL, atol=ATOL)  # NaN where t is NaN
        np.testing.assert_allclose(paths.losses[i], t.losses, rtol=1e-4, atol=1e-9)


# ---------------------------------------------------------------------------------------
# GD on random convex quadratics: stable below 2 / lambda_max, divergent above


def quadratic(l1: float, l2: float, angle: float) -> tuple[np.ndarray, Callable[[jax.Array], jax.Array]]:
    """A = R diag(l1, l2) R^T in float32 (as f uses it), and f(p) = p^T A p / 2."""
    R = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    A = (R @ np.diag([l1, l2]) @ R.T).astype(np.float32)
    A = (A + A.T) / 2  # exactly symmetric after rounding
    Aj = jnp.asarray(A)
    return A, lambda p: 0.5 * p @ (Aj @ p)


eigenvalue = st.floats(0.1, 10.0)


def _first_exit64(A: np.ndarray, start: np.ndarray, eta: float, bound: float, limit: int) -> int:
    """The first k at which float64 GD on p^T A p / 2 leaves |x|, |y| <= bound."""
    M = np.eye(2) - eta * A.astype(float)
    p = start.astype(float)
    for k in range(1, limit + 1):
        p = M @ p
        if np.abs(p).max() > bound:
            return k
    raise AssertionError("no divergence within the limit")


# One example compiles one program (a new f); both runs reuse it.
@settings(max_examples=25, deadline=None)
@given(
    eigenvalue, eigenvalue, st.floats(0.0, np.pi),
    st.floats(0.0, 2 * np.pi), st.floats(0.05, 0.95),  # stable run: start angle, eta * lambda_max / 2
    st.floats(-1.2, 1.2), st.floats(1.05, 2.0),  # divergent run: start mix, eta * lambda_max / 2
)
def test_gd_threshold_is_2_over_lambda_max(l1, l2, angle, phi, c_low, mix, c_high) -> None:
    A, f = quadratic(l1, l2, angle)
    w, V = np.linalg.eigh(A.astype(float))

    # Below: each eigen-component shrinks by |1 - eta l| <= 0.999, so the loss falls by
    # >= 0.2% per step, far above float32 rounding (~kappa * 1e-7), until near underflow.
    t = optimizers.trace(f, "gd", (np.cos(phi), np.sin(phi)), 50, learning_rate=c_low * 2.0 / w.max())
    assert t.diverged_at is None
    loss = t.losses.astype(float)
    live = loss[:-1] > 1e-30
    assert np.all(loss[1:][live] < loss[:-1][live])
    assert np.all(loss[1:] <= loss[:-1] + 1e-30)

    # Above: |1 - eta lambda_max| >= 1.1 and the start has a component >= 0.36 along the
    # steepest direction, so |p| passes 1e6 * sqrt(2) within ~160 steps.
    start = (np.cos(mix) * V[:, 1] + np.sin(mix) * V[:, 0]).astype(np.float32)
    eta = float(np.float32(c_high * 2.0 / w.max()))
    n, bound = 400, 1e6
    expected = _first_exit64(A, start, eta, bound, n)
    t = optimizers.trace(f, "gd", tuple(start), n, learning_rate=eta, bound=bound)
    assert t.diverged_at is not None and abs(t.diverged_at - expected) <= 1
    assert np.all(np.isfinite(t.points[: t.diverged_at])) and np.all(np.isnan(t.points[t.diverged_at :]))


def _voluntary_switches() -> int:
    with open("/proc/thread-self/status") as f:
        return int(f.read().split("voluntary_ctxt_switches:")[1].split()[0])


@pytest.mark.skipif(not __import__("os").path.exists("/proc/thread-self/status"), reason="Linux only")
@pytest.mark.parametrize("with_stats", [False, True])
@pytest.mark.parametrize("name", optimizers.names())
def test_a_trace_runs_on_the_calling_thread(name: str, with_stats: bool) -> None:
    """A trace is a few dozen microseconds of work: it must not be handed to XLA's thread
    pool while the caller sleeps until it is done (each hand-off was measured at 40-60 us,
    more than the run). A caller that waits blocks on a futex: a voluntary context switch."""
    run = lambda: optimizers.trace(ROSEN, name, START, 1000, with_stats=with_stats, learning_rate=1e-3)
    for _ in range(20):
        run()
    calls, before = 200, _voluntary_switches()
    for _ in range(calls):
        run()
    waits = _voluntary_switches() - before
    assert waits < calls // 5, f"{waits} waits in {calls} calls"


def test_a_large_batch_in_parts_equals_the_batch_run_whole(monkeypatch) -> None:
    """Big batches run as equal parts on threads, the last part padded: same numbers."""
    import importlib

    trace_module = importlib.import_module("optimizers.trace")  # the module; optimizers.trace is the function

    monkeypatch.setattr(trace_module, "usable_cores", lambda: 2)
    rng = np.random.default_rng(3)
    m = 2 * trace_module.MIN_PART + 3  # odd: the second part is padded
    starts = rng.uniform([-2, -1], [2, 3], size=(m, 2))
    lrs = 10 ** rng.uniform(-4, -2, size=m)  # GD on Rosenbrock: some converge, some diverge
    parts = optimizers.trace_batch(ROSEN, "gd", starts, 300, learning_rate=lrs, tol=1e-2)
    monkeypatch.setattr(trace_module, "MIN_PART", 10**9)  # now one piece
    whole = optimizers.trace_batch(ROSEN, "gd", starts, 300, learning_rate=lrs, tol=1e-2)
    assert parts.final_points.shape == (m, 2)
    np.testing.assert_array_equal(parts.final_points, whole.final_points)
    np.testing.assert_array_equal(parts.final_losses, whole.final_losses)
    np.testing.assert_array_equal(parts.diverged_at, whole.diverged_at)
    np.testing.assert_array_equal(parts.hit_at, whole.hit_at)
    assert (parts.diverged_at >= 0).any() and (parts.hit_at >= 0).any()  # both outcomes occur


# ---------------------------------------------------------------------------------------
# The step and the output rows, by name


def test_descent_step_is_one_textbook_step() -> None:
    """GD with eta = 0.1 on L(p) = x^2 + 3 y^2 from (1, 1): g = (2, 6), so the step lands
    on (0.8, 0.4), where L = 0.64 + 0.48 = 1.12 and the next gradient is (1.6, 2.4)."""
    module = __import__("importlib").import_module("optimizers.trace")
    f = lambda p: p[0] ** 2 + 3.0 * p[1] ** 2  # noqa: E731
    rule, p = optimizers.build("gd", learning_rate=0.1), jnp.asarray([1.0, 1.0])
    landed = module.descent_step(rule, jax.value_and_grad(f), p, jax.grad(f)(p), rule.init(p))
    np.testing.assert_allclose(landed.point, [0.8, 0.4], rtol=1e-6)
    np.testing.assert_allclose(landed.update, [-0.2, -0.6], rtol=1e-6)
    np.testing.assert_allclose(landed.loss, 1.12, rtol=1e-6)
    np.testing.assert_allclose(landed.gradient, [1.6, 2.4], rtol=1e-6)
    assert int(landed.state.count) == 1


@pytest.mark.parametrize("num_stats, with_stats", [(0, False), (3, False), (0, True), (4, True)])
def test_each_field_of_a_packed_record_is_read_back_from_its_columns(num_stats: int, with_stats: bool) -> None:
    module = __import__("importlib").import_module("optimizers.trace")
    values = module.Record(jnp.asarray([1.0, 2.0]), jnp.asarray(3.0))
    if with_stats:
        values = values._replace(gradient=jnp.asarray([4.0, 5.0]), update=jnp.asarray([6.0, 7.0]),
                                 learning_rate=jnp.asarray(8.0),
                                 stats=tuple(jnp.asarray([10.0 + 2 * j, 11.0 + 2 * j]) for j in range(num_stats)))
    row = np.asarray(module._pack(values))
    columns = module._columns(num_stats, with_stats)
    assert row.shape == (columns.width,) and columns.width == (3 if not with_stats else 8 + 2 * num_stats)
    np.testing.assert_array_equal(row, np.arange(1, columns.width + 1) + (row > 8) * 1.0)  # 1..8, then 10, 11, ...
    for got, want in zip(jax.tree.leaves(columns.of), jax.tree.leaves(values)):
        np.testing.assert_array_equal(row[got], np.asarray(want))


# ---------------------------------------------------------------------------------------
# Switches (kind "bool"), and what a trace records of its settings


def test_a_trace_records_its_noise_and_every_hyperparameter_in_use() -> None:
    t = optimizers.trace(ROSEN, "radam", START, 5, learning_rate=0.01, threshold=7.0, noise=0.5, with_stats=True)
    assert t.noise == 0.5 and t.hyper == {**REGISTRY["radam"].defaults, "learning_rate": 0.01, "threshold": 7.0}
    quiet = optimizers.trace(ROSEN, "adam", START, 5)
    assert quiet.noise == 0.0 and quiet.hyper["bias_correction"] == 1.0


@pytest.mark.parametrize("on", [0.0, 1.0])
def test_rmsprops_course_start_is_a_traced_switch_in_trace_and_trace_batch(on: float) -> None:
    """initial_sq_grad (sigma_1^2 = g_1^2) is a 0/1 input like bias_correction: trace and
    trace_batch (the sweeps) follow the manual loop, and switching it compiles nothing."""
    expected = manual_loop("rmsprop", ROSEN.fn, START, 100, learning_rate=5e-3, initial_sq_grad=on)
    t = optimizers.trace(ROSEN, "rmsprop", START, 100, learning_rate=5e-3, initial_sq_grad=on)
    np.testing.assert_allclose(t.points, expected, rtol=RTOL, atol=ATOL)
    starts = np.array([START, (-1.2, 1.0)], np.float32)
    b = optimizers.trace_batch(ROSEN, "rmsprop", starts, 100, learning_rate=np.array([5e-3, 2e-3], np.float32),
                               initial_sq_grad=on)
    np.testing.assert_allclose(b.final_points[0], t.points[-1], rtol=RTOL, atol=ATOL)
    first = optimizers.trace(ROSEN, "rmsprop", START, 1, learning_rate=5e-3, initial_sq_grad=on)
    step = np.abs(first.points[1] - first.points[0])
    np.testing.assert_allclose(step, 5e-3 if on else 5e-3 / np.sqrt(0.1), rtol=1e-4)
