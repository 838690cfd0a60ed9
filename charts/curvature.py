"""Figures of the Curvature page: the Hessian at a point drawn on the contour (eigenvector
arrows, the quadratic model's contours, Newton's steps), 1-D slices along the eigenvectors,
and gradient descent near a minimum (paths, contraction factors, measured ratios).

Pure builders: NumPy data in, go.Figure out; no Streamlit and no surface maths here. Their
words come from the message catalog (curvature.chart.*).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import plotly.graph_objects as go

from catalog import t
from charts.style import LANDMARK_MARKS, base_layout
from charts.surface import Arrow, Fill, Mark, Path, contour_figure

if TYPE_CHECKING:  # the figures of a run's Result; charts import no experiment at run time
    from experiments.curvature import GDRun, Result, StepLimit

POSITIVE = "#00a651"  # lambda > 0: f curves up along v
NEGATIVE = "#d62728"  # lambda < 0: f curves down along v
ZERO = "#6a0dad"  # lambda ~ 0: the second-order test says nothing along v
NEWTON = "#ff00aa"
DIRECTION_COLORS = ("#74c476", "#006d2c")  # v1, v2 near a minimum: both curve up (green), told apart by shade
F_COLOR = "#ffffff"
MODEL_COLOR = "#111111"
RUN_COLORS = ("#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#7f7f7f",
              "#bcbd22", "#2ca02c", "#393b79")
MAX_LEVELS = 60
ARROW = 0.12  # half-length of the most curved eigenvector's arrow, x the longer domain side
MODEL_LEVELS = 4  # level lines on each side of L(θ′) in the model window
ARROW_MIN_FRACTION = 0.2  # no arrow is shorter than this share of the longest (a ~zero one is drawn dotted)


def _style(fig: go.Figure, **overrides) -> go.Figure:
    fig.update_layout(**base_layout(**overrides))
    return fig


def eigen_color(lam: float, zero: bool) -> str:
    if zero:
        return ZERO
    return POSITIVE if lam > 0 else NEGATIVE


def run_color(i: int) -> str:
    return RUN_COLORS[i % len(RUN_COLORS)]


def eigen_arrows(
    point: Sequence[float],
    eigenvalues: Sequence[float],
    eigenvectors: np.ndarray,
    length: float,
    zero: Sequence[bool] = (False, False),
) -> list[Arrow]:
    """One double-headed arrow per eigenvector v_i (columns of eigenvectors), centred on
    the point, half-length = length * |lambda_i| / max_j |lambda_j| (so the most curved
    direction gets ``length``), but never below ARROW_MIN_FRACTION * length, so the weak
    direction (often the interesting one: a saddle's way down) stays visible. A ~zero
    eigenvalue is drawn dotted: its direction is known, its curvature is not."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    vecs = np.asarray(eigenvectors, dtype=np.float64)
    big = float(np.max(np.abs(lam))) if lam.size and np.all(np.isfinite(lam)) else 0.0
    arrows = []
    for i, l in enumerate(lam):
        z = bool(zero[i]) or big == 0
        share = abs(float(l)) / big if big > 0 else 0.0
        half = length * max(share, ARROW_MIN_FRACTION)
        sub = "₁₂₃"[i] if i < 3 else str(i + 1)
        label = t("curvature.chart.arrow_flat", i=sub) if z else t("curvature.chart.arrow", i=sub, lam=float(l))
        arrows.append(Arrow(
            start=(float(point[0]), float(point[1])),
            vector=(float(half * vecs[0, i]), float(half * vecs[1, i])),
            color=eigen_color(float(l), z),
            label=label,
            dash="dot" if z else "solid",
        ))
    return arrows


def direction_arrows(
    point: Sequence[float], eigenvalues: Sequence[float], eigenvectors: np.ndarray, length: float,
    zero: Sequence[bool] = (False, False),
) -> list[Arrow]:
    """eigen_arrows at a minimum, where both directions curve up (green): told apart by
    shade (DIRECTION_COLORS), as the factor bars along v₁ and v₂ are."""
    arrows = eigen_arrows(point, eigenvalues, eigenvectors, length, zero)
    for a, c in zip(arrows, DIRECTION_COLORS):
        a.color = c
    return arrows


def _draw_arrow(fig: go.Figure, a: Arrow, row: int | None = None, col: int | None = None) -> None:
    """A double-headed arrow from start - vector to start + vector (an eigenvector has no sign)."""
    x0, y0 = a.start
    dx, dy = a.vector
    kwargs = dict(x=x0 + dx, y=y0 + dy, ax=x0 - dx, ay=y0 - dy, xref="x", yref="y", axref="x", ayref="y",
                  showarrow=True, arrowhead=2, startarrowhead=2, arrowside="end+start", arrowsize=1.1,
                  arrowwidth=3.5 if a.dash == "solid" else 2.0, arrowcolor=a.color, text="")
    fig.add_annotation(**kwargs)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=a.label,
                             line=dict(color=a.color, width=3.5, dash=a.dash)))


