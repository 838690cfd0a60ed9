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

from catalog import t
from charts.style import base_layout, color_of, legend_below

if TYPE_CHECKING:
    from classifier.train import TrainResult

    Runs = Union[TrainResult, Mapping[str, TrainResult]]

CLASS_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
LOG_FLOOR = 1e-16  # relative errors of exactly 0 are drawn here on a log axis

# The formulas the Classifier page writes next to its charts (LaTeX stays in code; the
# words around them are in catalog/en/classifier.toml). By tab of "The ideas behind the
# switches", in order:
IDEA_FORMULAS: dict[str, tuple[str, ...]] = {
    "softmax": (r"p_k = \mathrm{softmax}(z)_k = \frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}}",),
    "losses": (
        r"L_{\text{CE}} = -\frac{1}{N}\sum_i \log p_{i, y_i} \qquad "
        r"L_{\text{MSE}} = \frac{1}{N}\sum_i \sum_k (p_{ik} - \hat y_{ik})^2",
        r"K = 2,\ d = z_y - z_{\text{other}},\ p = p_y:\qquad \frac{\partial L_{\text{CE}}}{\partial d} "
        r"= -(1 - p) \qquad \frac{\partial L_{\text{MSE}}}{\partial d} = -4\,p\,(1-p)^2",
    ),
    "normalization": (r"x'_j = \frac{x_j - \mu_j}{\sigma_j},\qquad \mu_j, \sigma_j \text{ from the training set}",),
    "initialization": (
        r"z = \sum_{i=1}^{n} w_i x_i:\quad \mathrm{Var}(z) = n\,\mathrm{Var}(w)\,\mathbb{E}[x^2] "
        r"= n\,\mathrm{Var}(w)\,\big(\mathrm{Var}(x) + \mathbb{E}[x]^2\big)",
        r"W_{ij} \sim N(0, \sigma^2):\quad \text{small } \sigma = 0.01,\quad N(0,1),\quad "
        r"\text{Xavier } \sigma^2 = \frac{2}{n_{\text{in}} + n_{\text{out}}},\quad "
        r"\text{He } \sigma^2 = \frac{2}{n_{\text{in}}}",
    ),
    "vanishing": (
        r"\frac{\partial L}{\partial h_{l-1}} = \Big(\frac{\partial L}{\partial h_l} \odot \sigma'(z_l)\Big)"
        r" W_l^{\top},\qquad \sigma'_{\text{sigmoid}}(z) = \sigma(z)(1 - \sigma(z)) \le \tfrac14",
    ),
    "batch_norm": (
        r"\text{training: } \hat z_j = \frac{z_j - \mu_{B,j}}{\sqrt{\sigma_{B,j}^2 + \epsilon}},\quad "
        r"h_j = \sigma(\gamma_j \hat z_j + \beta_j),\qquad "
        r"\mu_j \leftarrow 0.9\,\mu_j + 0.1\,\mu_{B,j},\ \ \sigma_j^2 \leftarrow 0.9\,\sigma_j^2 + 0.1\,\sigma_{B,j}^2",
        r"\text{test: } \hat z_j = \frac{z_j - \mu_j}{\sqrt{\sigma_j^2 + \epsilon}}",
    ),
    "dropout": (
        r"\text{training: } \tilde h_j = \frac{m_j\, h_j}{1 - p},\ m_j \sim \text{Bernoulli}(1-p),"
        r"\quad \mathbb{E}[\tilde h_j] = h_j;\qquad \text{test: } \tilde h_j = h_j",
    ),
    "l2": (
        r"L'(\theta) = L(\theta) + \frac{\lambda}{2}\sum_l \lVert W_l \rVert^2,\qquad "
        r"w \leftarrow w - \eta\Big(\frac{\partial L}{\partial w} + \lambda w\Big) "
        r"= (1 - \eta\lambda)\, w - \eta \frac{\partial L}{\partial w}",
    ),
    "early_stopping": (
        r"\text{stop at the first epoch } t \text{ with } "
        r"t - \operatorname*{arg\,min}_{s \le t} L_{\text{test}}(s) \ge \text{patience}",
    ),
    "batch_size": (
        r"g_B = \frac{1}{B}\sum_{i \in B} \nabla_\theta \ell_i(\theta),\qquad "
        r"\mathbb{E}[g_B] = \nabla L(\theta),\qquad "
        r"\mathrm{Var}(g_B) = \frac{\sigma^2}{B}\cdot\frac{N - B}{N - 1}",
    ),
}


