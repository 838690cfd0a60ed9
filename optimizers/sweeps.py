"""Many runs of one optimizer at once: hyperparameter sweeps, basins of attraction, and
each optimizer's best learning rate.

Every function here makes ONE ``trace_batch`` call (final-states mode, vmapped), so a
64 x 64 sweep or a 200 x 200 basin map costs one compiled program run; given ``chunk``,
sweep and basins make equal calls of that many runs instead, so a server can report
progress and stop between them (trace_in_chunks). Surfaces are not imported: a surface
(or any f(p) -> scalar) comes in as ``f``, its minima as arrays.

Conventions. A run *reaches* the tolerance at step k = the first k with L(theta_k) < tol
(``hit_at``; -1 if never). It *diverged* at step k when theta_k or L(theta_k) stopped being
finite or left the bounding box (``diverged_at``; -1 if never). A run *ends in* minimum m
when its final point theta_N satisfies

    ||theta_N - m|| <= radius   and   |L(theta_N) - L(m)| <= loss_tol * (1 + |L(m)|),

the nearest such minimum if several qualify; otherwise it has *not converged*.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from optimizers.registry import REGISTRY, HyperParam
from optimizers.schedules import ScheduleConfig
from optimizers.trace import DEFAULT_BOUND, MAX_STEPS, BatchTrace, trace_batch

MAX_SWEEP_SIDE = 64  # learning rates x second values: at most 64 x 64 = 4,096 runs
MAX_BASIN_SIDE = 200  # start points: at most 200 x 200 = 40,000 runs
MAX_RACE_RATES = 64  # learning rates tried per optimizer in a fair race

NOT_CONVERGED = -1  # basin label of a run that ended near no minimum
DIVERGED = -2  # basin label of a run that diverged


# ---------------------------------------------------------------------------------------
# Grids


def check_side(n: int, cap: int, what: str) -> int:
    """n as an int in [1, cap], or ValueError (the caps bound memory and time)."""
    n = int(n)
    if not 1 <= n <= cap:
        raise ValueError(f"{what} must be between 1 and {cap}, got {n}")
    return n


def check_steps(num_steps: int) -> int:
    n = int(num_steps)
    if not 0 <= n <= MAX_STEPS:
        raise ValueError(f"num_steps must be between 0 and {MAX_STEPS}, got {n}")
    return n


def axis_values(low: float, high: float, n: int, log: bool) -> np.ndarray:
    """n values from low to high, both included: geometric if ``log`` (needs low > 0),
    else evenly spaced. n = 1 gives [low]."""
    low, high = float(low), float(high)
    if not (np.isfinite(low) and np.isfinite(high)) or high < low:
        raise ValueError(f"need finite low <= high, got {low:g}, {high:g}")
    if log:
        if low <= 0:
            raise ValueError(f"a log axis needs low > 0, got {low:g}")
        return np.geomspace(low, high, n) if n > 1 else np.array([low])
    return np.linspace(low, high, n) if n > 1 else np.array([low])


def start_grid(domain: Sequence[Sequence[float]], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, ys, starts): n evenly spaced values along each side of the domain box
    ((x_min, x_max), (y_min, y_max)), edges included, and the n*n start points in row-major
    order (row i has y = ys[i]), so ``labels.reshape(n, n)[i, j]`` is the start (xs[j], ys[i])."""
    n = check_side(n, MAX_BASIN_SIDE, "basin grid side")
    (x0, x1), (y0, y1) = domain
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)


def sweepable(optimizer: str) -> list[HyperParam]:
    """The optimizer's hyperparameters a sweep can put on its second axis: every real-valued
    one except the learning rate (switches such as bias correction are not a range)."""
    return [h for h in REGISTRY[optimizer].hyperparams if h.kind == "float" and h.name != "learning_rate"]


# ---------------------------------------------------------------------------------------
# Runs in chunks: cancellable, with progress


Progress = Callable[[int, int], None]


def trace_in_chunks(f: Any, optimizer: str, starts: Any, num_steps: int, chunk: int, progress: Progress | None = None,
                    **kwargs: Any) -> BatchTrace:
    """``trace_batch`` over M runs as consecutive calls of ``chunk`` runs each, calling
    ``progress(done, M)`` after each: a server can show progress and stop a run whose user
    has left at the next chunk (one call of a 40,000-run map cannot be interrupted). The
    last chunk is padded with copies of its last run, so every call has one shape and
    reuses one compiled program. Starts and hyperparameters are a single value or M
    values, as for trace_batch; keyword arguments go to trace_batch."""
    hyper = {k: v for k, v in kwargs.items() if k not in ("schedule", "bound", "tol")}
    options = {k: v for k, v in kwargs.items() if k in ("schedule", "bound", "tol")}
    columns = {"starts": np.atleast_2d(np.asarray(starts, np.float32))}
    columns.update({k: np.atleast_1d(np.asarray(v, np.float32)) for k, v in hyper.items()})
    m = max(len(c) for c in columns.values())
    size = max(1, min(int(chunk), m))

    def piece(column: np.ndarray, i: int) -> np.ndarray:
        if len(column) == 1:
            return column[0] if column.ndim == 1 else column
        part = column[i:i + size]
        return np.concatenate([part, np.repeat(part[-1:], size - len(part), axis=0)]) if len(part) < size else part

    parts = []
    for i in range(0, m, size):
        args = {k: piece(c, i) for k, c in columns.items()}
        parts.append(trace_batch(f, optimizer, args.pop("starts"), num_steps, **options, **args))
        if progress is not None:
            progress(min(i + size, m), m)

    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(b, name) for b in parts])[:m]

    return BatchTrace(joined("final_points"), joined("final_losses"), joined("diverged_at"), joined("hit_at"))


