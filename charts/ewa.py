"""The exponentially weighted average widget's figure (optimizers.ewa): a noisy series with
its EWA with and without bias correction, and the weights the last average gives the values
before it, falling to 1/e of the newest after about 1/(1−β) of them."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from catalog import t
from charts.style import base_layout
from optimizers.ewa import Averaged, weights

SERIES_COLOR = "#9e9e9e"
PLAIN_COLOR = "#d62728"
CORRECTED_COLOR = "#1f77b4"
WEIGHT_COLOR = "#2ca02c"
LAGS = 4  # the weights panel spans this many windows


def ewa_figure(a: Averaged, *, height: int = 560) -> go.Figure:
    """Two panels stacked (the widget sits in the narrow column beside the contour)."""
    t_axis = np.arange(1, len(a.x) + 1)
    fig = make_subplots(rows=2, cols=1, row_heights=[0.6, 0.4], vertical_spacing=0.2,
                        subplot_titles=(t("playground.ewa.chart.series_title", beta=a.beta),
                                        t("playground.ewa.chart.weights_title", window=a.window)))
    fig.add_trace(go.Scatter(x=t_axis, y=a.x, mode="markers", name=t("playground.ewa.chart.series"),
                             marker=dict(color=SERIES_COLOR, size=4)), row=1, col=1)
    fig.add_trace(go.Scatter(x=t_axis, y=a.v, mode="lines", name=t("playground.ewa.chart.plain"),
                             line=dict(color=PLAIN_COLOR, width=2, dash="dash")), row=1, col=1)
    fig.add_trace(go.Scatter(x=t_axis, y=a.v_hat, mode="lines", name=t("playground.ewa.chart.corrected"),
                             line=dict(color=CORRECTED_COLOR, width=2)), row=1, col=1)
    lags = int(min(len(a.x), max(10, math.ceil(LAGS * a.window))))
    w = weights(a.beta, lags)
    fig.add_trace(go.Bar(x=np.arange(lags), y=w, name=t("playground.ewa.chart.weights"),
                         marker=dict(color=WEIGHT_COLOR), showlegend=False), row=2, col=1)
    fig.add_hline(y=float(w[0]) / math.e, line=dict(color="black", dash="dot", width=1), row=2, col=1,
                  annotation_text=t("playground.ewa.chart.one_over_e"), annotation_position="top right")
    fig.add_vline(x=a.window, line=dict(color="black", dash="dot", width=1), row=2, col=1)
    fig.update_xaxes(title_text=t("playground.ewa.chart.t_axis"), row=1, col=1)
    fig.update_xaxes(title_text=t("playground.ewa.chart.lag_axis"), row=2, col=1)
    fig.update_yaxes(title_text=t("playground.ewa.chart.weight_axis"), row=2, col=1)
    fig.update_layout(**base_layout(height=height, margin=dict(l=45, r=15, t=110, b=45),
                                    legend=dict(orientation="h", yanchor="bottom", y=1.07, xanchor="left", x=0)))
    return fig
