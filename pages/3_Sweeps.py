"""Sweeps: which hyperparameters work at all, which minimum each start falls into, and a
race in which every optimizer runs at its own best learning rate."""
from __future__ import annotations

from ui.preload import plotly_early

plotly_early()  # first, before the heavy imports below: the browser fetches Plotly.js meanwhile

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import optimizers  # noqa: E402
from charts.style import color_of  # noqa: E402
from charts.surface import CLICK_GRID_SIZE, Path, contour_figure  # noqa: E402
from charts.sweeps import (  # noqa: E402
    RaceRow,
    SweepAxis,
    basin_figure,
    race_bars_figure,
    race_rates_figure,
    race_table,
    sweep_figure,
)
from optimizers import budget, sweeps  # noqa: E402
from ui import frame, jobs, urlstate  # noqa: E402
from ui.plots import plotly_chart  # noqa: E402
from ui.controls import (  # noqa: E402
    log_grid,
    optimizer_controls,
    optimizer_fields,
    surface_fields,
    follow_start,
    surface_heading,
    surface_or_stop,
)
from ui.surface_view import (  # noqa: E402
    CONTOUR_KEY,
    clicked_point,
    consume_click,
    critical_of,
    fill_of,
    grid_of,
    landmarks_of,
    lowest_value,
)

MAX_STEPS = optimizers.MAX_STEPS
NAMES = tuple(optimizers.names())
SECOND_NAMES = tuple(sorted({h.name for k in NAMES for h in sweeps.sweepable(k)}))
NONE = "none"
VIEWS = {"sweep": "🗺️ Hyperparameter sweep", "basins": "🧲 Basins of attraction", "race": "⚖️ Fair race"}
MODES = {"loss": "final loss", "steps": "steps to tolerance"}
SWEEP_KEY = "sweep_map"
LR_LOW, LR_HIGH = 1e-6, 10.0
# The least a section keeps when the work budget (optimizers/budget.py) shrinks its grid:
# below these a map stops showing its structure, and fewer steps are cut instead.
SWEEP_FLOOR, BASIN_FLOOR, RACE_FLOOR = 16, 50, 16
# Plain-text symbols for chart labels (the registry's are LaTeX).
SYMBOLS = {r"\lambda": "λ", r"\mu": "μ", r"\beta_1": "β₁", r"\beta_2": "β₂", r"\epsilon": "ε", r"\alpha": "α",
           "G_0": "G₀", r"\rho_{\min}": "ρ_min"}

frame.page("Sweeps", "🗺️")

FIELDS = (
    surface_fields("himmelblau")
    + optimizer_fields()
    + [
        urlstate.Field("view", "sweep", "choice", choices=tuple(VIEWS)),
        urlstate.Field("steps", 500, "int", 1, MAX_STEPS),
        urlstate.Field("tol", 1e-3, "float", 1e-8, 1e3),
        urlstate.Field("x0", None, "float", -1e4, 1e4),
        urlstate.Field("y0", None, "float", -1e4, 1e4),
        # hyperparameter sweep
        urlstate.Field("sw.opt", "momentum", "choice", choices=NAMES),
        urlstate.Field("sw.h2", "momentum", "choice", choices=SECOND_NAMES + (NONE,)),
        urlstate.Field("sw.mode", "loss", "choice", choices=tuple(MODES)),
        urlstate.Field("sw.lrlo", 1e-4, "float", LR_LOW, LR_HIGH),
        urlstate.Field("sw.lrhi", 1.0, "float", LR_LOW, LR_HIGH),
        urlstate.Field("sw.nlr", 32, "int", 2, sweeps.MAX_SWEEP_SIDE),
        urlstate.Field("sw.h2lo", None, "float", -1e6, 1e6),
        urlstate.Field("sw.h2hi", None, "float", -1e6, 1e6),
        urlstate.Field("sw.nh2", 32, "int", 2, sweeps.MAX_SWEEP_SIDE),
        urlstate.Field("sw.lr", None, "float", LR_LOW, LR_HIGH),  # the cell whose path is shown
        urlstate.Field("sw.v", None, "float", -1e6, 1e6),
        # basins
        urlstate.Field("bs.a", "gd", "choice", choices=NAMES),
        urlstate.Field("bs.b", "momentum", "choice", choices=NAMES),
        urlstate.Field("bs.n", 100, "int", 10, sweeps.MAX_BASIN_SIDE),
        urlstate.Field("bs.r", 0.01, "float", 1e-4, 0.5),
        urlstate.Field("bs.ltol", 0.01, "float", 1e-8, 1e3),
        # fair race
        urlstate.Field("race.opts", ["gd", "momentum", "rmsprop", "adam"], "multi", choices=NAMES),
        urlstate.Field("race.lrlo", 1e-4, "float", LR_LOW, LR_HIGH),
        urlstate.Field("race.lrhi", 1.0, "float", LR_LOW, LR_HIGH),
        urlstate.Field("race.nlr", 41, "int", 2, sweeps.MAX_RACE_RATES),
    ]
)
notices = urlstate.restore(FIELDS)
# Streamlit forgets the value of a widget that is not drawn in a run; only one section is
# drawn at a time, so re-store every field as plain state to keep the others' settings.
for _f in FIELDS:
    st.session_state[_f.key] = st.session_state[_f.key]