# ---------------------------------------------------------------------------------------
# Hyperparameter sweep


@dataclass
class Sweep:
    """A learning rate x second hyperparameter sweep from one start. Arrays are
    (len(values), len(learning_rates)): row i has second = values[i], column j has
    learning rate learning_rates[j]. Without a second hyperparameter, one row and
    ``second`` is None. diverged_at and hit_at are -1 for never."""

    optimizer: str
    learning_rates: np.ndarray
    second: str | None
    values: np.ndarray
    final_points: np.ndarray  # (rows, cols, 2)
    final_losses: np.ndarray
    diverged_at: np.ndarray
    hit_at: np.ndarray
    num_steps: int
    tol: float

    def settings(self, i: int, j: int) -> dict[str, float]:
        """The hyperparameters of cell (i, j), as trace() takes them."""
        out = {"learning_rate": float(self.learning_rates[j])}
        if self.second is not None:
            out[self.second] = float(self.values[i])
        return out


def sweep(
    f: Any,
    optimizer: str,
    start: tuple[float, float],
    num_steps: int,
    learning_rates: Sequence[float],
    second: str | None = None,
    values: Sequence[float] | None = None,
    *,
    tol: float = -np.inf,
    schedule: ScheduleConfig | None = None,
    bound: float = DEFAULT_BOUND,
    chunk: int | None = None,
    progress: Progress | None = None,
    **fixed: Any,
) -> Sweep:
    """Run every (learning rate, second value) pair from ``start`` in one trace_batch call
    (or, given ``chunk``, in calls of that many runs, reporting ``progress``; see
    trace_in_chunks). ``fixed`` sets the optimizer's other hyperparameters (defaults otherwise)."""
    lrs = np.asarray(learning_rates, np.float64).ravel()
    check_side(lrs.size, MAX_SWEEP_SIDE, "number of learning rates")
    n = check_steps(num_steps)
    if second is None:
        vals = np.array([np.nan])
        hyper = {"learning_rate": lrs}
    else:
        if second not in {h.name for h in sweepable(optimizer)}:
            raise ValueError(f"{optimizer} has no real-valued hyperparameter {second!r} to sweep")
        vals = np.asarray(values, np.float64).ravel()
        check_side(vals.size, MAX_SWEEP_SIDE, f"number of {second} values")
        grid_lr, grid_v = np.meshgrid(lrs, vals)
        hyper = {"learning_rate": grid_lr.ravel(), second: grid_v.ravel()}
    clash = {"learning_rate", second} & set(fixed)
    if clash:
        raise TypeError(f"{sorted(clash)} is swept; do not also fix it")
    if chunk is None:
        batch = trace_batch(f, optimizer, start, n, schedule=schedule, bound=bound, tol=tol, **hyper, **fixed)
    else:
        batch = trace_in_chunks(f, optimizer, start, n, chunk, progress, schedule=schedule, bound=bound, tol=tol,
                                **hyper, **fixed)
    shape = (vals.size, lrs.size)
    return Sweep(
        optimizer, lrs, second, vals, batch.final_points.reshape(shape + (2,)), batch.final_losses.reshape(shape),
        batch.diverged_at.reshape(shape), batch.hit_at.reshape(shape), n, float(tol),
    )


# ---------------------------------------------------------------------------------------
# Best learning rate


def best_index(hit_at: np.ndarray, final_losses: np.ndarray, diverged_at: np.ndarray) -> int | None:
    """The best of a set of runs: among those that reached the tolerance, the fewest steps
    (ties: the lowest final loss, then the first); if none reached it, the lowest final
    loss among those that did not diverge; None if every run diverged."""
    hit, loss, div = (np.asarray(a).ravel() for a in (hit_at, final_losses, diverged_at))
    reached = np.flatnonzero(hit >= 0)
    if reached.size:
        order = np.lexsort((reached, np.nan_to_num(loss[reached], nan=np.inf), hit[reached]))
        return int(reached[order[0]])
    alive = np.flatnonzero((div < 0) & np.isfinite(loss))
    if alive.size:
        return int(alive[np.argmin(loss[alive])])
    return None


