"""The Sweeps page as data: its settings, and what each of its three views shows.

* **sweep**: final loss (or steps to the tolerance) over learning rate x a second
  hyperparameter, from one start, and the path of one cell (the one picked, else the best);
* **basins**: which minimum each start of a grid over the domain ends in, for one or two
  optimizers;
* **race**: every optimizer at its own best learning rate.

``settle`` makes the settings consistent (ranges in order, a second hyperparameter the
optimizer has); ``run`` plans the work within the server's budget (optimizers/budget.py),
hands the heavy part to ``execute`` as ``Job``s (the page passes the shared job queue;
tests run them inline) and returns everything the page shows as numbers and keys. Every
sentence is a catalog key with its parameters (``Notice``); the page says it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Hashable, NamedTuple, Sequence

import numpy as np

import optimizers
from experiments.common import Hypers, SurfaceChoice
from experiments.schema import Notice, Settings as SettingsBase, group, setting
from optimizers import budget, sweeps
from surfaces.base import Surface

MAX_STEPS = optimizers.MAX_STEPS
MAX_SWEEP_SIDE, MAX_BASIN_SIDE, MAX_RACE_RATES = sweeps.MAX_SWEEP_SIDE, sweeps.MAX_BASIN_SIDE, sweeps.MAX_RACE_RATES
NAMES = tuple(optimizers.names())
NONE = "none"  # the second axis of a learning-rate-only sweep
SECOND_NAMES = tuple(sorted({h.name for k in NAMES for h in sweeps.sweepable(k)}))
LR_LOW, LR_HIGH = 1e-6, 10.0
TOL_LOW, TOL_HIGH = 1e-8, 1e3
# The least a section keeps when the work budget shrinks its grid: below these a map
# stops showing its structure, and fewer steps are cut instead.
SWEEP_FLOOR, BASIN_FLOOR, RACE_FLOOR = 16, 50, 16
# Which minimum a run ends in (optimizers.sweeps.label_basins), as the page shows it.
BASIN_RULE_LATEX = (r"\theta_N \in \text{basin of } m \iff \lVert \theta_N - m \rVert \le r"
                    r"\ \text{ and }\ |L(\theta_N) - L(m)| \le \delta\,(1 + |L(m)|)")
# Plain-text symbols for chart labels (the registry's are LaTeX).
SYMBOLS = {r"\lambda": "λ", r"\mu": "μ", r"\beta_1": "β₁", r"\beta_2": "β₂", r"\epsilon": "ε", r"\alpha": "α",
           "G_0": "G₀", r"\rho_{\min}": "ρ_min"}


class View(str, Enum):
    SWEEP = "sweep"
    BASINS = "basins"
    RACE = "race"


class Mode(str, Enum):
    """What the sweep map's colour shows."""

    LOSS = "loss"
    STEPS = "steps"


