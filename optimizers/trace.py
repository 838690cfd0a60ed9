"""Trajectories of an optimizer on a 2-D function, compiled once.

``trace`` runs one optimizer from one start; ``trace_batch`` runs many configurations
(start points and hyperparameters) at once with ``vmap``. Both repeat ``descent_step``,
the step as the course writes it; everything else here is the scaffolding that makes a
run cheap enough to redo on every slider move.

Compilation: one compiled program per (function, optimizer, with_stats). Start point,
hyperparameters, schedule, noise and step count (up to MAX_STEPS) are traced inputs, so
changing any of them reuses the program. The step loop is a ``while_loop`` with a traced
trip count writing into a buffer of MAX_STEPS + 1 rows; it stops at divergence.

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
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from optimizers.base import GradientTransformation, OptState, Schedule, learning_rate_at
from optimizers.registry import REGISTRY, OptimizerSpec
from optimizers.schedules import ScheduleConfig, table_kernel
from surfaces.jitcache import uncached_for

MAX_STEPS = 5000
DEFAULT_BOUND = 1e6
CACHE_SIZE = 128  # compiled programs kept; user-typed functions must not grow this without limit

Fn = Callable[[jax.Array], jax.Array]
LossAndGrad = Callable[[jax.Array], tuple[jax.Array, jax.Array]]


@dataclass(slots=True)
class Trace:
    """One optimizer's run. Row k of every array belongs to step k (row 0: the start).

    points (N+1, 2), losses (N+1,). With stats: gradients[k] is the gradient the k-th
    update used (taken at points[k-1]; with noise > 0 that is grad L + xi_k, not grad L),
    updates[k] = points[k] - points[k-1], learning_rates[k] the step size used,
    stats[name][k] the optimizer's statistic after step k (row 0 is NaN for all of these).
    noise is the sigma of the gradient noise; hyper every hyperparameter in use (learning
    rate: its initial value), defaults included.
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
    noise: float = 0.0
    hyper: dict[str, float] = field(default_factory=dict)

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


# ---------------------------------------------------------------------------------------
# The step


class Landed(NamedTuple):
    """Where one step took the run."""

    point: jax.Array  # theta_k
    loss: jax.Array  # L(theta_k)
    gradient: jax.Array  # grad L(theta_k): the next step's gradient
    update: jax.Array  # delta theta_k = theta_k - theta_{k-1}
    state: OptState  # the rule's state after step k


def descent_step(rule: GradientTransformation, loss_and_grad: LossAndGrad, point: jax.Array,
                 gradient: jax.Array, state: OptState) -> Landed:
    """One step: the update rule turns the gradient into an update, the point moves by it,
    and the loss and gradient are measured where it landed (the gradient is the next step's)."""
    update, state = rule.update(gradient, state, point)
    point = point + update
    loss, next_gradient = loss_and_grad(point)
    return Landed(point, loss, next_gradient, update, state)


def _diverged(p: jax.Array, loss: jax.Array, bound: jax.Array) -> jax.Array:
    # A comparison with NaN is false, so "not inside the box" also catches NaN and inf.
    inside = (jnp.abs(p[0]) <= bound) & (jnp.abs(p[1]) <= bound)
    return ~inside | ~jnp.isfinite(loss)


class TracedRule(NamedTuple):
    """An update rule built inside a compiled program from traced numbers."""

    rule: GradientTransformation
    schedule: Schedule  # eta as a function of the 0-based update count
    hyper: dict[str, jax.Array]  # every hyperparameter by name (learning_rate: eta_0)


def _rule_from(spec: OptimizerSpec, hyper_values: Sequence[jax.Array], table: jax.Array) -> TracedRule:
    """The rule with the run's hyperparameters (in spec.hyper_names order) and schedule."""
    hyper = dict(zip(spec.hyper_names, hyper_values))
    for name in spec.switches:  # bias_correction, initial_sq_grad: 0/1 in, booleans out
        hyper[name] = hyper[name] > 0.5
    eta0 = hyper["learning_rate"]
    schedule = lambda count: eta0 * table[count]  # noqa: E731
    return TracedRule(spec.build(**{**hyper, "learning_rate": schedule}), schedule, hyper)


