"""Curvature lab: where the gradient is zero, the Hessian decides; and curvature bounds
the step size of gradient descent."""
from __future__ import annotations

from ui.preload import plotly_early

plotly_early()  # first, before the heavy imports below: the browser fetches Plotly.js meanwhile

import math  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import optimizers  # noqa: E402
from charts.curvature import (  # noqa: E402
    DIRECTION_COLORS,
    ModelOverlay,
    curvature_figure,
    eigen_arrows,
    eigen_color,
    factors_figure,
    model_levels,
    ratios_figure,
    run_color,
    slices_figure,
    stability_figure,
)
from charts.surface import Mark, Path  # noqa: E402
from surfaces import stability  # noqa: E402
from surfaces.curvature import ATOL, DEGENERATE, MAXIMUM, MINIMUM, RTOL, SADDLE, classify_eigenvalues, jet  # noqa: E402
from ui import frame, urlstate  # noqa: E402
from ui.plots import plotly_chart  # noqa: E402
from ui.controls import surface_fields, surface_heading, surface_or_stop  # noqa: E402
from ui.formulas import num, vec  # noqa: E402
from ui.surface_view import ZOOM_GRID, consume_click, critical_of, fill_of, grid_of  # noqa: E402

CHART_KEY = "curvature_contour"
MULTIPLES = ("0.25", "0.5", "0.75", "0.9", "0.95", "0.99", "1.01", "1.05", "1.1", "1.25", "1.5", "2")
CRITICAL_GRAD = 1e-6  # |g| below this counts as g = 0 (surfaces.is_critical's tolerance)
SNAP = 1e-5  # a point this close (x domain diagonal) to a listed critical point is moved onto it
WINDOW = 0.15  # half-width of the quadratic model's window, x the longer domain side
ARROW = 0.12  # half-length of the most curved eigenvector's arrow, x the longer domain side
MODEL_LEVELS = 4  # level lines on each side of L(θ′) in the model window
OFFSET = 0.01  # GD starts this far (x the shorter domain side) from the minimum
CEILING = 100  # ratios measured only until the distance first reaches this many start offsets
SUB = "₁₂"
PLURAL = {MINIMUM: "minima", SADDLE: "saddles", DEGENERATE: "degenerate points", MAXIMUM: "maxima"}

frame.page("Curvature", "🧭")

FIELDS = surface_fields("himmelblau") + [
    urlstate.Field("px", None, "float", -1e4, 1e4),
    urlstate.Field("py", None, "float", -1e4, 1e4),
    urlstate.Field("newton", 5, "int", 1, 30),
    urlstate.Field("mult", ["0.5", "0.9", "1.1"], "multi", choices=MULTIPLES),
    urlstate.Field("gdsteps", 200, "int", 10, optimizers.MAX_STEPS),
]
notices = urlstate.restore(FIELDS)
consume_click(("px", "py"), CHART_KEY)

st.title("🧭 Curvature: where the gradient is zero, the Hessian decides")

surface = surface_or_stop(FIELDS, notices)

crit = critical_of(surface)
(x_lo, x_hi), (y_lo, y_hi) = surface.domain
span, short = max(x_hi - x_lo, y_hi - y_lo), min(x_hi - x_lo, y_hi - y_lo)
diagonal = math.hypot(x_hi - x_lo, y_hi - y_lo)

# A new surface brings its own default point: its first saddle, else its suggested start.
signature = (surface.key, surface.expression, surface.domain, surface.params)
if st.session_state.get("_curv_sig") not in (None, signature) or st.session_state.px is None:
    saddles = [c.point for c in crit if c.kind == SADDLE]
    st.session_state.px, st.session_state.py = map(float, saddles[0] if saddles else surface.starts[0])
    st.session_state._curv_table_gen = st.session_state.get("_curv_table_gen", 0) + 1
st.session_state._curv_sig = signature
TABLE_KEY = f"curv_table_{st.session_state.get('_curv_table_gen', 0)}"

# A click on a row of the critical-point table (drawn further down) moves the point there.
rows = list(st.session_state.get(TABLE_KEY, {}).get("selection", {}).get("rows", []) or [])
if rows != st.session_state.get("_curv_rows_seen", []):
    st.session_state._curv_rows_seen = rows
    if rows and 0 <= rows[0] < len(crit):
        st.session_state.px, st.session_state.py = map(float, crit[rows[0]].point)

# URLs keep 6 digits: a point that close to a listed critical point is put back on it.
if crit:
    pts = np.array([c.point for c in crit], float)
    dist = np.hypot(pts[:, 0] - st.session_state.px, pts[:, 1] - st.session_state.py)
    i = int(np.argmin(dist))
    if 0 < dist[i] <= SNAP * diagonal:
        st.session_state.px, st.session_state.py = map(float, crit[i].point)

