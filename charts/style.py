"""Colours and marks shared by every figure, so an optimizer looks the same on every page."""
from __future__ import annotations

import plotly.io as pio

# Every figure uses this template. Set once as Plotly's default: passing
# template="plotly_white" per figure re-validates the whole template, measured at
# 8-15 ms a figure, most of a rerun's budget on a page of five figures.
TEMPLATE = "plotly_white"
pio.templates.default = TEMPLATE

OPTIMIZER_COLORS = {
    "gd": "#1f77b4",
    "momentum": "#ff7f0e",
    "nesterov": "#8c564b",
    "adagrad": "#9467bd",
    "rmsprop": "#2ca02c",
    "adam": "#d62728",
    "adamw": "#e377c2",
    "amsgrad": "#17becf",
    "nadam": "#bcbd22",
    "radam": "#7f7f7f",
}

LANDMARK_MARKS = {  # kind -> (symbol, colour, legend text)
    "minimum": ("star", "#00a651", "minimum"),
    "saddle": ("x", "#ff8c00", "saddle"),
    "maximum": ("triangle-up", "#c00000", "maximum"),
    "degenerate": ("diamond", "#6a0dad", "degenerate"),
}

COLORSCALE = "Viridis"
FONT = dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=13)


def color_of(key: str, i: int = 0) -> str:
    palette = list(OPTIMIZER_COLORS.values())
    return OPTIMIZER_COLORS.get(key, palette[i % len(palette)])


def base_layout(**overrides) -> dict:
    layout = dict(
        font=FONT,
        margin=dict(l=50, r=20, t=40, b=45),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
    )
    layout.update(overrides)
    return layout
