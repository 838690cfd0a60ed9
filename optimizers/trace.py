"""Trajectories of an optimizer on a 2-D function, compiled once.

``trace`` runs one optimizer from one start; ``trace_batch`` runs many configurations
(start points and hyperparameters) at once with ``vmap``.

Compilation: one compiled program per (function, optimizer, with_stats). Start point,
hyperparameters, schedule, noise and step count (up to MAX_STEPS) are traced inputs,
packed into one array, so changing any of them reuses the program. The step loop is a
``while_loop`` with a traced trip count writing into a buffer of MAX_STEPS + 1 rows;
it stops at divergence.

Divergence: step k diverged when its loss or position is not finite or the position
leaves the box |x|, |y| <= bound. ``diverged_at`` is that k; points[k:] and losses[k:]
(and every per-step record from k on) are NaN, so a chart draws the path up to the
last good point and no garbage after it. Nothing is clipped.
"""
from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from optimizers.base import learning_rate_at
from optimizers.registry import REGISTRY, OptimizerSpec
from optimizers.schedules import ScheduleConfig, table_kernel
from surfaces.jitcache import uncached_for

MAX_STEPS = 5000
DEFAULT_BOUND = 1e6
CACHE_SIZE = 128  # compiled programs kept; user-typed functions must not grow this without limit

Fn = Callable[[jax.Array], jax.Array]
# Inputs: a row per run (start, then the hyperparameters), the schedule as a table of
# eta_t / eta_0, and scalars shared by all runs.
_HYPER = 2


@dataclass(slots=True)
class Trace:
    """One optimizer's run. Row k of every array belongs to step k (row 0: the start).

    points (N+1, 2), losses (N+1,). With stats: gradients[k] is the (noisy) gradient the
    k-th update used (taken at points[k-1]), updates[k] = points[k] - points[k-1],
    learning_rates[k] the step size used, stats[name][k] the optimizer's statistic after
    step k (row 0 is NaN for all of these).
    """

    optimizer: str
    points: np.ndarray
    losses: np.ndarray
    diverged_at: int | None
    num_steps: int
    gradients: np.ndarray | None = None
    updates: np.ndarray | None = None
    learning_rates: np.ndarray | None = None
    stats: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def last_valid(self) -> int:
        """Index of the last finite point (the end of the drawn path)."""
        return self.num_steps if self.diverged_at is None else self.diverged_at - 1


@dataclass
class BatchTrace:
    """Many runs. final_points (M, 2) is each run's last good point (a diverged run stops
    where it was before diverging); diverged_at (M,) and hit_at (M,) are -1 for never.
    hit_at is the first step whose loss is below ``tol``. With paths: points (M, N+1, 2)
    and losses (M, N+1), NaN after divergence."""

    final_points: np.ndarray
    final_losses: np.ndarray
    diverged_at: np.ndarray
    hit_at: np.ndarray
    points: np.ndarray | None = None
    losses: np.ndarray | None = None


def _fn_of(f: Any) -> Fn:
    return getattr(f, "fn", f)


class _Layout(NamedTuple):
    spec: OptimizerSpec
    names: frozenset[str]
    keys: tuple[str, ...]  # packing order
    defaults: tuple[float, ...]


@functools.lru_cache(maxsize=None)
def _layout(optimizer: str) -> _Layout:
    """The optimizer's spec and hyperparameters in packing order, looked up once. Keyed by
    name: hashing the whole spec cost ~1 us, and trace() runs every rerun for every racer."""
    spec = REGISTRY[optimizer]
    return _Layout(spec, frozenset(h.name for h in spec.hyperparams), tuple(h.name for h in spec.hyperparams),
                   tuple(h.default for h in spec.hyperparams))


def _check_names(layout: _Layout, hyper: dict[str, Any]) -> None:
    if not layout.names.issuperset(hyper):
        raise TypeError(f"{layout.spec.key} has no hyperparameter {sorted(hyper.keys() - layout.names)}")