@dataclass(frozen=True)
class Settings(SettingsBase):
    """Every control of the Sweeps page; the URL keys are today's."""

    surface: SurfaceChoice = group(SurfaceChoice, default="himmelblau")
    hypers: Hypers = group(Hypers)
    view: str = setting(View.SWEEP.value, "choice", choices=[v.value for v in View])
    steps: int = setting(500, "int", 1, optimizers.MAX_STEPS)
    tol: float = setting(1e-3, "float", TOL_LOW, TOL_HIGH)
    x0: float | None = setting(None, "float", -1e4, 1e4)
    y0: float | None = setting(None, "float", -1e4, 1e4)
    # hyperparameter sweep
    sweep_optimizer: str = setting("momentum", "choice", choices=NAMES, key="sw.opt")
    second: str = setting("momentum", "choice", choices=SECOND_NAMES + (NONE,), key="sw.h2")
    mode: str = setting(Mode.LOSS.value, "choice", choices=[m.value for m in Mode], key="sw.mode")
    sweep_lr_low: float = setting(1e-4, "float", LR_LOW, LR_HIGH, key="sw.lrlo")
    sweep_lr_high: float = setting(1.0, "float", LR_LOW, LR_HIGH, key="sw.lrhi")
    sweep_lr_count: int = setting(32, "int", 2, sweeps.MAX_SWEEP_SIDE, key="sw.nlr")
    second_low: float | None = setting(None, "float", -1e6, 1e6, key="sw.h2lo")
    second_high: float | None = setting(None, "float", -1e6, 1e6, key="sw.h2hi")
    second_count: int = setting(32, "int", 2, sweeps.MAX_SWEEP_SIDE, key="sw.nh2")
    picked_lr: float | None = setting(None, "float", LR_LOW, LR_HIGH, key="sw.lr")  # the cell whose path is shown
    picked_value: float | None = setting(None, "float", -1e6, 1e6, key="sw.v")
    # basins
    basin_a: str = setting("gd", "choice", choices=NAMES, key="bs.a")
    basin_b: str = setting("momentum", "choice", choices=NAMES, key="bs.b")
    basin_side: int = setting(100, "int", 10, sweeps.MAX_BASIN_SIDE, key="bs.n")
    basin_radius: float = setting(0.01, "float", 1e-4, 0.5, key="bs.r")  # share of the domain's diagonal
    basin_loss_tol: float = setting(0.01, "float", 1e-8, 1e3, key="bs.ltol")
    # fair race
    racers: tuple[str, ...] = setting(("gd", "momentum", "rmsprop", "adam"), "multi", choices=NAMES, key="race.opts")
    race_lr_low: float = setting(1e-4, "float", LR_LOW, LR_HIGH, key="race.lrlo")
    race_lr_high: float = setting(1.0, "float", LR_LOW, LR_HIGH, key="race.lrhi")
    race_lr_count: int = setting(41, "int", 2, sweeps.MAX_RACE_RATES, key="race.nlr")


    @property
    def second_name(self) -> str | None:
        """The swept second hyperparameter, None for a learning-rate-only sweep."""
        return None if self.second == NONE else self.second


# ---------------------------------------------------------------------------------------
# Labels (symbols, not sentences)


def title_of(optimizer: str) -> str:
    return optimizers.REGISTRY[optimizer].title


def symbol_of(optimizer: str, name: str) -> str:
    """A hyperparameter as a chart label: "momentum λ"."""
    sym = SYMBOLS.get(optimizers.REGISTRY[optimizer].hyperparam(name).symbol, "")
    return f"{name.replace('_', ' ')} {sym}".strip()


def hyperparam(optimizer: str, name: str) -> optimizers.HyperParam:
    return optimizers.REGISTRY[optimizer].hyperparam(name)


def second_options(optimizer: str) -> list[str]:
    return [h.name for h in sweeps.sweepable(optimizer)] + [NONE]


# ---------------------------------------------------------------------------------------
# Settling the settings


class Settled(NamedTuple):
    settings: Settings
    notices: list[Notice]
    axes: tuple[str, str]  # (optimizer, second) of the sweep, to compare with the next run's
    changes: dict[str, Any]  # the URL keys settling changed, with their new values


def _ordered(v: dict[str, Any], low: str, high: str, notice: Notice, notices: list[Notice]) -> None:
    if v[low] is not None and v[high] is not None and v[low] > v[high]:
        notices.append(notice)
        v[low], v[high] = v[high], v[low]