with st.sidebar:
    st.markdown("**The point θ′**")
    c1, c2 = st.columns(2)
    c1.number_input("x", min_value=-1e4, max_value=1e4, step=0.1, format="%.4f", key="px")
    c2.number_input("y", min_value=-1e4, max_value=1e4, step=0.1, format="%.4f", key="py")
    st.caption("Or click the contour, a critical point, or a row of the table.")
    st.number_input("Newton steps", min_value=1, max_value=30, step=1, key="newton")

frame.notices(notices)
st.markdown(surface_heading(surface))
st.latex(surface.latex)
st.markdown("With θ = (x, y) and L = f, near a point θ′ the second-order Taylor model is")
st.latex(r"L(\theta) \approx L(\theta') + (\theta-\theta')^\top g + \tfrac12(\theta-\theta')^\top H(\theta-\theta'),"
         r"\qquad g = \nabla L(\theta'),"
         r"\quad H_{ij} = \frac{\partial^2 L}{\partial\theta_i\,\partial\theta_j}(\theta')")
st.markdown("At a critical point g = 0 and the quadratic term decides: all eigenvalues of H positive, a "
            "local minimum; all negative, a local maximum; mixed signs, a saddle (the common case in high "
            "dimensions); a zero eigenvalue, the test cannot decide.")

point = (float(st.session_state.px), float(st.session_state.py))
f0, g, H = jet(surface, point)
finite = bool(np.isfinite(f0) and np.all(np.isfinite(g)) and np.all(np.isfinite(H)))
if finite:
    lam, V = np.linalg.eigh(H)
    V = stability.canonical_eigenvectors(V)
    big = float(np.max(np.abs(lam)))
    zero = np.abs(lam) <= RTOL * big + ATOL
    kind = classify_eigenvalues(lam)
    g_norm = float(np.linalg.norm(g))
    critical = g_norm <= CRITICAL_GRAD
    newton = stability.newton_path(surface, point, int(st.session_state.newton), surface.domain)


def lam_text(i: int) -> str:
    return f"λ{SUB[i]} = {lam[i]:.4g}"


def verdict() -> tuple[str, str]:
    """(headline, one sentence with the reason) for the second-order test at the point."""
    if kind == MINIMUM:
        shape = f"{lam_text(0)} > 0 and {lam_text(1)} > 0, so f curves up along every direction"
        head = "Local minimum"
    elif kind == MAXIMUM:
        shape = f"{lam_text(0)} < 0 and {lam_text(1)} < 0, so f curves down along every direction"
        head = "Local maximum"
    elif kind == SADDLE:
        shape = f"{lam_text(0)} < 0 < {lam_text(1)}, so f curves down along v₁ and up along v₂"
        head = "Saddle point"
    elif zero.all():
        shape = "λ₁ = λ₂ = 0 (H = 0), so f has no curvature at all to second order; higher-order terms decide"
        head = "Undecided (degenerate)"
    else:
        i = int(np.flatnonzero(zero)[0])
        shape = (f"λ{SUB[i]} ≈ 0 (|λ{SUB[i]}| ≤ 10⁻⁶·|λ{SUB[1 - i]}|), so along v{SUB[i]} f is flat to second "
                 f"order and higher-order terms decide")
        head = "Undecided (degenerate)"
    if critical:
        return head, shape + "."
    return ("Not a critical point",
            f"‖g‖ = {g_norm:.3g} ≠ 0, so the second-order test does not apply here; "
            f"the curvature at θ′ is still shown: {shape}.")


def newton_sentence() -> str:
    pts, reason = newton.points, newton.reason
    steps = len(pts) - 1
    end = pts[-1]
    if reason == "singular" and steps == 0:
        return "H is singular at θ′, so the Newton step −H⁻¹g is undefined."
    moved = float(np.linalg.norm(pts[-1] - pts[0]))
    if critical and moved <= 1e-9 * diagonal:
        return "θ′ is already critical (g = 0): Newton does not move."
    if reason == "left the box":
        return f"Newton left the plot after {steps} step{'s' * (steps != 1)}: the model's stationary point is far away."
    if reason == "not finite":
        return f"Newton stopped after {steps} step{'s' * (steps != 1)}: f is not finite there."
    _, g_end, h_end = jet(surface, end)
    tidy = np.where(np.abs(end) < 1e-12 * span, 0.0, end)  # 3.9e-31 is 0 at the domain's scale
    where = f"({tidy[0]:.4g}, {tidy[1]:.4g})"
    if np.all(np.isfinite(g_end)) and np.linalg.norm(g_end) <= CRITICAL_GRAD:
        k_end = classify_eigenvalues(np.linalg.eigvalsh(h_end))
        name = {MINIMUM: "a minimum", MAXIMUM: "a maximum", SADDLE: "a saddle", DEGENERATE: "a degenerate point"}[k_end]
        taken = sum(1 for a, b in zip(pts[:-1], pts[1:]) if np.linalg.norm(b - a) > 1e-9 * diagonal)
        return f"Newton reached {name} at {where} in {taken} step{'s' * (taken != 1)}."
    return f"After {steps} step{'s' * (steps != 1)} Newton is at {where} with ‖g‖ = {np.linalg.norm(g_end):.3g}."


