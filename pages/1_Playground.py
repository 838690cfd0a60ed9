"""Optimizer Playground: several optimizers race on one surface; every step explainable."""
from __future__ import annotations

from ui.preload import plotly_early

plotly_early()  # first, before the heavy imports below: the browser fetches Plotly.js meanwhile

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

import optimizers  # noqa: E402
from charts.style import color_of  # noqa: E402
from charts.surface import (  # noqa: E402
    CLICK_GRID_SIZE,
    Arrow,
    Panel,
    Path,
    arrows_figure,
    contour_figure,
    curves_figure,
    surface3d_figure,
)
from optimizers.export import traces_csv  # noqa: E402
from ui import frame, urlstate  # noqa: E402
from ui.plots import plotly_chart  # noqa: E402
from ui.defaults import PLAYGROUND_LR, PLAYGROUND_RACE, PLAYGROUND_STEPS, PLAYGROUND_SURFACE  # noqa: E402
from ui.controls import (  # noqa: E402
    optimizer_controls,
    optimizer_fields,
    schedule_expander,
    schedule_fields,
    surface_fields,
    follow_start,
    surface_heading,
    surface_or_stop,
)
from ui.formulas import filled_update, markdown_table  # noqa: E402
from ui.surface_view import (  # noqa: E402
    CONTOUR_KEY,
    ZOOM_GRID,
    click_pending,
    consume_click,
    fill_of,
    grid_of,
    landmarks_of,
    lowest_value,
    minima_of,
)

MAX_STEPS = optimizers.MAX_STEPS

frame.page("Playground", "🏁")

FIELDS = (
    surface_fields(PLAYGROUND_SURFACE)
    + optimizer_fields(PLAYGROUND_LR)
    + schedule_fields()
    + [
        urlstate.Field("opts", PLAYGROUND_RACE, "multi", choices=tuple(optimizers.names())),
        urlstate.Field("steps", PLAYGROUND_STEPS, "int", 1, MAX_STEPS),
        urlstate.Field("x0", None, "float", -1e4, 1e4),
        urlstate.Field("y0", None, "float", -1e4, 1e4),
        urlstate.Field("noise", 0.0, "float", 0.0, 1e4),
        urlstate.Field("seed", 0, "int", 0, 2**31 - 1),
        urlstate.Field("show3d", False, "bool"),
    ]
)
notices = urlstate.restore(FIELDS)
consume_click(("x0", "y0"))

st.title("🏁 Optimizer Playground")

surface = surface_or_stop(FIELDS, notices)

follow_start(surface, ("x0", "y0"), "_surface_sig")

with st.sidebar:
    st.multiselect("Optimizers in the race", optimizers.names(), key="opts",
                   format_func=lambda k: optimizers.REGISTRY[k].title)
    st.number_input("Steps", min_value=1, max_value=MAX_STEPS, step=50, key="steps",
                    help=f"Up to {MAX_STEPS:,}.")
    c1, c2 = st.columns(2)
    c1.number_input("start x", min_value=-1e4, max_value=1e4, step=0.1, format="%.3f", key="x0")
    c2.number_input("start y", min_value=-1e4, max_value=1e4, step=0.1, format="%.3f", key="y0")
    st.caption("Or click on the contour to move the start.")
    st.number_input("Gradient noise σ", min_value=0.0, max_value=1e4, step=0.5, format="%g", key="noise",
                    help="Gaussian noise added to every gradient: a stand-in for mini-batch noise.")
    st.number_input("Noise seed", min_value=0, max_value=2**31 - 1, step=1, key="seed")
    with schedule_expander() as (schedule, _):
        pass

frame.notices(notices)
st.markdown(surface_heading(surface) + (f" — {surface.lesson}" if surface.lesson else ""))
st.latex(surface.latex)

race: list[str] = [k for k in st.session_state.opts if k in optimizers.REGISTRY]
if not race:
    st.warning("Pick at least one optimizer in the sidebar.")
    urlstate.publish(FIELDS)
    st.stop()