def gradcheck_formulas(eps_exponent: int) -> tuple[str, str]:
    """The central difference with its epsilon, and the relative error per layer."""
    return (
        r"g^{\text{num}}_i = \frac{J(\theta + \varepsilon e_i) - J(\theta - \varepsilon e_i)}{2\varepsilon},"
        rf"\quad \varepsilon = 10^{{{eps_exponent}}}",
        r"r_l = \frac{\lVert g^{a} - g^{\text{num}} \rVert}{\lVert g^{a} \rVert + \lVert g^{\text{num}} \rVert}",
    )


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
        return t("classifier.chart.run_diverged", name=name, epoch=r.diverged_at)
    if r.stopped_at is not None:
        return t("classifier.chart.run_stopped", name=name, epoch=r.stopped_at)
    return name


def _title(title: str) -> dict | None:
    return dict(text=title) if title else None


def layer_titles(n_layers: int) -> list[str]:
    """"layer 1" ... "layer n (output)" in the session's language."""
    return [t("classifier.chart.layer_output" if i == n_layers - 1 else "classifier.chart.layer", i=i + 1)
            for i in range(n_layers)]


def _top(title: str, subplot_titles: bool = False) -> dict:
    """A top margin with room for every line of the title (a chart in a half-width column
    cuts a long one-line title off; the catalog breaks long titles with <br>), and for the
    subplots' own titles under it (they sit in that margin, and touched a two-line title)."""
    return dict(t=50 + 40 * title.count("<br>") + (24 if subplot_titles else 0))


def _positive(values: np.ndarray) -> np.ndarray:
    """Non-positive values become gaps on a log axis rather than errors."""
    v = np.asarray(values, np.float64)
    return np.where(v > 0, v, np.nan)


# ---------------------------------------------------------------------------------------
# Loss and accuracy


