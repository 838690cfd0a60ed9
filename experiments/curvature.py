"""The Curvature page as data: the gradient, Hessian and second-order verdict at a point θ′,
the quadratic model there, every critical point, the largest stable step 2/λ_max at the
nearest minimum with gradient descent at multiples of it, and Newton's method from θ′.

``run(settings)`` is pure (no Streamlit): verdicts come back as enums and numbers, and the
page turns them into sentences from the message catalog. Everything about curvature is
float64 (surfaces.curvature); the gradient-descent runs are the pages' float32 traces.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

import numpy as np

import optimizers
import surfaces
from experiments.common import critical_points_of, POINT_LIMIT, SurfaceChoice
from experiments.schema import Settings as SettingsBase
from experiments.schema import group, setting
from surfaces import local, stability
from surfaces.base import Surface
from surfaces.curvature import ATOL, RTOL, classify_eigenvalues, jet

MULTIPLES = ("0.25", "0.5", "0.75", "0.9", "0.95", "0.99", "1.01", "1.05", "1.1", "1.25", "1.5", "2")
CRITICAL_GRAD = 1e-6  # |g| below this counts as g = 0 (surfaces.is_critical's tolerance)
SNAP = 1e-5  # a point this close (x domain diagonal) to a listed critical point is moved onto it
WINDOW = 0.15  # half-width of the quadratic model's window, x the longer domain side
WINDOW_GRID = 61  # points per side of that window (evaluated on every rerun, so small)
MODEL_REACH = 0.8  # the model's levels span its climb this share of the way out of the window
SLICE_POINTS = 201
OFFSET = 0.01  # GD starts this far (x the shorter domain side) from the minimum
CEILING = 100  # ratios measured only until the distance first reaches this many start offsets
ZOOM = 4.0  # half-width of the view around the minimum, in start offsets
# Points per side of that view: ui.surface_view.ZOOM_GRID, so the Playground's step
# inspector and this page share one compiled grid program (JAX compiles one per size).
ZOOM_GRID = 161
MOVED = 1e-9  # a Newton step shorter than this (x domain diagonal) did not move
TIDY = 1e-12  # a coordinate below this (x the longer domain side) is shown as 0 (3.9e-31 is 0)
# The saddle escape's step t along the eigenvector of the most negative eigenvalue: first
# tried at ESCAPE_START x the longer domain side, halved until f's change on both sides is
# within ESCAPE_MATCH of the second-order prediction ½λt² (so the drop is large enough to
# see and still the Hessian's doing).
ESCAPE_START = 0.02
ESCAPE_MATCH = 0.1
ESCAPE_HALVINGS = 40


class Kind(StrEnum):
    """The second-order verdict (the same strings as surfaces.curvature's)."""

    MINIMUM = "minimum"
    SADDLE = "saddle"
    DEGENERATE = "degenerate"
    MAXIMUM = "maximum"


KIND_ORDER = (Kind.MINIMUM, Kind.SADDLE, Kind.DEGENERATE, Kind.MAXIMUM)  # the table's count line


class Shape(StrEnum):
    """What the Hessian says about f near θ′, with the case the verdict explains."""

    MINIMUM = "minimum"  # both eigenvalues > 0: f curves up along every direction
    MAXIMUM = "maximum"  # both < 0
    SADDLE = "saddle"  # opposite signs
    FLAT = "flat"  # H = 0: no curvature at all to second order
    ONE_FLAT = "one_flat"  # one eigenvalue ≈ 0 (Probe.flat_index says which)


class NewtonOutcome(StrEnum):
    SINGULAR = "singular"  # H singular at θ′: the step −H⁻¹g is undefined
    ALREADY_CRITICAL = "already_critical"  # g = 0 at θ′: Newton does not move
    LEFT_BOX = "left_box"  # an iterate left the plot (grown by its own size)
    NOT_FINITE = "not_finite"
    REACHED = "reached"  # ends on a critical point (Newton.end_kind)
    STOPPED = "stopped"  # the steps ran out elsewhere


class GDOutcome(StrEnum):
    CONVERGES = "converges"
    OSCILLATES = "oscillates"  # converges, the error along v₂ flipping sign every step
    DIVERGED = "diverged"
    TWO_CYCLE = "two_cycle"  # bounces between two points for good
    STALLED = "stalled"  # neither: still away from θ* after the steps given


class DivergenceCause(StrEnum):
    UNSTABLE = "unstable"  # max |1 − ηλᵢ| > 1: the error along v₂ grows every step
    NOT_QUADRATIC = "not_quadratic"  # every factor < 1: away from θ* f is not its quadratic model


@dataclass(frozen=True)
class Settings(SettingsBase):
    surface: SurfaceChoice = group(SurfaceChoice, default="himmelblau")
    # None: the page's own choice, the surface's first saddle (else its suggested start).
    point_x: float | None = setting(None, "float", -POINT_LIMIT, POINT_LIMIT, key="px")
    point_y: float | None = setting(None, "float", -POINT_LIMIT, POINT_LIMIT, key="py")
    newton_steps: int = setting(5, "int", 1, 30, key="newton")
    multiples: tuple[str, ...] = setting(("0.5", "0.9", "1.1"), "multi", choices=MULTIPLES, key="mult")
    gd_steps: int = setting(200, "int", 10, optimizers.MAX_STEPS, key="gdsteps")

    @property
    def point(self) -> tuple[float, float] | None:
        if self.point_x is None or self.point_y is None:
            return None
        return float(self.point_x), float(self.point_y)


# ---------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class CriticalRow:
    """A critical point with float64 f and Hessian eigenvalues (ascending), and the
    surface's own label for it (a legend's "global minimum"; "" if none)."""

    point: tuple[float, float]
    value: float
    eigenvalues: tuple[float, float]
    kind: Kind
    label: str


@dataclass(frozen=True)
class Probe:
    """f, g and H at θ′ and what they say. eigenvectors: columns, canonical signs."""

    point: tuple[float, float]
    value: float
    gradient: np.ndarray
    hessian: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    zero: np.ndarray  # per eigenvalue: counts as 0 (|λ| <= RTOL max|λ| + ATOL)
    kind: Kind
    shape: Shape
    flat_index: int | None  # the ≈ 0 eigenvalue when exactly one is
    critical: bool  # ‖g‖ <= CRITICAL_GRAD: the second-order test applies

    @property
    def gradient_norm(self) -> float:
        return float(np.linalg.norm(self.gradient))

    @property
    def determinant(self) -> float:
        return float(self.eigenvalues[0] * self.eigenvalues[1])


@dataclass(frozen=True)
class ModelWindow:
    """f and the quadratic model q on a square window around θ′ (rows follow y), and how
    far the model climbs or falls inside it (``reach``: the span its levels should cover)."""

    xs: np.ndarray
    ys: np.ndarray
    f: np.ndarray
    q: np.ndarray
    reach: float


@dataclass(frozen=True)
class Slices:
    """f(θ′ + t vᵢ) and the model f(θ′) + t gᵀvᵢ + ½λᵢt², one row per eigenvector."""

    ts: np.ndarray
    f: tuple[np.ndarray, ...]
    q: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Newton:
    points: np.ndarray  # row 0: θ′
    outcome: NewtonOutcome
    steps: int  # iterations made
    moving_steps: int  # of which moved the point (a converged iterate repeats itself)
    end: tuple[float, float]  # the last point, with rounding-noise coordinates shown as 0
    end_kind: Kind | None  # REACHED: the critical point's kind
    end_gradient_norm: float

    @property
    def counted_steps(self) -> int:
        """The steps its outcome speaks of: for REACHED those that moved (once converged, an
        iterate repeats itself), otherwise all made."""
        return self.moving_steps if self.outcome == NewtonOutcome.REACHED else self.steps


@dataclass(frozen=True)
class GDRun:
    multiple: str
    learning_rate: float
    points: np.ndarray
    losses: np.ndarray
    diverged_at: int | None
    factors: np.ndarray  # |1 − ηλᵢ| per eigen-direction at θ*
    measured: float  # median ratio of successive distances to θ*; NaN if not measurable
    ratios: np.ndarray  # that ratio step by step, NaN where it is not measured
    outcome: GDOutcome
    hop: float | None  # TWO_CYCLE: the distance between the two points
    end_distance: float  # last finite point to θ*

    @property
    def predicted(self) -> float:
        """max |1 − ηλᵢ|: the long-run ratio on a quadratic."""
        return float(np.max(self.factors))

    @property
    def cause(self) -> DivergenceCause | None:
        if self.diverged_at is None:
            return None
        return DivergenceCause.UNSTABLE if self.predicted > 1 else DivergenceCause.NOT_QUADRATIC


@dataclass(frozen=True)
class StepLimit:
    """Gradient descent near the minimum θ* nearest to θ′, at multiples of 2/λ_max."""

    minimum: tuple[float, float]
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    zero: np.ndarray
    stable_step: float  # 2 / λ_max
    start: tuple[float, float]
    radius: float  # the start's distance from θ*
    floor: float  # distances below this are not measured (float32 rounding)
    ceiling: float  # ... nor after the first above this
    steps: int
    runs: tuple[GDRun, ...]  # sorted by multiple; empty if none was chosen
    zoom: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # (xs, ys, f) around θ*, drawn only with runs
    zoom_radius: float


@dataclass(frozen=True)
class EscapeStep:
    """θ′ + sign·t·v: where one side of the escape lands and what f and its model say there."""

    sign: int  # +1 or -1
    point: tuple[float, float]
    value: float  # L after the step
    predicted: float  # the model's change sign·t·gᵀv + ½λt² (gᵀv ≈ 0 at a critical point)
    change: float  # L after − L(θ′)


@dataclass(frozen=True)
class Escape:
    """A step from a critical point θ′ along the eigenvector v of the most negative
    eigenvalue λ < 0, both ways: f falls by about ½|λ|t² on each side (the saddle is not a
    minimum: "还能下降")."""

    start: tuple[float, float]
    value: float  # L(θ′)
    eigenvalue: float  # λ, the most negative
    index: int  # which eigenvalue it is (0: λ₁)
    direction: np.ndarray  # v, unit
    step: float  # t
    steps: tuple[EscapeStep, EscapeStep]  # +t v, then −t v

    @property
    def second_order(self) -> float:
        """½λt², the drop the Hessian predicts (negative)."""
        return 0.5 * self.eigenvalue * self.step**2

    @property
    def falls(self) -> bool:
        return all(s.change < 0 for s in self.steps)

    @property
    def matches(self) -> bool:
        """f's change on both sides within ESCAPE_MATCH of the model's."""
        return all(abs(s.change - s.predicted) <= ESCAPE_MATCH * abs(s.predicted) for s in self.steps)


@dataclass(frozen=True)
class Result:
    surface: Surface
    point: tuple[float, float]  # θ′ as used: the page's choice if none was set, snapped
    outside_domain: bool
    probe: Probe | None  # None: f, g or H is not finite at θ′
    model: ModelWindow | None
    slices: Slices | None
    newton: Newton | None
    critical: tuple[CriticalRow, ...]
    step_limit: StepLimit | None  # None: no minimum in the domain
    escape: Escape | None = None  # None: θ′ is not critical, or no eigenvalue is < 0

    @property
    def counts(self) -> dict[Kind, int]:
        """How many critical points of each kind, in KIND_ORDER, kinds present only."""
        found = [r.kind for r in self.critical]
        return {k: found.count(k) for k in KIND_ORDER if k in found}


# ---------------------------------------------------------------------------------------
# The pieces


def _diagonal(surface: Surface) -> float:
    (x0, x1), (y0, y1) = surface.domain
    return math.hypot(x1 - x0, y1 - y0)


def default_point(surface: Surface, critical: Sequence[surfaces.CriticalPoint]) -> tuple[float, float]:
    """θ′ when none is set: the first saddle (the interesting case), else the suggested start."""
    saddles = [c.point for c in critical if c.kind == Kind.SADDLE]
    x, y = saddles[0] if saddles else (surface.starts or ((0.0, 0.0),))[0]
    return float(x), float(y)


def snap(point: tuple[float, float], critical: Sequence[surfaces.CriticalPoint],
         diagonal: float) -> tuple[float, float]:
    """URLs keep 6 significant digits: a point within SNAP x diagonal of a listed critical
    point is put back on it, so a shared saddle is still a saddle (g = 0 to 1e-12)."""
    if not critical:
        return point
    pts = np.array([c.point for c in critical], float)
    dist = np.hypot(pts[:, 0] - point[0], pts[:, 1] - point[1])
    i = int(np.argmin(dist))
    if 0 < dist[i] <= SNAP * diagonal:
        return float(pts[i, 0]), float(pts[i, 1])
    return point


def shape_of(eigenvalues: np.ndarray, zero: np.ndarray) -> tuple[Shape, int | None]:
    """The shape and, for ONE_FLAT, the index of the ≈ 0 eigenvalue."""
    kind = classify_eigenvalues(eigenvalues)
    if kind != Kind.DEGENERATE:
        return Shape(kind), None
    if np.all(zero):
        return Shape.FLAT, None
    return Shape.ONE_FLAT, int(np.flatnonzero(zero)[0])


def zero_eigenvalues(eigenvalues: np.ndarray) -> np.ndarray:
    """Which eigenvalues count as 0 (surfaces.curvature's tolerance)."""
    lam = np.asarray(eigenvalues, float)
    return np.abs(lam) <= RTOL * float(np.max(np.abs(lam))) + ATOL


def probe_at(surface: Surface, point: tuple[float, float]) -> Probe | None:
    """f, g, H and the verdict at the point; None when any of them is not finite."""
    f0, g, h = jet(surface, point)
    if not (np.isfinite(f0) and np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
        return None
    lam, vecs = np.linalg.eigh(h)
    zero = zero_eigenvalues(lam)
    shape, flat = shape_of(lam, zero)
    return Probe(point=point, value=float(f0), gradient=g, hessian=h, eigenvalues=lam,
                 eigenvectors=local.canonical_eigenvectors(vecs), zero=zero,
                 kind=Kind(classify_eigenvalues(lam)), shape=shape, flat_index=flat,
                 critical=float(np.linalg.norm(g)) <= CRITICAL_GRAD)


def model_window(surface: Surface, p: Probe, half: float) -> ModelWindow:
    (x, y) = p.point
    window = ((x - half, x + half), (y - half, y + half))
    xs, ys, f = surfaces.evaluate_grid(surface, window, WINDOW_GRID)
    q = local.quadratic_on_grid(p.point, p.value, p.gradient, p.hessian, xs, ys)
    r = MODEL_REACH * half
    reach = 0.5 * float(np.max(np.abs(p.eigenvalues))) * r**2 + p.gradient_norm * r
    return ModelWindow(xs, ys, f, q, reach)


def slices(surface: Surface, p: Probe, half: float) -> Slices:
    ts = np.linspace(-half, half, SLICE_POINTS)
    f, q = [], []
    for i in range(2):
        v = p.eigenvectors[:, i]
        f.append(local.values_along(surface, p.point, v, ts))
        q.append(p.value + ts * float(p.gradient @ v) + 0.5 * p.eigenvalues[i] * ts**2)
    return Slices(ts, tuple(f), tuple(q))


def newton_from(surface: Surface, p: Probe, steps: int) -> Newton:
    """Newton's method from θ′ and how it ended."""
    path = local.newton_path(surface, p.point, steps, surface.domain)
    pts = path.points
    diagonal = _diagonal(surface)
    (x0, x1), (y0, y1) = surface.domain
    span = max(x1 - x0, y1 - y0)
    end = np.where(np.abs(pts[-1]) < TIDY * span, 0.0, pts[-1])
    made = len(pts) - 1
    moving = sum(1 for a, b in zip(pts[:-1], pts[1:]) if np.linalg.norm(b - a) > MOVED * diagonal)

    def done(outcome: NewtonOutcome, kind: Kind | None = None, norm: float = math.nan) -> Newton:
        return Newton(pts, outcome, made, moving, (float(end[0]), float(end[1])), kind, norm)

    if path.reason == "singular" and made == 0:
        return done(NewtonOutcome.SINGULAR)
    if p.critical and float(np.linalg.norm(pts[-1] - pts[0])) <= MOVED * diagonal:
        return done(NewtonOutcome.ALREADY_CRITICAL)
    if path.reason == "left the box":
        return done(NewtonOutcome.LEFT_BOX)
    if path.reason == "not finite":
        return done(NewtonOutcome.NOT_FINITE)
    _, g_end, h_end = jet(surface, pts[-1])
    norm = float(np.linalg.norm(g_end))
    if np.all(np.isfinite(g_end)) and norm <= CRITICAL_GRAD:
        return done(NewtonOutcome.REACHED, Kind(classify_eigenvalues(np.linalg.eigvalsh(h_end))), norm)
    return done(NewtonOutcome.STOPPED, None, norm)


def escape_along(surface: Surface, p: Probe, step: float) -> Escape:
    """The step θ′ ± step·v along the eigenvector of p's most negative eigenvalue."""
    i = int(np.argmin(p.eigenvalues))
    lam, v = float(p.eigenvalues[i]), np.asarray(p.eigenvectors[:, i], float)
    v = v / np.linalg.norm(v)
    slope = float(p.gradient @ v)
    values = local.values_along(surface, p.point, v, np.array([step, -step]))
    sides = tuple(EscapeStep(sign, (float(p.point[0] + sign * step * v[0]), float(p.point[1] + sign * step * v[1])),
                             float(f), sign * step * slope + 0.5 * lam * step**2, float(f) - p.value)
                  for sign, f in zip((1, -1), values))
    return Escape(p.point, p.value, lam, i, v, float(step), sides)  # type: ignore[arg-type]


def escape_from(surface: Surface, p: Probe) -> Escape | None:
    """The saddle escape from a critical θ′ whose Hessian has an eigenvalue < 0 (not ≈ 0):
    the step t is ESCAPE_START x the longer domain side, halved until f's change on both
    sides matches ½λt² within ESCAPE_MATCH. None at any other point."""
    i = int(np.argmin(p.eigenvalues))
    if not p.critical or p.eigenvalues[i] >= 0 or p.zero[i]:
        return None
    (x0, x1), (y0, y1) = surface.domain
    step = ESCAPE_START * max(x1 - x0, y1 - y0)
    escape = escape_along(surface, p, step)
    for _ in range(ESCAPE_HALVINGS):
        if escape.matches and escape.falls:
            break
        step /= 2
        escape = escape_along(surface, p, step)
    return escape


def critical_rows(surface: Surface, critical: Sequence[surfaces.CriticalPoint]) -> tuple[CriticalRow, ...]:
    """The listed critical points with float64 values and eigenvalues, kinds from those."""
    if not critical:
        return ()
    pts = np.array([c.point for c in critical], float)
    lam = np.linalg.eigvalsh(local.hessians_at(surface, pts))
    values = local.values_at(surface, pts)  # float64: a catalog's landmarks carry none
    labels = {m.point: m.label for m in surface.landmarks}
    return tuple(CriticalRow((float(x), float(y)), float(v), (float(l[0]), float(l[1])),
                             Kind(classify_eigenvalues(l)), labels.get(tuple(c.point), ""))
                 for c, (x, y), v, l in zip(critical, pts, values, lam))


def gd_outcome(points: np.ndarray, diverged_at: int | None, end_distance: float, minimum: np.ndarray,
               steep: np.ndarray, radius: float, measured: float) -> tuple[GDOutcome, float | None]:
    """How a gradient-descent run near the minimum ended, and for TWO_CYCLE the hop.

    Converged: it ends (``end_distance`` from the minimum) within 1 % of its start offset
    ``radius``, or its measured ratio of successive distances is below 1 and it ends no
    farther than it started (a run can shrink its distance for a while, by a median ratio
    of 0.98, while it wanders off to another basin). ``steep`` is the eigenvector of
    λ_max, the direction that oscillates first as η grows."""
    if diverged_at is not None:
        return GDOutcome.DIVERGED, None
    if end_distance < 1e-2 * radius or (np.isfinite(measured) and measured < 1 and end_distance <= radius):
        wobble = stability.oscillates(points, minimum, steep, 1)
        return (GDOutcome.OSCILLATES if wobble else GDOutcome.CONVERGES), None
    hop = stability.two_cycle(points)
    if hop is not None:
        return GDOutcome.TWO_CYCLE, hop
    return GDOutcome.STALLED, None


def step_limit(surface: Surface, rows: Sequence[CriticalRow], near: tuple[float, float],
               multiples: Sequence[str], steps: int) -> StepLimit | None:
    """GD at each multiple of 2/λ_max from a start 1 % of the domain away from the minimum
    nearest to ``near``; None when the surface has no minimum."""
    minima = [r for r in rows if r.kind == Kind.MINIMUM]
    if not minima:
        return None
    star = min(minima, key=lambda r: math.hypot(r.point[0] - near[0], r.point[1] - near[1]))
    p_star = np.array(star.point, float)
    lam, vecs = np.linalg.eigh(local.hessians_at(surface, p_star[None])[0])
    vecs = local.canonical_eigenvectors(vecs)
    eta_max = stability.stable_step(lam)
    (x0, x1), (y0, y1) = surface.domain
    radius = OFFSET * min(x1 - x0, y1 - y0)
    start = stability.offset_start(p_star, vecs, radius)
    floor = stability.default_floor(p_star, radius)
    ceiling = CEILING * radius
    runs = []
    for m in sorted((m for m in multiples if m in MULTIPLES), key=float):
        eta = float(m) * eta_max
        t = optimizers.trace(surface, "gd", (float(start[0]), float(start[1])), steps, learning_rate=eta)
        factors = stability.contraction_factors(eta, lam)
        shown = stability.ratio_window(t.points, p_star, 0, floor, ceiling)
        ratios = np.where(shown, stability.distance_ratios(t.points, p_star), np.nan)
        measured = stability.measured_ratio(t.points, p_star, stability.burn_in_for(factors), floor, ceiling)
        end = float(np.linalg.norm(t.points[t.last_valid] - p_star))
        outcome, hop = gd_outcome(t.points, t.diverged_at, end, p_star, vecs[:, 1], radius, measured)
        runs.append(GDRun(m, eta, t.points, t.losses, t.diverged_at, factors, measured, ratios, outcome, hop, end))
    half = max(ZOOM * radius, 1e-9)
    window = ((p_star[0] - half, p_star[0] + half), (p_star[1] - half, p_star[1] + half))
    zoom = surfaces.evaluate_grid(surface, window, ZOOM_GRID) if runs else None
    return StepLimit(star.point, lam, vecs, zero_eigenvalues(lam), eta_max, (float(start[0]), float(start[1])),
                     radius, floor, ceiling, steps, tuple(runs), zoom, half)


# ---------------------------------------------------------------------------------------


def resolve_point(surface: Surface, settings: Settings,
                  critical: Sequence[surfaces.CriticalPoint]) -> tuple[float, float]:
    """θ′ as the page uses it: the settings' point (or the page's default), snapped."""
    point = settings.point or default_point(surface, critical)
    return snap(point, critical, _diagonal(surface))


def run(settings: Settings, surface: Surface | None = None,
        critical: Sequence[surfaces.CriticalPoint] | None = None) -> Result:
    """Everything the Curvature page shows. ``surface``: settings.surface.build(), and
    ``critical``: critical_points_of(surface), if the caller has them already (cached);
    building the surface raises surfaces.ExpressionError for a refused formula."""
    surface = surface or settings.surface.build()
    critical = critical_points_of(surface) if critical is None else critical
    point = resolve_point(surface, settings, critical)
    (x0, x1), (y0, y1) = surface.domain
    half = WINDOW * max(x1 - x0, y1 - y0)
    probe = probe_at(surface, point)
    rows = critical_rows(surface, critical)
    return Result(
        surface=surface,
        point=point,
        outside_domain=not (x0 <= point[0] <= x1 and y0 <= point[1] <= y1),
        probe=probe,
        model=model_window(surface, probe, half) if probe else None,
        slices=slices(surface, probe, half) if probe else None,
        newton=newton_from(surface, probe, settings.newton_steps) if probe else None,
        critical=rows,
        step_limit=step_limit(surface, rows, point, settings.multiples, settings.gd_steps),
        escape=escape_from(surface, probe) if probe else None,
    )