consume_click(("x0", "y0"))


def coord(v: float) -> str:
    return f"{0.0 if abs(v) < 0.005 else v:.2f}"  # never "-0.00"


def title_of(key: str) -> str:
    return optimizers.REGISTRY[key].title


def symbol_of(opt: str, name: str) -> str:
    h = optimizers.REGISTRY[opt].hyperparam(name)
    sym = SYMBOLS.get(h.symbol, "")
    return f"{name.replace('_', ' ')} {sym}".strip()


def settings_expander(opt: str, skip: tuple[str, ...], note: str = "", expanded: bool = False) -> dict[str, float]:
    """The optimizer's update rule and the hyperparameters a section does not choose itself."""
    title = f"{optimizers.REGISTRY[opt].title}: update rule and settings"
    return optimizer_controls(opt, expanded=expanded, skip=skip, title=title, note=note)


def ordered_range(lo_key: str, hi_key: str, what: str = "learning rate") -> tuple[float, float]:
    """Call before the two widgets are drawn (their values may still change this run)."""
    lo, hi = float(st.session_state[lo_key]), float(st.session_state[hi_key])
    if lo > hi:
        st.session_state[lo_key], st.session_state[hi_key] = hi, lo
        notices.append(f"The smallest {what} was above the largest; the two were swapped.")
        lo, hi = hi, lo
    return lo, hi


def lr_range_controls(prefix: str) -> None:
    c1, c2, c3 = st.columns(3)
    for col, key, label in ((c1, f"{prefix}.lrlo", "smallest η"), (c2, f"{prefix}.lrhi", "largest η")):
        col.select_slider(label, options=log_grid(LR_LOW, LR_HIGH, float(st.session_state[key])), key=key,
                          format_func=lambda v: f"{v:g}")
    cap = sweeps.MAX_RACE_RATES if prefix == "race" else sweeps.MAX_SWEEP_SIDE
    c3.slider("learning rates (log-spaced)", min_value=2, max_value=cap, key=f"{prefix}.nlr")


def cut_warning(asked: str, got: str) -> None:
    """One sentence: what the work budget cut, and why."""
    st.warning(f"{asked} on this surface is more than one page run may compute on this shared server, so {got}. "
               "A smaller grid, fewer steps or a simpler surface runs in full.", icon="⏱️")


def steps_note(plan: budget.GridPlan) -> str:
    return f", {plan.steps:,} steps each" if plan.cut_steps else ""


st.title("🗺️ Sweeps and basins")

surface = surface_or_stop(FIELDS, notices)

follow_start(surface, ("x0", "y0"), "_sweeps_surface_sig")

