"""Figures of the Sweeps page: hyperparameter sweep map, basin map, fair-race charts.

Pure builders: NumPy arrays in, go.Figure out. Conventions shared with optimizers.sweeps:
sweep arrays are (len(values), len(learning_rates)); diverged_at / hit_at are -1 for
never; basin labels are minimum indices 0..K-1, NOT_CONVERGED (-1) or DIVERGED (-2).

Clicks: Plotly reports no click on a heatmap cell, so the sweep map carries an invisible
scatter point on every cell centre (named SWEEP_CELLS); its x is log10 of the learning
rate (the map's x axis is log10(eta), drawn with decade ticks).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from catalog import t
from charts.style import COLORSCALE, LANDMARK_MARKS, base_layout
from charts.surface import shaped
from charts.wire import round_significant

SWEEP_CELLS = "sweep-cells"
DIVERGED_COLOR = "#1a1a1a"
NOT_REACHED_COLOR = "#d4d4d4"
NOT_CONVERGED_COLOR = "#d4d4d4"
SELECTED_COLOR = "#ff2d55"
NOT_CONVERGED, DIVERGED = -1, -2  # as in optimizers.sweeps (charts import no optimizer code)
LOSS_FLOOR = 1e-12  # L - L* of exactly 0 (or a hair below, in float32) is drawn here
# Distinct colours for minima (none grey or black: those mean "not converged" and "diverged").
BASIN_COLORS = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#469990", "#9a6324", "#800000", "#000075", "#ffe119", "#fabed4", "#aaffc3", "#dcbeff",
)


def _layout(fig: go.Figure, height: int, title: str) -> None:
    """Base layout; a title goes to the very top, above the legend row (not under it)."""
    if title:
        fig.update_layout(**base_layout(height=height, margin=dict(l=50, r=20, t=95, b=45),
                                        title=dict(text=title, x=0, xanchor="left", y=0.995, yanchor="top")))
    else:
        fig.update_layout(**base_layout(height=height))


def basin_color(k: int) -> str:
    return BASIN_COLORS[k % len(BASIN_COLORS)]


def _decade_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Tick positions (log10 units) and labels for the decades between lo and hi."""
    ks = list(range(int(np.floor(lo)), int(np.ceil(hi)) + 1))
    ks = [k for k in ks if lo - 1e-9 <= k <= hi + 1e-9] or [round(lo, 2)]
    return [float(k) for k in ks], [f"{10.0 ** k:g}" for k in ks]


def _gap(values: np.ndarray) -> np.ndarray:
    above = np.asarray(values, float)
    return np.log10(np.maximum(above, LOSS_FLOOR))


def _status(loss_gap: float, diverged: int, hit: int, tol: float) -> str:
    if diverged >= 0:
        return t("sweeps.chart.status_diverged", step=int(diverged))
    if hit >= 0:
        return t("sweeps.chart.status_reached", gap=loss_gap, tol=tol, step=int(hit))
    return t("sweeps.chart.status_missed", gap=loss_gap, tol=tol)


@dataclass
class SweepAxis:
    """The second axis of a sweep: name, symbol for labels, values, log scale or not."""

    label: str
    values: np.ndarray
    log: bool = False