# ---------------------------------------------------------------------------------------
# The critical points with float64 eigenvalues and values: the table and the map's markers.
if crit:
    crit_pts = np.array([c.point for c in crit], float)
    hess = stability.hessians_at(surface, crit_pts)
    crit_f = stability.values_at(surface, crit_pts)  # float64: the catalog's values are float32
    crit_lam = np.linalg.eigvalsh(hess)
    crit_kind = [classify_eigenvalues(l) for l in crit_lam]
else:
    crit_lam, crit_kind, crit_f = np.zeros((0, 2)), [], np.zeros(0)
labels = {m.point: m.label for m in surface.landmarks}
marks = [Mark(tuple(c.point), k, labels.get(tuple(c.point), "")) for c, k in zip(crit, crit_kind)]

xs, ys, z = grid_of(surface)
if not (x_lo <= point[0] <= x_hi and y_lo <= point[1] <= y_hi):
    st.warning("θ′ is outside the plotted domain; the numbers below are still for θ′.")

chart_col, info_col = st.columns([3, 2], gap="medium")
with chart_col:
    if finite:
        half = WINDOW * span
        window = ((point[0] - half, point[0] + half), (point[1] - half, point[1] + half))
        wx, wy, wf = grid_of(surface, 61, window)
        wq = stability.quadratic_on_grid(point, f0, g, H, wx, wy)
        reach = 0.5 * big * (0.8 * half) ** 2 + g_norm * 0.8 * half  # the model's climb 80 % of the way out
        model = ModelOverlay(wx, wy, wf, wq, model_levels(f0, wf, count=MODEL_LEVELS, reach=reach))
        arrows = eigen_arrows(point, lam, V, ARROW * span, zero)
        fig = curvature_figure(xs, ys, z, point=point, log=surface.log_levels, marks=marks, arrows=arrows, model=model,
                               newton=newton.points, fill=fill_of(surface))
    else:
        fig = curvature_figure(xs, ys, z, point=point, log=surface.log_levels, marks=marks, fill=fill_of(surface))
    plotly_chart(fig, width="stretch", key=CHART_KEY, on_select="rerun", selection_mode="points")
    if finite:
        st.caption(f"Arrows: the eigenvectors v₁, v₂ of H at θ′, green where λ > 0 (f curves up), red where "
                   f"λ < 0 (curves down), dotted purple where λ ≈ 0; half-length ∝ |λ|, the longer one "
                   f"{ARROW:.0%} of the domain's width, none shorter than a fifth of that. In the dotted square: "
                   f"f (solid white) and the quadratic model (dashed black) at the same levels L(θ′) + kΔ, "
                   f"k = −{MODEL_LEVELS}…{MODEL_LEVELS}; where they part, the model fails. Magenta: Newton's steps.")

with info_col:
    if not finite:
        st.error(f"f, its gradient or its Hessian is not finite at θ′ = ({point[0]:.4g}, {point[1]:.4g}). "
                 "Move the point.")
    else:
        st.latex(rf"\theta' = {vec(np.array(point))},\quad L(\theta') = {num(f0)}")
        st.latex(rf"g = \nabla L(\theta') = {vec(g)}")
        st.latex(r"H = \begin{pmatrix}" + num(H[0, 0]) + "&" + num(H[0, 1]) + r"\\" + num(H[1, 0]) + "&"
                 + num(H[1, 1]) + r"\end{pmatrix}")
        st.latex(rf"\|g\| = {num(g_norm)},\quad \det H = \lambda_1\lambda_2 = {num(float(lam[0] * lam[1]))}")
        st.latex(rf"\lambda_1 = {num(lam[0])},\quad v_1 = {vec(V[:, 0])}")
        st.latex(rf"\lambda_2 = {num(lam[1])},\quad v_2 = {vec(V[:, 1])}")
        head, reason = verdict()
        box = {MINIMUM: st.success, MAXIMUM: st.error, SADDLE: st.warning}.get(kind, st.info) if critical else st.info
        box(f"**{head}.** {reason}")
        st.markdown("**Newton's method from θ′** (magenta on the map)")
        st.latex(r"\theta \leftarrow \theta - H^{-1} g")
        st.markdown(newton_sentence() + " Newton solves g = 0 and does not know down from up: it jumps to the "
                    "stationary point of the quadratic model, which is a minimum only where H is positive "
                    "definite, so near a saddle or a maximum it walks towards it. On a quadratic one step lands "
                    "exactly on the critical point.")