with st.sidebar:
    st.number_input("Steps per run", min_value=1, max_value=MAX_STEPS, step=50, key="steps",
                    help=f"Up to {MAX_STEPS:,}.")
    st.select_slider("Tolerance on L − L*", options=log_grid(1e-8, 1e3, float(st.session_state.tol)), key="tol",
                     format_func=lambda v: f"{v:g}",
                     help="A run has reached the goal at the first step with L(θ) − L* below this.")
    st.markdown("**Start θ₀** (sweep and race)")
    c1, c2 = st.columns(2)
    c1.number_input("start x", min_value=-1e4, max_value=1e4, step=0.1, format="%.3f", key="x0")
    c2.number_input("start y", min_value=-1e4, max_value=1e4, step=0.1, format="%.3f", key="y0")
    st.caption("Or click on a contour to move the start.")

steps = sweeps.check_steps(min(int(st.session_state.steps), MAX_STEPS))
start = (float(st.session_state.x0), float(st.session_state.y0))
l_star = lowest_value(surface)
tol = float(st.session_state.tol)
goal = l_star + tol  # trace_batch's tol is on L itself
weight = budget.step_weight(surface)  # one optimizer step here, in the budget's units

view = st.radio("Section", list(VIEWS), key="view", format_func=VIEWS.get, horizontal=True,
                label_visibility="collapsed")
notice_box = st.container()
st.markdown(surface_heading(surface) + (f" — {surface.lesson}" if surface.lesson else ""))
st.latex(surface.latex)

xs, ys, z = grid_of(surface)
if np.isnan(z).any():
    st.warning(f"f is not finite on {np.isnan(z).mean():.0%} of the plotted domain; that part is left blank, "
               "and runs that step there count as diverged.")


def path_contour(paths: list[Path], *, height: int = 520, title: str = "") -> None:
    if title:  # above the chart: a Plotly title would sit under the contour's legend
        st.markdown(f"**{title}**")
    fig = contour_figure(xs, ys, z, log=surface.log_levels, paths=paths, marks=landmarks_of(surface), start=start,
                         click_grid=CLICK_GRID_SIZE, height=height, fill=fill_of(surface))
    plotly_chart(fig, width="stretch", key=CONTOUR_KEY, on_select="rerun", selection_mode="points")