def sweep_figure(
    learning_rates: np.ndarray,
    second: SweepAxis | None,
    final_losses: np.ndarray,
    diverged_at: np.ndarray,
    hit_at: np.ndarray,
    *,
    mode: str,
    l_star: float,
    tol: float,
    selected: tuple[int, int] | None = None,
    best: tuple[int, int] | None = None,
    height: int = 560,
    title: str = "",
) -> go.Figure:
    """The sweep as a map (with a second hyperparameter) or a curve (learning rate only).

    mode "loss": colour = log10(L(theta_N) - L*). mode "steps": colour = the first step with
    L - L* < tol. Diverged runs are their own black layer, runs that never reached the
    tolerance (steps mode) a grey one; both say so on hover. ``selected`` and ``best`` are
    (row, column) cells, outlined and starred.
    """
    lrs = np.asarray(learning_rates, float)
    loss = np.asarray(final_losses, float).reshape(-1, lrs.size)
    div = np.asarray(diverged_at).reshape(loss.shape)
    hit = np.asarray(hit_at).reshape(loss.shape)
    above = loss - l_star
    if second is None:
        return _sweep_curve(lrs, above[0], div[0], hit[0], mode=mode, tol=tol, selected=selected, best=best,
                            height=height, title=title)
    vals = np.asarray(second.values, float)
    x = np.log10(lrs)
    y = np.log10(vals) if second.log else vals
    diverged = div >= 0
    if mode == "steps":
        z = np.where(~diverged & (hit >= 0), hit.astype(float), np.nan)
        colorbar_title = t("sweeps.chart.steps_to_tol", tol=tol)
    else:
        z = np.where(diverged, np.nan, _gap(above))
        colorbar_title = t("sweeps.chart.loss_colorbar")
    fig = go.Figure()
    fig.add_trace(go.Heatmap(
        x=x, y=y, z=z, colorscale=COLORSCALE, hoverinfo="skip", name="sweep",
        colorbar=dict(title=dict(text=colorbar_title, side="right"), thickness=12),
    ))
    if mode == "steps":
        missed = np.where(~diverged & (hit < 0), 1.0, np.nan)
        fig.add_trace(go.Heatmap(x=x, y=y, z=missed, colorscale=[[0, NOT_REACHED_COLOR], [1, NOT_REACHED_COLOR]],
                                 showscale=False, hoverinfo="skip", name="not reached"))
    fig.add_trace(go.Heatmap(x=x, y=y, z=np.where(diverged, 1.0, np.nan),
                             colorscale=[[0, DIVERGED_COLOR], [1, DIVERGED_COLOR]], showscale=False,
                             hoverinfo="skip", name="diverged"))
    # Legend swatches for the two special layers (heatmaps have no legend entries).
    for name, color, show in ((t("sweeps.chart.diverged"), DIVERGED_COLOR, True),
                              (t("sweeps.chart.never_reached", tol=tol), NOT_REACHED_COLOR, mode == "steps")):
        if show:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                     marker=dict(symbol="square", size=12, color=color, line=dict(width=1, color="#888"))))
    _cells(fig, lrs, vals, x, y, above, div, hit, second.label, tol)
    _mark_cells(fig, x, y, selected, best)
    _layout(fig, height, title)
    tickvals, ticktext = _decade_ticks(float(x.min()), float(x.max()))
    fig.update_xaxes(title=t("sweeps.chart.learning_rate_axis"), tickvals=tickvals, ticktext=ticktext, showgrid=False)
    if second.log:
        yv, yt = _decade_ticks(float(y.min()), float(y.max()))
        fig.update_yaxes(title=second.label, tickvals=yv, ticktext=yt, showgrid=False)
    else:
        fig.update_yaxes(title=second.label, showgrid=False)
    return fig


def sweep_result_figure(result, *, label: str | None, mode: str, title: str = "") -> go.Figure:
    """``sweep_figure`` of an experiments.sweeps.SweepResult; ``label`` names its second
    axis (None for a learning-rate-only sweep)."""
    sw, axis = result.sweep, result.grid.axis
    second = None if axis is None else SweepAxis(label or axis.name, axis.values, axis.log)
    return sweep_figure(sw.learning_rates, second, sw.final_losses, sw.diverged_at, sw.hit_at, mode=mode,
                        l_star=result.l_star, tol=result.tol, selected=result.selected, best=result.best, title=title)


def _mark_cells(fig: go.Figure, x: np.ndarray, y: np.ndarray, selected, best) -> None:
    if best is not None:
        fig.add_trace(go.Scatter(
            x=[x[best[1]]], y=[y[best[0]]], mode="markers", name=t("sweeps.chart.best_cell"), hoverinfo="skip",
            marker=dict(symbol="star", size=16, color="white", line=dict(width=1.5, color="black")),
        ))
    if selected is not None:
        fig.add_trace(go.Scatter(
            x=[x[selected[1]]], y=[y[selected[0]]], mode="markers", name=t("sweeps.chart.path_shown"), hoverinfo="skip",
            marker=dict(symbol="square-open", size=18, color=SELECTED_COLOR, line=dict(width=3, color=SELECTED_COLOR)),
        ))