if finite:
    half = WINDOW * span
    ts = np.linspace(-half, half, 201)
    f_sl, q_sl, titles, colors = [], [], [], []
    for i in range(2):
        v = V[:, i]
        f_sl.append(stability.values_along(surface, point, v, ts))
        q_sl.append(f0 + ts * float(g @ v) + 0.5 * lam[i] * ts**2)
        titles.append(f"along v{SUB[i]}: {lam_text(i)}")
        colors.append(eigen_color(float(lam[i]), bool(zero[i])))
    plotly_chart(slices_figure(ts, f_sl, q_sl, titles, colors), width="stretch")
    st.caption("f(θ′ + t vᵢ) against the model L(θ′) + t gᵀvᵢ + ½λᵢt²: they agree near t = 0 and part where "
               "the third and higher derivatives take over.")

# ---------------------------------------------------------------------------------------
st.subheader("📍 Every critical point")
if not crit:
    st.info("No critical point was found inside the domain.")
else:
    table = pd.DataFrame({
        "kind": crit_kind,
        "x": [c.point[0] for c in crit],
        "y": [c.point[1] for c in crit],
        "f": crit_f,
        "λ₁": crit_lam[:, 0],
        "λ₂": crit_lam[:, 1],
    })
    counts = pd.Series(crit_kind).value_counts()
    st.caption(", ".join(f"{counts[k]} {k if counts[k] == 1 else PLURAL[k]}" for k in PLURAL if k in counts)
               + ". Click a row to move θ′ there.")
    st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                 key=TABLE_KEY, height=min(36 * (len(table) + 1) + 3, 360),
                 column_config={c: st.column_config.NumberColumn(format="%.6g") for c in ("x", "y", "f", "λ₁", "λ₂")})

# ---------------------------------------------------------------------------------------
st.subheader("📏 Curvature limits the step")
st.latex(r"\theta_{k+1}-\theta^* = (I-\eta H)(\theta_k-\theta^*):\ \text{the part along } v_i"
         r"\text{ is scaled by } 1-\eta\lambda_i \text{ each step; stable iff } \eta < 2/\lambda_{\max}.")

minima = [(c, l) for c, k, l in zip(crit, crit_kind, crit_lam) if k == MINIMUM]
if not minima:
    st.info("This surface has no minimum inside its domain, so there is no curvature bound on the step to show. "
            "Try the ravine, the bowl or Himmelblau.")
