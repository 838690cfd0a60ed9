"""Figures of the Inside page: the Hessian spectrum, its evolution over training, the loss
landscape (1-D interpolation, 2-D slices, the trajectory's PCA plane) and the saddle
census. Pure builders: NumPy data in, ``go.Figure`` out; every word from the catalog.

Eigenvalues of a trained network span several decades on the positive side and a few
small values on the negative side, so the histogram counts are drawn on a log axis
(PyHessian's density plots do the same): on a linear axis the dozens of near-zero
eigenvalues hide the handful of large ones that set the step size.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from catalog import t
from charts.style import base_layout, legend_below
from charts.raster import contour_image
from charts.surface import Fill, Path, contour_figure, contour_levels, surface3d_figure

SIGN_COLORS = {"negative": "#d62728", "flat": "#7f7f7f", "positive": "#1f77b4"}
KIND_MARKS = {  # census kind -> (symbol, colour), as the Curvature page marks its landmarks
    "minimum": ("star", "#00a651"),
    "saddle": ("x", "#d62728"),
    "degenerate": ("diamond", "#ff7f0e"),
    "maximum": ("triangle-up", "#9467bd"),
}
HIST_BINS = 60
RUN_COLORS = ("#1f77b4", "#d62728")  # the page's network, and the one it is compared with


def _title(title: str) -> dict | None:
    return dict(text=title) if title else None


def _top(title: str) -> dict:
    return dict(t=50 + 40 * title.count("<br>"))


def spectrum_figure(eigenvalues: np.ndarray, tol: float, title: str = "", height: int = 380) -> go.Figure:
    """Histogram of exact eigenvalues on a log count axis, three colours: below -tol
    (directions where the loss still goes down), within ±tol (flat within rounding), above."""
    ev = np.asarray(eigenvalues, np.float64)
    lo, hi = float(ev.min()), float(ev.max())
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    fig = go.Figure()
    for sign, mask in (("negative", ev < -tol), ("flat", np.abs(ev) <= tol), ("positive", ev > tol)):
        counts, _ = np.histogram(ev[mask], bins=edges)
        keep = counts > 0
        centres = 0.5 * (edges[:-1] + edges[1:])
        fig.add_trace(go.Bar(
            x=centres[keep], y=counts[keep], width=float(edges[1] - edges[0]), name=t(f"inside.sign.{sign}",
                                                                                    n=int(mask.sum())),
            marker=dict(color=SIGN_COLORS[sign]), hovertemplate=t("inside.spectrum.bar_hover")))
    fig.update_xaxes(title_text=t("inside.spectrum.x_axis"))
    fig.update_yaxes(title_text=t("inside.spectrum.y_axis"), type="log", dtick=1)
    fig.update_layout(**base_layout(title=_title(title), barmode="overlay", bargap=0, height=height,
                                    legend=legend_below(), margin=_top(title)))
    return fig


def magnitude_figure(eigenvalues: np.ndarray, tol: float, title: str = "", height: int = 320) -> go.Figure:
    """How many eigenvalues of each size, on a log axis of |λ|: positive ones as bars up,
    negative ones as bars down (flat ones, |λ| <= tol, are left out). A linear axis puts
    nearly all of them in the bin at 0; this one shows that the negative ones are small."""
    ev = np.asarray(eigenvalues, np.float64)
    big = np.abs(ev) > tol
    if not big.any():
        return go.Figure()
    logs = np.log10(np.abs(ev[big]))
    lo, hi = np.floor(logs.min() * 2) / 2, np.ceil(logs.max() * 2) / 2 + 0.5
    edges = np.arange(lo, hi + 1e-9, 0.25)
    centres = 0.5 * (edges[:-1] + edges[1:])
    fig = go.Figure()
    for sign, values, factor in (("positive", ev[ev > tol], 1), ("negative", ev[ev < -tol], -1)):
        counts, _ = np.histogram(np.log10(np.abs(values)), bins=edges) if values.size else (np.zeros(len(centres)), 0)
        keep = counts > 0
        fig.add_trace(go.Bar(x=centres[keep], y=factor * counts[keep], width=0.23, name=t(f"inside.sign.{sign}", n=len(values)),
                             marker=dict(color=SIGN_COLORS[sign]), customdata=10.0 ** centres[keep],
                             text=counts[keep], textposition="none",
                             hovertemplate=t(f"inside.magnitude.hover_{sign}")))
    # x is log10|λ| on a linear axis (bars of equal width), labelled as powers of ten
    decades = np.arange(np.floor(lo), np.ceil(hi) + 1)
    fig.update_xaxes(title_text=t("inside.magnitude.x_axis"), tickvals=decades,
                     ticktext=[f"10<sup>{int(d)}</sup>" for d in decades], range=[lo, hi])
    fig.update_yaxes(title_text=t("inside.magnitude.y_axis"), zeroline=True, zerolinecolor="#888")
    fig.update_layout(**base_layout(title=_title(title), barmode="relative", bargap=0.05, height=height,
                                    legend=legend_below(), margin=_top(title)))
    return fig


def density_figure(grid: np.ndarray, density: np.ndarray, tol: float = 0.0, title: str = "",
                   height: int = 380) -> go.Figure:
    """Eigenvalue density from stochastic Lanczos quadrature, log axis; below -tol (what
    the counts call negative) red."""
    grid, density = np.asarray(grid, np.float64), np.asarray(density, np.float64)
    floor = max(float(density.max()) * 1e-8, 1e-300)
    fig = go.Figure()
    for sign, mask in (("negative", grid <= -tol), ("positive", grid >= -tol)):
        if mask.any():
            fig.add_trace(go.Scatter(x=grid[mask], y=np.maximum(density[mask], floor), mode="lines", fill="tozeroy",
                                     name=t(f"inside.density.{sign}"), line=dict(color=SIGN_COLORS[sign], width=1.5),
                                     hovertemplate=t("inside.density.hover")))
    fig.update_xaxes(title_text=t("inside.spectrum.x_axis"))
    fig.update_yaxes(title_text=t("inside.density.y_axis"), type="log", exponentformat="power")
    fig.update_layout(**base_layout(title=_title(title), height=height, legend=legend_below(),
                                    margin=_top(title)))
    return fig


def evolution_figure(epochs: np.ndarray, top: np.ndarray, negative_fraction: np.ndarray, at: int | None = None,
                     title: str = "", height: int = 420) -> go.Figure:
    """Over training: the top few eigenvalues (log axis, above) and the fraction of
    negative eigenvalues (below), on one epoch axis; a dotted line at the epoch shown."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4])
    top = np.asarray(top, np.float64)
    for k in range(top.shape[1]):
        fig.add_trace(go.Scatter(x=epochs, y=top[:, k], mode="lines+markers", marker=dict(size=4),
                                 name=t("inside.evolution.top_k", k=k + 1), line=dict(width=2 if k == 0 else 1.2),
                                 hovertemplate=t("inside.evolution.top_hover", k=k + 1)), row=1, col=1)
    fig.add_trace(go.Scatter(x=epochs, y=negative_fraction, mode="lines+markers", marker=dict(size=4),
                             name=t("inside.evolution.negative"), line=dict(color=SIGN_COLORS["negative"], width=2),
                             hovertemplate=t("inside.evolution.negative_hover")), row=2, col=1)
    positive = top[np.isfinite(top) & (top > 0)]
    log = positive.size > 0 and positive.max() / positive.min() > 30 and positive.size == top[np.isfinite(top)].size
    fig.update_yaxes(title_text=t("inside.evolution.top_axis"), type="log" if log else "linear",
                     exponentformat="power", row=1, col=1)
    fig.update_yaxes(title_text=t("inside.evolution.negative_axis"), tickformat=".0%", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text=t("inside.evolution.x_axis"), row=2, col=1)
    if at is not None:
        fig.add_vline(x=at, line=dict(color="gray", dash="dot"))
    fig.update_layout(**base_layout(title=_title(title), height=height, legend=legend_below(),
                                    margin=_top(title)))
    return fig


