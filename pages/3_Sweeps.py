"""Sweeps (hyperparameter maps, basins, a fair race): widgets -> experiments.sweeps -> charts -> catalog text."""
from __future__ import annotations

from ui.preload import plotly_early

plotly_early()  # first, before the heavy imports below: the browser fetches Plotly.js meanwhile

# ruff: noqa: E402
import numpy as np
import streamlit as st

from catalog import t
from charts import sweeps as charts
from charts.style import color_of
from charts.surface import CLICK_GRID_SIZE, Path, contour_figure
from experiments import sweeps as ex
from ui import frame, jobs, memo, surface_view as sv, urlstate
from ui.controls import follow_start, keep_state, log_grid, optimizer_controls, surface_heading, surface_or_stop
from ui.plots import plotly_chart

SWEEP_KEY = "sweep_map"
FMT = "{:g}".format
say = urlstate.render  # a Notice (catalog key and numbers) as a sentence


def log_slider(where, label: str, key: str, low: float, high: float, help: str | None = None) -> None:
    where.select_slider(label, options=log_grid(low, high, float(st.session_state[key])), key=key, format_func=FMT,
                        help=help)


frame.page("sweeps")
notices = urlstate.restore(ex.Settings)
keep_state(f.key for f in ex.Settings.schema())  # one section's widgets are drawn: keep the others' values
sv.consume_click(("x0", "y0"))
settled = ex.settle(urlstate.current(ex.Settings), memo.recall("sweeps.axes"))
memo.remember("sweeps.axes", settled.axes)
st.session_state.update(settled.changes)  # before any widget of those keys is drawn
notices += [say(n) for n in settled.notices]
st.title(t("sweeps.title"))
surface = surface_or_stop(ex.Settings, notices)
follow_start(surface, ("x0", "y0"), "sweeps.surface")
with st.sidebar:
    st.number_input(t("sweeps.sidebar.steps"), min_value=1, max_value=ex.MAX_STEPS, step=50, key="steps",
                    help=t("sweeps.sidebar.steps_help", most=ex.MAX_STEPS))
    log_slider(st, t("sweeps.sidebar.tol"), "tol", ex.TOL_LOW, ex.TOL_HIGH, t("sweeps.sidebar.tol_help"))
    st.markdown(t("sweeps.sidebar.start"))
    for col, key in zip(st.columns(2), ("x0", "y0")):
        col.number_input(t(f"sweeps.sidebar.start_{key[0]}"), min_value=-1e4, max_value=1e4, step=0.1, format="%.3f",
                         key=key)
    st.caption(t("sweeps.sidebar.click"))

s = urlstate.current(ex.Settings)
land = ex.Landscape.of(surface, sv.critical_of(surface), sv.lowest_value(surface))
if s.view == ex.View.SWEEP and (point := sv.take_click(SWEEP_KEY)) is not None:  # a click on the map: its cell
    s = ex.pick_at(s, land.weight, point)
    st.session_state.update({"sw.lr": s.picked_lr, "sw.v": s.picked_value})
st.radio(t("sweeps.section"), [v.value for v in ex.View], key="view", format_func=lambda v: t(f"sweeps.view.{v}"),
         horizontal=True, label_visibility="collapsed")
frame.notices(notices)  # every notice is known by now: settling ran before the widgets
st.markdown(surface_heading(surface, with_lesson=True))
st.latex(surface.latex)
xs, ys, z = sv.grid_of(surface)
if np.isnan(z).any():
    st.warning(t("sweeps.not_finite", share=float(np.isnan(z).mean())))
st.markdown(t(f"sweeps.{s.view}.intro"))


def run(section, box, slots: dict | None = None):
    """The section's result; its jobs queue on the server (progress in ``slots`` by optimizer), its cut in ``box``."""
    def execute(job: ex.Job):
        return jobs.cached(job.key, lambda report: job.compute(lambda f, m: report(f, say(m))), say(job.label),
                           slot=(slots or {}).get(job.optimizer))
    result = section(s, land, execute)
    if result.cut is not None:
        box.warning(say(result.cut), icon="⏱️")
    return result


def lr_range(prefix: str, most: int) -> None:
    c1, c2, c3 = st.columns(3)
    log_slider(c1, t("sweeps.range.lr_low"), f"{prefix}.lrlo", ex.LR_LOW, ex.LR_HIGH)
    log_slider(c2, t("sweeps.range.lr_high"), f"{prefix}.lrhi", ex.LR_LOW, ex.LR_HIGH)
    c3.slider(t("sweeps.range.lr_count"), min_value=2, max_value=most, key=f"{prefix}.nlr")


def path_contour(paths: list[Path], title: str, height: int = 520) -> None:
    st.markdown(f"**{title}**")  # above the chart: a Plotly title would sit under the contour's legend
    fig = contour_figure(xs, ys, z, log=surface.log_levels, paths=paths, marks=sv.landmarks_of(surface),
                         start=ex.start_of(s, surface), click_grid=CLICK_GRID_SIZE, height=height,
                         fill=sv.fill_of(surface))
    sv.surface_chart(fig)


