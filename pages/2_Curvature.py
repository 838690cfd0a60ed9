"""Curvature lab: where the gradient is zero, the Hessian decides; and curvature bounds
the step size of gradient descent. Widgets -> experiments.curvature.run -> charts -> text."""
from __future__ import annotations

from ui.preload import plotly_early

plotly_early()  # first, before the heavy imports below: the browser fetches Plotly.js meanwhile

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import optimizers  # noqa: E402
from catalog import t  # noqa: E402
from charts import curvature as charts  # noqa: E402
from experiments import curvature as lab  # noqa: E402
from experiments.curvature import Kind, Settings  # noqa: E402
from ui import escape, frame, lesson, memo, urlstate  # noqa: E402
from ui.controls import surface_heading, surface_or_stop, surface_signature  # noqa: E402
from ui.formulas import num, vec  # noqa: E402
from ui.plots import plotly_chart  # noqa: E402
from ui.surface_view import consume_click, critical_of, fill_of, grid_of, surface_chart  # noqa: E402

CHART_KEY = "curvature_contour"
SUB = "₁₂"
BOX = {Kind.MINIMUM: st.success, Kind.MAXIMUM: st.error, Kind.SADDLE: st.warning}


def counted(key: str, n: int, **params) -> str:
    """The message ``key`` for a count of n (its .one or .other form)."""
    return t(f"{key}.{'one' if n == 1 else 'other'}", n=n, **params)


frame.page("curvature")
notices = urlstate.restore(Settings)
consume_click(("px", "py"), CHART_KEY)
st.title(t("curvature.title"))
lesson.panel("curvature")
surface = surface_or_stop(Settings, notices)
state = st.session_state

# A new surface brings its own point (run picks it when px is None) and a fresh table
# (a new key, so the old surface's row selection does not carry over).
signature = surface_signature(surface)
if memo.changed("curvature.surface", signature):
    state.px = state.py = None
TABLE_KEY = f"curv_table_{abs(hash(signature))}"

# A click on a row of the critical-point table (drawn further down) moves the point there.
crit = critical_of(surface)  # cached per surface: a typed formula's search runs once
rows = memo.take(f"rows.{TABLE_KEY}", list(state.get(TABLE_KEY, {}).get("selection", {}).get("rows", []) or []))
if rows and 0 <= rows[0] < len(crit):
    state.px, state.py = map(float, crit[rows[0]].point)

lesson.gate()  # a lesson step's results wait for its question to be revealed
result = lab.run(urlstate.current(Settings), surface, crit)
# The point run used (the page's choice, or snapped onto a critical point), before its widgets.
if (state.px, state.py) != result.point:
    state.px, state.py = result.point
p, newton, limit = result.probe, result.newton, result.step_limit

with st.sidebar:
    st.markdown(t("curvature.sidebar.point"))
    c1, c2 = st.columns(2)
    c1.number_input(t("curvature.sidebar.x"), min_value=-1e4, max_value=1e4, step=0.1, format="%.4f", key="px")
    c2.number_input(t("curvature.sidebar.y"), min_value=-1e4, max_value=1e4, step=0.1, format="%.4f", key="py")
    st.caption(t("curvature.sidebar.click"))
    st.number_input(t("curvature.sidebar.newton"), min_value=1, max_value=30, step=1, key="newton")

frame.notices(notices)
st.markdown(surface_heading(surface))
st.latex(surface.latex)
st.markdown(t("curvature.taylor"))
st.latex(r"L(\theta) \approx L(\theta') + (\theta-\theta')^\top g + \tfrac12(\theta-\theta')^\top H(\theta-\theta'),"
         r"\qquad g = \nabla L(\theta'),"
         r"\quad H_{ij} = \frac{\partial^2 L}{\partial\theta_i\,\partial\theta_j}(\theta')")
st.markdown(t("curvature.test"))
if result.outside_domain:
    st.warning(t("curvature.outside"))

chart_col, info_col = st.columns([3, 2], gap="medium")
with chart_col:
    surface_chart(charts.point_figure(*grid_of(surface), result, fill=fill_of(surface)), CHART_KEY)
    if p:
        st.caption(t("curvature.map_caption", arrow=charts.ARROW, levels=charts.MODEL_LEVELS))