def _rule_in_loop(spec: OptimizerSpec, hyper_values: Sequence[jax.Array], gradient: jax.Array,
                  table: jax.Array) -> TracedRule:
    """_rule_from, inside a loop body, behind an optimization barrier.

    The barrier keeps XLA from re-deriving the hyperparameter math (1 - b1, ...) in ways
    that cost far more than computing it once a step. It is tied to a value that changes
    every step (the gradient), or XLA hoists the barrier and the math behind it to the
    program's start, where those small independent kernels went to XLA's thread pool and
    the caller waited for them. (Tied to the step index instead, the loop kept an extra
    copy of the index: two more kernels a step.)
    Gain: a 1,000-step Adam trace without the barrier took 1.7-3.1x as long (best rounds),
    11-14x in the median round (the thread-pool hand-offs).
    """
    hyper_values, _ = lax.optimization_barrier((hyper_values, gradient))
    return _rule_from(spec, hyper_values, table)


# ---------------------------------------------------------------------------------------
# One run: its inputs as one vector, its output as one buffer of rows


class RunInput(NamedTuple):
    """A single run's numbers. They reach the compiled program packed into one float32
    vector, in this order (see _pack_input): every array crossing into the program costs
    time, and four separate inputs made a 1,000-step Adam trace 10-18% slower."""

    num_steps: jax.Array
    bound: jax.Array
    start: jax.Array  # (2,)
    hyper: jax.Array  # (number of hyperparameters,), in spec.hyper_names order


def _pack_input(num_steps: int, bound: float, start: tuple[float, float], hyper: Sequence[float]) -> np.ndarray:
    return np.array((num_steps, bound, start[0], start[1], *hyper), np.float32)


def _unpack_input(packed: jax.Array) -> RunInput:
    return RunInput(packed[0].astype(jnp.int32), packed[1], packed[2:4], packed[4:])


class Record(NamedTuple):
    """What step k writes into row k of the output buffer (row 0: the start). Without
    stats only point and loss are kept. A field holds numbers inside the compiled loop and,
    from _columns, the columns it occupies in a row. One buffer of packed rows, not an
    output array per field: separate outputs made a 1,000-step Adam trace 2-3x slower."""

    point: Any  # theta_k
    loss: Any  # L(theta_k)
    gradient: Any = None  # g_k, the (noisy) gradient the update used
    update: Any = None  # delta theta_k
    learning_rate: Any = None  # eta_k
    stats: tuple = ()  # the rule's statistics after step k, in spec.stats order, 2 numbers each


_WIDTHS = Record(point=2, loss=1, gradient=2, update=2, learning_rate=1)  # a statistic is 2 wide


def _pack(record: Record) -> jax.Array:
    """The record as one float32 row: its fields' numbers in field order (a None field,
    as without stats, takes no columns)."""
    return jnp.concatenate([jnp.ravel(x) for x in jax.tree.leaves(record)]).astype(jnp.float32)


class Columns(NamedTuple):
    """Where each field of a packed Record sits: an int for one number, a slice for two."""

    of: Record
    width: int


@functools.lru_cache(maxsize=None)
def _columns(num_stats: int, with_stats: bool) -> Columns:
    widths = _WIDTHS._replace(stats=(2,) * num_stats) if with_stats else Record(_WIDTHS.point, _WIDTHS.loss)
    sizes, structure = jax.tree.flatten(widths)
    starts = np.cumsum([0, *sizes])
    places = [int(a) if n == 1 else slice(int(a), int(a) + n) for a, n in zip(starts, sizes)]
    return Columns(jax.tree.unflatten(structure, places), int(starts[-1]))


def _write_row(buf: jax.Array, k: jax.Array, row: jax.Array) -> jax.Array:
    return lax.dynamic_update_slice(buf, row[None], (k, jnp.int32(0)))


class Carry(NamedTuple):
    k: jax.Array  # steps done
    point: jax.Array
    gradient: jax.Array  # at point, without noise
    state: OptState
    buf: jax.Array
    diverged: jax.Array