def settle(s: Settings, previous_axes: tuple[str, str] | None = None) -> Settled:
    """The settings made consistent for the view shown, and a notice for each change. A
    new optimizer or second axis (``previous_axes`` differs) spans the new axis's full
    range and shows the best cell again. Other views' settings are left as they are.
    Runs on every rerun, so it works on the flat values and builds new Settings only
    when something changed."""
    before = s.values()
    v = dict(before)
    notices: list[Notice] = []
    axes = (s.sweep_optimizer, s.second)
    if s.view == View.RACE:
        _ordered(v, "race.lrlo", "race.lrhi", Notice("sweeps.notice.swapped_lr"), notices)
    if s.view == View.SWEEP:
        opt = s.sweep_optimizer
        options = second_options(opt)
        if v["sw.h2"] not in options:
            now = {} if options[0] == NONE else {"now": symbol_of(opt, options[0])}
            notices.append(Notice("sweeps.notice.no_second_none" if options[0] == NONE else "sweeps.notice.no_second",
                                  {"optimizer": title_of(opt), "asked": v["sw.h2"], **now}))
            v["sw.h2"] = options[0]
        axes = (opt, v["sw.h2"])
        if previous_axes not in (None, axes):
            if any(v[k] is not None for k in ("sw.h2lo", "sw.h2hi", "sw.lr", "sw.v")):
                notices.append(Notice("sweeps.notice.new_axes"))
            v.update({"sw.h2lo": None, "sw.h2hi": None, "sw.lr": None, "sw.v": None})
        _ordered(v, "sw.lrlo", "sw.lrhi", Notice("sweeps.notice.swapped_lr"), notices)
        second = None if v["sw.h2"] == NONE else v["sw.h2"]
        if second is not None:
            h = hyperparam(opt, second)
            for key, default in (("sw.h2lo", h.low), ("sw.h2hi", h.high)):
                if v[key] is None or not h.low <= v[key] <= h.high:
                    if v[key] is not None:
                        notices.append(Notice("sweeps.notice.range_reset", {"name": second, "low": h.low,
                                                                            "high": h.high}))
                    v[key] = float(default)
            _ordered(v, "sw.h2lo", "sw.h2hi", Notice("sweeps.notice.swapped_hyper", {"name": second}), notices)
    else:
        axes = previous_axes or axes
    changes = {k: value for k, value in v.items() if value != before[k]}
    return Settled(Settings.from_values(v) if changes else s, notices, axes, changes)


# ---------------------------------------------------------------------------------------
# What a run needs to know about the surface, and the jobs it hands out


class Landscape(NamedTuple):
    """The surface and what the page already knows of it (cached in ui): L* (the lowest
    known minimum), the minima and their values, and the cost of one step (budget units)."""

    surface: Surface
    l_star: float
    minima: np.ndarray  # (K, 2)
    minimum_values: np.ndarray  # (K,)
    weight: float

    @classmethod
    def of(cls, surface: Surface, criticals: Sequence[Any], l_star: float) -> Landscape:
        mins = [c for c in criticals if c.kind == "minimum"]
        return cls(surface, float(l_star), np.asarray([c.point for c in mins], float).reshape(-1, 2),
                   np.asarray([c.value for c in mins], float), budget.step_weight(surface))


Report = Callable[[float, Notice], None]  # (fraction done, what is being done)


@dataclass(frozen=True)
class Job:
    """A heavy computation: ``compute(report)``, its result shared under ``key`` (the
    same request from any session gives the same result). ``optimizer``: the basin map
    whose column shows its progress."""

    key: Hashable
    label: Notice
    compute: Callable[[Report], Any]
    optimizer: str | None = None


Execute = Callable[[Job], Any]


class Stopped(Exception):
    """Raised between chunks once ``should_stop()`` says the result is no longer wanted."""


def inline(job: Job) -> Any:
    """Run a job here and now (tests, scripts)."""
    return job.compute(lambda fraction, message: None)


def _progress(report: Report, key: str, should_stop: Callable[[], bool] | None, **params: Any):
    def progress(done: int, total: int) -> None:
        if should_stop is not None and should_stop():
            raise Stopped()
        report(done / total, Notice(key, {"done": done, "total": total, **params}))

    return progress


def start_of(s: Settings, surface: Surface) -> tuple[float, float]:
    """θ₀: the settings' start, or the surface's own."""
    if s.x0 is None or s.y0 is None:
        return tuple(map(float, (surface.starts or ((0.0, 0.0),))[0]))  # type: ignore[return-value]
    return float(s.x0), float(s.y0)


def _steps(s: Settings) -> int:
    return sweeps.check_steps(min(int(s.steps), optimizers.MAX_STEPS))


def _hyper(hypers: Hypers, optimizer: str, skip: Sequence[str | None] = ()) -> dict[str, float]:
    return {k: v for k, v in hypers.of(optimizer).items() if k not in skip}


# ---------------------------------------------------------------------------------------
# Hyperparameter sweep


class SecondAxis(NamedTuple):
    name: str
    values: np.ndarray
    log: bool


class SweepGrid(NamedTuple):
    plan: budget.GridPlan
    asked: tuple[int, ...]  # the sides asked for (learning rates last)
    learning_rates: np.ndarray
    axis: SecondAxis | None


