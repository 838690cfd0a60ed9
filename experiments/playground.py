"""The Playground as data: several optimizers race on one surface from one start.

``Settings`` holds every control of the page (its URL keys are today's); ``run`` returns
everything the page shows: each racer's trace, who diverged at which step, the loss above
L* and the distance to the nearest minimum per step, and how much of the plotted domain is
blank. ``inspect`` and ``step_table`` give the step inspector's arrows and table for one
step. Verdicts are keys and numbers; the page turns them into sentences (catalog) and
figures (charts). No Streamlit here.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping, NamedTuple, Sequence

import numpy as np

import optimizers
import surfaces
from experiments import schema
from experiments.common import POINT_LIMIT, Hypers, ScheduleChoice, SurfaceChoice
from experiments.schema import group, setting
from optimizers.trace import Trace
from surfaces.base import Surface

# The default view, which the start-up warm-up also compiles.
PLAYGROUND_SURFACE = "rosenbrock"
PLAYGROUND_RACE = ("gd", "momentum", "rmsprop", "adam")
PLAYGROUND_STEPS = 500
# Learning rates that make a good race on the default surface (Rosenbrock, 500 steps).
PLAYGROUND_LR = {
    "gd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 0.5, "rmsprop": 0.01,
    "adam": 0.05, "adamw": 0.05, "amsgrad": 0.05, "nadam": 0.05, "radam": 1e-3,
}
NOISE_LIMIT = 1e4
SEED_LIMIT = 2**31 - 1
# The step inspector's neighbourhood: its zoom spans this many times the longest arrow on
# each side of the point, and shows this many steps of the path before and after it.
ZOOM_ARROWS = 2.5
NEARBY_STEPS = 6


@dataclass(frozen=True)
class Settings(schema.Settings):
    surface: SurfaceChoice = group(SurfaceChoice, default=PLAYGROUND_SURFACE)
    hypers: Hypers = group(Hypers, learning_rates=PLAYGROUND_LR)
    schedule: ScheduleChoice = group(ScheduleChoice)
    opts: tuple[str, ...] = setting(PLAYGROUND_RACE, "multi", choices=tuple(optimizers.names()))
    steps: int = setting(PLAYGROUND_STEPS, "int", 1, optimizers.MAX_STEPS)
    # None: the surface's own suggested start.
    x0: float | None = setting(None, "float", -POINT_LIMIT, POINT_LIMIT)
    y0: float | None = setting(None, "float", -POINT_LIMIT, POINT_LIMIT)
    noise: float = setting(0.0, "float", 0.0, NOISE_LIMIT)
    seed: int = setting(0, "int", 0, SEED_LIMIT)
    show3d: bool = setting(False, "bool")
    # The exponentially weighted average widget's β (ui/ewa_view.py; not used by run).
    ewa: float = setting(0.9, "float", 0.0, 0.99)


    @property
    def race(self) -> tuple[str, ...]:
        return race_of(self.opts)

    def start(self, surface: Surface) -> tuple[float, float]:
        """The start point: the one set, or the surface's own suggestion."""
        if self.x0 is not None and self.y0 is not None:
            return float(self.x0), float(self.y0)
        return own_start(surface)

    @staticmethod
    def implied(surface: Surface) -> dict[str, float]:
        """Defaults that depend on the surface (its own start), left out of the URL."""
        x, y = own_start(surface)
        return {"x0": x, "y0": y}


def race_of(opts: Sequence[str]) -> tuple[str, ...]:
    """The optimizers that race, in the order picked (unknown names dropped)."""
    return tuple(k for k in opts if k in optimizers.REGISTRY)


def own_start(surface: Surface) -> tuple[float, float]:
    x, y = (surface.starts or ((0.0, 0.0),))[0]
    return float(x), float(y)


# ---------------------------------------------------------------------------------------
# The surface, as far as a run needs it