def curves_figure(runs: "Runs", title: str = "", at: int | None = None, log_loss: bool = False,
                  markers: bool = False, height: int | None = None) -> go.Figure:
    """Loss (left) and accuracy (right) per epoch: train solid, held-out dashed (the
    validation set if the run has one, else the test set), one colour per run, and under
    them a thin line of each update's mini-batch loss (``update_epoch``/``update_loss``,
    if the run recorded them). Traces per run, in the order: updates (if any), train
    loss, held-out loss, train acc, held-out acc.
    ``at``: a dotted line at that epoch; ``log_loss``: the loss on a log axis (a blow-up
    would flatten every other curve); ``markers``: dots too (a run of one or two points)."""
    words = {"loss": t("classifier.chart.loss"), "acc": t("classifier.chart.accuracy")}
    splits = {"train": t("classifier.chart.train"), "test": t("classifier.chart.test"),
              "val": t("classifier.chart.validation")}
    fig = make_subplots(rows=1, cols=2, subplot_titles=(words["loss"], words["acc"]), horizontal_spacing=0.1)
    lowest_acc = 1.0
    for i, (name, r) in enumerate(_runs(runs).items()):
        lowest_acc = min(lowest_acc, float(np.nanmin(np.r_[r.train_acc, r.test_acc, 1.0])))
        color = color_of(name, i)  # an optimizer has the same colour on every page
        label = _run_label(name, r)
        held = "val" if getattr(r, "val_loss", None) is not None else "test"
        updates = np.asarray(getattr(r, "update_loss", ()), np.float64)
        if updates.size:
            fig.add_trace(go.Scatter(
                x=r.update_epoch, y=updates, mode="lines", name=t("classifier.chart.update_name", run=label),
                legendgroup=name, opacity=0.45, line=dict(color=color, width=1),
                hovertemplate=t("classifier.chart.update_hover", name=name)), row=1, col=1)
        for col, metric in ((1, "loss"), (2, "acc")):
            for split, dash in (("train", "solid"), (held, "dash")):
                fig.add_trace(
                    go.Scatter(
                        x=r.epoch,
                        y=getattr(r, f"{split}_{metric}"),  # val_loss, val_acc with a validation set
                        mode="lines",
                        name=t("classifier.chart.curve_name", run=label, split=splits[split]),
                        legendgroup=name,
                        showlegend=col == 1,
                        line=dict(color=color, dash=dash, width=2),
                        hovertemplate=t("classifier.chart.curve_hover", name=name, split=splits[split],
                                        metric=words[metric]),
                    ),
                    row=1,
                    col=col,
                )
        if r.stopped_at is not None:
            fig.add_vline(x=r.stopped_at, line=dict(color=color, dash="dot", width=1))
    fig.update_xaxes(title_text=t("classifier.chart.epoch"))
    fig.update_yaxes(title_text=words["loss"], row=1, col=1)
    fig.update_yaxes(title_text=words["acc"], range=[max(0.0, lowest_acc - 0.05), 1.02], row=1, col=2)
    if at is not None:
        fig.add_vline(x=at, line=dict(color="gray", dash="dot", width=1))
    if log_loss:
        fig.update_yaxes(type="log", exponentformat="power", title_text=t("classifier.chart.loss_log"), row=1, col=1)
    if markers:
        fig.update_traces(mode="lines+markers")
    fig.update_layout(**base_layout(title=_title(title), legend=legend_below(), margin=_top(title, True)))
    if height:
        fig.update_layout(height=height)
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


