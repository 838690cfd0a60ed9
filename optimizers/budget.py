"""How much batched tracing one Sweeps page run may ask of a shared server.

The per-input caps (steps <= 5,000, basin maps <= 200 x 200, sweeps <= 64 x 64, races
<= 64 rates) bound each input, not their product, and not the surface: one basin map at
the caps took 1.1 s on Himmelblau and 90-135 s on a user formula of nine sin·exp·cos
terms (2-core server). So the work of a page run is estimated before anything runs, as

    work = runs x steps x weight(surface)

in *units*, where weight is the cost of one optimizer step on that surface relative to a
step of a cheap one (Himmelblau's weight is about 2), read from the traced program of the
surface's value-and-gradient (``step_weight``). A section whose work is above
``SWEEPS_CAP`` runs on a smaller grid and, only if that is not enough, with fewer steps
(``plan_grid``); the page says what was cut.

Calibration (the 2-core shared server, CPU seconds of the process, which busy
neighbours skew less than wall time; chunked runs stay on one thread, see ui/jobs.py):
2,025 runs x 500 steps with each optimizer's defaults gave 0.9-4.5e8 units per CPU
second across Himmelblau, Goldstein-Price, Rastrigin, Ackley and formulas of weight up
to ~90; whole Sweeps page runs near the cap gave 1.5e8 (a 59 x 59 AdamW sweep on eight
sines, every run with its own hyperparameters) to 4.3e8 (basins on Himmelblau).
``UNITS_PER_CPU_SECOND`` sits below the slowest page run, so the heaviest section costs
at most ~SECONDS of one core. No Streamlit here: the page calls these functions and
tells the user what was cut.
"""
from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple, Sequence

import jax
import jax.extend.core as jcore
import jax.numpy as jnp

# Measured throughput at the slow end (see the module docstring), and the cap: SECONDS of
# one core for the heaviest section a page run may ask for, leaving the rest of a
# ~10 s page run to drawing it.
UNITS_PER_CPU_SECOND = 1.2e8
SECONDS = 7.0
SWEEPS_CAP = SECONDS * UNITS_PER_CPU_SECOND

# Step weight = OPTIMIZER_STEP + (the surface's value-and-gradient cost) / REFERENCE_COST.
# An element of an add or multiply costs 1, a transcendental function more: XLA on CPU
# evaluates each one as a polynomial with range reduction, and measured per element (sums
# of 20-40 of one function, per run-step) sin and cos cost ~60 adds, a power ~40, exp, log
# and tanh ~15. A nine-term sin·exp·cos formula ran ~100x slower per step than Himmelblau,
# whose program has no transcendental at all. REFERENCE_COST is about Himmelblau's count,
# so a cheap surface weighs about 1 + OPTIMIZER_STEP; the optimizer's own update (Adam's
# is the dearest, ~2x GD's on Himmelblau) is that one unit.
OPTIMIZER_STEP = 1.0
REFERENCE_COST = 30.0
TRANSCENDENTAL = {
    **dict.fromkeys(("sin", "cos", "tan", "asin", "acos", "atan", "atan2"), 60.0),
    "pow": 40.0,
    **dict.fromkeys(("sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "exp", "exp2", "expm1", "log", "log1p",
                     "logistic", "erf", "erfc", "erf_inv", "lgamma", "digamma", "sqrt", "rsqrt", "cbrt"), 15.0),
}
# Bookkeeping that moves or relabels data and costs next to nothing per step.
FREE = frozenset({"broadcast_in_dim", "reshape", "squeeze", "slice", "pad", "convert_element_type", "pjit",
                  "custom_jvp_call", "custom_vjp_call", "stop_gradient", "copy", "copy_p", "concatenate",
                  "dynamic_slice", "gather", "select_n", "iota"})