class _Slot:
    """Formats as Plotly's hover placeholder for one of a point's customdata columns, so that
    catalog text written for Python's str.format becomes a hover template: the sentence is
    sent once per trace and each point carries only its numbers. Python's format specs are
    d3-format's, but for "g": d3 keeps trailing zeros (1 shows as "1.00" at .3g) unless
    told "~", as Python does by default."""

    def __init__(self, column: int) -> None:
        self.column = column

    def __format__(self, spec: str) -> str:
        if spec.endswith("g"):
            spec = spec[:-1].replace("#", "") if "#" in spec else spec[:-1] + "~"
            spec += "g"
        return "%{customdata[" + str(self.column) + "]" + (":" + spec if spec else "") + "}"


# The map's invisible cells carry these columns: the cell (row, column) a click selects,
# then what the hover says.
ROW, COL, LR, SECOND, GAP, STEP = range(6)


def _cells(fig: go.Figure, lrs, vals, x, y, above, div, hit, label: str, tol: float) -> None:
    """The map's clickable cells, one invisible trace per outcome (diverged, reached the
    tolerance, never reached it), each with its sentence as a hover template. A sentence
    per cell was ~125 bytes, most of the map's bytes on every rerun."""
    gx, gy = np.meshgrid(x, y)
    rows, cols = np.meshgrid(np.arange(vals.size), np.arange(lrs.size), indexing="ij")
    diverged, reached = div >= 0, (div < 0) & (hit >= 0)
    step = np.where(diverged, div, hit)
    # One digit more than each hover shows: the text is the same, the bytes fewer.
    data = np.stack([rows, cols, np.broadcast_to(round_significant(lrs, 4), rows.shape),
                     np.broadcast_to(round_significant(vals, 5)[:, None], rows.shape),
                     round_significant(above, 4), step], axis=-1)
    slot = {k: _Slot(k) for k in (LR, SECOND, GAP, STEP)}
    statuses = ((diverged, t("sweeps.chart.status_diverged", step=slot[STEP])),
                (reached, t("sweeps.chart.status_reached", gap=slot[GAP], tol=tol, step=slot[STEP])),
                (~diverged & ~reached, t("sweeps.chart.status_missed", gap=slot[GAP], tol=tol)))
    size = float(np.clip(440 / max(vals.size, lrs.size), 5, 40))
    for where, status in statuses:
        if not where.any():
            continue
        hover = t("sweeps.chart.cell_hover", lr=slot[LR], label=label, second_value=slot[SECOND], status=status)
        fig.add_trace(go.Scatter(
            x=np.round(gx[where], 6), y=np.round(gy[where], 6), mode="markers", name=SWEEP_CELLS, showlegend=False,
            customdata=data[where], hovertemplate=hover + "<extra></extra>",
            marker=dict(symbol="square", size=size, opacity=0),
        ))