@functools.lru_cache(maxsize=64)
def _table(schedule: ScheduleConfig | None) -> jax.Array:
    """eta_t / eta_0 for t < MAX_STEPS, computed once per schedule and kept on the device.
    Every schedule is proportional to its initial value, so one table serves runs with
    different rates; evaluating the schedule inside the step loop was measured slower."""
    return table_kernel(np.asarray((schedule or _CONSTANT).packed(), np.float32), MAX_STEPS)


def _optimizer_from(spec: OptimizerSpec, row, table: jax.Array):
    """Build the optimizer from traced values; returns (optimizer, schedule, hyper dict)."""
    hyper = {h.name: row[_HYPER + i] for i, h in enumerate(spec.hyperparams)}
    if "bias_correction" in hyper:
        hyper["bias_correction"] = hyper["bias_correction"] > 0.5
    lr = hyper["learning_rate"]
    schedule = lambda count: lr * table[count]
    return spec.build(**{**hyper, "learning_rate": schedule}), schedule, hyper


def _diverged(p: jax.Array, loss: jax.Array, bound: jax.Array) -> jax.Array:
    # A comparison with NaN is false, so "not inside the box" also catches NaN and inf.
    inside = (jnp.abs(p[0]) <= bound) & (jnp.abs(p[1]) <= bound)
    return ~inside | ~jnp.isfinite(loss)


@functools.lru_cache(maxsize=1)
def _quiet_noise() -> jax.Array:
    """No noise: one zero buffer, made once and kept on the device."""
    return jnp.zeros((MAX_STEPS, 2), jnp.float32)


def _noise(sigma: float, seed: int, num_steps: int) -> jax.Array | np.ndarray:
    """Gradient noise for every step, drawn before the loop (a random draw per step inside
    a compiled loop was measured 50x slower)."""
    if sigma <= 0:
        return _quiet_noise()
    out = np.zeros((MAX_STEPS, 2), np.float32)
    out[:num_steps] = sigma * np.random.default_rng(seed).standard_normal((num_steps, 2))
    return out


# XLA's CPU compiler kept a copy of the step counter in every step of our loops; with
# region analysis in its copy insertion it does without (1,000-step Adam trace: 42.3 ->
# 38.6 us, outputs bit for bit the same). A debug option of XLA's: on an XLA that does not
# know it, programs compile without it.
_REGION_ANALYSIS = {"xla_cpu_copy_insertion_use_region_analysis": True}


@functools.cache
def _compiler_options() -> dict[str, Any]:
    try:
        jax.jit(lambda x: x + 1, compiler_options=_REGION_ANALYSIS)(np.float32(0))
    except Exception:  # noqa: BLE001 (an unknown option fails the compile)
        return {}
    return _REGION_ANALYSIS


def _stat_columns(spec: OptimizerSpec) -> int:
    return 2 + 2 + 1 + 2 * len(spec.stats)  # gradient, update, learning rate, stats