def sweep_grid(s: Settings, weight: float) -> SweepGrid:
    """The grid a sweep runs: the asked sides, shrunk to the work budget."""
    second = s.second_name
    n_lr = min(int(s.sweep_lr_count), sweeps.MAX_SWEEP_SIDE)
    sides = (n_lr,) if second is None else (min(int(s.second_count), sweeps.MAX_SWEEP_SIDE), n_lr)
    plan = budget.plan_grid(sides, 1, _steps(s), weight, floors=(SWEEP_FLOOR,) * len(sides))
    axis = None
    if second is not None:
        h = optimizers.REGISTRY[s.sweep_optimizer].hyperparam(second)
        low, high = sorted((float(s.second_low if s.second_low is not None else h.low),
                            float(s.second_high if s.second_high is not None else h.high)))
        axis = SecondAxis(second, sweeps.axis_values(low, high, plan.sides[0], h.log), bool(h.log))
    lrs = sweeps.axis_values(float(s.sweep_lr_low), float(s.sweep_lr_high), plan.sides[-1], True)
    return SweepGrid(plan, sides, lrs, axis)


def pick_at(s: Settings, weight: float, point: tuple[float, float]) -> Settings:
    """The settings with the cell nearest a click on the map picked (x is log10 of the
    learning rate; y the second value, or its log10 on a log axis)."""
    grid = sweep_grid(s, weight)
    lr = float(grid.learning_rates[int(np.argmin(np.abs(np.log10(grid.learning_rates) - point[0])))])
    picked = {"sw.lr": lr}
    if grid.axis is not None:
        values = grid.axis.values
        ys = np.log10(values) if grid.axis.log else values
        picked["sw.v"] = float(values[int(np.argmin(np.abs(ys - point[1])))])
    return s.replace(**picked)


class PathEnd(NamedTuple):
    diverged_at: int | None
    gap: float  # L − L* at the last step (NaN if it diverged)


@dataclass(frozen=True)
class SweepResult:
    optimizer: str
    grid: SweepGrid
    cut: Notice | None  # what the budget cut, as one sentence's key and numbers
    steps: int  # per run
    tol: float
    l_star: float
    sweep: sweeps.Sweep
    best: tuple[int, int] | None  # (row, column) of the best cell; None if every run diverged
    best_steps: int | None  # steps the best cell took to the tolerance (None: not reached)
    selected: tuple[int, int] | None  # the cell outlined on the map
    picked: bool  # the path is of the cell the user picked (else the best)
    shown: dict[str, float] | None  # the shown run's hyperparameters that the grid sets
    path: optimizers.Trace | None
    diverged_share: float
    reached_share: float

    @property
    def runs(self) -> int:
        return int(self.sweep.final_losses.size)

    @property
    def path_end(self) -> PathEnd | None:
        if self.path is None:
            return None
        gap = math.nan if self.path.diverged_at is not None else float(self.path.losses[-1]) - self.l_star
        return PathEnd(self.path.diverged_at, gap)

    # What the page says about it: catalog keys and their numbers.

    def _cell(self, cell: dict[str, float]) -> tuple[str, dict[str, Any]]:
        """Which form names a cell ("lr": the learning rate alone, "two": both axes) and its parameters."""
        second = self.sweep.second
        if second is None:
            return "lr", {"lr": cell["learning_rate"]}
        return "two", {"lr": cell["learning_rate"], "label": symbol_of(self.optimizer, second),
                       "second_value": cell[second]}

    @property
    def chart_title(self) -> Notice:
        return Notice("sweeps.sweep.chart_title", {"optimizer": title_of(self.optimizer), "runs": self.runs,
                                                   "steps": self.steps})

    @property
    def path_label(self) -> Notice | None:
        if self.shown is None:
            return None
        form, params = self._cell(self.shown)
        return Notice(f"sweeps.sweep.path_{form}", {"optimizer": title_of(self.optimizer), **params})

    @property
    def path_title(self) -> Notice:
        if self.shown is None:
            return Notice("sweeps.sweep.start_title")
        form, params = self._cell(self.shown)
        return Notice(f"sweeps.sweep.run_at_{form}", params)

    @property
    def path_caption(self) -> Notice | None:
        end = self.path_end
        if end is None:
            return None
        which = "picked" if self.picked else "best"
        if end.diverged_at is not None:
            return Notice(f"sweeps.sweep.{which}_diverged", {"step": end.diverged_at})
        return Notice(f"sweeps.sweep.{which}_end", {"gap": end.gap})

    @property
    def summary(self) -> list[Notice]:
        """The share of runs that diverged and reached the tolerance; the fastest cell."""
        out = [Notice("sweeps.sweep.summary", {"diverged": self.diverged_share, "reached": self.reached_share,
                                               "tol": self.tol, "steps": self.steps})]
        if self.best is not None and self.best_steps is not None:
            form, params = self._cell(self.sweep.settings(*self.best))
            out.append(Notice(f"sweeps.sweep.fastest_{form}", {"steps": self.best_steps, **params}))
        return out