else:
    star, _ = min(minima, key=lambda cl: math.hypot(cl[0].point[0] - point[0], cl[0].point[1] - point[1]))
    p_star = np.array(star.point, float)
    lam_s, V_s = np.linalg.eigh(stability.hessians_at(surface, p_star[None])[0])
    V_s = stability.canonical_eigenvectors(V_s)
    eta_max = stability.stable_step(lam_s)
    m1, m2, m3 = st.columns(3)
    m1.metric("Minimum θ* nearest to θ′", f"({p_star[0]:.4g}, {p_star[1]:.4g})")
    m2.metric("Curvatures at θ*", f"λ₁ = {lam_s[0]:.4g}, λ₂ = {lam_s[1]:.4g}")
    m3.metric("Largest stable step 2/λmax", f"{eta_max:.6g}")
    c1, c2 = st.columns([3, 1])
    c1.multiselect("Gradient descent at these multiples of 2/λmax", list(MULTIPLES), key="mult",
                   format_func=lambda m: f"{m}×")
    c2.number_input("GD steps", min_value=10, max_value=optimizers.MAX_STEPS, step=50, key="gdsteps")
    multiples = sorted((m for m in st.session_state.mult if m in MULTIPLES), key=float)
    radius = OFFSET * short
    start = stability.offset_start(p_star, V_s, radius)
    floor = stability.default_floor(p_star, radius)
    ceiling = CEILING * radius
    steps = int(st.session_state.gdsteps)
    if not multiples:
        st.warning("Pick at least one multiple of 2/λmax.")
    else:
        rows, paths, ratio_lines, measured, predicted, factors = [], [], [], [], [], []
        for i, m in enumerate(multiples):
            eta = float(m) * eta_max
            t = optimizers.trace(surface, "gd", (float(start[0]), float(start[1])), steps, learning_rate=eta)
            label = f"{m}× (η = {eta:.3g})"
            color = run_color(i)
            paths.append(Path(f"gd{m}", label, t.points, t.losses, t.diverged_at, color))
            fac = stability.contraction_factors(eta, lam_s)
            r = stability.distance_ratios(t.points, p_star)
            shown = stability.ratio_window(t.points, p_star, 0, floor, ceiling)
            ratio_lines.append(np.where(shown, r, np.nan))
            meas = stability.measured_ratio(t.points, p_star, stability.burn_in_for(fac), floor, ceiling)
            pred = float(np.max(fac))
            measured.append(meas)
            predicted.append(pred)
            factors.append(fac)
            d_end = float(np.linalg.norm(t.points[t.last_valid] - p_star))
            if t.diverged_at is not None:
                outcome = f"diverged at step {t.diverged_at}"
            elif d_end < 1e-2 * radius or (np.isfinite(meas) and meas < 1):
                wobble = stability.oscillates(t.points, p_star, V_s[:, 1], 1)
                outcome = "converges" + (", oscillating along v₂" if wobble else "")
            elif (hop := stability.two_cycle(t.points)) is not None:
                outcome = f"does not converge: bounces between two points {hop:.3g} apart"
            else:
                outcome = f"does not converge in {steps} steps (ends {d_end:.3g} from θ*)"
            rows.append({"run": label, "η": eta, "|1−ηλ₁|": fac[0], "|1−ηλ₂|": fac[1], "max |1−ηλᵢ|": pred,
                         "measured ratio": f"{meas:.5g}" if np.isfinite(meas) else "—", "outcome": outcome})
            if t.diverged_at is not None:
                why = (f"|1 − ηλ₂| = {fac[1]:.3g} > 1, so the error along v₂ grows every step" if pred > 1 else
                       "although every |1 − ηλᵢ| < 1: away from θ* the surface is not its quadratic model")
                st.error(f"**GD at {m}× 2/λmax diverged at step {t.diverged_at}** (η = {eta:.4g}): {why}.", icon="💥")
        s1, s2 = st.columns([1, 1])
        with s1:
            zoom = max(4.0 * radius, 1e-9)
            local = ((p_star[0] - zoom, p_star[0] + zoom), (p_star[1] - zoom, p_star[1] + zoom))
            lx, ly, lz = grid_of(surface, ZOOM_GRID, local)
            zero_s = np.abs(lam_s) <= RTOL * float(np.max(np.abs(lam_s))) + ATOL
            direction_arrows = eigen_arrows(p_star, lam_s, V_s, 0.6 * zoom, zero_s)
            for a, c in zip(direction_arrows, DIRECTION_COLORS):
                a.color = c
            plotly_chart(stability_figure(lx, ly, lz, p_star=tuple(p_star), paths=paths, start=tuple(start),
                                          center=tuple(p_star), radius=zoom, log=surface.log_levels,
                                          arrows=direction_arrows),
                         width="stretch")
        with s2:
            plotly_chart(factors_figure([f"{m}×" for m in multiples], np.array(factors), measured,
                                        ["|1−ηλ₁| along v₁", "|1−ηλ₂| along v₂"],
                                        list(DIRECTION_COLORS)),
                         width="stretch")
        plotly_chart(ratios_figure([p.label for p in paths], ratio_lines, predicted, [p.color for p in paths]),
                     width="stretch")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.5g")
                                    for c in ("η", "|1−ηλ₁|", "|1−ηλ₂|", "max |1−ηλᵢ|")})
        st.caption(f"Each run starts {radius:.3g} from θ* along a mix of v₁ and v₂. Measured ratio: median of "
                   "‖θ_(k+1) − θ*‖ / ‖θ_k − θ*‖ once the other direction's share has dropped below 3 %, "
                   f"while the distance stays above {floor:.2g} (below it float32 rounding dominates) and until it "
                   f"first reaches {ceiling:.3g} ({CEILING}× the start); '—' if fewer than 3 steps qualify. On a "
                   "quadratic it tends to max |1 − ηλᵢ|, as the slowest-shrinking direction takes over; elsewhere "
                   "only as long as f near θ* is its quadratic model.")

urlstate.publish(FIELDS)
frame.footer()