@functools.lru_cache(maxsize=CACHE_SIZE)
def _single_runner(fn: Fn, name: str, with_stats: bool):
    spec = REGISTRY[name]
    loss_and_grad = jax.value_and_grad(fn)
    columns = _columns(len(spec.stats), with_stats)

    @jax.jit
    def run(packed: jax.Array, noise: jax.Array, table: jax.Array) -> jax.Array:
        """Rows (MAX_STEPS + 1, columns.width) of packed Records; NaN past the last step."""
        given = _unpack_input(packed)
        loss, gradient = loss_and_grad(given.start)
        buf = jnp.full((MAX_STEPS + 1, columns.width), jnp.nan, jnp.float32)
        buf = _write_row(buf, jnp.int32(0), _pack(Record(given.start, loss)))
        state = _rule_from(spec, given.hyper, table).rule.init(given.start)

        def go_on(c: Carry) -> jax.Array:
            return (c.k < given.num_steps) & ~c.diverged

        def step(c: Carry) -> Carry:
            traced = _rule_in_loop(spec, given.hyper, c.gradient, table)
            g = c.gradient + noise[c.k]
            landed = descent_step(traced.rule, loss_and_grad, c.point, g, c.state)
            record = Record(landed.point, landed.loss)
            if with_stats:
                lr = learning_rate_at(traced.schedule, c.state.count)
                explained = spec.explain(landed.state, lr, grads=g, **traced.hyper)
                record = record._replace(gradient=g, update=landed.update, learning_rate=lr,
                                         stats=tuple(explained[s] for s in spec.stats))
            bad = _diverged(landed.point, landed.loss, given.bound)
            # A diverged step is written as NaN: the host finds diverged_at from it.
            row = jnp.where(bad, jnp.nan, _pack(record))
            return Carry(c.k + 1, landed.point, landed.gradient, landed.state, _write_row(c.buf, c.k + 1, row), bad)

        return lax.while_loop(go_on, step, Carry(jnp.int32(0), given.start, gradient, state, buf, jnp.bool_(False))).buf

    return uncached_for(fn, run)


_CONSTANT = ScheduleConfig()


@functools.lru_cache(maxsize=64)
def _table(schedule: ScheduleConfig | None) -> jax.Array:
    """eta_t / eta_0 for t < MAX_STEPS, computed once per schedule and kept on the device.
    Every schedule is proportional to its initial value, so one table serves runs with
    different rates; evaluating the schedule inside the step loop made a 1,000-step Adam
    trace 1.8-2.2x slower."""
    return table_kernel(np.asarray((schedule or _CONSTANT).packed(), np.float32), MAX_STEPS)


@functools.lru_cache(maxsize=1)
def _quiet_noise() -> jax.Array:
    """No noise: one zero buffer, made once and kept on the device. Gain: a fresh zero
    buffer per call made noise-free traces 5-13% slower (1,000-step Adam; five racers)."""
    return jnp.zeros((MAX_STEPS, 2), jnp.float32)


def _noise(sigma: float, seed: int, num_steps: int) -> jax.Array | np.ndarray:
    """Gradient noise for every step, drawn before the loop (a random draw per step inside
    a compiled loop was measured 50x slower)."""
    if sigma <= 0:
        return _quiet_noise()
    out = np.zeros((MAX_STEPS, 2), np.float32)
    out[:num_steps] = sigma * np.random.default_rng(seed).standard_normal((num_steps, 2))
    return out


def _fn_of(f: Any) -> Fn:
    return getattr(f, "fn", f)


def _check_names(spec: OptimizerSpec, hyper: dict[str, Any]) -> None:
    unknown = hyper.keys() - spec.hyper_names
    if unknown:
        raise TypeError(f"{spec.key} has no hyperparameter {sorted(unknown)}")


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
    # Lean on purpose: this runs on every rerun for every racer.
    spec = REGISTRY[optimizer]
    _check_names(spec, hyper)
    n = _check_steps(num_steps)
    values = tuple(map(hyper.get, spec.hyper_names, spec.hyper_defaults))
    packed = _pack_input(n, bound, start, values)
    rows = np.asarray(_single_runner(_fn_of(f), optimizer, with_stats)(
        packed, _noise(noise, seed, n), _table(schedule)))[: n + 1]
    used = dict(zip(spec.hyper_names, values))
    at = _columns(len(spec.stats), with_stats).of
    losses = rows[:, at.loss]
    # The loop stops at the first bad step and writes it as NaN (loss is NaN exactly there),
    # so a finite last row means no divergence, and the search is needed only otherwise.
    diverged_at = None
    if n and math.isnan(losses[n]):
        diverged_at = int(np.flatnonzero(np.isnan(losses[1:]))[0]) + 1
    sigma = float(noise) if noise > 0 else 0.0
    if not with_stats:
        return Trace(optimizer, rows[:, at.point], losses, diverged_at, n, noise=sigma, hyper=used)
    return Trace(optimizer, rows[:, at.point], losses, diverged_at, n, rows[:, at.gradient], rows[:, at.update],
                 rows[:, at.learning_rate], {s: rows[:, c] for s, c in zip(spec.stats, at.stats)}, sigma, used)


