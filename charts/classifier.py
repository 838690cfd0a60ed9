"""Figures of the classifier page: pure builders, data in, ``go.Figure`` out.

Builders that draw training curves take training results (anything with the fields of
``classifier.train.TrainResult``: epoch, train_loss, test_loss, train_acc, test_acc,
grad_norms, layer_names, learning_rate, snapshot_epochs, sharpness, diverged_at,
stopped_at), either one or a mapping {label: result} for compare mode. The others take
plain arrays.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence, Union

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.style import base_layout, color_of

if TYPE_CHECKING:
    from classifier.train import TrainResult

    Runs = Union[TrainResult, Mapping[str, TrainResult]]

CLASS_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
LOG_FLOOR = 1e-16  # relative errors of exactly 0 are drawn here on a log axis


def _runs(runs: "Runs") -> dict[str, "TrainResult"]:
    if isinstance(runs, Mapping):
        return dict(runs)
    return {runs.config.optimizer: runs}


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _tint(hex_color: str, amount: float) -> str:
    """Mix a colour with white: amount 0 gives white, 1 the colour itself."""
    r, g, b = (round(255 - amount * (255 - c)) for c in _rgb(hex_color))
    return f"rgb({r},{g},{b})"


def _run_label(name: str, r: "TrainResult") -> str:
    if r.diverged_at is not None:
        return f"{name} (diverged at epoch {r.diverged_at})"
    if r.stopped_at is not None:
        return f"{name} (stopped at epoch {r.stopped_at})"
    return name


def _title(title: str) -> dict | None:
    return dict(text=title) if title else None


def _positive(values: np.ndarray) -> np.ndarray:
    """Non-positive values become gaps on a log axis rather than errors."""
    v = np.asarray(values, np.float64)
    return np.where(v > 0, v, np.nan)


# ---------------------------------------------------------------------------------------
# Loss and accuracy


def curves_figure(runs: "Runs", title: str = "") -> go.Figure:
    """Loss (left) and accuracy (right) per epoch: train solid, test dashed, one colour
    per run. Four traces per run, in the order train loss, test loss, train acc, test acc."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"), horizontal_spacing=0.1)
    lowest_acc = 1.0
    for i, (name, r) in enumerate(_runs(runs).items()):
        lowest_acc = min(lowest_acc, float(np.nanmin(np.r_[r.train_acc, r.test_acc, 1.0])))
        color = color_of(name, i)  # an optimizer has the same colour on every page
        label = _run_label(name, r)
        for col, metric in ((1, "loss"), (2, "acc")):
            for split, dash in (("train", "solid"), ("test", "dash")):
                fig.add_trace(
                    go.Scatter(
                        x=r.epoch,
                        y=getattr(r, f"{split}_{metric}"),
                        mode="lines",
                        name=f"{label} · {split}",
                        legendgroup=name,
                        showlegend=col == 1,
                        line=dict(color=color, dash=dash, width=2),
                        hovertemplate=f"{name} {split} {metric}<br>epoch %{{x}}: %{{y:.4g}}<extra></extra>",
                    ),
                    row=1,
                    col=col,
                )
        if r.stopped_at is not None:
            fig.add_vline(x=r.stopped_at, line=dict(color=color, dash="dot", width=1))
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", range=[max(0.0, lowest_acc - 0.05), 1.02], row=1, col=2)
    fig.update_layout(**base_layout(title=_title(title), legend=dict(orientation="h", y=-0.2), margin=dict(t=50)))
    return fig


# ---------------------------------------------------------------------------------------
# Decision boundary


def _confidence_colorscale(n_classes: int) -> list[list]:
    """Band k of [0, 1] runs from a pale to the full colour of class k."""
    scale: list[list] = []
    for k in range(n_classes):
        lo, hi = k / n_classes, (k + 1) / n_classes
        color = CLASS_COLORS[k % len(CLASS_COLORS)]
        scale.append([lo, _tint(color, 0.12)])
        scale.append([hi - 1e-6 if k < n_classes - 1 else hi, _tint(color, 0.75)])
    return scale