@dataclass(frozen=True, eq=False)
class Landscape:
    """What ``run`` needs of a surface besides its function, computed once per surface
    (``ui.surface_view.landscape_of`` caches it): its minima, L* and its blank share."""

    surface: Surface
    minima: np.ndarray  # (M, 2), M may be 0
    lowest: float  # L*: the lowest known minimum, else the lowest value on the grid
    blank_fraction: float  # share of the plotted grid where f is not finite

    @classmethod
    def of(cls, surface: Surface, z: np.ndarray, critical: Sequence[surfaces.CriticalPoint]) -> Landscape:
        """From the surface's plotted grid ``z`` and its critical points."""
        minima = [c for c in critical if c.kind == "minimum"]
        finite = np.isfinite(z)
        if minima:
            lowest = float(min(c.value for c in minima))
        else:
            lowest = float(np.min(z[finite])) if finite.any() else 0.0
        points = np.asarray([c.point for c in minima], float).reshape(-1, 2)
        return cls(surface, points, lowest, float(1.0 - finite.mean()) if z.size else 0.0)


# ---------------------------------------------------------------------------------------
# A run


class Divergence(NamedTuple):
    """An optimizer whose step ``step`` left the finite numbers (its path ends at step - 1)."""

    optimizer: str
    step: int
    learning_rate: float


@dataclass(frozen=True, eq=False)
class Result:
    start: tuple[float, float]
    traces: Mapping[str, Trace]  # in race order
    diverged: tuple[Divergence, ...]
    lowest: float  # L*
    loss_gap: tuple[np.ndarray, ...]  # per racer, per step: L - L*
    distance: tuple[np.ndarray, ...] | None  # per racer, per step: to the nearest minimum; None: no minimum known
    blank_fraction: float  # share of the plotted domain where f is not finite
    # per racer, per step: ‖g_k‖, the norm of the gradient step k used (row 0, the start: NaN)
    gradient_norm: tuple[np.ndarray, ...] = ()


def run(settings: Settings, landscape: Landscape) -> Result:
    """Race every picked optimizer on ``landscape.surface`` (see the module docstring)."""
    surface = landscape.surface
    start = settings.start(surface)
    schedule = settings.schedule.config()
    hypers = {k: settings.hypers.of(k) for k in settings.race}
    traces = {
        k: optimizers.trace(surface, k, start, settings.steps, schedule=schedule, noise=float(settings.noise),
                            seed=int(settings.seed), with_stats=True, **hypers[k])
        for k in settings.race
    }
    diverged = tuple(Divergence(k, t.diverged_at, hypers[k]["learning_rate"])
                     for k, t in traces.items() if t.diverged_at is not None)
    distance = None
    if landscape.minima.size:
        distance = tuple(distances_to(t.points, landscape.minima) for t in traces.values())
    loss_gap = tuple(t.losses - landscape.lowest for t in traces.values())
    gradient_norm = tuple(np.linalg.norm(t.gradients, axis=1) for t in traces.values())
    return Result(start, traces, diverged, landscape.lowest, loss_gap, distance, landscape.blank_fraction,
                  gradient_norm)


def distances_to(points: np.ndarray, minima: np.ndarray) -> np.ndarray:
    """For each point (N, 2), its distance to the nearest of ``minima`` (M, 2)."""
    return np.min(np.linalg.norm(points[:, None, :] - minima[None, :, :], axis=2), axis=1)


# ---------------------------------------------------------------------------------------
# The step inspector


class ArrowKind(enum.Enum):
    GRADIENT_STEP = "gradient_step"  # −η∇L(θ_{k−1}): where plain gradient descent would have gone
    # −η·g̃_k, g̃_k = ∇L(θ_{k−1}) + ξ_k: the noisy gradient the update used (only with noise σ > 0)
    NOISY_GRADIENT_STEP = "noisy_gradient_step"
    UPDATE = "update"  # Δθ: the step the optimizer took
    VELOCITY = "velocity"  # v: heavy-ball momentum's velocity, itself a displacement
    BUFFER = "buffer"  # −η·b: a gradient buffer (Nesterov's b), scaled to a displacement


# Heavy-ball momentum keeps v = λv − ηg and moves by it, so v is drawn as it is; the
# others that keep a "velocity" statistic keep a sum of gradients b (b = μb + g), which
# becomes a displacement only as −η·b.
VELOCITY_AS_DISPLACEMENT = frozenset({"momentum"})


