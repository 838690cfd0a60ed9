"""Figures of a 2-D surface: contour with paths and landmarks, 3-D view, step arrows.

Pure builders: NumPy data in, go.Figure out. The filled contour is a PNG drawn here
(charts.raster) and laid under the data as a layout image; its colour bar sits on an
invisible trace named "surface". The contour carries an invisible grid of points on top
(Plotly reports no click on an image), named CLICK_GRID, so a page can read clicks as
chart selections; hovering it shows f there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from catalog import t
from charts.raster import contour_image
from charts.style import COLORSCALE, LANDMARK_MARKS, base_layout, color_of
from charts.wire import round_significant
from ui.compat import AnimatedFigure, unvalidated_figure

CLICK_GRID = "click-grid"
# Points per side of the invisible click grid: a click moves to the nearest one. Each is
# an SVG node the browser redraws on every rerun: 27 x 27 points cost ~140 ms of a
# Playground rerun in headless chromium. A click reaches the nearest point within
# CLICK_REACH_PX, wide enough that every click lands on one.
CLICK_GRID_SIZE = 17
CLICK_REACH_PX = 45
MAX_FRAMES = 120  # animation frames: only the balls move, so they are cheap to send and play
# Steps on the animation's slider. Each is a group of SVG nodes Plotly lays out and
# measures on every rerun: 120 steps took ~100 ms more than 40. Playing still shows
# every frame; the slider's knob moves between its steps.
SLIDER_STEPS = 30
MAX_PATH_POINTS = 1500
# Digits of a curve's values: a curve over hundreds of steps shows no more, and its hover
# shows four. Sent on every rerun: 7 digits were ~40 % more bytes.
CURVE_DIGITS = 4
MARKED_PATH_POINTS = 120  # longer paths are drawn as lines: every marker is an SVG node to render
NCONTOURS = 30  # as go.Contour(ncontours=30) had: at most 30 levels, on round values


@dataclass
class Path:
    """One optimizer's path for drawing. points (N+1, 2) may end in NaN rows (diverged)."""

    key: str
    label: str
    points: np.ndarray
    losses: np.ndarray
    diverged_at: int | None = None
    color: str | None = None


@dataclass
class Mark:
    point: tuple[float, float]
    kind: str  # minimum | saddle | maximum | degenerate
    label: str = ""


def colour_title(log: bool) -> str:
    """What the colours measure: f, or log10(1 + f - f_min) (see shaped)."""
    return t("controls.surface_chart.colour_log") if log else t("controls.surface_chart.colour_linear")


def shaped(z: np.ndarray, log: bool, floor: float | None = None) -> np.ndarray:
    """What the colours show: f itself, or log10(1 + f - f_min) where f spans decades."""
    if not log:
        return z
    base = np.nanmin(z) if floor is None else floor
    return np.log10(1.0 + np.maximum(z - base, 0.0))


def thin(n: int, limit: int) -> np.ndarray:
    """Indices 0..n-1 thinned to at most ``limit``, always keeping the last."""
    if n <= limit:
        return np.arange(n)
    idx = np.unique(np.linspace(0, n - 1, limit).round().astype(int))
    return idx


def _valid(path: Path) -> np.ndarray:
    ok = np.all(np.isfinite(path.points), axis=1)
    last = int(np.flatnonzero(ok)[-1]) if ok.any() else 0
    return path.points[: last + 1]