def _sweep_cut(grid: SweepGrid, steps: int) -> Notice | None:
    plan = grid.plan
    if not plan.cut:
        return None
    two = len(plan.sides) == 2
    key = f"sweeps.cut.sweep_{'map' if two else 'curve'}{'_steps' if plan.cut_steps else ''}"
    return Notice(key, {"runs": math.prod(grid.asked), "steps": steps, "rows": plan.sides[0],
                        "columns": plan.sides[-1], "run_steps": plan.steps})


def run_sweep(s: Settings, land: Landscape, execute: Execute = inline,
              should_stop: Callable[[], bool] | None = None) -> SweepResult:
    surface, opt, second = land.surface, s.sweep_optimizer, s.second_name
    steps, start = _steps(s), start_of(s, surface)
    grid = sweep_grid(s, land.weight)
    lrs, axis, run_steps = grid.learning_rates, grid.axis, grid.plan.steps
    values = axis.values if axis is not None else np.array([np.nan])
    goal = land.l_star + float(s.tol)  # trace_batch's tol is on L itself
    fixed = _hyper(s.hypers, opt, ("learning_rate", second))
    chunk = budget.chunk_runs(run_steps, land.weight)

    def compute(report: Report) -> sweeps.Sweep:
        progress = _progress(report, "sweeps.progress.runs", should_stop)
        return sweeps.sweep(surface, opt, start, run_steps, lrs, second, values if second else None, tol=goal,
                            chunk=chunk, progress=progress, **fixed)

    key = ("sweep", surface, opt, start, run_steps, goal, lrs.tobytes(), second, values.tobytes(),
           tuple(sorted(fixed.items())))
    runs = lrs.size * values.size
    sw = execute(Job(key, Notice("sweeps.job.sweep", {"runs": runs, "steps": run_steps}), compute))
    best = sweeps.best_index(sw.hit_at, sw.final_losses, sw.diverged_at)
    best_cell = None if best is None else divmod(best, lrs.size)
    best_steps = None if best is None or sw.hit_at.ravel()[best] < 0 else int(sw.hit_at.ravel()[best])

    selected, shown, picked = None, None, s.picked_lr is not None and (axis is None or s.picked_value is not None)
    if picked:
        j = int(np.argmin(np.abs(np.log10(lrs) - np.log10(s.picked_lr))))
        i = int(np.argmin(np.abs(values - s.picked_value))) if axis is not None else 0
        shown = {"learning_rate": float(s.picked_lr), **({second: float(s.picked_value)} if second else {})}
        if np.isclose(lrs[j], s.picked_lr, rtol=1e-4) and (axis is None or np.isclose(values[i], s.picked_value,
                                                                                      rtol=1e-4)):
            selected = (i, j)
    elif best_cell is not None:
        selected, shown = best_cell, sw.settings(*best_cell)
    path = None if shown is None else optimizers.trace(surface, opt, start, run_steps, **shown, **fixed)
    return SweepResult(
        opt, grid, _sweep_cut(grid, steps), run_steps, float(s.tol), land.l_star, sw, best_cell, best_steps,
        selected, picked, shown, path, float(np.mean(sw.diverged_at >= 0)),
        float(np.mean((sw.hit_at >= 0) & (sw.diverged_at < 0))),
    )


# ---------------------------------------------------------------------------------------
# Basins of attraction