def interpolation_figure(lines: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str = "",
                         height: int = 360) -> go.Figure:
    """Loss along theta(a) = (1 - a) theta_0 + a theta_T, one line per network (label ->
    (alphas, losses)); a = 0 is the initial network, a = 1 the trained one (both marked)."""
    fig = go.Figure()
    for i, (label, (alphas, losses)) in enumerate(lines.items()):
        alphas, losses = np.asarray(alphas, np.float64), np.asarray(losses, np.float64)
        color = RUN_COLORS[i % len(RUN_COLORS)]
        fig.add_trace(go.Scatter(x=alphas, y=losses, mode="lines", name=label, line=dict(color=color, width=2),
                                 hovertemplate=t("inside.interpolation.hover")))
        ends = [int(np.argmin(np.abs(alphas - a))) for a in (0.0, 1.0)]
        fig.add_trace(go.Scatter(x=alphas[ends], y=losses[ends], mode="markers+text", showlegend=False,
                                 text=[t("inside.interpolation.start"), t("inside.interpolation.end")],
                                 textposition="top center", marker=dict(color=color, size=9), hoverinfo="skip"))
    finite = np.concatenate([np.asarray(v[1], np.float64) for v in lines.values()])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    log = finite.size > 0 and finite.max() / finite.min() > 30
    fig.update_xaxes(title_text=t("inside.interpolation.x_axis"))
    fig.update_yaxes(title_text=t("inside.landscape.loss_axis"), type="log" if log else "linear",
                     exponentformat="power")
    fig.update_layout(**base_layout(title=_title(title), height=height, legend=legend_below(),
                                    margin=_top(title)))
    return fig


LOSS_FLOOR = 1e-12  # a loss of exactly 0 is drawn here on the log colour scale


def log_loss(losses: np.ndarray) -> np.ndarray:
    """log10 of the loss, the colour of every landscape view: a trained network's loss is
    1e-4 where the slice's rim is 1, and only a log scale shows both the basin and the rim."""
    return np.log10(np.maximum(np.asarray(losses, np.float64), LOSS_FLOOR))