PROBABILITY_DECIMALS = 3  # the hover shows P to three decimals
PROBABILITY_TICKS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def decision_boundary_figure(
    xs: np.ndarray,
    ys: np.ndarray,
    probs: np.ndarray,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    title: str = "",
    x_title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Class probabilities of a network on a grid, with the data on top.

    probs[i, j] are the probabilities at (xs[j], ys[i]). Two classes: a heatmap of
    P(class 1) from the class-0 colour through white to the class-1 colour, with the
    P = 0.5 contour line (the decision boundary) drawn by the same trace. Three or more:
    the winning class's colour, pale where its probability is near 1/K and full where it
    is near 1.
    Then one scatter per (split, class): train filled, test open circles.
    """
    probs = np.asarray(probs)
    n_classes = probs.shape[-1]
    fig = go.Figure()
    if n_classes == 2:
        # One trace for both: the probabilities as a heatmap-coloured contour whose only line
        # is P = 0.5. A heatmap and a contour over the same grid sent it twice (~120 KB each
        # time the page reran); rounded to the digits the hover shows, a quarter of that.
        c0, c1 = CLASS_COLORS[0], CLASS_COLORS[1]
        fig.add_trace(
            go.Contour(
                x=xs, y=ys, z=np.round(probs[..., 1], PROBABILITY_DECIMALS), zmin=0.0, zmax=1.0,
                contours=dict(start=0.5, end=0.5, size=1.0, coloring="heatmap"),
                line=dict(color="black", width=2),
                colorscale=[[0.0, _tint(c0, 0.7)], [0.5, "rgb(255,255,255)"], [1.0, _tint(c1, 0.7)]],
                colorbar=dict(title=t("classifier.chart.probability"), len=0.8, tickvals=PROBABILITY_TICKS,
                              ticktext=[f"{v:g}" for v in PROBABILITY_TICKS]),
                name=t("classifier.chart.probability"),
                hovertemplate=t("classifier.chart.probability_hover"),
            )
        )
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color="black", width=2),
                                 name=t("classifier.chart.boundary_line"), hoverinfo="skip"))  # its legend entry
    else:
        winner = np.argmax(probs, axis=-1)
        conf = np.max(probs, axis=-1)
        strength = np.clip((conf - 1.0 / n_classes) / (1.0 - 1.0 / n_classes), 0.0, 0.999)
        fig.add_trace(
            go.Heatmap(
                x=xs, y=ys, z=winner + strength, zmin=0.0, zmax=float(n_classes),
                colorscale=_confidence_colorscale(n_classes), showscale=False,
                customdata=np.stack([winner, conf], axis=-1),
                name=t("classifier.chart.predicted"),
                hovertemplate=t("classifier.chart.predicted_hover"),
            )
        )
    splits = [(t("classifier.chart.train"), x_train, y_train, "circle", 1.0)]
    if x_test is not None and y_test is not None:
        splits.append((t("classifier.chart.test"), x_test, y_test, "circle-open", 0.9))
    for split, x, y, symbol, opacity in splits:
        x, y = np.asarray(x), np.asarray(y)
        for k in range(n_classes):
            pts = x[y == k]
            color = CLASS_COLORS[k % len(CLASS_COLORS)]
            fig.add_trace(
                go.Scatter(
                    x=pts[:, 0], y=pts[:, 1], mode="markers", name=t("classifier.chart.points", split=split, k=k),
                    marker=dict(color=color, symbol=symbol, size=6, opacity=opacity,
                                line=dict(color="white" if symbol == "circle" else color, width=1)),
                    hovertemplate=t("classifier.chart.points_hover", split=split, k=k),
                )
            )
    fig.update_xaxes(title_text=x_title or t("classifier.chart.x1"), range=[float(xs[0]), float(xs[-1])])
    fig.update_yaxes(title_text=t("classifier.chart.x2"), range=[float(ys[0]), float(ys[-1])])
    fig.update_layout(**base_layout(title=_title(title), legend=legend_below(), margin=_top(title)))
    if height:
        fig.update_layout(height=height)
    return fig


# ---------------------------------------------------------------------------------------
# Gradient norms, sharpness, gradient check


def gradient_norms_figure(
    epochs: np.ndarray,
    grad_norms: np.ndarray,
    layer_names: Sequence[str],
    title: str = "",
    decade_ticks: bool = False,
) -> go.Figure:
    """Per-layer gradient norm per epoch on a log axis, one trace per layer, coloured
    from the first layer (dark) to the output layer (light). ``decade_ticks``: one label
    per decade (when the spread across layers is what matters)."""
    grad_norms = np.asarray(grad_norms)
    n = grad_norms.shape[1]
    colors = plotly.colors.sample_colorscale("Viridis", [0.9 * i / max(n - 1, 1) for i in range(n)])
    shown_names = layer_titles(len(layer_names))
    fig = go.Figure()
    for l in range(n):
        fig.add_trace(
            go.Scatter(
                x=epochs, y=_positive(grad_norms[:, l]), mode="lines", name=shown_names[l],
                line=dict(color=colors[l], width=2),
                hovertemplate=t("classifier.chart.norm_hover", layer=shown_names[l]),
            )
        )
    fig.update_xaxes(title_text=t("classifier.chart.epoch"))
    fig.update_yaxes(title_text=t("classifier.chart.norm_axis"), type="log", exponentformat="power",
                     dtick=1 if decade_ticks else None)
    fig.update_layout(**base_layout(title=_title(title), legend=legend_below(), margin=_top(title)))
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
                name=t("classifier.chart.sharpness_name", name=name), line=dict(color=color, width=2),
                legendgroup=name, hovertemplate=t("classifier.chart.sharpness_hover", name=name),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=r.epoch, y=_positive(2.0 / np.asarray(r.learning_rate, np.float64)), mode="lines",
                name=t("classifier.chart.limit_name", name=name), line=dict(color=color, dash="dash", width=1.5),
                legendgroup=name, hovertemplate=t("classifier.chart.limit_hover", name=name),
            )
        )
    fig.update_xaxes(title_text=t("classifier.chart.epoch"))
    fig.update_yaxes(title_text=t("classifier.chart.sharpness_axis"), type="log", exponentformat="power", dtick=1)
    fig.update_layout(**base_layout(title=_title(title), legend=legend_below(), margin=_top(title)))
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
            x=layer_titles(len(layer_names)), y=shown, marker_color=colors, name=t("classifier.chart.error_name"),
            text=[f"{e:.1e}" for e in errors], textposition="outside",
            hovertemplate=t("classifier.chart.error_hover"),
        )
    )
    fig.add_hline(y=threshold, line=dict(color="gray", dash="dash"))
    # Annotations on a log axis are placed in log10 units (shapes are not).
    fig.add_annotation(x=0, xref="paper", xanchor="left", y=np.log10(threshold), yanchor="bottom",
                       text=t("classifier.chart.threshold", threshold=threshold), showarrow=False, font=dict(color="gray"))
    top = max(float(np.nanmax(shown)), threshold) * 100
    bottom = min(float(np.nanmin(shown)), threshold) / 100
    fig.update_yaxes(title_text="‖g_a − g_n‖ / (‖g_a‖ + ‖g_n‖)", type="log", exponentformat="power",
                     range=[np.log10(bottom), np.log10(top)])
    fig.update_layout(**base_layout(title=_title(title), showlegend=False, margin=dict(t=50)))
    return fig


def batch_timing_figure(batch: Sequence[int], per_epoch: Sequence[float], per_update: Sequence[float],
                        title: str = "") -> go.Figure:
    """Milliseconds per epoch and per update against batch size, both axes logarithmic."""
    fig = go.Figure()
    for name, values, dash in ((t("classifier.chart.per_epoch"), per_epoch, "solid"),
                               (t("classifier.chart.per_update"), per_update, "dash")):
        fig.add_trace(go.Scatter(x=list(batch), y=1e3 * np.asarray(values, np.float64), mode="lines+markers",
                                 name=name, line=dict(dash=dash, width=2),
                                 hovertemplate=t("classifier.chart.timing_hover", name=name)))
    fig.update_xaxes(title_text=t("classifier.chart.batch_axis"), type="log")
    fig.update_yaxes(title_text=t("classifier.chart.ms_axis"), type="log", exponentformat="power")
    fig.update_layout(**base_layout(title=_title(title), legend=legend_below(), margin=_top(title)))
    fig.update_layout(height=360)
    return fig


DEPTH_COLORS = {"sigmoid": "#d62728", "relu": "#1f77b4"}


def depth_figure(depths: Sequence[int], test_acc: Mapping[str, Sequence[float]], chance: float,
                 names: Mapping[str, str], title: str = "") -> go.Figure:
    """Final test accuracy against the number of hidden layers, one line per activation
    (``names``: its legend entry), and chance (1 / classes) as a dashed line. NaN (a
    diverged network) leaves a gap."""
    fig = go.Figure()
    for i, (act, acc) in enumerate(test_acc.items()):
        fig.add_trace(go.Scatter(
            x=list(depths), y=np.asarray(acc, np.float64), mode="lines+markers", name=names[act],
            line=dict(color=DEPTH_COLORS.get(act, color_of(act, i)), width=2),
            hovertemplate=t("classifier.depth.hover", name=names[act])))
    fig.add_hline(y=chance, line=dict(color="gray", dash="dash"))
    fig.add_annotation(x=1, xref="paper", xanchor="right", y=chance, yanchor="bottom", showarrow=False,
                       text=t("classifier.depth.chance", chance=chance), font=dict(color="gray"))
    fig.update_xaxes(title_text=t("classifier.depth.x_axis"), dtick=1)
    fig.update_yaxes(title_text=t("classifier.depth.y_axis"), range=[0, 1.05], tickformat=".0%")
    fig.update_layout(**base_layout(title=_title(title), legend=legend_below(), margin=_top(title)))
    fig.update_layout(height=380)
    return fig