class BasinShares(NamedTuple):
    """Shares of a map's starts: ending in each minimum, in none, diverged."""

    optimizer: str
    title: str
    minima: tuple[float, ...]
    not_converged: float
    diverged: float


@dataclass(frozen=True)
class BasinsResult:
    which: tuple[str, ...]  # one optimizer, or two different ones
    cut: Notice | None
    side: int  # starts per side of each map
    steps: int
    radius: float  # in the domain's units
    minima: np.ndarray
    maps: dict[str, sweeps.Basins]
    shares: list[BasinShares]
    learning_rates: dict[str, float]

    @property
    def same_optimizer(self) -> bool:
        return len(self.which) == 1

    @property
    def no_minimum(self) -> bool:
        return not self.minima.size

    def map_title(self, optimizer: str) -> Notice:
        return Notice("sweeps.basins.map_title", {"optimizer": title_of(optimizer),
                                                  "lr": self.learning_rates[optimizer], "steps": self.steps})

    @property
    def caption(self) -> Notice:
        return Notice("sweeps.basins.caption", {"starts": self.side * self.side, "minima": len(self.minima)})


def run_basins(s: Settings, land: Landscape, execute: Execute = inline,
               should_stop: Callable[[], bool] | None = None) -> BasinsResult:
    surface, minima, values = land.surface, land.minima, land.minimum_values
    steps = _steps(s)
    asked = min(int(s.basin_side), sweeps.MAX_BASIN_SIDE)
    which = (s.basin_a,) if s.basin_a == s.basin_b else (s.basin_a, s.basin_b)
    plan = budget.plan_grid((asked, asked), len(which), steps, land.weight, floors=(BASIN_FLOOR, BASIN_FLOOR))
    n, run_steps = plan.sides[0], plan.steps
    cut = None
    if plan.cut:
        key = f"sweeps.cut.basins_{'two' if len(which) > 1 else 'one'}{'_steps' if plan.cut_steps else ''}"
        cut = Notice(key, {"maps": len(which), "asked": asked, "steps": steps, "side": n, "run_steps": run_steps})
    (x0, x1), (y0, y1) = surface.domain
    radius = float(s.basin_radius) * float(np.hypot(x1 - x0, y1 - y0))
    loss_tol = float(s.basin_loss_tol)
    chunk = budget.chunk_runs(run_steps, land.weight)
    maps: dict[str, sweeps.Basins] = {}
    shares: list[BasinShares] = []
    for opt in which:
        hyper = _hyper(s.hypers, opt)

        def compute(report: Report, opt: str = opt, hyper: dict[str, float] = hyper) -> sweeps.Basins:
            progress = _progress(report, "sweeps.progress.starts", should_stop, optimizer=title_of(opt))
            return sweeps.basins(surface, opt, surface.domain, n, run_steps, minima, values, radius=radius,
                                 loss_tol=loss_tol, chunk=chunk, progress=progress, **hyper)

        # Keyed without the labelling rule: a new radius or tolerance only labels again.
        key = ("basins", surface, opt, n, run_steps, tuple(sorted(hyper.items())))
        label = Notice("sweeps.job.basins", {"optimizer": title_of(opt), "runs": n * n, "steps": run_steps})
        runs = execute(Job(key, label, compute, opt))
        b = runs.batch
        labels = sweeps.label_basins(b.final_points, b.final_losses, b.diverged_at, minima, values, radius=radius,
                                     loss_tol=loss_tol)
        m = sweeps.Basins(opt, runs.xs, runs.ys, labels.reshape(runs.ys.size, runs.xs.size), b, run_steps)
        maps[opt] = m
        counts, total = m.counts(len(minima)), m.labels.size
        shares.append(BasinShares(opt, title_of(opt), tuple(counts[k] / total for k in range(len(minima))),
                                  counts[sweeps.NOT_CONVERGED] / total, counts[sweeps.DIVERGED] / total))
    rates = {opt: s.hypers.of(opt)["learning_rate"] for opt in which}
    return BasinsResult(which, cut, n, run_steps, radius, minima, maps, shares, rates)


# ---------------------------------------------------------------------------------------
# Fair race