# ---------------------------------------------------------------------------------------
def sweep_section() -> None:
    st.markdown(
        "Every cell is one run from the same start θ₀ with its own learning rate η and second hyperparameter; "
        "all cells run at once. Black cells diverged. Click a cell to see its path."
    )
    c1, c2, c3 = st.columns(3)
    opt = c1.selectbox("Optimizer", NAMES, key="sw.opt", format_func=title_of)
    options = [h.name for h in sweeps.sweepable(opt)] + [NONE]
    if st.session_state["sw.h2"] not in options:
        asked_second = st.session_state["sw.h2"]
        st.session_state["sw.h2"] = options[0]
        now = "none (η only)" if options[0] == NONE else symbol_of(opt, options[0])
        notices.append(f"{title_of(opt)} has no hyperparameter {asked_second} to sweep; the second axis is now {now}.")
    second_name = c2.selectbox("Second hyperparameter", options, key="sw.h2",
                               format_func=lambda n: "none (η only)" if n == NONE else symbol_of(opt, n))
    c3.radio("Colour shows", list(MODES), key="sw.mode", format_func=MODES.get, horizontal=True)
    mode = st.session_state["sw.mode"]
    second = None if second_name == NONE else second_name

    # A new optimizer or second axis: the full range of the new axis, the best cell shown.
    sig = (opt, second_name)
    if st.session_state.get("_sw_sig") not in (None, sig):
        if any(st.session_state[k] is not None for k in ("sw.h2lo", "sw.h2hi", "sw.lr", "sw.v")):
            notices.append("A new optimizer or second hyperparameter: the second axis spans its full range again "
                           "and the best cell is shown.")
        st.session_state["sw.h2lo"] = st.session_state["sw.h2hi"] = None
        st.session_state["sw.lr"] = st.session_state["sw.v"] = None
    st.session_state._sw_sig = sig

    ordered_range("sw.lrlo", "sw.lrhi")
    lr_range_controls("sw")
    values, axis = np.array([np.nan]), None
    if second is not None:
        h = optimizers.REGISTRY[opt].hyperparam(second)
        for key, default in (("sw.h2lo", h.low), ("sw.h2hi", h.high)):
            v = st.session_state[key]
            if v is None or not h.low <= v <= h.high:
                if v is not None:
                    notices.append(f"{second} must lie in [{h.low:g}, {h.high:g}]; its range was reset.")
                st.session_state[key] = float(default)
        ordered_range("sw.h2lo", "sw.h2hi", second)
        d1, d2, d3 = st.columns(3)
        label = symbol_of(opt, second)
        if h.log:
            for col, key, text in ((d1, "sw.h2lo", "smallest"), (d2, "sw.h2hi", "largest")):
                col.select_slider(f"{text} {label}", options=log_grid(h.low, h.high, float(st.session_state[key])),
                                  key=key, format_func=lambda v: f"{v:g}")
        else:
            step = (h.high - h.low) / 1000
            d1.number_input(f"smallest {label}", min_value=float(h.low), max_value=float(h.high), step=step,
                            format="%g", key="sw.h2lo")
            d2.number_input(f"largest {label}", min_value=float(h.low), max_value=float(h.high), step=step,
                            format="%g", key="sw.h2hi")
        d3.slider(f"{second} values", min_value=2, max_value=sweeps.MAX_SWEEP_SIDE, key="sw.nh2")
    n_lr = min(int(st.session_state["sw.nlr"]), sweeps.MAX_SWEEP_SIDE)
    sides = (n_lr,) if second is None else (min(int(st.session_state["sw.nh2"]), sweeps.MAX_SWEEP_SIDE), n_lr)
    plan = budget.plan_grid(sides, 1, steps, weight, floors=(SWEEP_FLOOR,) * len(sides))
    run_steps = plan.steps
    if second is not None:
        v_lo, v_hi = sorted((float(st.session_state["sw.h2lo"]), float(st.session_state["sw.h2hi"])))
        values = sweeps.axis_values(v_lo, v_hi, plan.sides[0], h.log)
        axis = SweepAxis(label, values, h.log)
    lo, hi = float(st.session_state["sw.lrlo"]), float(st.session_state["sw.lrhi"])
    lrs = sweeps.axis_values(lo, hi, plan.sides[-1], True)
    fixed = settings_expander(opt, ("learning_rate",) + ((second,) if second else ()),
                              "η and the second hyperparameter come from the grid.")

    runs = lrs.size * values.size
    if plan.cut:
        cut_warning(f"{int(np.prod(sides)):,} runs of {steps:,} steps",
                    f"the map has {' × '.join(str(n) for n in plan.sides)} cells{steps_note(plan)}")
    key = ("sweep", surface, opt, start, run_steps, goal, lrs.tobytes(), second, values.tobytes(),
           tuple(sorted(fixed.items())))
    chunk = budget.chunk_runs(run_steps, weight)

    def compute(report: jobs.Report) -> sweeps.Sweep:
        def progress(done: int, total: int) -> None:
            report(done / total, f"{done:,} of {total:,} runs")

        return sweeps.sweep(surface, opt, start, run_steps, lrs, second, values if second else None, tol=goal,
                            chunk=chunk, progress=progress, **fixed)

    sw = jobs.cached(key, compute, f"Running {runs:,} runs of {run_steps:,} steps")
    best = sweeps.best_index(sw.hit_at, sw.final_losses, sw.diverged_at)
    best_cell = None if best is None else divmod(best, lrs.size)

    # A click on the map picks the cell whose path is drawn.
    point = clicked_point(SWEEP_KEY)
    if point is not None and st.session_state.get(f"_{SWEEP_KEY}_consumed") != point:
        st.session_state[f"_{SWEEP_KEY}_consumed"] = point
        j = int(np.argmin(np.abs(np.log10(lrs) - point[0])))
        st.session_state["sw.lr"] = float(lrs[j])
        if axis is not None:
            ys_axis = np.log10(values) if axis.log else values
            st.session_state["sw.v"] = float(values[int(np.argmin(np.abs(ys_axis - point[1])))])
    picked_lr, picked_v = st.session_state["sw.lr"], st.session_state["sw.v"]
    selected = None
    if picked_lr is not None and (axis is None or picked_v is not None):
        j = int(np.argmin(np.abs(np.log10(lrs) - np.log10(picked_lr))))
        i = int(np.argmin(np.abs(values - picked_v))) if axis is not None else 0
        settings = {"learning_rate": float(picked_lr), **({second: float(picked_v)} if second else {})}
        if np.isclose(lrs[j], picked_lr, rtol=1e-4) and (axis is None or np.isclose(values[i], picked_v, rtol=1e-4)):
            selected = (i, j)
    elif best_cell is not None:
        selected = best_cell
        settings = sw.settings(*best_cell)
    else:
        settings = None

    left, right = st.columns(2, gap="medium")
    with left:
        fig = sweep_figure(lrs, axis, sw.final_losses, sw.diverged_at, sw.hit_at, mode=mode, l_star=l_star, tol=tol,
                           selected=selected, best=best_cell,
                           title=f"{title_of(opt)}: {runs:,} runs × {run_steps:,} steps")
        plotly_chart(fig, width="stretch", key=SWEEP_KEY, on_select="rerun", selection_mode="points")
    with right:
        if settings is None:
            st.info("Every run diverged, so there is no path to show. Lower the learning rates.")
            path_contour([], title="start θ₀")
        else:
            t = optimizers.trace(surface, opt, start, run_steps, **settings, **fixed)
            shown = ", ".join(f"{'η' if k == 'learning_rate' else symbol_of(opt, k)} = {v:.4g}" for k, v in settings.items())
            path_contour([Path(opt, f"{title_of(opt)} ({shown})", t.points, t.losses, t.diverged_at, color_of(opt))],
                         title=f"The run at {shown}")
            end = (f"diverged at step {t.diverged_at}" if t.diverged_at is not None else
                   f"ends at L − L* = {float(t.losses[-1]) - l_star:.3g}")
            st.caption(f"Path of the {'picked' if picked_lr is not None else 'best'} cell: {end}.")

    diverged = float(np.mean(sw.diverged_at >= 0))
    reached = float(np.mean((sw.hit_at >= 0) & (sw.diverged_at < 0)))
    line = f"{diverged:.0%} of the runs diverged; {reached:.0%} reached L − L* < {tol:g} within {run_steps:,} steps."
    if best_cell is not None and sw.hit_at.ravel()[best] >= 0:
        cell = ", ".join(f"{'η' if k == 'learning_rate' else symbol_of(opt, k)} = {v:.3g}"
                         for k, v in sw.settings(*best_cell).items())
        line += f" Fastest: {cell}, in {int(sw.hit_at.ravel()[best])} steps (★)."
    st.markdown(line)
    if best is None:
        st.warning("Every run diverged: lower the learning rates.")