# ---------------------------------------------------------------------------------------
# Many runs at once
#
# Only the inputs that differ between runs are batched: a hyperparameter shared by all
# runs stays a scalar inside the vmapped step, so e.g. Adam's beta^t is computed once per
# step, not once per run (measured 6x faster for a learning-rate sweep). The compiled
# program therefore depends on which inputs vary, as well as on (function, optimizer).
# A run's inputs are (x0, y0, *hyperparameters in spec.hyper_names order).


def _inputs(spec: OptimizerSpec, starts: np.ndarray, hyper: dict[str, Any]) -> tuple[list[np.ndarray], int]:
    _check_names(spec, hyper)
    inputs = [starts[:, 0], starts[:, 1]] + [
        np.asarray(hyper.get(h.name, h.default), np.float32).ravel() for h in spec.hyperparams
    ]
    sizes = [c.size for c in inputs]
    m = max(sizes)
    if any(size not in (1, m) for size in sizes):
        raise ValueError(f"starts and hyperparameters must have 1 or {m} entries, got {sizes}")
    return inputs, m


class BatchInput(NamedTuple):
    start: jax.Array
    hyper: list[jax.Array]


def _inputs_of(varying: jax.Array, fixed: jax.Array, mask: tuple[bool, ...]) -> BatchInput:
    """One run's inputs: varying ones from the batched array, the others from the shared
    one (left unbatched)."""
    out, k = [], 0
    for j, v in enumerate(mask):
        if v:
            out.append(varying[k])
            k += 1
        else:
            out.append(fixed[j])
    return BatchInput(jnp.stack(out[:2]), out[2:])


def _inputs_in_loop(varying: jax.Array, fixed: jax.Array, mask: tuple[bool, ...]) -> BatchInput:
    """_inputs_of inside a loop body, behind a barrier (as _rule_in_loop)."""
    varying, fixed = lax.optimization_barrier((varying, fixed))
    return _inputs_of(varying, fixed, mask)


class BatchCarry(NamedTuple):
    """One run of a batch. The run itself goes on after it diverged (NaN in, NaN out:
    cheaper than freezing its whole state every step); its last good point and loss are
    kept aside, with the step it diverged at and the first step its loss was below tol."""

    point: jax.Array
    gradient: jax.Array
    state: OptState
    good_point: jax.Array
    good_loss: jax.Array
    diverged_at: jax.Array  # -1: not (yet)
    hit_at: jax.Array  # -1: not (yet)


class BatchFinal(NamedTuple):
    point: jax.Array
    loss: jax.Array
    diverged_at: jax.Array
    hit_at: jax.Array


def _batch_start(spec, loss_and_grad, given: BatchInput, table, tol) -> BatchCarry:
    loss, gradient = loss_and_grad(given.start)
    state = _rule_from(spec, given.hyper, table).rule.init(given.start)
    hit_at = jnp.where(loss < tol, 0, -1).astype(jnp.int32)
    return BatchCarry(given.start, gradient, state, given.start, loss, jnp.int32(-1), hit_at)