def _add_marks(fig: go.Figure, marks: Sequence[Mark]) -> None:
    """Critical points, one trace per kind (a surface like Rastrigin has 81 of them: one
    trace each would cost ~1 ms apiece on every rerun)."""
    for kind, (symbol, color) in LANDMARK_MARKS.items():
        group = [m for m in marks if m.kind == kind]
        if not group:
            continue
        text = t(f"surfaces.kind.{kind}")
        fig.add_trace(go.Scatter(
            x=[m.point[0] for m in group], y=[m.point[1] for m in group], mode="markers", name=text,
            customdata=[m.label or text for m in group], legendgroup=kind,
            marker=dict(symbol=symbol, size=13, color=color, line=dict(width=1.5, color="white")),
            hovertemplate="%{customdata}<br>(%{x:.4f}, %{y:.4f})<extra></extra>",
        ))


@dataclass
class ModelOverlay:
    """The true f and the quadratic model q on a window around the point, to be drawn as
    contour lines at the same levels (start, end, size)."""

    xs: np.ndarray
    ys: np.ndarray
    f: np.ndarray
    q: np.ndarray
    levels: tuple[float, float, float]


def model_levels(
    f_point: float, z_window: np.ndarray, count: int = 10, reach: float | None = None
) -> tuple[float, float, float]:
    """Evenly spaced levels through f(point) (so the level set through the point is drawn,
    e.g. the two crossing lines at a saddle), ``count`` steps on each side.

    reach: how far the model climbs or falls inside the window (e.g. ½|λ|max r² + |g| r);
    the step is reach / count, so the model's own lines fill the window and no more. Without
    it (or when it is 0: a flat point), ``count`` steps span the 5-95 % range of f on the
    window. At most MAX_LEVELS levels in all."""
    finite = z_window[np.isfinite(z_window)]
    if not math.isfinite(f_point):
        f_point = float(np.median(finite)) if finite.size else 0.0
    if reach is not None and math.isfinite(reach) and reach > 0:
        size = reach / count
        return f_point - count * size, f_point + count * size, size
    spread = float(np.percentile(finite, 95) - np.percentile(finite, 5)) if finite.size else 0.0
    size = spread / count if spread > 0 and math.isfinite(spread) else max(abs(f_point), 1.0) / count
    lo = float(np.min(finite)) if finite.size else f_point - count * size
    hi = float(np.max(finite)) if finite.size else f_point + count * size
    below = min(math.ceil(max(f_point - lo, 0.0) / size), MAX_LEVELS // 2)
    above = min(math.ceil(max(hi - f_point, 0.0) / size), MAX_LEVELS // 2)
    return f_point - below * size, f_point + above * size, size


def _level_lines(xs, ys, z, levels, color: str, dash: str, name: str, width: float) -> go.Contour:
    start, end, size = levels
    return go.Contour(
        x=xs, y=ys, z=np.round(z, 6), autocontour=False,
        contours=dict(start=start, end=end, size=size, coloring="none"),
        line=dict(color=color, dash=dash, width=width), showscale=False, hoverinfo="skip", name=name,
        showlegend=False,
    )


def curvature_figure(
    xs: np.ndarray,
    ys: np.ndarray,
    z: np.ndarray,
    *,
    point: tuple[float, float],
    log: bool = False,
    marks: Sequence[Mark] = (),
    arrows: Sequence[Arrow] = (),
    model: ModelOverlay | None = None,
    newton: np.ndarray | None = None,
    click_grid: int = 41,
    height: int = 620,
    fill: Fill | None = None,
) -> go.Figure:
    """The surface's contour with its critical points (by kind), the point θ', the
    eigenvector arrows there, f and its quadratic model as contour lines at the same levels
    on a window around θ' (solid white: f; dashed black: the model) and Newton's path."""
    fig = contour_figure(xs, ys, z, log=log, click_grid=click_grid, height=height, fill=fill)
    _add_marks(fig, marks)
    if model is not None:
        # No legend entries: a white line cannot be shown on the white legend; the page's caption says it.
        for z_, color, dash, name, width in ((model.f, F_COLOR, "solid", t("curvature.chart.f_levels"), 1.5),
                                             (model.q, MODEL_COLOR, "dash", t("curvature.chart.model"), 1.8)):
            fig.add_trace(_level_lines(model.xs, model.ys, z_, model.levels, color, dash, name, width))
        x0, x1, y0, y1 = float(model.xs[0]), float(model.xs[-1]), float(model.ys[0]), float(model.ys[-1])
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, line=dict(color="white", width=1, dash="dot"),
                      layer="above")
    if newton is not None and len(newton) > 1:
        fig.add_trace(go.Scatter(
            x=newton[:, 0], y=newton[:, 1], mode="lines+markers", name=t("curvature.chart.newton"),
            line=dict(color=NEWTON, width=2.5), marker=dict(size=7, color=NEWTON, line=dict(width=1, color="white")),
            hovertemplate=(t("curvature.chart.newton_hover", step="%{pointNumber}")
                           + "<br>(%{x:.4f}, %{y:.4f})<extra></extra>"),
        ))
    for a in arrows:
        _draw_arrow(fig, a)
    fig.add_trace(go.Scatter(
        x=[point[0]], y=[point[1]], mode="markers", name=t("curvature.chart.point"),
        marker=dict(symbol="circle", size=13, color="white", line=dict(width=3, color="black")),
        hovertemplate=t("curvature.chart.point_hover", x="%{x:.4f}", y="%{y:.4f}") + "<extra></extra>",
    ))
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def slices_figure(
    ts: np.ndarray,
    f_slices: Sequence[np.ndarray],
    q_slices: Sequence[np.ndarray],
    titles: Sequence[str],
    colors: Sequence[str],
    height: int = 320,
) -> go.Figure:
    """One panel per eigenvector v_i: f(θ' + t v_i) (solid, the arrow's colour) and the
    model q(θ' + t v_i) = f(θ') + t g·v_i + ½ λ_i t² (dashed) against t."""
    n = len(f_slices)
    gap = 0.08
    width = (1.0 - gap * (n - 1)) / n
    fig = go.Figure()
    axes: dict = {}
    slice_axis = t("curvature.chart.slice_axis")
    for i, (fv, qv) in enumerate(zip(f_slices, q_slices)):
        sx = "" if i == 0 else str(i + 1)
        xa, ya = f"x{sx}", f"y{sx}"
        lo = i * (width + gap)
        axes[f"xaxis{sx}"] = dict(domain=[lo, lo + width], anchor=ya, title=dict(text=slice_axis),
                                  zeroline=True, zerolinecolor="#999999")
        axes[f"yaxis{sx}"] = dict(anchor=xa)
        fig.add_trace(go.Scatter(x=ts, y=fv, mode="lines", name=t("curvature.chart.slice_f"), legendgroup="f",
                                 showlegend=i == 0,
                                 line=dict(color=colors[i], width=3), xaxis=xa, yaxis=ya,
                                 hovertemplate="t=%{x:.3f}<br>f=%{y:.5g}<extra></extra>"))
        fig.add_trace(go.Scatter(x=ts, y=qv, mode="lines", name=t("curvature.chart.model"), legendgroup="q",
                                 showlegend=i == 0, line=dict(color=MODEL_COLOR, width=2, dash="dash"), xaxis=xa,
                                 yaxis=ya, hovertemplate="t=%{x:.3f}<br>q=%{y:.5g}<extra></extra>"))
    annotations = [dict(text=title, x=i * (width + gap) + width / 2, y=1.0, xref="paper", yref="paper",
                        xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=14))
                   for i, title in enumerate(titles)]
    _style(fig, height=height, margin=dict(l=50, r=20, t=80, b=45), annotations=annotations, **axes)
    fig.update_layout(legend=dict(y=1.12))
    return fig