with info_col:
    if not p:
        st.error(t("curvature.not_finite", x=result.point[0], y=result.point[1]))
    else:
        (l1, l2), V, H = p.eigenvalues, p.eigenvectors, p.hessian
        st.latex(rf"\theta' = {vec(np.array(result.point))},\quad L(\theta') = {num(p.value)}")
        st.latex(rf"g = \nabla L(\theta') = {vec(p.gradient)}")
        st.latex(rf"H = \begin{{pmatrix}}{num(H[0, 0])}&{num(H[0, 1])}\\{num(H[1, 0])}&{num(H[1, 1])}\end{{pmatrix}}")
        st.latex(rf"\|g\| = {num(p.gradient_norm)},\quad \det H = \lambda_1\lambda_2 = {num(p.determinant)}")
        st.latex(rf"\lambda_1 = {num(l1)},\quad v_1 = {vec(V[:, 0])}")
        st.latex(rf"\lambda_2 = {num(l2)},\quad v_2 = {vec(V[:, 1])}")
        flat = {} if p.flat_index is None else {"i": SUB[p.flat_index], "j": SUB[1 - p.flat_index]}
        where = "critical" if p.critical else "not_critical"
        box = BOX.get(p.kind, st.info) if p.critical else st.info
        box(t(f"curvature.verdict.{where}.{p.shape}", l1=l1, l2=l2, norm=p.gradient_norm, **flat))
        st.markdown(t("curvature.newton.heading"))
        st.latex(r"\theta \leftarrow \theta - H^{-1} g")
        n, (ex, ey), norm = newton.counted_steps, newton.end, newton.end_gradient_norm
        if newton.outcome in (lab.NewtonOutcome.SINGULAR, lab.NewtonOutcome.ALREADY_CRITICAL):
            outcome = t(f"curvature.newton.{newton.outcome}")
        else:
            key = f"reached.{newton.end_kind}" if newton.end_kind else newton.outcome
            outcome = counted(f"curvature.newton.{key}", n, steps=n, x=ex, y=ey, norm=norm)
        st.markdown(t("curvature.newton.paragraph", outcome=outcome))

if p:
    s = result.slices
    titles = [t("curvature.slice_title", i=SUB[i], lam=p.eigenvalues[i]) for i in range(2)]
    colors = [charts.eigen_color(float(p.eigenvalues[i]), bool(p.zero[i])) for i in range(2)]
    plotly_chart(charts.slices_figure(s.ts, s.f, s.q, titles, colors), width="stretch")
    st.caption(t("curvature.slices_caption"))
    escape.panel(result)

# ---------------------------------------------------------------------------------------
st.subheader(t("curvature.critical.heading"))
if not result.critical:
    st.info(t("curvature.critical.none"))
else:
    col = [t(f"curvature.critical.{k}") for k in ("kind", "x", "y", "f", "lambda1", "lambda2")]
    table = pd.DataFrame([(t(f"curvature.kind.{r.kind}"), *r.point, r.value, *r.eigenvalues)
                          for r in result.critical], columns=col)
    counts = (counted(f"curvature.count.{k}", n) for k, n in result.counts.items())
    st.caption(t("curvature.critical.caption", counts=t("curvature.critical.separator").join(counts)))
    st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                 key=TABLE_KEY, height=min(36 * (len(table) + 1) + 3, 360),
                 column_config={c: st.column_config.NumberColumn(format="%.6g") for c in col[1:]})

# ---------------------------------------------------------------------------------------
st.subheader(t("curvature.step.heading"))
st.latex(r"\theta_{k+1}-\theta^* = (I-\eta H)(\theta_k-\theta^*)")
st.markdown(t("curvature.step.rule"))
if limit is None:
    st.info(t("curvature.step.no_minimum"))
else:
    m1, m2, m3 = st.columns(3)
    (sx, sy), (sl1, sl2) = limit.minimum, limit.eigenvalues
    m1.metric(t("curvature.step.minimum_label"), t("curvature.step.minimum_value", x=sx, y=sy))
    m2.metric(t("curvature.step.curvatures_label"), t("curvature.step.curvatures_value", l1=sl1, l2=sl2))
    m3.metric(t("curvature.step.stable_label"), t("curvature.step.stable_value", eta=limit.stable_step))
    c1, c2 = st.columns([3, 1])
    c1.multiselect(t("curvature.step.multiples"), list(lab.MULTIPLES), key="mult",
                   format_func=lambda m: t("curvature.step.multiple", m=m))
    c2.number_input(t("curvature.step.steps"), min_value=10, max_value=optimizers.MAX_STEPS, step=50, key="gdsteps")
    if not limit.runs:
        st.warning(t("curvature.step.pick"))
    else:
        col = [t(f"curvature.step.column.{k}")
               for k in ("run", "eta", "factor1", "factor2", "predicted", "measured", "outcome")]
        table = []
        for r in limit.runs:
            outcome = t(f"curvature.step.outcome.{r.outcome}", step=r.diverged_at, hop=r.hop, steps=limit.steps,
                        distance=r.end_distance)
            measured = f"{r.measured:.5g}" if np.isfinite(r.measured) else t("curvature.step.not_measured")
            table.append((charts.run_label(r), r.learning_rate, *r.factors, r.predicted, measured, outcome))
            if r.cause:
                st.error(t(f"curvature.step.diverged.{r.cause}", m=r.multiple, step=r.diverged_at,
                           eta=r.learning_rate, factor=r.factors[1]), icon="💥")
        paths_fig, factors_fig, ratios_fig = charts.step_figures(limit, surface.log_levels)
        left, right = st.columns([1, 1])
        with left:
            plotly_chart(paths_fig, width="stretch")
        with right:
            plotly_chart(factors_fig, width="stretch")
        plotly_chart(ratios_fig, width="stretch")
        st.dataframe(pd.DataFrame(table, columns=col), hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.5g") for c in col[1:5]})
        st.caption(t("curvature.step.caption", radius=limit.radius, floor=limit.floor, ceiling=limit.ceiling,
                     times=lab.CEILING))

urlstate.publish(Settings)
frame.footer()
