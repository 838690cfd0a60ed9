"""Optimizer Playground: several optimizers race on one surface; every step explainable.
Widgets -> experiments.playground.run -> charts -> catalog text."""
from __future__ import annotations

from ui.preload import plotly_early

plotly_early()  # first, before the heavy imports below: the browser fetches Plotly.js meanwhile

import streamlit as st  # noqa: E402

import optimizers  # noqa: E402
from catalog import t  # noqa: E402
from charts.style import color_of  # noqa: E402
from charts.surface import CLICK_GRID_SIZE, Arrow, Panel, Path  # noqa: E402
from charts.surface import arrows_figure, contour_figure, curves_figure, surface3d_figure  # noqa: E402
from experiments import playground as pg  # noqa: E402
from optimizers.export import traces_csv  # noqa: E402
from surfaces.base import Surface  # noqa: E402
from ui import ewa_view, frame, language, lesson, rules_view, urlstate  # noqa: E402
from ui.controls import follow_start, optimizer_controls, schedule_expander  # noqa: E402
from ui.controls import surface_heading, surface_or_stop  # noqa: E402
from ui.formulas import filled_update, step_table_markdown  # noqa: E402
from ui.plots import plotly_chart  # noqa: E402
from ui.surface_view import ZOOM_GRID, click_pending, consume_click, surface_chart  # noqa: E402
from ui.surface_view import fill_of, grid_of, landmarks_of, landscape_of  # noqa: E402

MAX_STEPS = optimizers.MAX_STEPS
VELOCITY_COLOR = "#ff00aa"
ARROW_COLORS = {pg.ArrowKind.GRADIENT_STEP: "#444444", pg.ArrowKind.NOISY_GRADIENT_STEP: "#b8860b",
                pg.ArrowKind.VELOCITY: VELOCITY_COLOR, pg.ArrowKind.BUFFER: VELOCITY_COLOR}  # update: the racer's colour


def title(key: str) -> str:
    return optimizers.REGISTRY[key].title


frame.page("playground")
notices = urlstate.restore(pg.Settings)
consume_click(("x0", "y0"))

st.title(t("playground.page.title"))
lesson.panel("playground")

surface = surface_or_stop(pg.Settings, notices)

follow_start(surface, ("x0", "y0"), "playground.surface")

with st.sidebar:
    st.multiselect(t("playground.sidebar.race"), optimizers.names(), key="opts", format_func=title)
    st.number_input(t("playground.sidebar.steps"), min_value=1, max_value=MAX_STEPS, step=50, key="steps",
                    help=t("playground.sidebar.steps_help", limit=MAX_STEPS))
    c1, c2 = st.columns(2)
    for col, key, label in ((c1, "x0", t("playground.sidebar.start_x")), (c2, "y0", t("playground.sidebar.start_y"))):
        col.number_input(label, min_value=-pg.POINT_LIMIT, max_value=pg.POINT_LIMIT, step=0.1, format="%.4g", key=key)
    st.caption(t("playground.sidebar.click_hint"))
    st.number_input(t("playground.sidebar.noise"), min_value=0.0, max_value=pg.NOISE_LIMIT, step=0.5, format="%g",
                    key="noise", help=t("playground.sidebar.noise_help"))
    st.number_input(t("playground.sidebar.seed"), min_value=0, max_value=pg.SEED_LIMIT, step=1, key="seed")
    with schedule_expander():
        pass

frame.notices(notices)
st.markdown(surface_heading(surface, with_lesson=True))
st.latex(surface.latex)

race = pg.race_of(st.session_state.opts)
if not race:
    st.warning(t("playground.page.pick_one"))
    urlstate.publish(pg.Settings, implied=pg.Settings.implied(surface))
    st.stop()