def _batch_step(spec, loss_and_grad, given: BatchInput, table, bound, tol, k, c: BatchCarry) -> BatchCarry:
    landed = descent_step(_rule_from(spec, given.hyper, table).rule, loss_and_grad, c.point, c.gradient, c.state)
    diverged_at = jnp.where(_diverged(landed.point, landed.loss, bound) & (c.diverged_at < 0), k + 1, c.diverged_at)
    alive = diverged_at < 0
    hit_at = jnp.where(alive & (c.hit_at < 0) & (landed.loss < tol), k + 1, c.hit_at)
    return BatchCarry(landed.point, landed.gradient, landed.state, jnp.where(alive, landed.point, c.good_point),
                      jnp.where(alive, landed.loss, c.good_loss), diverged_at, hit_at)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _batch_final_runner(fn: Fn, name: str, mask: tuple[bool, ...]):
    spec = REGISTRY[name]
    loss_and_grad = jax.value_and_grad(fn)

    def one(varying, fixed, table, num_steps, bound, tol) -> BatchFinal:
        def body(k, c):
            return _batch_step(spec, loss_and_grad, _inputs_in_loop(varying, fixed, mask), table, bound, tol, k, c)

        init = _batch_start(spec, loss_and_grad, _inputs_of(varying, fixed, mask), table, tol)
        c = lax.fori_loop(0, num_steps, body, init)
        return BatchFinal(c.good_point, c.good_loss, c.diverged_at, c.hit_at)

    batched = jax.vmap(one, in_axes=(0, None, None, None, None, None))
    return uncached_for(fn, jax.jit(batched))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _batch_path_runner(fn: Fn, name: str, mask: tuple[bool, ...], num_steps: int):
    spec = REGISTRY[name]
    loss_and_grad = jax.value_and_grad(fn)

    def one(varying, fixed, table, bound, tol):
        def body(c, k):
            c = _batch_step(spec, loss_and_grad, _inputs_in_loop(varying, fixed, mask), table, bound, tol, k, c)
            alive = c.diverged_at < 0
            return c, (jnp.where(alive, c.point, jnp.nan), jnp.where(alive, c.good_loss, jnp.nan))

        init = _batch_start(spec, loss_and_grad, _inputs_of(varying, fixed, mask), table, tol)
        c, (points, losses) = lax.scan(body, init, jnp.arange(num_steps))
        return (jnp.concatenate([init.point[None], points]), jnp.concatenate([init.good_loss[None], losses]),
                c.diverged_at, c.hit_at)

    batched = jax.vmap(one, in_axes=(0, None, None, None, None))
    return uncached_for(fn, jax.jit(batched))


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


def _in_parts(runner, varying: np.ndarray, *shared) -> BatchFinal:
    """runner(varying, *shared) as NumPy, in parts on the pool when the batch is large."""
    m = len(varying)
    parts = min(usable_cores(), m // MIN_PART)
    if parts <= 1:
        return jax.tree.map(np.asarray, runner(varying, *shared))
    size = -(-m // parts)
    padded = np.concatenate([varying, np.repeat(varying[-1:], size * parts - m, axis=0)])
    futures = [_pool().submit(lambda v: jax.tree.map(np.asarray, runner(v, *shared)), padded[i * size:(i + 1) * size])
               for i in range(parts)]
    return jax.tree.map(lambda *pieces: np.concatenate(pieces)[:m], *[f.result() for f in futures])


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
    inputs, m = _inputs(spec, np.atleast_2d(np.asarray(starts, np.float32)), hyper)
    mask = tuple(c.size > 1 for c in inputs)
    if not any(mask):
        mask = (True,) + mask[1:]  # vmap needs one batched input
    varying = np.stack([np.broadcast_to(c, (m,)) for c, v in zip(inputs, mask) if v], axis=1).astype(np.float32)
    fixed = np.asarray([c[0] for c in inputs], np.float32)
    table = _table(schedule)
    bound32, tol32 = np.float32(bound), np.float32(max(tol, float(np.finfo(np.float32).min)))
    fn = _fn_of(f)
    if not paths:
        final = _in_parts(_batch_final_runner(fn, optimizer, mask), varying, fixed, table, np.int32(n), bound32, tol32)
        return BatchTrace(final.point, final.loss, final.diverged_at.astype(np.int64), final.hit_at.astype(np.int64))
    points, losses, diverged, hit = map(np.asarray, _batch_path_runner(fn, optimizer, mask, n)(
        varying, fixed, table, bound32, tol32))
    last = np.where(diverged < 0, n, diverged - 1)
    idx = np.arange(m)
    return BatchTrace(points[idx, last], losses[idx, last], diverged.astype(np.int64), hit.astype(np.int64),
                      points=points, losses=losses)