class Arrow(NamedTuple):
    kind: ArrowKind
    vector: np.ndarray  # (2,)


class Inspection(NamedTuple):
    """One optimizer at step k: the arrows drawn from the point it left, and its zoom."""

    optimizer: str
    k: int  # the step shown, clamped to 1..last_step
    last_step: int  # the last step that can be shown (at least 1)
    has_step: bool  # False when the optimizer diverged on its first step
    here: np.ndarray  # θ_{k-1}, where the arrows start
    arrows: tuple[Arrow, ...]
    # ∇L(θ_{k-1}) without noise, where it differs from the gradient the update used
    # (noise σ > 0); None without noise.
    true_gradient: np.ndarray | None
    radius: float  # the zoom's half-width
    window: tuple[tuple[float, float], tuple[float, float]]  # the zoom's domain
    nearby: np.ndarray  # the path around step k


def inspect(trace: Trace, k: int, surface: Surface | None = None) -> Inspection:
    """The inspector's data for ``trace`` (traced with statistics) at step ``k``.

    Without noise the gradient arrow is −η∇L(θ_{k−1}), the gradient the update used. With
    noise σ > 0 the update used g̃_k = ∇L(θ_{k−1}) + ξ_k: then two arrows, the true
    gradient step −η∇L (computed on ``surface``, which is then needed) and the noisy one
    −η·g̃_k."""
    last = max(1, trace.last_valid)
    k = int(np.clip(k, 1, last))
    here = trace.points[k - 1]
    lr = float(trace.learning_rates[k])
    true_gradient = None
    if trace.noise > 0:
        if surface is None:
            raise ValueError("a trace with gradient noise needs its surface for the true gradient")
        true_gradient = surfaces.gradient(surface, here)
        arrows = [Arrow(ArrowKind.GRADIENT_STEP, -lr * true_gradient),
                  Arrow(ArrowKind.NOISY_GRADIENT_STEP, -lr * trace.gradients[k])]
    else:
        arrows = [Arrow(ArrowKind.GRADIENT_STEP, -lr * trace.gradients[k])]
    arrows.append(Arrow(ArrowKind.UPDATE, trace.updates[k]))
    if "velocity" in trace.stats:
        if trace.optimizer in VELOCITY_AS_DISPLACEMENT:
            arrows.append(Arrow(ArrowKind.VELOCITY, trace.stats["velocity"][k]))
        else:
            arrows.append(Arrow(ArrowKind.BUFFER, -lr * trace.stats["velocity"][k]))
    longest = float(np.max(np.abs([a.vector for a in arrows])))
    radius = ZOOM_ARROWS * longest if np.isfinite(longest) and longest > 1e-6 else ZOOM_ARROWS * 1e-6
    window = ((float(here[0] - radius), float(here[0] + radius)), (float(here[1] - radius), float(here[1] + radius)))
    nearby = trace.points[max(0, k - NEARBY_STEPS): k + NEARBY_STEPS]
    return Inspection(trace.optimizer, k, last, trace.last_valid >= 1, here, tuple(arrows), true_gradient, radius,
                      window, nearby)


class StepRow(NamedTuple):
    """One optimizer's numbers at step k (row k of its trace)."""

    point: np.ndarray
    loss: float
    learning_rate: float
    gradient: np.ndarray  # the gradient the update used: with noise, g̃_k = ∇L + ξ_k
    update: np.ndarray
    stats: Mapping[str, np.ndarray]  # statistic name -> its (2,) value
    noisy: bool = False  # gradient holds noise (σ > 0)


def step_table(traces: Mapping[str, Trace], k: int) -> dict[str, StepRow | None]:
    """Every racer at step k; None for one that had diverged by then."""
    out: dict[str, StepRow | None] = {}
    for key, t in traces.items():
        if t.last_valid < k:
            out[key] = None
            continue
        out[key] = StepRow(t.points[k], float(t.losses[k]), float(t.learning_rates[k]), t.gradients[k], t.updates[k],
                           {s: v[k] for s, v in t.stats.items()}, t.noise > 0)
    return out
