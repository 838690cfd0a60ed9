"""Small figures about an optimizer's rule itself (no run needed): Adam's step without bias
correction as a multiple of the corrected one, step by step.

Pure builders: numbers in, go.Figure out; every word from the catalog.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from catalog import t
from charts.style import base_layout, color_of
from optimizers.rules import bias_ratio

BIAS_RATIO_STEPS = 5000  # the curve's last step: it falls to ~1 only over thousands of steps


def bias_ratio_curve(b1: float, b2: float, steps: int = BIAS_RATIO_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Steps t = 1..steps, spaced evenly on a log axis (every step up to 100), and the
    ratio (1 − β₁ᵗ)/√(1 − β₂ᵗ) at each."""
    t = np.unique(np.concatenate([np.arange(1, min(steps, 100) + 1),
                                  np.geomspace(1, steps, 200).round().astype(int)]))
    return t, bias_ratio(b1, b2, t)


def bias_ratio_figure(b1: float, b2: float, steps: int = BIAS_RATIO_STEPS, height: int = 240) -> go.Figure:
    """The ratio of Adam's step without bias correction to the corrected one, over the
    steps (log axis), its peak marked; a dotted line at 1 (no difference)."""
    t_, r = bias_ratio_curve(b1, b2, steps)
    peak = int(np.argmax(r))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=t_, y=r, mode="lines", line=dict(color=color_of("adam"), width=2),
                             name=t("controls.bias_ratio.name"),
                             hovertemplate=t("controls.bias_ratio.hover", step="%{x}", ratio="%{y:.3g}") + "<extra></extra>"))
    fig.add_trace(go.Scatter(x=[t_[0], t_[peak]], y=[r[0], r[peak]], mode="markers+text",
                             marker=dict(color=color_of("adam"), size=7), textposition="top right",
                             text=[t("controls.bias_ratio.first", ratio=float(r[0])),
                                   t("controls.bias_ratio.peak", ratio=float(r[peak]), step=int(t_[peak]))],
                             hoverinfo="skip", showlegend=False))
    one = dict(type="line", xref="paper", x0=0, x1=1, y0=1.0, y1=1.0, layer="below",
               line=dict(color="black", dash="dot", width=1))
    fig.update_layout(**base_layout(height=height, showlegend=False, shapes=[one],
                                    margin=dict(l=50, r=20, t=40, b=45),
                                    title=dict(text=t("controls.bias_ratio.title"), font=dict(size=13))))
    fig.update_xaxes(type="log", title=t("controls.bias_ratio.step_axis"))
    fig.update_yaxes(title=t("controls.bias_ratio.ratio_axis"), rangemode="tozero", range=[0, 1.2 * float(r[peak])])
    return fig