@dataclass
class BestRate:
    """An optimizer's learning-rate sweep and its best rate. index is None if all diverged;
    reached tells whether that best run got below the tolerance."""

    optimizer: str
    learning_rates: np.ndarray
    final_losses: np.ndarray
    diverged_at: np.ndarray
    hit_at: np.ndarray
    index: int | None

    @property
    def learning_rate(self) -> float | None:
        return None if self.index is None else float(self.learning_rates[self.index])

    @property
    def steps(self) -> int | None:
        """Steps to reach the tolerance at the best rate (None if never)."""
        if self.index is None or self.hit_at[self.index] < 0:
            return None
        return int(self.hit_at[self.index])

    @property
    def reached(self) -> bool:
        return self.steps is not None


def best_learning_rate(
    f: Any,
    optimizer: str,
    start: tuple[float, float],
    num_steps: int,
    learning_rates: Sequence[float],
    *,
    tol: float,
    schedule: ScheduleConfig | None = None,
    bound: float = DEFAULT_BOUND,
    **fixed: Any,
) -> BestRate:
    """Sweep the learning rates (one vmapped call) and pick the best by ``best_index``."""
    lrs = np.asarray(learning_rates, np.float64).ravel()
    check_side(lrs.size, MAX_RACE_RATES, "number of learning rates")
    if "learning_rate" in fixed:
        raise TypeError("learning_rate is swept; do not also fix it")
    batch = trace_batch(f, optimizer, start, check_steps(num_steps), schedule=schedule, bound=bound, tol=tol,
                        learning_rate=lrs, **fixed)
    return BestRate(optimizer, lrs, batch.final_losses, batch.diverged_at, batch.hit_at,
                    best_index(batch.hit_at, batch.final_losses, batch.diverged_at))


# ---------------------------------------------------------------------------------------
# Basins of attraction


def label_basins(
    final_points: np.ndarray,
    final_losses: np.ndarray,
    diverged_at: np.ndarray,
    minima: np.ndarray,
    minima_values: np.ndarray,
    *,
    radius: float,
    loss_tol: float,
) -> np.ndarray:
    """Which minimum each run ended in: index into ``minima`` (K, 2), or NOT_CONVERGED, or
    DIVERGED (see the module docstring for the rule)."""
    pts = np.asarray(final_points, np.float64).reshape(-1, 2)
    loss = np.asarray(final_losses, np.float64).ravel()
    div = np.asarray(diverged_at).ravel()
    mins = np.asarray(minima, np.float64).reshape(-1, 2)
    vals = np.asarray(minima_values, np.float64).ravel()
    if vals.size != mins.shape[0]:
        raise ValueError(f"{mins.shape[0]} minima but {vals.size} values")
    labels = np.full(pts.shape[0], NOT_CONVERGED, np.int64)
    nearest = np.full(pts.shape[0], np.inf)  # squared distance to the nearest qualifying minimum so far
    x, y = pts[:, 0], pts[:, 1]
    # One pass per minimum (K is small) instead of an (M, K) distance matrix: a few times
    # faster on a 40,000-run map.
    for k, ((mx, my), v) in enumerate(zip(mins, vals)):
        d2 = (x - mx) ** 2 + (y - my) ** 2
        ok = (d2 <= radius**2) & (np.abs(loss - v) <= loss_tol * (1.0 + abs(v))) & (d2 < nearest)
        nearest[ok] = d2[ok]
        labels[ok] = k
    labels[div >= 0] = DIVERGED
    return labels


@dataclass
class Basins:
    """A basin map: labels (n, n), labels[i, j] for the start (xs[j], ys[i]); the batch
    holds every run's final state in the same row-major order."""

    optimizer: str
    xs: np.ndarray
    ys: np.ndarray
    labels: np.ndarray
    batch: BatchTrace
    num_steps: int

    def counts(self, k: int) -> dict[int, int]:
        """Number of starts per label: minima 0..k-1, NOT_CONVERGED, DIVERGED."""
        return {lab: int(np.sum(self.labels == lab)) for lab in list(range(k)) + [NOT_CONVERGED, DIVERGED]}


def basins(
    f: Any,
    optimizer: str,
    domain: Sequence[Sequence[float]],
    n: int,
    num_steps: int,
    minima: np.ndarray,
    minima_values: np.ndarray,
    *,
    radius: float,
    loss_tol: float,
    schedule: ScheduleConfig | None = None,
    bound: float = DEFAULT_BOUND,
    chunk: int | None = None,
    progress: Progress | None = None,
    **hyper: Any,
) -> Basins:
    """Run the optimizer from every point of an n x n grid over ``domain`` (one
    trace_batch call; or, given ``chunk``, calls of that many runs reporting ``progress``,
    see trace_in_chunks) and label each start by the minimum its run ends in."""
    xs, ys, starts = start_grid(domain, n)
    if chunk is None:
        batch = trace_batch(f, optimizer, starts, check_steps(num_steps), schedule=schedule, bound=bound, **hyper)
    else:
        batch = trace_in_chunks(f, optimizer, starts, check_steps(num_steps), chunk, progress, schedule=schedule,
                                bound=bound, **hyper)
    labels = label_basins(batch.final_points, batch.final_losses, batch.diverged_at, minima, minima_values,
                          radius=radius, loss_tol=loss_tol)
    return Basins(optimizer, xs, ys, labels.reshape(ys.size, xs.size), batch, int(num_steps))