if s.view == ex.View.SWEEP:
    opt, second = s.sweep_optimizer, s.second_name
    c1, c2, c3 = st.columns(3)
    c1.selectbox(t("sweeps.sweep.optimizer"), ex.NAMES, key="sw.opt", format_func=ex.title_of)
    c2.selectbox(t("sweeps.sweep.second"), ex.second_options(opt), key="sw.h2",
                 format_func=lambda n: t("sweeps.none_axis") if n == ex.NONE else ex.symbol_of(opt, n))
    c3.radio(t("sweeps.sweep.colour"), [m.value for m in ex.Mode], key="sw.mode", horizontal=True,
             format_func=lambda m: t(f"sweeps.mode.{m}"))
    lr_range("sw", ex.MAX_SWEEP_SIDE)
    if second is not None:
        h, label = ex.hyperparam(opt, second), ex.symbol_of(opt, second)
        d1, d2, d3 = st.columns(3)
        for col, key, text in ((d1, "sw.h2lo", "sweeps.range.second_low"), (d2, "sw.h2hi", "sweeps.range.second_high")):
            if h.log:
                log_slider(col, t(text, label=label), key, h.low, h.high)
            else:
                col.number_input(t(text, label=label), min_value=float(h.low), max_value=float(h.high),
                                 step=(h.high - h.low) / 1000, format="%g", key=key)
        d3.slider(t("sweeps.range.second_count", name=second), min_value=2, max_value=ex.MAX_SWEEP_SIDE, key="sw.nh2")
    optimizer_controls(opt, skip=("learning_rate", second), title=t("sweeps.expander", optimizer=ex.title_of(opt)),
                       note=t("sweeps.sweep.fixed_note"))
    r = run(ex.run_sweep, st.container())
    left, right = st.columns(2, gap="medium")
    with left:
        fig = charts.sweep_result_figure(r, label=second and ex.symbol_of(opt, second), mode=s.mode,
                                         title=say(r.chart_title))
        plotly_chart(fig, width="stretch", key=SWEEP_KEY, on_select="rerun", selection_mode="points")
    with right:
        if r.path is None:
            st.info(t("sweeps.sweep.no_path"))
        path_contour([] if r.path is None else [Path(opt, say(r.path_label), r.path.points, r.path.losses,
                                                     r.path.diverged_at, color_of(opt))], say(r.path_title))
        if r.path is not None:
            st.caption(say(r.path_caption))
    st.markdown(" ".join(say(n) for n in r.summary))
    if r.best is None:
        st.warning(t("sweeps.sweep.all_diverged"))
elif s.view == ex.View.BASINS:
    c1, c2, c3, c4 = st.columns(4)
    c1.selectbox(t("sweeps.basins.optimizer_a"), ex.NAMES, key="bs.a", format_func=ex.title_of)
    c2.selectbox(t("sweeps.basins.optimizer_b"), ex.NAMES, key="bs.b", format_func=ex.title_of)
    c3.slider(t("sweeps.basins.grid"), min_value=10, max_value=ex.MAX_BASIN_SIDE, step=10, key="bs.n",
              help=t("sweeps.basins.grid_help", most=ex.MAX_BASIN_SIDE))
    log_slider(c4, t("sweeps.basins.radius"), "bs.r", 1e-4, 0.5, t("sweeps.basins.radius_help"))
    log_slider(c4, t("sweeps.basins.loss_tol"), "bs.ltol", 1e-8, 1e3, t("sweeps.basins.loss_tol_help"))
    st.latex(ex.BASIN_RULE_LATEX)
    if not land.minima.size:
        st.warning(t("sweeps.basins.no_minimum"))
    if s.basin_a == s.basin_b:
        st.info(t("sweeps.basins.same_optimizer"))
    box, which = st.container(), list(dict.fromkeys((s.basin_a, s.basin_b)))
    cols, slots = st.columns(len(which), gap="medium"), {}
    for col, opt in zip(cols, which):
        with col:
            optimizer_controls(opt, title=t("sweeps.expander", optimizer=ex.title_of(opt)))
            slots[opt] = st.empty()
    r = run(ex.run_basins, box, slots)
    for col, (opt, m) in zip(cols, r.maps.items()):
        with col:
            plotly_chart(charts.basin_figure(m.xs, m.ys, m.labels, r.minima, contour=sv.grid_of(surface, 81),
                                             log=surface.log_levels, title=say(r.map_title(opt))), width="stretch")
    st.dataframe(charts.basin_table(r.shares, r.minima), hide_index=True, width="stretch")
    st.caption(say(r.caption))
else:
    st.multiselect(t("sweeps.race.optimizers"), ex.NAMES, key="race.opts", format_func=ex.title_of)
    if not s.racers:
        st.warning(t("sweeps.race.pick_one"))
    else:
        lr_range("race", ex.MAX_RACE_RATES)
        box, cols = st.container(), st.columns(min(len(s.racers), 4))
        for i, k in enumerate(s.racers):
            with cols[i % len(cols)]:
                optimizer_controls(k, skip=("learning_rate",), title=t("sweeps.expander", optimizer=ex.title_of(k)),
                                   note=t("sweeps.race.fixed_note"))
        r = run(ex.run_race, box)
        rows = charts.race_rows(r.best, ex.title_of, color_of)
        for col, figure in zip(st.columns(2, gap="medium"), (charts.race_bars_figure, charts.race_rates_figure)):
            with col:
                plotly_chart(figure(rows, num_steps=r.steps, tol=r.tol), width="stretch")
        st.dataframe(charts.race_table(rows, [e.final_gap for e in r.table], tol=r.tol), hide_index=True,
                     width="stretch")
        if r.all_diverged:
            st.warning(t("sweeps.race.all_diverged", optimizers=t("sweeps.list_separator").join(r.all_diverged)))
        path_contour([Path(k, say(r.path_label(k)), p.points, p.losses, p.diverged_at, color_of(k))
                      for k, p in r.paths.items()], t("sweeps.race.contour_title"), height=600)
urlstate.publish(ex.Settings)
frame.footer()