@st.fragment
def race_view(surface, race: list[str], schedule) -> None:
    """Everything a race's own controls change. A fragment: moving one of its learning
    rates reruns only this part, so the sidebar and the header are neither sent nor drawn
    again. A click on the contour moves the start, a sidebar widget: that needs the whole
    page."""
    if click_pending():
        st.rerun(scope="app")
    chart_col, control_col = st.columns([3, 2], gap="medium")
    with control_col:
        st.subheader("Optimizers")
        hypers = {k: optimizer_controls(k, expanded=i == 0) for i, k in enumerate(race)}

    start = (float(st.session_state.x0), float(st.session_state.y0))
    steps = int(st.session_state.steps)
    traces = {
        k: optimizers.trace(surface, k, start, steps, schedule=schedule, noise=float(st.session_state.noise),
                            seed=int(st.session_state.seed), with_stats=True, **hypers[k])
        for k in race
    }
    paths = [Path(k, optimizers.REGISTRY[k].title, t.points, t.losses, t.diverged_at, color_of(k)) for k, t in traces.items()]

    xs, ys, z = grid_of(surface)
    if np.isnan(z).any():
        st.warning(f"f is not finite on {np.isnan(z).mean():.0%} of the plotted domain; that part is left blank.")
    for k, t in traces.items():
        if t.diverged_at is not None:
            lr = hypers[k]["learning_rate"]
            st.error(f"**{optimizers.REGISTRY[k].title} diverged at step {t.diverged_at}** (learning rate {lr:g}): "
                     f"its path is drawn up to step {t.diverged_at - 1}. The others keep racing.", icon="💥")

    with chart_col:
        # No st.tabs here: a tab panel re-scans its whole subtree for focusable elements on
        # every DOM change, and Plotly's redraw of the contour made that ~80 ms of each rerun.
        fig = contour_figure(xs, ys, z, log=surface.log_levels, paths=paths, marks=landmarks_of(surface),
                             start=start, click_grid=CLICK_GRID_SIZE, animate=True, height=600, fill=fill_of(surface))
        plotly_chart(fig, width="stretch", key=CONTOUR_KEY, on_select="rerun", selection_mode="points")
        # Opt-in: a WebGL scene is the slowest thing on the page to draw, on every rerun.
        if st.toggle("Also draw the 3-D surface", key="show3d", help="Redrawn on every change while on."):
            xs3, ys3, z3 = grid_of(surface, 61)
            plotly_chart(surface3d_figure(xs3, ys3, z3, log=surface.log_levels, paths=paths),
                         width="stretch")

    minima = minima_of(surface)
    l_star = lowest_value(surface)
    panels = [Panel([t.losses - l_star for t in traces.values()], "L − L*",
                    f"Loss above the lowest minimum (L* = {l_star:.4g})")]
    if minima.size:
        dist = [np.min(np.linalg.norm(t.points[:, None, :] - minima[None, :, :], axis=2), axis=1) for t in traces.values()]
        panels.append(Panel(dist, "distance", "Distance to the nearest minimum"))
    plotly_chart(curves_figure(paths, panels), width="stretch", key="curves_chart")
    if not minima.size:
        st.caption("This surface has no minimum inside its domain, so there is no distance to show.")

    # ---------------------------------------------------------------------------------------
    with st.expander("🔎 **Step inspector**: the gradient, the update and the statistics of any step, "
                     "with the update rule filled in", expanded=False, key="open.inspector", on_change="rerun") as box:
        if box.open:
            ci1, ci2 = st.columns([1, 3])
            with ci1:
                who = st.selectbox("Optimizer", race, format_func=lambda k: optimizers.REGISTRY[k].title, key="inspect_opt")
                t = traces[who]
                last = max(1, t.last_valid)
                if last > 1:
                    st.session_state.inspect_k = int(np.clip(st.session_state.get("inspect_k", 1), 1, last))
                    k = int(st.slider("Step k", min_value=1, max_value=last, key="inspect_k"))
                else:
                    k = 1
            with ci2:
                if t.last_valid < 1:
                    st.info("This optimizer diverged on its first step; there is no step to inspect.")
                else:
                    spec = optimizers.REGISTRY[who]
                    st.latex(spec.latex)
                    for line in filled_update(t, k):
                        st.latex(line)

            if t.last_valid >= 1:
                ca, cb = st.columns([1, 1])
                with ca:
                    here = t.points[k - 1]
                    lr_k = float(t.learning_rates[k])
                    arrows = [Arrow(tuple(here), tuple(-lr_k * t.gradients[k]), "#444444", "−η∇L (plain GD step)"),
                              Arrow(tuple(here), tuple(t.updates[k]), color_of(who), "update taken Δθ")]
                    if "velocity" in t.stats and who == "momentum":
                        arrows.append(Arrow(tuple(here), tuple(t.stats["velocity"][k]), "#ff00aa", "velocity v"))
                    elif "velocity" in t.stats:
                        arrows.append(Arrow(tuple(here), tuple(-lr_k * t.stats["velocity"][k]), "#ff00aa", "−η·b (buffer)"))
                    radius = 2.5 * max(float(np.max(np.abs([a.vector for a in arrows]))), 1e-6)
                    local = ((here[0] - radius, here[0] + radius), (here[1] - radius, here[1] + radius))
                    lx, ly, lz = grid_of(surface, ZOOM_GRID, local)
                    nearby = t.points[max(0, k - 6): k + 6]
                    plotly_chart(arrows_figure(lx, ly, lz, arrows, log=surface.log_levels, center=tuple(here), radius=radius,
                                               points=[(f"{spec.title} path", nearby, color_of(who))]),
                                 width="stretch", config={"staticPlot": True}, key="inspector_chart")
                with cb:
                    # One column per optimizer, one row per quantity: fits beside the arrows however
                    # many optimizers race. A statistic an optimizer does not keep is left blank.
                    columns = {}
                    for key, tr in traces.items():
                        if tr.last_valid < k:
                            columns[key] = {"θ_k": "diverged"}
                            continue
                        columns[key] = {"θ_k": f"({tr.points[k, 0]:.4g}, {tr.points[k, 1]:.4g})",
                                        "loss": f"{tr.losses[k]:.4g}", "η_k": f"{tr.learning_rates[k]:.3g}",
                                        "g_k": f"({tr.gradients[k, 0]:.3g}, {tr.gradients[k, 1]:.3g})",
                                        "Δθ_k": f"({tr.updates[k, 0]:.3g}, {tr.updates[k, 1]:.3g})"}
                        for s, v in tr.stats.items():
                            columns[key][optimizers.STAT_TITLES[s]] = f"({v[k, 0]:.3g}, {v[k, 1]:.3g})"
                    quantities = list(dict.fromkeys(q for col in columns.values() for q in col))
                    st.markdown(f"**All optimizers at step {k}**")
                    st.markdown(markdown_table([""] + [optimizers.REGISTRY[key].title for key in columns],
                                               [[q] + [col.get(q, "") for col in columns.values()] for q in quantities]))

    # Built when clicked (a deferred callable), not on every rerun: it was most of a rerun's
    # memory and ~15 ms of its time.
    all_traces = list(traces.values())
    st.download_button("⬇️ Download trajectories (CSV)", lambda: traces_csv(all_traces),
                       file_name=f"descent-lab-{surface.key}.csv", mime="text/csv",
                       help="Every optimizer, every step: position, loss, learning rate, gradient, update, statistics.")

    urlstate.publish(FIELDS, implied={"x0": float(surface.starts[0][0]), "y0": float(surface.starts[0][1])})


race_view(surface, race, schedule)
frame.footer()