def stability_figure(
    xs: np.ndarray,
    ys: np.ndarray,
    z: np.ndarray,
    *,
    p_star: tuple[float, float],
    paths: Sequence[Path],
    start: tuple[float, float],
    center: tuple[float, float],
    radius: float,
    log: bool = False,
    arrows: Sequence[Arrow] = (),
    height: int = 460,
) -> go.Figure:
    """A zoomed contour around the minimum p* with the gradient-descent runs (diverged runs
    end in a cross labelled with the step) and the eigen-directions at p*."""
    mark = Mark(p_star, "minimum", t("curvature.chart.minimum"))
    fig = contour_figure(xs, ys, z, log=log, paths=paths, marks=[mark], start=start, height=height)
    for a in arrows:
        _draw_arrow(fig, a)
    fig.update_xaxes(range=[center[0] - radius, center[0] + radius])
    fig.update_yaxes(range=[center[1] - radius, center[1] + radius], scaleanchor="x", scaleratio=1)
    return fig


def factors_figure(
    labels: Sequence[str],
    factors: np.ndarray,
    measured: Sequence[float],
    direction_labels: Sequence[str],
    direction_colors: Sequence[str],
    height: int = 380,
) -> go.Figure:
    """Grouped bars per run: the predicted factor |1 − ηλ_i| of each eigen-direction, and
    the measured median ratio ‖p_{k+1} − p*‖ / ‖p_k − p*‖ (NaN: not measurable, no bar).
    The dotted line at 1 is the stability limit."""
    factors = np.asarray(factors, dtype=np.float64).reshape(len(labels), -1)
    fig = go.Figure()
    for i in range(factors.shape[1]):
        fig.add_trace(go.Bar(x=list(labels), y=factors[:, i], name=direction_labels[i],
                             marker_color=direction_colors[i], text=[f"{v:.3g}" for v in factors[:, i]],
                             textposition="outside", textfont=dict(size=11)))
    m = np.asarray(measured, dtype=np.float64)
    fig.add_trace(go.Bar(x=list(labels), y=m, name=t("curvature.chart.measured"),
                         marker=dict(color="#444444", pattern=dict(shape="/", fgcolor="white")),
                         text=["—" if not np.isfinite(v) else f"{v:.3g}" for v in m], textposition="outside",
                         textfont=dict(size=11)))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=t("curvature.chart.limit"),
                             line=dict(color="black", dash="dot", width=1.5)))
    limit = dict(type="line", xref="paper", x0=0, x1=1, y0=1.0, y1=1.0, layer="below",
                 line=dict(color="black", dash="dot", width=1.5))
    finite = factors[np.isfinite(factors)]
    top = float(np.max(np.concatenate([finite, m[np.isfinite(m)], [1.0]])))
    _style(fig, height=height, barmode="group", margin=dict(l=50, r=20, t=70, b=45), shapes=[limit])
    fig.update_layout(legend=dict(y=1.12))
    fig.update_yaxes(title=t("curvature.chart.factor_axis"), range=[0, 1.2 * float(top)])
    return fig