def step_inspector(surface: Surface, result: pg.Result, race: tuple[str, ...]) -> None:
    """One racer's step k: its update rule with the numbers in, its arrows on a zoom, and
    every racer's numbers at that step."""
    ci1, ci2 = st.columns([1, 3])
    with ci1:
        who = st.selectbox(t("playground.inspector.optimizer"), race, format_func=title, key="inspect_opt")
        trace = result.traces[who]
        view = pg.inspect(trace, st.session_state.get("inspect_k", 1), surface)  # k kept inside its steps
        if view.last_step > 1:
            st.session_state.inspect_k = view.k
            st.slider(t("playground.inspector.step"), min_value=1, max_value=view.last_step, key="inspect_k")
    with ci2:
        if not view.has_step:
            st.info(t("playground.inspector.no_step"))
            return
        st.latex(optimizers.REGISTRY[who].latex_for(trace.hyper))
        for line in filled_update(trace, view.k, view.true_gradient):
            st.latex(line)
        rules_view.ng_view(trace, view.k)
    ca, cb = st.columns([1, 1])
    with ca:
        here = tuple(view.here)
        arrows = [Arrow(here, tuple(a.vector), ARROW_COLORS.get(a.kind, color_of(who)),
                        t(f"playground.inspector.arrow.{a.kind.value}")) for a in view.arrows]
        lx, ly, lz = grid_of(surface, ZOOM_GRID, view.window)
        path = (t("playground.inspector.path", optimizer=title(who)), view.nearby, color_of(who))
        plotly_chart(arrows_figure(lx, ly, lz, arrows, log=surface.log_levels, center=here, radius=view.radius,
                                   points=[path]),
                     width="stretch", config={"staticPlot": True}, key="inspector_chart")
    with cb:
        st.markdown(t("playground.inspector.table_title", k=view.k))
        st.markdown(step_table_markdown(pg.step_table(result.traces, view.k)))
    rules_view.unified_view(result.traces, view.k)


@st.fragment
def race_view(surface: Surface, race: tuple[str, ...]) -> None:
    """Everything a race's own controls change. A fragment: moving one of its learning
    rates reruns only this part, so the sidebar and the header are neither sent nor drawn
    again. A click on the contour moves the start, a sidebar widget: that needs the whole
    page."""
    language.apply()
    if click_pending():
        st.rerun(scope="app")
    chart_col, control_col = st.columns([3, 2], gap="medium")
    with control_col:
        st.subheader(t("playground.page.optimizers"))
        for i, k in enumerate(race):
            optimizer_controls(k, expanded=i == 0)
        ewa_view.expander()

    settings = urlstate.current(pg.Settings)
    result = pg.run(settings, landscape_of(surface))
    paths = [Path(k, title(k), tr.points, tr.losses, tr.diverged_at, color_of(k)) for k, tr in result.traces.items()]

    if result.blank_fraction > 0:
        st.warning(t("playground.page.blank", share=result.blank_fraction))
    for d in result.diverged:
        st.error(t("playground.page.diverged", optimizer=title(d.optimizer), step=d.step, rate=d.learning_rate,
                   last=d.step - 1), icon="💥")

    with chart_col:
        # No st.tabs here: a tab panel re-scans its whole subtree for focusable elements on
        # every DOM change, and Plotly's redraw of the contour made that ~80 ms of each rerun.
        xs, ys, z = grid_of(surface)
        fig = contour_figure(xs, ys, z, log=surface.log_levels, paths=paths, marks=landmarks_of(surface),
                             start=result.start, click_grid=CLICK_GRID_SIZE, animate=True, height=600,
                             fill=fill_of(surface))
        surface_chart(fig)
        # Opt-in: a WebGL scene is the slowest thing on the page to draw, on every rerun.
        if st.toggle(t("playground.page.show3d"), key="show3d", help=t("playground.page.show3d_help")):
            xs3, ys3, z3 = grid_of(surface, 61)
            plotly_chart(surface3d_figure(xs3, ys3, z3, log=surface.log_levels, paths=paths), width="stretch")

    panels = [Panel(result.loss_gap, t("playground.curves.loss_axis"),
                    t("playground.curves.loss_title", lowest=result.lowest))]
    if result.distance is not None:
        panels.append(Panel(result.distance, t("playground.curves.distance_axis"),
                            t("playground.curves.distance_title")))
    panels.append(Panel(result.gradient_norm, t("playground.curves.gradient_axis"),
                        t("playground.curves.gradient_title")))
    plotly_chart(curves_figure(paths, panels), width="stretch", key="curves_chart")
    if result.distance is None:
        st.caption(t("playground.curves.no_minimum"))

    with st.expander(t("playground.inspector.title"), expanded=False, key="open.inspector", on_change="rerun") as box:
        if box.open:
            step_inspector(surface, result, race)

    # Built when clicked (a deferred callable), not on every rerun: it was most of a rerun's
    # memory and ~15 ms of its time.
    all_traces = list(result.traces.values())
    st.download_button(t("playground.download.label"), lambda: traces_csv(all_traces),
                       file_name=f"descent-lab-{surface.key}.csv", mime="text/csv",
                       help=t("playground.download.help"))

    urlstate.publish(settings, implied=pg.Settings.implied(surface))


lesson.gate()  # a lesson step's results wait for its question to be revealed
race_view(surface, race)
frame.footer()
