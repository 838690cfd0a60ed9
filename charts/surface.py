"""Figures of a 2-D surface: contour with paths and landmarks, 3-D view, step arrows.

Pure builders: NumPy data in, go.Figure out. The contour carries an invisible grid of
points on top (Plotly reports no click on a contour trace itself), named CLICK_GRID, so a
page can read clicks as chart selections.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from charts.style import COLORSCALE, LANDMARK_MARKS, base_layout, color_of

CLICK_GRID = "click-grid"
# Points per side of the invisible click grid: a click moves to the nearest one. Each is
# an SVG node the browser renders on every rerun.
CLICK_GRID_SIZE = 27
MAX_FRAMES = 120
MAX_PATH_POINTS = 1500
MARKED_PATH_POINTS = 120  # longer paths are drawn as lines: every marker is an SVG node to render


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
) -> go.Figure:
    """Contour of z over (xs, ys) with paths, landmarks, a start marker, an optional click
    grid (click_grid x click_grid invisible points) and an optional animation (a ball per
    path moving along it; frames carry only the balls)."""
    zmin = float(np.nanmin(z)) if np.isfinite(z).any() else 0.0
    zc = shaped(z, log, zmin)
    fig = AnimatedFigure() if animate else go.Figure()
    fig.add_trace(go.Contour(
        x=xs, y=ys, z=np.round(zc, 5), colorscale=COLORSCALE, ncontours=30, line=dict(width=0.5),
        contours=dict(coloring="fill", showlines=True),
        colorbar=dict(title=dict(text="log₁₀(1+f−f_min)" if log else "f", side="right"), thickness=12),
        hovertemplate="x=%{x:.3f}<br>y=%{y:.3f}<extra></extra>" if log else
        "x=%{x:.3f}<br>y=%{y:.3f}<br>f=%{z:.4g}<extra></extra>",
        name="surface", showlegend=False,
    ))
    if click_grid:
        gx, gy = np.meshgrid(np.linspace(xs[0], xs[-1], click_grid), np.linspace(ys[0], ys[-1], click_grid))
        fig.add_trace(go.Scatter(
            x=np.round(gx.ravel(), 4), y=np.round(gy.ravel(), 4), mode="markers", name=CLICK_GRID,
            marker=dict(size=9, opacity=0), hoverinfo="none", showlegend=False,
        ))
    for i, m in enumerate(sorted(marks, key=lambda m: m.kind)):
        symbol, color, text = LANDMARK_MARKS.get(m.kind, LANDMARK_MARKS["degenerate"])
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
        label = p.label if p.diverged_at is None else f"{p.label} (diverged at step {p.diverged_at})"
        fig.add_trace(go.Scatter(
            x=np.round(pts[idx, 0], 5), y=np.round(pts[idx, 1], 5), name=label,
            mode="lines+markers" if len(idx) <= MARKED_PATH_POINTS else "lines",
            line=dict(color=color, width=2.5), marker=dict(size=3, color=color), legendgroup=p.key,
            hovertemplate=f"{p.label}<br>(%{{x:.4f}}, %{{y:.4f}})<extra></extra>",
        ))
        if p.diverged_at is not None and len(pts):
            fig.add_trace(go.Scatter(
                x=[pts[-1, 0]], y=[pts[-1, 1]], mode="markers+text", text=[f"diverged at step {p.diverged_at}"],
                textposition="top center", textfont=dict(color=color), legendgroup=p.key, showlegend=False,
                marker=dict(symbol="x-thin", size=16, line=dict(width=3, color=color)), hoverinfo="skip",
            ))
    if start is not None:
        fig.add_trace(go.Scatter(
            x=[start[0]], y=[start[1]], mode="markers", name="start",
            marker=dict(symbol="circle", size=13, color="white", line=dict(width=3, color="black")),
            hovertemplate="start (%{x:.3f}, %{y:.3f})<extra></extra>",
        ))
    fig.update_layout(**base_layout(height=height, title=dict(text=title) if title else None))
    if animate and paths:
        _add_animation(fig, paths)
    fig.update_xaxes(range=[float(xs[0]), float(xs[-1])], title="x", constrain="domain")
    fig.update_yaxes(range=[float(ys[0]), float(ys[-1])], title="y")
    return fig


class AnimatedFigure(go.Figure):
    """A go.Figure whose animation frames and slider are kept as plain dicts and joined in
    at serialization: Plotly validates every object it builds, which was measured at
    about 180 ms for 150 frames, far over a slider-rerun budget."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._raw_frames: list[dict] = []
        self._raw_sliders: list[dict] = []

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self._raw_frames:
            out["frames"] = self._raw_frames
            out.setdefault("layout", {})["sliders"] = self._raw_sliders
        return out

    def to_plotly_json(self) -> dict:
        return self.to_dict()


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
            data.append({"type": "scatter", "x": [round(float(pts[j, 0]), 5)], "y": [round(float(pts[j, 1]), 5)]})
        frames.append({"data": data, "traces": ball_idx, "name": str(int(k))})
    fig._raw_frames = frames
    fig._raw_sliders = [dict(
        active=0, x=0.36, len=0.64, y=-0.05, yanchor="top", pad=dict(t=10), ticklen=0,
        font=dict(color="rgba(0,0,0,0)"), currentvalue=dict(prefix="step ", font=dict(size=12)),
        steps=[dict(method="animate", label=str(int(k)),
                    args=[[str(int(k))], dict(mode="immediate", frame=dict(duration=0, redraw=False),
                                              transition=dict(duration=0))]) for k in steps],
    )]
    fig.update_layout(
        updatemenus=[dict(
            type="buttons", direction="left", x=0, y=-0.07, xanchor="left", yanchor="top", showactive=False,
            buttons=[
                dict(label="▶ Play", method="animate",
                     args=[None, dict(frame=dict(duration=40, redraw=False), transition=dict(duration=0),
                                      fromcurrent=True, mode="immediate")]),
                dict(label="⏸ Pause", method="animate",
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
                                 zaxis_title="log₁₀(1+f−f_min)" if log else "f", aspectmode="manual",
                                 aspectratio=dict(x=1, y=1, z=0.6)))
    return fig


def curves_figure(
    paths: Sequence[Path], values: Sequence[np.ndarray], *, ytitle: str, log_y: bool = True, height: int = 360,
    title: str = "",
) -> go.Figure:
    """One line per path of a per-step quantity (loss, distance to the nearest minimum)."""
    fig = go.Figure()
    for i, (p, v) in enumerate(zip(paths, values)):
        v = np.asarray(v, float)
        last = len(_valid(p))
        steps = np.arange(last)
        idx = thin(last, MAX_PATH_POINTS)
        y = v[idx]
        if log_y:
            y = np.where(y > 0, y, np.nan)
        fig.add_trace(go.Scatter(x=steps[idx], y=y, mode="lines", name=p.label,
                                 line=dict(color=p.color or color_of(p.key, i), width=2)))
        if p.diverged_at is not None and last:
            fig.add_vline(x=p.diverged_at, line=dict(color=p.color or color_of(p.key, i), dash="dot", width=1))
    fig.update_layout(**base_layout(height=height, title=dict(text=title, x=0, xanchor="left") if title else None,
                                    legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
                                    margin=dict(l=60, r=20, t=40, b=40)))
    fig.update_xaxes(title="step")
    fig.update_yaxes(title=ytitle, type="log" if log_y else "linear", exponentformat="power",
                     dtick=1 if log_y else None)
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
    fig = contour_figure(xs, ys, z, log=log, height=height)
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