# ---------------------------------------------------------------------------------------
def basin_map(opt: str, hyper: dict[str, float], n: int, run_steps: int, chunk: int, minima: np.ndarray,
              values: np.ndarray, radius: float, loss_tol: float) -> sweeps.Basins:
    """The runs come from the heavy-work queue (or its results, shared by sessions), keyed
    without the labelling rule: a new radius or tolerance only labels the end points again."""
    key = ("basins", surface, opt, n, run_steps, tuple(sorted(hyper.items())))

    def compute(report: jobs.Report) -> sweeps.Basins:
        def progress(done: int, total: int) -> None:
            report(done / total, f"{title_of(opt)}: {done:,} of {total:,} starts")

        return sweeps.basins(surface, opt, surface.domain, n, run_steps, minima, values, radius=radius,
                             loss_tol=loss_tol, chunk=chunk, progress=progress, **hyper)

    runs = jobs.cached(key, compute, f"{title_of(opt)}: {n * n:,} runs of {run_steps:,} steps")
    b = runs.batch
    labels = sweeps.label_basins(b.final_points, b.final_losses, b.diverged_at, minima, values, radius=radius,
                                 loss_tol=loss_tol)
    return sweeps.Basins(opt, runs.xs, runs.ys, labels.reshape(runs.ys.size, runs.xs.size), b, run_steps)