@functools.lru_cache(maxsize=CACHE_SIZE)
def _single_runner(fn: Fn, name: str, with_stats: bool):
    spec = REGISTRY[name]
    value_and_grad = jax.value_and_grad(fn)
    width = 3 + (_stat_columns(spec) if with_stats else 0)

    @functools.partial(jax.jit, compiler_options=_compiler_options())
    def run(packed: jax.Array, noise: jax.Array, table: jax.Array) -> jax.Array:
        # One packed input (step count, bound, the run's row) and one output: each extra
        # array crossing the host boundary was measured to cost microseconds. noise and
        # table are device arrays that stay put between calls.
        num_steps, bound, row = packed[0].astype(jnp.int32), packed[1], packed[2:]
        p0 = row[:2]
        loss0, g0 = value_and_grad(p0)
        buf = jnp.full((MAX_STEPS + 1, width), jnp.nan, jnp.float32)
        buf = buf.at[0, :3].set(jnp.array([p0[0], p0[1], loss0]))
        opt0, _, _ = _optimizer_from(spec, row, table)
        init = (jnp.int32(0), p0, g0, opt0.init(p0), buf, jnp.bool_(False))

        def cond(carry):
            i, *_, diverged = carry
            return (i < num_steps) & ~diverged

        def body(carry):
            i, p, g, state, buf, _ = carry
            # Keeps XLA from re-deriving hyperparameter math inside the step (measured
            # 2-3x faster with traced hyperparameters). Tied to a value that changes every
            # step (the gradient), or XLA hoists the barrier and the math behind it out of
            # the loop, to the program's start. There those small kernels are independent
            # of one another, and XLA's CPU runtime then hands some to its thread pool; the
            # rest of the program followed them onto a pool thread and the caller waited
            # for it: 40-60 us a call of a 1,000-step Adam run, against ~50 us for the run
            # itself. (Tied to the step index instead, the loop kept an extra copy of it:
            # two more kernels a step, ~7 us per 1,000 steps.)
            r, g = lax.optimization_barrier((row, g))
            opt, schedule, hyper = _optimizer_from(spec, r, table)
            g = g + noise[i]
            updates, new_state = opt.update(g, state, p)
            p_new = p + updates
            loss, g_next = value_and_grad(p_new)
            bad = _diverged(p_new, loss, bound)
            cols = [p_new, loss[None]]
            if with_stats:
                lr = learning_rate_at(schedule, state.count)
                explained = spec.explain(new_state, lr, **hyper)
                cols += [g, updates, lr[None]] + [explained[s] for s in spec.stats]
            # A diverged step is written as NaN: the host finds diverged_at from it.
            rec = jnp.where(bad, jnp.nan, jnp.concatenate(cols).astype(jnp.float32))
            buf = lax.dynamic_update_slice(buf, rec[None], (i + 1, 0))
            return i + 1, p_new, g_next, new_state, buf, bad

        return lax.while_loop(cond, body, init)[4]

    return uncached_for(fn, run)


_CONSTANT = ScheduleConfig()


def _check_steps(num_steps: int) -> int:
    n = int(num_steps)
    if not 0 <= n <= MAX_STEPS:
        raise ValueError(f"num_steps must be between 0 and {MAX_STEPS}, got {n}")
    return n


def trace(
    f: Any,
    optimizer: str,
    start: tuple[float, float],
    num_steps: int,
    *,
    schedule: ScheduleConfig | None = None,
    noise: float = 0.0,
    seed: int = 0,
    with_stats: bool = False,
    bound: float = DEFAULT_BOUND,
    **hyper: Any,
) -> Trace:
    """Run ``optimizer`` on f (a Surface or any f(p) -> scalar, p of shape (2,)) from
    ``start`` for ``num_steps`` steps (at most MAX_STEPS).

    noise: standard deviation of Gaussian noise added to every gradient (a stand-in for
    mini-batch noise), reproducible by ``seed``. schedule: a ScheduleConfig; the learning
    rate is its initial value. Hyperparameters not given take the registry defaults.
    """
    # Lean on purpose: this runs on every rerun for every racer, and the compiled loop
    # itself is only ~35 us (the Python around it was measured at 6 us, trimmed to 4).
    layout = _layout(optimizer)
    _check_names(layout, hyper)
    n = _check_steps(num_steps)
    packed = np.array((n, bound, start[0], start[1], *map(hyper.get, layout.keys, layout.defaults)), np.float32)
    buf = np.asarray(_single_runner(_fn_of(f), optimizer, with_stats)(
        packed, _noise(noise, seed, n), _table(schedule)))[: n + 1]
    # The loop stops at the first bad step and writes it as NaN (loss is NaN exactly there),
    # so a finite last row means no divergence, and the search is needed only otherwise.
    diverged_at = None
    if n and math.isnan(buf[n, 2]):
        diverged_at = int(np.flatnonzero(np.isnan(buf[1:, 2]))[0]) + 1
    if not with_stats:
        return Trace(optimizer, buf[:, :2], buf[:, 2], diverged_at, n)
    return Trace(optimizer, buf[:, :2], buf[:, 2], diverged_at, n, buf[:, 3:5], buf[:, 5:7], buf[:, 7],
                 {s: buf[:, 8 + 2 * j : 10 + 2 * j] for j, s in enumerate(layout.spec.stats)})