def _sweep_curve(lrs, above, div, hit, *, mode, tol, selected, best, height, title) -> go.Figure:
    """A learning-rate-only sweep: one curve over log10(eta); diverged runs as black
    crosses on the bottom edge (their loss is no number)."""
    x = np.log10(lrs)
    diverged = div >= 0
    if mode == "steps":
        y = np.where(~diverged & (hit >= 0), hit.astype(float), np.nan)
        ytitle = t("sweeps.chart.steps_to_tol", tol=tol)
    else:
        y = np.where(diverged, np.nan, np.maximum(above, LOSS_FLOOR))
        ytitle = t("sweeps.chart.last_gap")
    text = [t("sweeps.chart.curve_hover", lr=lr, status=_status(a, d, h, tol)) for lr, a, d, h in zip(lrs, above, div, hit)]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=t("sweeps.chart.runs"), line=dict(color="#1f77b4", width=2),
                             marker=dict(size=7), hoverinfo="skip"))
    finite = y[np.isfinite(y)]
    floor = float(finite.min()) if finite.size else 1.0
    y_cells = np.where(np.isfinite(y), y, floor)
    if diverged.any():
        fig.add_trace(go.Scatter(x=x[diverged], y=y_cells[diverged], mode="markers", name=t("sweeps.chart.diverged"),
                                 hoverinfo="skip",
                                 marker=dict(symbol="x", size=11, color=DIVERGED_COLOR)))
    missed = ~diverged & np.isnan(y)
    if missed.any():
        fig.add_trace(go.Scatter(x=x[missed], y=y_cells[missed], mode="markers",
                                 name=t("sweeps.chart.never_reached", tol=tol),
                                 hoverinfo="skip", marker=dict(symbol="circle-open", size=10, color="#888888")))
    # The clickable points: every run, invisible, on top.
    fig.add_trace(go.Scatter(
        x=np.round(x, 6), y=y_cells, mode="markers", name=SWEEP_CELLS, showlegend=False, text=text,
        customdata=np.stack([np.zeros(x.size, int), np.arange(x.size)], axis=1),
        hovertemplate="%{text}<extra></extra>", marker=dict(size=14, opacity=0),
    ))
    _mark_cells(fig, x, np.asarray(y_cells), selected, best)
    _layout(fig, height, title)
    tickvals, ticktext = _decade_ticks(float(x.min()), float(x.max()))
    fig.update_xaxes(title=t("sweeps.chart.learning_rate_axis"), tickvals=tickvals, ticktext=ticktext)
    fig.update_yaxes(title=ytitle, type="log" if mode != "steps" else "linear", exponentformat="power")
    return fig


# ---------------------------------------------------------------------------------------
# Basins


def basin_names(minima: np.ndarray) -> list[str]:
    return [t("sweeps.chart.minimum", index=k + 1) for k in range(len(minima))]


def basin_figure(
    xs: np.ndarray,
    ys: np.ndarray,
    labels: np.ndarray,
    minima: np.ndarray,
    *,
    contour: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    log: bool = False,
    height: int = 520,
    title: str = "",
    show_legend: bool = True,
) -> go.Figure:
    """Start points coloured by the minimum their run ends in (M1..MK), grey where it ended
    near none, black where it diverged; the surface's contour lines on top."""
    mins = np.asarray(minima, float).reshape(-1, 2)
    k = mins.shape[0]
    lab = np.asarray(labels).reshape(len(ys), len(xs))
    # Category c: 0 diverged, 1 not converged, 2 + m minimum m (a stepped colour scale).
    colors = [DIVERGED_COLOR, NOT_CONVERGED_COLOR] + [basin_color(m) for m in range(k)]
    c = len(colors)
    scale = []
    for i, col in enumerate(colors):
        scale += [[i / c, col], [(i + 1) / c, col]]
    z = np.where(lab == DIVERGED, 0, np.where(lab == NOT_CONVERGED, 1, lab + 2))
    names = np.array([t("sweeps.chart.diverged"), t("sweeps.chart.not_converged")] + basin_names(mins), dtype=object)
    total = max(lab.size, 1)
    fig = go.Figure()
    fig.add_trace(go.Heatmap(
        x=xs, y=ys, z=z, zmin=-0.5, zmax=c - 0.5, colorscale=scale, showscale=False, name="basins",
        text=names[z], hovertemplate=t("sweeps.chart.basin_hover"),
    ))
    if contour is not None:
        cx, cy, cz = contour
        fig.add_trace(go.Contour(
            x=cx, y=cy, z=np.round(shaped(cz, log), 5), ncontours=18, showscale=False, hoverinfo="skip",
            contours=dict(coloring="none", showlines=True), line=dict(color="rgba(255,255,255,0.75)", width=1),
            name="contours", showlegend=False,
        ))
    def share(name: str, count: int) -> str:  # a few runs out of 40,000 are not "0%"
        part = count / total
        return t("sweeps.chart.share" if part == 0 or part >= 0.005 else "sweeps.chart.share_small", name=name,
                 share=part)

    counts = [(int(np.sum(lab == DIVERGED)), DIVERGED_COLOR, names[0]),
              (int(np.sum(lab == NOT_CONVERGED)), NOT_CONVERGED_COLOR, names[1])]
    for m in range(k):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=share(names[m + 2], int(np.sum(lab == m))),
                                 showlegend=show_legend, marker=dict(symbol="square", size=12, color=basin_color(m))))
    for count, color, name in counts:
        if count:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=share(name, count),
                                     showlegend=show_legend,
                                     marker=dict(symbol="square", size=12, color=color, line=dict(width=1, color="#888"))))
    if k:
        symbol, color = LANDMARK_MARKS["minimum"]
        fig.add_trace(go.Scatter(
            x=mins[:, 0], y=mins[:, 1], mode="markers+text", text=basin_names(mins), textposition="top center",
            textfont=dict(color="white", size=13), name="minima", showlegend=False,
            marker=dict(symbol=symbol, size=15, color=color, line=dict(width=1.5, color="white")),
            hovertemplate="%{text} (%{x:.4f}, %{y:.4f})<extra></extra>",
        ))
    _layout(fig, height, title)
    fig.update_xaxes(range=[float(xs[0]), float(xs[-1])], title=t("sweeps.chart.start_x"), constrain="domain",
                     showgrid=False)
    fig.update_yaxes(range=[float(ys[0]), float(ys[-1])], title=t("sweeps.chart.start_y"), showgrid=False, scaleanchor="x",
                     constrain="domain")
    return fig