def common_levels(*losses: np.ndarray) -> np.ndarray:
    """Band edges shared by several slices, so the same colour is the same loss in each."""
    return contour_levels(np.concatenate([log_loss(z).ravel() for z in losses]))


def _loss_contour(alphas: np.ndarray, betas: np.ndarray, losses: np.ndarray, levels: np.ndarray | None,
                  height: int, title: str, paths: Sequence[Path] = ()) -> go.Figure:
    z = log_loss(losses)
    levels = contour_levels(z) if levels is None else levels
    fill = Fill(contour_image(np.asarray(alphas), np.asarray(betas), z, levels=levels), levels)
    fig = contour_figure(np.asarray(alphas), np.asarray(betas), z, fill=fill, paths=paths, height=height, title=title)
    fig.update_traces(selector=dict(name="surface"), marker_colorbar_title_text=t("inside.landscape.colour"))
    fig.update_layout(margin=_top(title), showlegend=False)
    return fig


def plane_figure(alphas: np.ndarray, betas: np.ndarray, losses: np.ndarray, title: str = "", height: int = 460,
                 levels: np.ndarray | None = None) -> go.Figure:
    """Filled contour of log10(loss) over the slice (``levels``: shared band edges, see
    common_levels); the trained network at (0, 0)."""
    fig = _loss_contour(alphas, betas, losses, levels, height, title)
    fig.add_trace(go.Scatter(x=[0.0], y=[0.0], mode="markers", name=t("inside.landscape.trained"),
                             marker=dict(symbol="star", size=14, color="white", line=dict(width=1.5, color="black")),
                             hovertemplate=t("inside.landscape.trained_hover")))
    fig.update_xaxes(title_text=t("inside.landscape.alpha"))
    fig.update_yaxes(title_text=t("inside.landscape.beta"), scaleanchor="x", scaleratio=1)
    return fig


def plane3d_figure(alphas: np.ndarray, betas: np.ndarray, losses: np.ndarray, height: int = 460) -> go.Figure:
    """The same slice in 3-D, log10 of the loss as height."""
    fig = surface3d_figure(np.asarray(alphas), np.asarray(betas), log_loss(losses), height=height)
    fig.update_layout(scene=dict(xaxis_title=t("inside.landscape.alpha"), yaxis_title=t("inside.landscape.beta"),
                                 zaxis_title=t("inside.landscape.colour")))
    return fig


def trajectory_figure(alphas: np.ndarray, betas: np.ndarray, losses: np.ndarray, coords: np.ndarray,
                      epochs: Sequence[int], train_loss: Sequence[float], explained: Sequence[float],
                      title: str = "", height: int = 460) -> go.Figure:
    """The training path projected on its own top two PCA directions, over log10 of the
    loss on that plane (the final network at (0, 0)); axes say how much of the path's
    variance each direction holds."""
    coords = np.asarray(coords, np.float64)
    path = Path("path", t("inside.trajectory.path"), coords, np.asarray(train_loss, np.float64), color="#ffffff")
    fig = _loss_contour(alphas, betas, losses, None, height, title, paths=[path])
    fig.add_trace(go.Scatter(
        x=coords[:, 0], y=coords[:, 1], mode="markers", showlegend=False, customdata=np.asarray(epochs),
        marker=dict(size=6, color="white", line=dict(width=1, color="black")),
        hovertemplate=t("inside.trajectory.hover")))
    fig.update_xaxes(title_text=t("inside.trajectory.pc", k=1, share=float(explained[0])))
    fig.update_yaxes(title_text=t("inside.trajectory.pc", k=2, share=float(explained[1])))
    return fig


def census_figure(min_ratio: np.ndarray, loss: np.ndarray, kinds: Sequence[str], n_negative: Sequence[int],
                  title: str = "", height: int = 420) -> go.Figure:
    """Lee's plot: training loss at each critical point against its minimum ratio (the
    share of positive eigenvalues), one marker per network, shaped by what it is."""
    min_ratio, loss = np.asarray(min_ratio, np.float64), np.asarray(loss, np.float64)
    kinds, n_negative = list(kinds), np.asarray(n_negative)
    fig = go.Figure()
    for kind, (symbol, color) in KIND_MARKS.items():
        idx = [i for i, k in enumerate(kinds) if k == kind]
        if not idx:
            continue
        fig.add_trace(go.Scatter(
            x=min_ratio[idx], y=loss[idx], mode="markers", customdata=n_negative[idx],
            name=t(f"inside.census.kind.{kind}", n=len(idx)),
            marker=dict(symbol=symbol, size=11, color=color, line=dict(width=1, color="white")),
            hovertemplate=t("inside.census.hover")))
    fig.add_vline(x=1.0, line=dict(color="gray", dash="dash"))
    fig.update_xaxes(title_text=t("inside.census.x_axis"), range=[min(0.4, float(np.nanmin(min_ratio, initial=1)) - 0.05),
                                                                  1.05], tickformat=".0%")
    fig.update_yaxes(title_text=t("inside.census.y_axis"))
    fig.update_layout(**base_layout(title=_title(title), height=height, legend=legend_below(),
                                    margin=_top(title)))
    return fig