# ---------------------------------------------------------------------------------------
# Many runs at once
#
# Only the inputs that differ between runs are batched: a hyperparameter shared by all
# runs stays a scalar inside the vmapped step, so e.g. Adam's beta^t is computed once per
# step, not once per run (measured 6x faster for a learning-rate sweep). The compiled
# program therefore depends on which columns vary, as well as on (function, optimizer).


def _columns(spec: OptimizerSpec, starts: np.ndarray, hyper: dict[str, Any]) -> tuple[list[np.ndarray], int]:
    _check_names(_layout(spec.key), hyper)
    columns = [starts[:, 0], starts[:, 1]] + [
        np.asarray(hyper.get(h.name, h.default), np.float32).ravel() for h in spec.hyperparams
    ]
    sizes = [c.size for c in columns]
    m = max(sizes)
    if any(size not in (1, m) for size in sizes):
        raise ValueError(f"starts and hyperparameters must have 1 or {m} entries, got {sizes}")
    return columns, m


def _row_of(varying: jax.Array, fixed: jax.Array, mask: tuple[bool, ...]) -> list[jax.Array]:
    """The run's inputs as a list of scalars: varying ones from the batched array, the
    others from the shared one (left unbatched)."""
    out, k = [], 0
    for j, v in enumerate(mask):
        if v:
            out.append(varying[k])
            k += 1
        else:
            out.append(fixed[j])
    return out


def _batch_step(spec, value_and_grad, row, table, bound, i, carry, tol):
    """One step of one run. The run itself goes on after it diverged (NaN in, NaN out:
    cheaper than freezing its whole state every step); its last good point and loss are
    kept aside, with the step it diverged at and the first step its loss was below tol."""
    p, g, state, p_good, loss_good, diverged, hit = carry
    opt, _, _ = _optimizer_from(spec, row, table)
    updates, state = opt.update(g, state, p)
    p = p + updates
    loss, g = value_and_grad(p)
    diverged = jnp.where(_diverged(p, loss, bound) & (diverged < 0), i + 1, diverged)
    alive = diverged < 0
    hit = jnp.where(alive & (hit < 0) & (loss < tol), i + 1, hit)
    return p, g, state, jnp.where(alive, p, p_good), jnp.where(alive, loss, loss_good), diverged, hit


def _batch_start(spec, value_and_grad, row, table, tol):
    p0 = jnp.stack([row[0], row[1]])
    loss0, g0 = value_and_grad(p0)
    opt0, _, _ = _optimizer_from(spec, row, table)
    hit0 = jnp.where(loss0 < tol, 0, -1).astype(jnp.int32)
    return p0, g0, opt0.init(p0), p0, loss0, jnp.int32(-1), hit0


def _barrier_row(varying, fixed, mask):
    varying, fixed = lax.optimization_barrier((varying, fixed))
    return _row_of(varying, fixed, mask)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _batch_final_runner(fn: Fn, name: str, mask: tuple[bool, ...]):
    spec = REGISTRY[name]
    value_and_grad = jax.value_and_grad(fn)

    def one(varying, fixed, table, scalars):
        num_steps, bound, tol = scalars[0].astype(jnp.int32), scalars[1], scalars[2]

        def body(i, carry):
            row = _barrier_row(varying, fixed, mask)
            return _batch_step(spec, value_and_grad, row, table, bound, i, carry, tol)

        init = _batch_start(spec, value_and_grad, _row_of(varying, fixed, mask), table, tol)
        *_, p, loss, diverged, hit = lax.fori_loop(0, num_steps, body, init)
        return jnp.stack([p[0], p[1], loss, diverged.astype(jnp.float32), hit.astype(jnp.float32)])

    return uncached_for(fn, jax.jit(jax.vmap(one, in_axes=(0, None, None, None)), compiler_options=_compiler_options()))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _batch_path_runner(fn: Fn, name: str, mask: tuple[bool, ...], num_steps: int):
    spec = REGISTRY[name]
    value_and_grad = jax.value_and_grad(fn)

    def one(varying, fixed, table, scalars):
        bound, tol = scalars[1], scalars[2]

        def body(carry, i):
            row = _barrier_row(varying, fixed, mask)
            carry = _batch_step(spec, value_and_grad, row, table, bound, i, carry, tol)
            p, loss, diverged = carry[0], carry[4], carry[5]
            return carry, jnp.where(diverged < 0, jnp.stack([p[0], p[1], loss]), jnp.nan)

        init = _batch_start(spec, value_and_grad, _row_of(varying, fixed, mask), table, tol)
        (*_, diverged, hit), rows = lax.scan(body, init, jnp.arange(num_steps))
        p0, loss0 = init[0], init[4]
        return jnp.concatenate([jnp.stack([p0[0], p0[1], loss0])[None], rows]), diverged, hit

    return uncached_for(fn, jax.jit(jax.vmap(one, in_axes=(0, None, None, None)), compiler_options=_compiler_options()))