def basin_table(rows: Sequence, minima: np.ndarray) -> "pd.DataFrame":
    """Share of each map's starts ending in each minimum, in none, and diverged, as text
    ("25.7%"). ``rows`` have .title, .minima (one share per minimum), .not_converged and
    .diverged (experiments.sweeps.BasinShares)."""
    import pandas as pd

    def tidy(v: float) -> float:
        return 0.0 if abs(v) < 0.005 else float(v)  # never "-0.00"

    mins = np.asarray(minima, float).reshape(-1, 2)
    heads = [t("sweeps.table.minimum", index=k + 1, x=tidy(x), y=tidy(y)) for k, (x, y) in enumerate(mins)]
    records = []
    for r in rows:
        record = {t("sweeps.table.optimizer"): r.title}
        record.update({h: t("sweeps.table.share", share=v) for h, v in zip(heads, r.minima)})
        record[t("sweeps.table.not_converged")] = t("sweeps.table.share", share=r.not_converged)
        record[t("sweeps.table.diverged")] = t("sweeps.table.share", share=r.diverged)
        records.append(record)
    return pd.DataFrame(records)


# ---------------------------------------------------------------------------------------
# Fair race


@dataclass
class RaceRow:
    """One optimizer in a fair race: its learning-rate sweep and its best rate."""

    key: str
    title: str
    color: str
    learning_rates: np.ndarray
    hit_at: np.ndarray
    diverged_at: np.ndarray
    best_rate: float | None
    best_steps: int | None


def race_rows(best: Mapping, title_of, color_of) -> list[RaceRow]:
    """RaceRows of each optimizer's optimizers.sweeps.BestRate, by optimizer key."""
    return [RaceRow(k, title_of(k), color_of(k), b.learning_rates, b.hit_at, b.diverged_at, b.learning_rate, b.steps)
            for k, b in best.items()]


def race_bars_figure(rows: Sequence[RaceRow], *, num_steps: int, tol: float, height: int = 360) -> go.Figure:
    """Steps to reach L - L* < tol, each optimizer at its own best learning rate. An
    optimizer that never got there has no bar, only a note."""
    fig = go.Figure()
    for r in rows:
        reached = r.best_steps is not None
        fig.add_trace(go.Bar(
            x=[r.title], y=[r.best_steps if reached else 0], name=r.title, marker_color=r.color, showlegend=False,
            text=[t("sweeps.chart.bar_reached", steps=r.best_steps, lr=r.best_rate) if reached else
                  (t("sweeps.chart.bar_all_diverged") if r.best_rate is None else
                   t("sweeps.chart.bar_not_reached", steps=num_steps))],
            textposition="outside", cliponaxis=False,
            hovertemplate=f"{r.title}<br>%{{text}}<extra></extra>",
        ))
    top = max([r.best_steps for r in rows if r.best_steps is not None] or [1])
    _layout(fig, height, t("sweeps.chart.bars_title", tol=tol))
    fig.update_yaxes(title=t("sweeps.chart.steps"), range=[0, top * 1.3 + 1])
    return fig