def basins_section() -> None:
    st.markdown(
        "Each pixel is a start point θ₀; its colour is the minimum its run ends in, after the same number of steps "
        "with the same settings. Grey: the run ended near no minimum (not converged). Black: it diverged."
    )
    c1, c2, c3, c4 = st.columns(4)
    a = c1.selectbox("Optimizer A", NAMES, key="bs.a", format_func=title_of)
    b = c2.selectbox("Optimizer B", NAMES, key="bs.b", format_func=title_of)
    c3.slider("Grid (starts per side)", min_value=10, max_value=sweeps.MAX_BASIN_SIDE, step=10, key="bs.n",
              help=f"n × n runs, at most {sweeps.MAX_BASIN_SIDE} × {sweeps.MAX_BASIN_SIDE}.")
    with c4:
        st.select_slider("Radius (share of the domain's diagonal)",
                         options=log_grid(1e-4, 0.5, float(st.session_state["bs.r"])), key="bs.r",
                         format_func=lambda v: f"{v:g}",
                         help="A run ends in minimum m if its last point is this close to m ...")
        st.select_slider("Loss tolerance (relative)", options=log_grid(1e-8, 1e3, float(st.session_state["bs.ltol"])),
                         key="bs.ltol", format_func=lambda v: f"{v:g}",
                         help="... and |L(θ_N) − L(m)| ≤ this × (1 + |L(m)|).")
    st.latex(r"\theta_N \in \text{basin of } m \iff \lVert \theta_N - m \rVert \le r"
             r"\ \text{ and }\ |L(\theta_N) - L(m)| \le \delta\,(1 + |L(m)|)")
    n_asked = min(int(st.session_state["bs.n"]), sweeps.MAX_BASIN_SIDE)
    minima_cp = [c for c in critical_of(surface) if c.kind == "minimum"]
    minima = np.asarray([c.point for c in minima_cp], float).reshape(-1, 2)
    values = np.asarray([c.value for c in minima_cp], float)
    if not minima.size:
        st.warning("No minimum is known inside this domain, so every run counts as not converged or diverged.")
    (x0, x1), (y0, y1) = surface.domain
    radius = float(st.session_state["bs.r"]) * float(np.hypot(x1 - x0, y1 - y0))
    which = [a] if a == b else [a, b]
    if a == b:
        st.info("Both sides have the same optimizer; pick two different ones to compare. One map is shown.")
    plan = budget.plan_grid((n_asked, n_asked), len(which), steps, weight, floors=(BASIN_FLOOR, BASIN_FLOOR))
    n, run_steps = plan.sides[0], plan.steps
    if plan.cut:
        maps_asked = f"{len(which)} maps of " if len(which) > 1 else ""
        cut_warning(f"{maps_asked}{n_asked} × {n_asked} runs of {steps:,} steps",
                    f"each map has {n} × {n} starts{steps_note(plan)}")
    chunk = budget.chunk_runs(run_steps, weight)
    loss_tol = float(st.session_state["bs.ltol"])
    cols = st.columns(len(which), gap="medium")
    contour_lines = grid_of(surface, 81)
    maps = {}
    for col, opt in zip(cols, which):
        with col:
            hyper = settings_expander(opt, (), expanded=False)
            maps[opt] = basin_map(opt, hyper, n, run_steps, chunk, minima, values, radius, loss_tol)
            lr = hyper["learning_rate"]
            plotly_chart(basin_figure(maps[opt].xs, maps[opt].ys, maps[opt].labels, minima,
                                      contour=contour_lines, log=surface.log_levels,
                                      title=f"{title_of(opt)}, η = {lr:g}, {run_steps:,} steps"),
                         width="stretch")
    rows = []
    for opt, m in maps.items():
        counts = m.counts(len(minima))
        row = {"optimizer": title_of(opt)}
        for k in range(len(minima)):
            row[f"M{k + 1} ({coord(minima[k, 0])}, {coord(minima[k, 1])})"] = f"{counts[k] / m.labels.size:.1%}"
        row["not converged"] = f"{counts[sweeps.NOT_CONVERGED] / m.labels.size:.1%}"
        row["diverged"] = f"{counts[sweeps.DIVERGED] / m.labels.size:.1%}"
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(f"Share of the {n * n:,} starts ending in each minimum (M1…M{len(minima)} as marked on the maps).")