# A batch runs in parts on threads of its own, one part per core: XLA's CPU runtime splits
# a step's largest kernel over the cores but runs the rest of the step on one, so two
# halves of a 10,000-run batch side by side took 13-18 ms where the whole took 24-26.
# Parts are equal in size (the last padded with copies of a run), so they share one
# compiled program. Smaller batches run whole: a part must be worth a thread.
MIN_PART = 2048


def usable_cores() -> int:
    """The processors this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=usable_cores(), thread_name_prefix="descent-lab-batch")


def _in_parts(runner, varying: np.ndarray, fixed, table, scalars) -> np.ndarray:
    m = len(varying)
    parts = min(usable_cores(), m // MIN_PART)
    if parts <= 1:
        return np.asarray(runner(varying, fixed, table, scalars))
    size = -(-m // parts)
    padded = np.concatenate([varying, np.repeat(varying[-1:], size * parts - m, axis=0)])
    futures = [_pool().submit(lambda v: np.asarray(runner(v, fixed, table, scalars)), padded[i * size:(i + 1) * size])
               for i in range(parts)]
    return np.concatenate([f.result() for f in futures])[:m]


def trace_batch(
    f: Any,
    optimizer: str,
    starts: Any,
    num_steps: int,
    *,
    schedule: ScheduleConfig | None = None,
    bound: float = DEFAULT_BOUND,
    tol: float = -np.inf,
    paths: bool = False,
    **hyper: Any,
) -> BatchTrace:
    """Run M configurations at once (vmap). ``starts`` is (M, 2) or one point; each
    hyperparameter is a number or an array of M values (broadcast together).

    Final-states mode (default) compiles once per (function, optimizer, which inputs
    vary); step count, values and schedule are traced. With ``paths=True`` the full
    paths come back; that mode also compiles per step count (its output shape depends on
    it), so use it for small sets of runs. No gradient noise here: per-run noise for
    every step would not fit in memory.
    """
    spec = REGISTRY[optimizer]
    n = _check_steps(num_steps)
    columns, m = _columns(spec, np.atleast_2d(np.asarray(starts, np.float32)), hyper)
    mask = tuple(c.size > 1 for c in columns)
    if not any(mask):
        mask = (True,) + mask[1:]  # vmap needs one batched input
    varying = np.stack([np.broadcast_to(c, (m,)) for c, v in zip(columns, mask) if v], axis=1).astype(np.float32)
    fixed = np.asarray([c[0] for c in columns], np.float32)
    table = _table(schedule)
    scalars = np.asarray([n, bound, max(tol, float(np.finfo(np.float32).min))], np.float32)
    fn = _fn_of(f)
    if not paths:
        out = _in_parts(_batch_final_runner(fn, optimizer, mask), varying, fixed, table, scalars)
        return BatchTrace(out[:, :2], out[:, 2], out[:, 3].astype(np.int64), out[:, 4].astype(np.int64))
    path, diverged, hit = _batch_path_runner(fn, optimizer, mask, n)(varying, fixed, table, scalars)
    path, diverged, hit = np.asarray(path), np.asarray(diverged), np.asarray(hit)
    last = np.where(diverged < 0, n, diverged - 1)
    idx = np.arange(m)
    return BatchTrace(
        path[idx, last, :2], path[idx, last, 2], diverged.astype(np.int64), hit.astype(np.int64),
        points=path[:, :, :2], losses=path[:, :, 2],
    )