def race_rates_figure(rows: Sequence[RaceRow], *, num_steps: int, tol: float, height: int = 360) -> go.Figure:
    """Steps to reach the tolerance against the learning rate, one curve per optimizer:
    how wide each optimizer's range of working rates is. Diverged rates are crosses at the
    top edge; rates that never reached the tolerance leave a gap."""
    fig = go.Figure()
    for r in rows:
        lrs = np.asarray(r.learning_rates, float)
        hit = np.asarray(r.hit_at)
        div = np.asarray(r.diverged_at) >= 0
        y = np.where((hit >= 0) & ~div, hit.astype(float), np.nan)
        fig.add_trace(go.Scatter(x=lrs, y=y, mode="lines+markers", name=r.title, legendgroup=r.key,
                                 line=dict(color=r.color, width=2), marker=dict(size=5),
                                 hovertemplate=t("sweeps.chart.rates_hover", optimizer=r.title)))
        if div.any():
            fig.add_trace(go.Scatter(x=lrs[div], y=np.full(int(div.sum()), num_steps), mode="markers",
                                     name=t("sweeps.chart.rates_diverged", optimizer=r.title), legendgroup=r.key,
                                     showlegend=False,
                                     marker=dict(symbol="x", size=8, color=r.color),
                                     hovertemplate=t("sweeps.chart.rates_diverged_hover", optimizer=r.title)))
        if r.best_steps is not None:
            fig.add_trace(go.Scatter(x=[r.best_rate], y=[r.best_steps], mode="markers", legendgroup=r.key,
                                     showlegend=False, hoverinfo="skip",
                                     marker=dict(symbol="star", size=15, color=r.color, line=dict(width=1, color="black"))))
    _layout(fig, height, t("sweeps.chart.rates_title", tol=tol))
    fig.update_xaxes(title=t("sweeps.chart.learning_rate_axis"), type="log", exponentformat="power")
    fig.update_yaxes(title=t("sweeps.chart.steps"), range=[0, num_steps * 1.05])
    return fig


def race_table(rows: Sequence[RaceRow], final_gaps: Sequence[float | None], *, tol: float) -> "pd.DataFrame":
    """The race as a table, one type per column (Arrow sends each column as one type: a
    number column holding a "not reached" string could not be sent as is, and logged a
    traceback). Steps to the tolerance are whole numbers, empty where the best run did not
    get there, with a separate yes/no column; the other cells are formatted text. ``final_gaps``
    is L − L* of each optimizer's best run (None if every rate diverged)."""
    import pandas as pd

    columns = [t(f"sweeps.table.{c}", tol=tol) for c in ("optimizer", "best_rate", "reached", "steps", "final_gap",
                                                         "rates_reaching", "rates_diverging")]
    name, rate, reached, steps, gap, reaching, diverging = columns
    missing = t("sweeps.table.missing")
    records = []
    for r, final in zip(rows, final_gaps):
        hit, div = np.asarray(r.hit_at), np.asarray(r.diverged_at) >= 0
        n = hit.size
        records.append({
            name: r.title,
            rate: missing if r.best_rate is None else t("sweeps.table.rate", rate=r.best_rate),
            reached: r.best_steps is not None,
            steps: r.best_steps,
            gap: missing if final is None else t("sweeps.table.gap", gap=final),
            reaching: t("sweeps.table.of", count=int(np.sum((hit >= 0) & ~div)), total=n),
            diverging: t("sweeps.table.of", count=int(np.sum(div)), total=n),
        })
    table = pd.DataFrame(records, columns=columns)
    table[steps] = pd.array([r[steps] for r in records], dtype="Int64")
    table[reached] = table[reached].astype(bool)
    return table