def ratios_figure(
    labels: Sequence[str],
    ratios: Sequence[np.ndarray],
    predicted: Sequence[float],
    colors: Sequence[str],
    height: int = 340,
) -> go.Figure:
    """The ratio r_k = ‖p_{k+1} − p*‖ / ‖p_k − p*‖ step by step (solid; NaN where it is not
    measured) and the prediction max_i |1 − ηλ_i| (dotted) per run."""
    fig = go.Figure()
    for label, r, p, c in zip(labels, ratios, predicted, colors):
        r = np.asarray(r, dtype=np.float64)
        fig.add_trace(go.Scatter(x=np.arange(len(r)), y=r, mode="lines", name=label, line=dict(color=c, width=2),
                                 legendgroup=label, hovertemplate="k=%{x}<br>r=%{y:.5f}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[0, max(len(r) - 1, 1)], y=[p, p], mode="lines",
                                 name=t("curvature.chart.predicted_name", label=label),
                                 legendgroup=label, showlegend=False, line=dict(color=c, width=1.5, dash="dot"),
                                 hovertemplate=t("curvature.chart.predicted_hover", value=p) + "<extra></extra>"))
    _style(fig, height=height)
    fig.update_xaxes(title=t("curvature.chart.step_axis"))
    fig.update_yaxes(title=t("curvature.chart.ratio_axis"))
    return fig