class RaceEntry(NamedTuple):
    """One row of the race table; each field has one type (None: no value)."""

    optimizer: str
    best_rate: float | None  # None: every rate diverged
    reached: bool
    steps: int | None  # steps to the tolerance at the best rate
    final_gap: float | None  # L − L* after the last step at the best rate
    rates_reaching: int
    rates_diverging: int
    rates: int


@dataclass(frozen=True)
class RaceResult:
    racers: tuple[str, ...]
    cut: Notice | None
    steps: int
    tol: float
    learning_rates: np.ndarray
    best: dict[str, sweeps.BestRate] = field(default_factory=dict)
    table: list[RaceEntry] = field(default_factory=list)
    paths: dict[str, optimizers.Trace] = field(default_factory=dict)  # at each best rate

    @property
    def all_diverged(self) -> list[str]:
        """The titles of the optimizers for which every learning rate of the grid diverged."""
        return [title_of(k) for k, r in self.best.items() if r.learning_rate is None]

    def path_label(self, optimizer: str) -> Notice:
        return Notice("sweeps.race.path", {"optimizer": title_of(optimizer),
                                           "lr": self.best[optimizer].learning_rate})


def run_race(s: Settings, land: Landscape, execute: Execute = inline,
             should_stop: Callable[[], bool] | None = None) -> RaceResult:
    surface, steps, start = land.surface, _steps(s), start_of(s, land.surface)
    race = tuple(k for k in s.racers if k in optimizers.REGISTRY)
    if not race:
        return RaceResult((), None, steps, float(s.tol), np.array([]))
    asked = min(int(s.race_lr_count), sweeps.MAX_RACE_RATES)
    plan = budget.plan_grid((asked,), len(race), steps, land.weight, floors=(RACE_FLOOR,))
    run_steps = plan.steps
    cut = None
    if plan.cut:
        cut = Notice(f"sweeps.cut.race{'_steps' if plan.cut_steps else ''}",
                     {"optimizers": len(race), "rates": asked, "steps": steps, "tried": plan.sides[0],
                      "run_steps": run_steps})
    lrs = sweeps.axis_values(float(s.race_lr_low), float(s.race_lr_high), plan.sides[0], True)
    goal = land.l_star + float(s.tol)
    fixed = {k: _hyper(s.hypers, k, ("learning_rate",)) for k in race}

    def compute(report: Report) -> dict[str, sweeps.BestRate]:
        out = {}
        for i, k in enumerate(race):
            if should_stop is not None and should_stop():
                raise Stopped()
            report(i / len(race), Notice("sweeps.progress.race", {"optimizer": title_of(k), "rates": lrs.size}))
            out[k] = sweeps.best_learning_rate(surface, k, start, run_steps, lrs, tol=goal, **fixed[k])
        return out

    key = ("race", surface, start, run_steps, goal, lrs.tobytes(),
           tuple((k, tuple(sorted(fixed[k].items()))) for k in race))
    best = execute(Job(key, Notice("sweeps.job.race", {"rates": lrs.size, "optimizers": len(race)}), compute))
    table, paths = [], {}
    for k, r in best.items():
        gap = None if r.index is None else float(r.final_losses[r.index]) - land.l_star
        hit, div = np.asarray(r.hit_at), np.asarray(r.diverged_at) >= 0
        table.append(RaceEntry(k, r.learning_rate, r.reached, r.steps, gap, int(np.sum((hit >= 0) & ~div)),
                               int(np.sum(div)), int(hit.size)))
        if r.learning_rate is not None:
            paths[k] = optimizers.trace(surface, k, start, run_steps, learning_rate=r.learning_rate, **fixed[k])
    return RaceResult(race, cut, run_steps, float(s.tol), lrs, best, table, paths)


RUNS = {View.SWEEP: run_sweep, View.BASINS: run_basins, View.RACE: run_race}


def run(s: Settings, land: Landscape, execute: Execute = inline,
        should_stop: Callable[[], bool] | None = None) -> SweepResult | BasinsResult | RaceResult:
    """What the chosen view shows. ``execute`` runs the heavy jobs (the page: the shared
    queue with its results cache; by default, here and now)."""
    return RUNS[View(s.view)](s, land, execute, should_stop)