def contour_figure(
    xs: np.ndarray,
    ys: np.ndarray,
    z: np.ndarray,
    *,
    log: bool = False,
    paths: Sequence[Path] = (),
    marks: Sequence[Mark] = (),
    start: tuple[float, float] | None = None,
    click_grid: int = 0,
    animate: bool = False,
    height: int = 560,
    title: str = "",
    colorbar: bool = True,
    fill: Fill | None = None,
) -> go.Figure:
    """Contour of z over (xs, ys) with paths, landmarks, a start marker, an optional click
    grid (click_grid x click_grid invisible points) and an optional animation (a ball per
    path moving along it; frames carry only the balls). colorbar=False leaves the colour
    bar out (a zoom shown beside the full map). fill: the grid's filled contour drawn
    before (draw_fill with the same xs, ys, z and log), so that a view drawn on every rerun
    over an unchanged grid does not draw and encode its image again."""
    fill = fill or draw_fill(xs, ys, z, log)
    fig = AnimatedFigure() if animate else unvalidated_figure()
    fig.add_layout_image(fill.image)
    fig.add_trace(_colorbar_trace(xs, ys, fill.levels, colour_title(log), colorbar))
    if click_grid:
        gx, gy = (g.ravel() for g in np.meshgrid(np.linspace(xs[0], xs[-1], click_grid),
                                                 np.linspace(ys[0], ys[-1], click_grid)))
        f = sample_grid(xs, ys, z, gx, gy).astype(np.float32)  # float32: half the bytes, more digits than shown
        fig.add_trace(go.Scatter(
            x=np.round(gx, 4), y=np.round(gy, 4), mode="markers", name=CLICK_GRID, customdata=f,
            marker=dict(size=9, opacity=0), showlegend=False,
            hovertemplate="x=%{x:.3f}<br>y=%{y:.3f}<br>f=%{customdata:.4g}<extra></extra>",
        ))
    for i, m in enumerate(sorted(marks, key=lambda m: m.kind)):
        kind = m.kind if m.kind in LANDMARK_MARKS else "degenerate"
        symbol, color = LANDMARK_MARKS[kind]
        text = t(f"surfaces.kind.{kind}")
        fig.add_trace(go.Scatter(
            x=[m.point[0]], y=[m.point[1]], mode="markers", name=text, legendgroup=m.kind,
            showlegend=not any(mm.kind == m.kind for mm in sorted(marks, key=lambda m: m.kind)[:i]),
            marker=dict(symbol=symbol, size=13, color=color, line=dict(width=1.5, color="white")),
            hovertemplate=f"{m.label or text}<br>(%{{x:.4f}}, %{{y:.4f}})<extra></extra>",
        ))
    for i, p in enumerate(paths):
        pts = _valid(p)
        idx = thin(len(pts), MAX_PATH_POINTS)
        color = p.color or color_of(p.key, i)
        label = p.label if p.diverged_at is None else t("controls.surface_chart.diverged_label", label=p.label,
                                                         step=p.diverged_at)
        fig.add_trace(go.Scatter(
            x=np.round(pts[idx, 0], 5), y=np.round(pts[idx, 1], 5), name=label,
            mode="lines+markers" if len(idx) <= MARKED_PATH_POINTS else "lines",
            line=dict(color=color, width=2.5), marker=dict(size=3, color=color), legendgroup=p.key,
            hovertemplate=f"{p.label}<br>(%{{x:.4f}}, %{{y:.4f}})<extra></extra>",
        ))
        if p.diverged_at is not None and len(pts):
            fig.add_trace(go.Scatter(
                x=[pts[-1, 0]], y=[pts[-1, 1]], mode="markers+text",
                text=[t("controls.surface_chart.diverged_mark", step=p.diverged_at)],
                textposition="top center", textfont=dict(color=color), legendgroup=p.key, showlegend=False,
                marker=dict(symbol="x-thin", size=16, line=dict(width=3, color=color)), hoverinfo="skip",
            ))
    if start is not None:
        fig.add_trace(go.Scatter(
            x=[start[0]], y=[start[1]], mode="markers", name=t("controls.surface_chart.start"),
            marker=dict(symbol="circle", size=13, color="white", line=dict(width=3, color="black")),
            hovertemplate=t("controls.surface_chart.start_hover", point="(%{x:.3f}, %{y:.3f})") + "<extra></extra>",
        ))
    fig.update_layout(**base_layout(height=height, title=dict(text=title) if title else None))
    if click_grid:
        fig.update_layout(hoverdistance=CLICK_REACH_PX)
    if animate and paths:
        _add_animation(fig, paths)
    # No grid lines: they are drawn above layer="below" images, where the opaque contour
    # trace used to hide them.
    fig.update_xaxes(range=[float(xs[0]), float(xs[-1])], title="x", constrain="domain", showgrid=False,
                     zeroline=False)
    fig.update_yaxes(range=[float(ys[0]), float(ys[-1])], title="y", showgrid=False, zeroline=False)
    return fig