def _program_cost(jaxpr: jcore.Jaxpr) -> float:
    """Elements computed by a program, transcendental ones weighted, sub-programs included."""
    total = 0.0
    for eqn in jaxpr.eqns:
        for sub in jcore.jaxprs_in_params(eqn.params):
            total += _program_cost(sub)
        name = eqn.primitive.name
        if name in FREE:
            continue
        size = sum(math.prod(getattr(v.aval, "shape", ())) for v in eqn.outvars)
        total += size * TRANSCENDENTAL.get(name, 1.0)
    return total


@functools.lru_cache(maxsize=128)
def _weight_of(fn: Any) -> float:
    closed = jax.make_jaxpr(jax.value_and_grad(fn))(jnp.zeros(2, jnp.float32))
    return OPTIMIZER_STEP + _program_cost(closed.jaxpr) / REFERENCE_COST


def step_weight(surface: Any) -> float:
    """Cost of one optimizer step on ``surface`` (a Surface or a function of a point), in
    units. Traces the function once (milliseconds, nothing is compiled); cached per function."""
    return _weight_of(getattr(surface, "fn", surface))


# ---------------------------------------------------------------------------------------
# Grids


class GridPlan(NamedTuple):
    """What a section runs: the grid's sides (runs = their product, per repeat) and the
    steps per run, and what had to give to fit the cap."""

    sides: tuple[int, ...]
    steps: int
    work: float
    cut_sides: bool
    cut_steps: bool

    @property
    def cut(self) -> bool:
        return self.cut_sides or self.cut_steps


def grid_work(sides: Sequence[int], repeats: int, steps: int, weight: float) -> float:
    """Units of ``repeats`` batches (e.g. one per optimizer) of prod(sides) runs each."""
    return float(math.prod(sides)) * repeats * steps * weight


def plan_grid(sides: Sequence[int], repeats: int, steps: int, weight: float, floors: Sequence[int],
              cap: float | None = None) -> GridPlan:
    """The largest request that fits ``cap``: the grid shrunk evenly on every side (to no
    less than ``floors``: a map needs some resolution to mean anything), then, only if the
    grid at its floors is still too much, fewer steps (at least 1). The user's own values
    are kept when they fit."""
    cap = SWEEPS_CAP if cap is None else cap  # read here, so a test can lower it
    sides = tuple(int(s) for s in sides)
    work = grid_work(sides, repeats, steps, weight)
    if work <= cap:
        return GridPlan(sides, steps, work, False, False)
    scale = (cap / work) ** (1.0 / len(sides))
    shrunk = tuple(max(min(s, int(f)), int(s * scale)) for s, f in zip(sides, floors))
    per_step = grid_work(shrunk, repeats, 1, weight)
    fitted_steps = max(1, min(steps, int(cap // per_step)))
    return GridPlan(shrunk, fitted_steps, grid_work(shrunk, repeats, fitted_steps, weight),
                    shrunk != sides, fitted_steps < steps)


# ---------------------------------------------------------------------------------------
# Chunks

# Runs per trace_in_chunks call. A chunk is where a server shows progress and notices a
# user who has left, so it should take well under a second: at most CHUNK_UNITS (~0.5 s at
# the slowest rate above). Larger is cheaper, though: every call pays XLA's loop overhead
# per step (~1 us), measured on 10,000 Himmelblau runs x 2,000 steps against one call on
# one thread: +5-10% in chunks of 2,048, +20-30% of 1,024, +50% of 512, +100% of 256.
# Powers of two, so a page compiles few programs; at most MAX_CHUNK, which
# optimizers.trace_batch runs on the calling thread (it splits 4,096 runs and up over
# its own threads, which the job queue could neither count nor lower in priority).
CHUNK_UNITS = 5e7
MIN_CHUNK, MAX_CHUNK = 64, 2048


def chunk_runs(steps: int, weight: float) -> int:
    """Runs per chunk for ``steps`` steps on a surface of ``weight``: the largest power of
    two in [MIN_CHUNK, MAX_CHUNK] whose work is at most CHUNK_UNITS."""
    fits = CHUNK_UNITS / max(1.0, steps * weight)
    size = MIN_CHUNK
    while size * 2 <= min(fits, MAX_CHUNK):
        size *= 2
    return size