# ---------------------------------------------------------------------------------------
def race_section() -> None:
    st.markdown(
        "One shared learning rate favours whichever optimizer it happens to suit. Here every optimizer first "
        "sweeps its own η over a log grid (all at once) and races at its best one: the fewest steps to reach "
        "L − L* below the tolerance, ties broken by the lower final loss."
    )
    st.multiselect("Optimizers", NAMES, key="race.opts", format_func=title_of)
    race = [k for k in st.session_state["race.opts"] if k in optimizers.REGISTRY]
    if not race:
        st.warning("Pick at least one optimizer.")
        return
    ordered_range("race.lrlo", "race.lrhi")
    lr_range_controls("race")
    n_lr = min(int(st.session_state["race.nlr"]), sweeps.MAX_RACE_RATES)
    plan = budget.plan_grid((n_lr,), len(race), steps, weight, floors=(RACE_FLOOR,))
    run_steps = plan.steps
    if plan.cut:
        cut_warning(f"{len(race)} optimizers × {n_lr} learning rates × {steps:,} steps",
                    f"each optimizer tries {plan.sides[0]} learning rates{steps_note(plan)}")
    lrs = sweeps.axis_values(float(st.session_state["race.lrlo"]), float(st.session_state["race.lrhi"]),
                             plan.sides[0], True)
    hyper_cols = st.columns(min(len(race), 4))
    fixed = {}
    for i, k in enumerate(race):
        with hyper_cols[i % len(hyper_cols)]:
            fixed[k] = settings_expander(k, ("learning_rate",), "η is chosen by the sweep.")
    key = ("race", surface, start, run_steps, goal, lrs.tobytes(),
           tuple((k, tuple(sorted(fixed[k].items()))) for k in race))

    def compute(report: jobs.Report) -> dict[str, sweeps.BestRate]:
        out = {}
        for i, k in enumerate(race):
            report(i / len(race), f"{title_of(k)}: {lrs.size} learning rates")
            out[k] = sweeps.best_learning_rate(surface, k, start, run_steps, lrs, tol=goal, **fixed[k])
        return out

    results = jobs.cached(key, compute, f"Sweeping {lrs.size} learning rates for {len(race)} optimizers")
    rows = [RaceRow(k, title_of(k), color_of(k), r.learning_rates, r.hit_at, r.diverged_at, r.learning_rate, r.steps)
            for k, r in results.items()]
    c1, c2 = st.columns(2, gap="medium")
    with c1:
        plotly_chart(race_bars_figure(rows, num_steps=run_steps, tol=tol), width="stretch")
    with c2:
        plotly_chart(race_rates_figure(rows, num_steps=run_steps, tol=tol), width="stretch")
    gaps = [None if r.index is None else float(r.final_losses[r.index]) - l_star for r in results.values()]
    paths = []
    for k, r in results.items():
        if r.learning_rate is not None:
            t = optimizers.trace(surface, k, start, run_steps, learning_rate=r.learning_rate, **fixed[k])
            paths.append(Path(k, f"{title_of(k)} (η = {r.learning_rate:.3g})", t.points, t.losses, t.diverged_at,
                              color_of(k)))
    st.dataframe(race_table(rows, gaps, tol=tol), hide_index=True, width="stretch")
    missing = [title_of(k) for k, r in results.items() if r.learning_rate is None]
    if missing:
        st.warning(f"{', '.join(missing)}: every learning rate in the grid diverged. Lower the smallest η.")
    path_contour(paths, height=600, title="Each optimizer at its own best η")


{"sweep": sweep_section, "basins": basins_section, "race": race_section}[view]()
with notice_box:  # above the section, though the section may add notices while checking its ranges
    frame.notices(notices)

urlstate.publish(FIELDS)
frame.footer()