@dataclass(frozen=True, eq=False)
class Fill:
    """A grid's filled contour: the layout image under the data and its band edges."""

    image: dict
    levels: np.ndarray


def draw_fill(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, log: bool = False) -> Fill:
    """The filled contour as a PNG drawn here: as a go.Contour, Plotly.js recomputed it in
    the browser on every rerun (~150-200 ms headless). Drawing and encoding a 361-point
    grid takes ~4-7 ms, so pages keep it per surface (ui.surface_view.fill_of)."""
    zmin = float(np.nanmin(z)) if np.isfinite(z).any() else 0.0
    zc = shaped(z, log, zmin)
    levels = contour_levels(zc)
    return Fill(contour_image(xs, ys, zc, levels=levels), levels)


def contour_levels(zc: np.ndarray, ncontours: int = NCONTOURS) -> np.ndarray:
    """The band edges go.Contour(ncontours=30) drew for zc, so the image looks as the trace
    did: Plotly's autocontour rule (a 'nice' step of 2, 5 or 10 x 10^k, at least
    range / ncontours; lines at its multiples strictly inside the range), plus one step
    beyond the first and last line, so every value lies in a band."""
    finite = zc[np.isfinite(zc)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    rough = (hi - lo) / ncontours
    base = 10.0 ** math.floor(math.log10(rough))
    step = base * next((m for m in (2.0, 5.0, 10.0) if m > rough / base), 10.0)  # Plotly's roundUp: strictly above
    start = math.ceil(lo / step) * step
    start = start + step if start <= lo else start
    end = math.floor(hi / step) * step
    end = end - step if end >= hi else end
    if start > end:
        start = end = (start + end) / 2
    lines = int(round((end - start) / step)) + 1
    levels = start + step * np.arange(-1, lines + 1)
    levels[0], levels[-1] = min(levels[0], lo), max(levels[-1], hi)  # against rounding in the last digit
    return levels


def _colorbar_trace(xs: np.ndarray, ys: np.ndarray, levels: np.ndarray, title: str, show: bool = True) -> go.Scatter:
    """The colour bar of the image, on an invisible one-point trace named "surface" (a
    layout image has none). Its scale runs from the first band's centre to the last's, as
    the image's colours do, so each band's centre has its colour on the bar. Continuous,
    not stepped like the bands: 60 stops took Plotly 1.7 ms more to validate every rerun."""
    lo, hi = float(levels[0] + levels[1]) / 2, float(levels[-2] + levels[-1]) / 2
    return go.Scatter(
        x=[float(xs[0])], y=[float(ys[0])], mode="markers", name="surface", showlegend=False, hoverinfo="skip",
        marker=dict(color=[lo, hi], colorscale=COLORSCALE, cmin=lo, cmax=hi, showscale=show,
                    opacity=0, colorbar=dict(title=dict(text=title, side="right"), thickness=12, outlinewidth=0)),
    )


def sample_grid(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """z at the points (px, py), bilinear between the grid's values: exact on grid points,
    and off them closer to f than the nearest grid value is. NaN next to a NaN value."""
    def position(grid: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = grid.size
        f = (np.asarray(p, np.float64) - float(grid[0])) / (float(grid[-1]) - float(grid[0])) * (n - 1)
        f = np.clip(np.where(np.abs(f - np.round(f)) < 1e-6, np.round(f), f), 0, n - 1)  # float32 grids
        i = np.minimum(np.floor(f).astype(int), n - 2)
        return i, f - i

    z = np.asarray(z, np.float64)
    j, wx = position(np.asarray(xs), px)
    i, wy = position(np.asarray(ys), py)
    out = np.zeros(np.shape(px))
    for di, dj, w in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx), (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        out += np.where(w > 0, w * z[i + di, j + dj], 0.0)  # a zero weight must not carry a NaN in
    return out


def _add_animation(fig: AnimatedFigure, paths: Sequence[Path]) -> None:
    """One ball per path; frames move only the balls (the surface is sent once)."""
    n = max(len(p.points) for p in paths)
    steps = thin(n, MAX_FRAMES)
    first = len(fig.data)
    valid = [_valid(p) for p in paths]
    for i, p in enumerate(paths):
        color = p.color or color_of(p.key, i)
        fig.add_trace(go.Scatter(
            x=[p.points[0, 0]], y=[p.points[0, 1]], mode="markers", showlegend=False, hoverinfo="skip",
            marker=dict(size=15, color=color, line=dict(width=2, color="white")), legendgroup=p.key,
        ))
    ball_idx = list(range(first, first + len(paths)))
    frames = []
    for k in steps:
        data = []
        for pts in valid:
            j = min(int(k), len(pts) - 1)
            # No "type": a frame's data is merged into the trace it names, already a scatter.
            data.append({"x": [round(float(pts[j, 0]), 5)], "y": [round(float(pts[j, 1]), 5)]})
        frames.append({"data": data, "traces": ball_idx, "name": str(int(k))})
    fig.set_animation(frames, [dict(
        active=0, x=0.36, len=0.64, y=-0.05, yanchor="top", pad=dict(t=10), ticklen=0,
        font=dict(color="rgba(0,0,0,0)"),
        currentvalue=dict(prefix=t("controls.surface_chart.slider_prefix"), font=dict(size=12)),
        steps=[dict(method="animate", label=str(int(k)),
                    args=[[str(int(k))], dict(mode="immediate", frame=dict(duration=0, redraw=False),
                                              transition=dict(duration=0))]) for k in steps[thin(len(steps), SLIDER_STEPS)]],
    )])
    fig.update_layout(
        updatemenus=[dict(
            type="buttons", direction="left", x=0, y=-0.07, xanchor="left", yanchor="top", showactive=False,
            buttons=[
                dict(label=t("controls.surface_chart.play"), method="animate",
                     args=[None, dict(frame=dict(duration=40, redraw=False), transition=dict(duration=0),
                                      fromcurrent=True, mode="immediate")]),
                dict(label=t("controls.surface_chart.pause"), method="animate",
                     args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")]),
            ],
        )],
        margin=dict(b=110),
    )


def surface3d_figure(
    xs: np.ndarray, ys: np.ndarray, z: np.ndarray, *, log: bool = False, paths: Sequence[Path] = (),
    height: int = 560,
) -> go.Figure:
    """The surface in 3-D with the paths lying on it (same colour transform as the contour)."""
    zmin = float(np.nanmin(z)) if np.isfinite(z).any() else 0.0
    zs = shaped(z, log, zmin)
    fig = go.Figure(go.Surface(x=xs, y=ys, z=np.round(zs, 4), colorscale=COLORSCALE, opacity=0.88, showscale=False,
                               name="surface", hovertemplate="x=%{x:.3f}<br>y=%{y:.3f}<extra></extra>"))
    span = float(np.nanmax(zs) - np.nanmin(zs)) if np.isfinite(zs).any() else 1.0
    for i, p in enumerate(paths):
        pts = _valid(p)
        losses = p.losses[: len(pts)]
        idx = thin(len(pts), 600)
        # Inside the box only, lifted a hair so the line is not buried in the surface.
        inside = (pts[idx, 0] >= xs[0]) & (pts[idx, 0] <= xs[-1]) & (pts[idx, 1] >= ys[0]) & (pts[idx, 1] <= ys[-1])
        zz = shaped(losses[idx], log, zmin) + 0.01 * span
        fig.add_trace(go.Scatter3d(
            x=np.where(inside, pts[idx, 0], np.nan), y=np.where(inside, pts[idx, 1], np.nan), z=np.where(inside, zz, np.nan),
            mode="lines", name=p.label, line=dict(color=p.color or color_of(p.key, i), width=6),
        ))
    fig.update_layout(**base_layout(height=height, margin=dict(l=0, r=0, t=30, b=0)))
    fig.update_layout(scene=dict(xaxis_title="x", yaxis_title="y",
                                 zaxis_title=colour_title(log), aspectmode="manual",
                                 aspectratio=dict(x=1, y=1, z=0.6)))
    return fig


@dataclass
class Panel:
    """One panel of a curves figure: a per-step quantity for each path."""

    values: Sequence[np.ndarray]
    ytitle: str
    title: str = ""
    log_y: bool = True


def curves_figure(paths: Sequence[Path], panels: Sequence[Panel], *, height: int = 380) -> go.Figure:
    """Panels side by side, one line per path in each (loss, distance to the nearest
    minimum), sharing one legend: clicking a name hides that path in every panel. One
    figure rather than one per panel: each Plotly figure costs the browser its own
    layout and redraw on every rerun."""
    fig = unvalidated_figure()
    n = max(len(panels), 1)
    gap = 0.08
    width = (1.0 - gap * (n - 1)) / n
    layout: dict = {}
    for j, panel in enumerate(panels):
        axis = "" if j == 0 else str(j + 1)
        x0 = j * (width + gap)
        layout[f"xaxis{axis}"] = dict(domain=[x0, x0 + width], anchor=f"y{axis}",
                                      title=dict(text=t("controls.surface_chart.step_axis")))
        layout[f"yaxis{axis}"] = dict(anchor=f"x{axis}", title=dict(text=panel.ytitle), exponentformat="power",
                                      type="log" if panel.log_y else "linear", dtick=1 if panel.log_y else None)
        if panel.title:
            fig.add_annotation(text=f"<b>{panel.title}</b>", xref="paper", yref="paper", x=x0, y=1.0,
                               xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=13))
        for i, (p, v) in enumerate(zip(paths, panel.values)):
            v = np.asarray(v, float)
            last = len(_valid(p))
            steps = np.arange(last)
            idx = thin(last, MAX_PATH_POINTS)
            y = v[idx]
            if panel.log_y:
                y = np.where(y > 0, y, np.nan)
            color = p.color or color_of(p.key, i)
            # Every step drawn: Plotly counts x from 0 itself (x0, dx), a third of the bytes.
            steps_x = dict(x0=0, dx=1) if len(idx) == last else dict(x=steps[idx])
            fig.add_trace(go.Scatter(y=round_significant(y, CURVE_DIGITS), mode="lines", name=p.label,
                                     legendgroup=p.key, showlegend=j == 0, line=dict(color=color, width=2),
                                     xaxis=f"x{axis}", yaxis=f"y{axis}", **steps_x))
            if p.diverged_at is not None and last:
                fig.add_shape(type="line", x0=p.diverged_at, x1=p.diverged_at, y0=0, y1=1, xref=f"x{axis}",
                              yref=f"y{axis} domain", line=dict(color=color, dash="dot", width=1))
    fig.update_layout(**base_layout(height=height, legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
                                    margin=dict(l=60, r=20, t=40, b=40)), **layout)
    return fig


@dataclass
class Arrow:
    start: tuple[float, float]
    vector: tuple[float, float]
    color: str
    label: str
    dash: str = "solid"


def arrows_figure(
    xs: np.ndarray, ys: np.ndarray, z: np.ndarray, arrows: Sequence[Arrow], *, log: bool = False,
    center: tuple[float, float], radius: float, height: int = 420, points: Sequence[tuple[str, np.ndarray, str]] = (),
) -> go.Figure:
    """A zoomed contour around ``center`` with arrows (negative gradient, update, velocity).
    Arrows keep their true direction; their lengths are drawn as given."""
    # No colour bar: the zoom sits beside the full map, which has one.
    fig = contour_figure(xs, ys, z, log=log, height=height, colorbar=False)
    for label, pts, color in points:
        fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="lines+markers", name=label,
                                 line=dict(color=color, width=1.5), marker=dict(size=5), opacity=0.6))
    for a in arrows:
        x0, y0 = a.start
        x1, y1 = x0 + a.vector[0], y0 + a.vector[1]
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=3, arrowsize=1.3, arrowwidth=2.5, arrowcolor=a.color, text="")
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=a.label,
                                 line=dict(color=a.color, width=3, dash=a.dash)))
    fig.update_xaxes(range=[center[0] - radius, center[0] + radius])
    fig.update_yaxes(range=[center[1] - radius, center[1] + radius], scaleanchor="x", scaleratio=1)
    return fig