# ---------------------------------------------------------------------------------------
# The Curvature page's figures, from experiments.curvature's Result


def point_figure(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, result: Result, fill: Fill | None = None) -> go.Figure:
    """curvature_figure for a run: the critical points, θ′, and where f, g and H are finite
    there, the eigenvector arrows, the model's window (MODEL_LEVELS levels each side) and
    Newton's path."""
    marks = [Mark(r.point, r.kind, r.label) for r in result.critical]
    log = result.surface.log_levels
    p, m = result.probe, result.model
    if p is None or m is None or result.newton is None:
        return curvature_figure(xs, ys, z, point=result.point, log=log, marks=marks, fill=fill)
    (x0, x1), (y0, y1) = result.surface.domain
    arrows = eigen_arrows(result.point, p.eigenvalues, p.eigenvectors, ARROW * max(x1 - x0, y1 - y0), p.zero)
    model = ModelOverlay(m.xs, m.ys, m.f, m.q, model_levels(p.value, m.f, count=MODEL_LEVELS, reach=m.reach))
    return curvature_figure(xs, ys, z, point=result.point, log=log, marks=marks, arrows=arrows, model=model,
                            newton=result.newton.points, fill=fill)


def run_label(run: GDRun) -> str:
    return t("curvature.step.run_label", m=run.multiple, eta=run.learning_rate)


def step_figures(limit: StepLimit, log: bool = False) -> tuple[go.Figure, go.Figure, go.Figure]:
    """The gradient-descent runs near the minimum: their paths on the zoomed contour, the
    predicted and measured factors per run, and the measured ratio step by step."""
    runs = limit.runs
    paths = [Path(f"gd{r.multiple}", run_label(r), r.points, r.losses, r.diverged_at, run_color(i))
             for i, r in enumerate(runs)]
    arrows = direction_arrows(limit.minimum, limit.eigenvalues, limit.eigenvectors, 0.6 * limit.zoom_radius,
                              limit.zero)
    if limit.zoom is None:
        raise ValueError("no gradient-descent runs to draw")
    xs, ys, z = limit.zoom
    paths_fig = stability_figure(xs, ys, z, p_star=limit.minimum, paths=paths, start=limit.start,
                                 center=limit.minimum, radius=limit.zoom_radius, log=log, arrows=arrows)
    factors_fig = factors_figure([t("curvature.step.multiple", m=r.multiple) for r in runs],
                                 np.array([r.factors for r in runs]), [r.measured for r in runs],
                                 [t("curvature.step.direction1"), t("curvature.step.direction2")],
                                 list(DIRECTION_COLORS))
    ratios_fig = ratios_figure([q.label for q in paths], [r.ratios for r in runs], [r.predicted for r in runs],
                               [q.color for q in paths])
    return paths_fig, factors_fig, ratios_fig