def decision_boundary_figure(
    xs: np.ndarray,
    ys: np.ndarray,
    probs: np.ndarray,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    title: str = "",
) -> go.Figure:
    """Class probabilities of a network on a grid, with the data on top.

    probs[i, j] are the probabilities at (xs[j], ys[i]). Two classes: a heatmap of
    P(class 1) from the class-0 colour through white to the class-1 colour, and the
    P = 0.5 contour (the decision boundary). Three or more: the winning class's colour,
    pale where its probability is near 1/K and full where it is near 1.
    Then one scatter per (split, class): train filled, test open circles.
    """
    probs = np.asarray(probs)
    n_classes = probs.shape[-1]
    fig = go.Figure()
    if n_classes == 2:
        c0, c1 = CLASS_COLORS[0], CLASS_COLORS[1]
        fig.add_trace(
            go.Heatmap(
                x=xs, y=ys, z=probs[..., 1], zmin=0.0, zmax=1.0, zsmooth="best",
                colorscale=[[0.0, _tint(c0, 0.7)], [0.5, "rgb(255,255,255)"], [1.0, _tint(c1, 0.7)]],
                colorbar=dict(title="P(class 1)", len=0.8),
                name="P(class 1)",
                hovertemplate="(%{x:.3g}, %{y:.3g})<br>P(class 1) = %{z:.3f}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Contour(
                x=xs, y=ys, z=probs[..., 1],
                contours=dict(start=0.5, end=0.5, size=1.0, coloring="none"),
                line=dict(color="black", width=2),
                showscale=False, name="boundary (P = 0.5)", hoverinfo="skip",
            )
        )
    else:
        winner = np.argmax(probs, axis=-1)
        conf = np.max(probs, axis=-1)
        strength = np.clip((conf - 1.0 / n_classes) / (1.0 - 1.0 / n_classes), 0.0, 0.999)
        fig.add_trace(
            go.Heatmap(
                x=xs, y=ys, z=winner + strength, zmin=0.0, zmax=float(n_classes),
                colorscale=_confidence_colorscale(n_classes), showscale=False,
                customdata=np.stack([winner, conf], axis=-1),
                name="predicted class",
                hovertemplate="(%{x:.3g}, %{y:.3g})<br>class %{customdata[0]}, "
                              "P = %{customdata[1]:.3f}<extra></extra>",
            )
        )
    splits = [("train", x_train, y_train, "circle", 1.0)]
    if x_test is not None and y_test is not None:
        splits.append(("test", x_test, y_test, "circle-open", 0.9))
    for split, x, y, symbol, opacity in splits:
        x, y = np.asarray(x), np.asarray(y)
        for k in range(n_classes):
            pts = x[y == k]
            color = CLASS_COLORS[k % len(CLASS_COLORS)]
            fig.add_trace(
                go.Scatter(
                    x=pts[:, 0], y=pts[:, 1], mode="markers", name=f"{split} class {k}",
                    marker=dict(color=color, symbol=symbol, size=6, opacity=opacity,
                                line=dict(color="white" if symbol == "circle" else color, width=1)),
                    hovertemplate=f"{split}, class {k}<br>(%{{x:.3g}}, %{{y:.3g}})<extra></extra>",
                )
            )
    fig.update_xaxes(title_text="x₁", range=[float(xs[0]), float(xs[-1])])
    fig.update_yaxes(title_text="x₂", range=[float(ys[0]), float(ys[-1])])
    fig.update_layout(**base_layout(title=_title(title), legend=dict(orientation="h", y=-0.15), margin=dict(t=50)))
    return fig


# ---------------------------------------------------------------------------------------
# Gradient norms, sharpness, gradient check


def gradient_norms_figure(
    epochs: np.ndarray,
    grad_norms: np.ndarray,
    layer_names: Sequence[str],
    title: str = "",
) -> go.Figure:
    """Per-layer gradient norm per epoch on a log axis, one trace per layer, coloured
    from the first layer (dark) to the output layer (light)."""
    grad_norms = np.asarray(grad_norms)
    n = grad_norms.shape[1]
    colors = plotly.colors.sample_colorscale("Viridis", [0.9 * i / max(n - 1, 1) for i in range(n)])
    fig = go.Figure()
    for l in range(n):
        fig.add_trace(
            go.Scatter(
                x=epochs, y=_positive(grad_norms[:, l]), mode="lines", name=layer_names[l],
                line=dict(color=colors[l], width=2),
                hovertemplate=f"{layer_names[l]}<br>epoch %{{x}}: ‖∇‖ = %{{y:.3g}}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="gradient norm ‖∂L/∂(W, b)‖", type="log", exponentformat="power")
    fig.update_layout(**base_layout(title=_title(title), legend=dict(orientation="h", y=-0.2), margin=dict(t=50)))
    return fig


def sharpness_figure(runs: "Runs", title: str = "") -> go.Figure:
    """Top Hessian eigenvalue at the snapshot epochs (markers + line) and the gradient-
    descent stability limit 2/eta(t) (dashed), per run, on a log axis. Runs without a
    sharpness record are skipped. 2/eta is the exact limit for plain GD on a quadratic;
    for adaptive methods it is only a reference line."""
    fig = go.Figure()
    for i, (name, r) in enumerate(_runs(runs).items()):
        if r.sharpness is None:
            continue
        color = color_of(name, i)
        fig.add_trace(
            go.Scatter(
                x=r.snapshot_epochs, y=_positive(r.sharpness), mode="lines+markers",
                name=f"λ_max ({name})", line=dict(color=color, width=2), legendgroup=name,
                hovertemplate=f"{name}<br>epoch %{{x}}: λ_max = %{{y:.4g}}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=r.epoch, y=_positive(2.0 / np.asarray(r.learning_rate, np.float64)), mode="lines",
                name=f"2/η ({name})", line=dict(color=color, dash="dash", width=1.5), legendgroup=name,
                hovertemplate=f"{name}<br>epoch %{{x}}: 2/η = %{{y:.4g}}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="top Hessian eigenvalue", type="log", exponentformat="power")
    fig.update_layout(**base_layout(title=_title(title), legend=dict(orientation="h", y=-0.2), margin=dict(t=50)))
    return fig


def gradcheck_figure(
    layer_names: Sequence[str],
    rel_errors: Sequence[float],
    threshold: float = 1e-6,
    title: str = "",
) -> go.Figure:
    """Relative error per layer as bars on a log axis (green below ``threshold``, red
    above) with the threshold as a dashed line. Exact zeros are drawn at LOG_FLOOR."""
    errors = np.asarray(rel_errors, np.float64)
    shown = np.where(errors > 0, errors, LOG_FLOOR)
    colors = ["#2ca02c" if e < threshold else "#d62728" for e in errors]
    fig = go.Figure(
        go.Bar(
            x=list(layer_names), y=shown, marker_color=colors, name="relative error",
            text=[f"{e:.1e}" for e in errors], textposition="outside",
            hovertemplate="%{x}<br>relative error %{text}<extra></extra>",
        )
    )
    fig.add_hline(y=threshold, line=dict(color="gray", dash="dash"))
    # Annotations on a log axis are placed in log10 units (shapes are not).
    fig.add_annotation(x=0, xref="paper", xanchor="left", y=np.log10(threshold), yanchor="bottom",
                       text=f"threshold {threshold:.0e}", showarrow=False, font=dict(color="gray"))
    top = max(float(np.nanmax(shown)), threshold) * 100
    bottom = min(float(np.nanmin(shown)), threshold) / 100
    fig.update_yaxes(title_text="‖g_a − g_n‖ / (‖g_a‖ + ‖g_n‖)", type="log", exponentformat="power",
                     range=[np.log10(bottom), np.log10(top)])
    fig.update_layout(**base_layout(title=_title(title), showlegend=False, margin=dict(t=50)))
    return fig
