"""Colours and marks shared by every figure, so an optimizer looks the same on every page."""
from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

# Every figure uses this template, set once as Plotly's default (passing one per figure
# re-validates it, measured at 8-15 ms a figure). It is plotly_white cut down to what our
# figures use: plotly_white itself took ~150 ms to load on a server's first page run and
# rode along in every figure sent, 7 KB each, for the browser to apply on every redraw.
_GRID, _LINE, _INK = "#EBF0F8", "#EBF0F8", "#2a3f5f"
_AXIS = dict(gridcolor=_GRID, linecolor=_LINE, ticks="", zerolinecolor=_GRID, zerolinewidth=2, automargin=True,
             title=dict(standoff=15))
_SCENE_AXIS = dict(backgroundcolor="white", gridcolor="#DFE8F3", linecolor=_LINE, showbackground=True, ticks="",
                   zerolinecolor=_LINE, gridwidth=2)
TEMPLATE = "descent"
pio.templates[TEMPLATE] = go.layout.Template(layout=dict(
    autotypenumbers="strict",
    colorway=["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF",
              "#FECB52"],
    font=dict(color=_INK),
    hovermode="closest",
    hoverlabel=dict(align="left"),
    paper_bgcolor="white",
    plot_bgcolor="white",
    xaxis=_AXIS,
    yaxis=_AXIS,
    scene=dict(xaxis=_SCENE_AXIS, yaxis=_SCENE_AXIS, zaxis=_SCENE_AXIS),
    coloraxis=dict(colorbar=dict(outlinewidth=0, ticks="")),
    colorscale=dict(
        sequential=[[0.0, "#0d0887"], [0.111, "#46039f"], [0.222, "#7201a8"], [0.333, "#9c179e"],
                    [0.444, "#bd3786"], [0.556, "#d8576b"], [0.667, "#ed7953"], [0.778, "#fb9f3a"],
                    [0.889, "#fdca26"], [1.0, "#f0f921"]],
        diverging=[[0, "#8e0152"], [0.1, "#c51b7d"], [0.2, "#de77ae"], [0.3, "#f1b6da"], [0.4, "#fde0ef"],
                   [0.5, "#f7f7f7"], [0.6, "#e6f5d0"], [0.7, "#b8e186"], [0.8, "#7fbc41"], [0.9, "#4d9221"],
                   [1, "#276419"]],
    ),
    shapedefaults=dict(line=dict(color=_INK)),
    annotationdefaults=dict(arrowcolor=_INK, arrowhead=0, arrowwidth=1),
    title=dict(x=0.05),
))
# The default for every figure built outside the app too (tests, benchmarks). Importing
# Streamlit replaces it; ui.startup.start claims it back.
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

LANDMARK_MARKS = {  # kind -> (symbol, colour); the legend's word is surfaces.kind.<kind> in the catalog
    "minimum": ("star", "#00a651"),
    "saddle": ("x", "#ff8c00"),
    "maximum": ("triangle-up", "#c00000"),
    "degenerate": ("diamond", "#6a0dad"),
}

COLORSCALE = "Viridis"
# Latin first, then a CJK face that each system has (Linux, macOS, Windows): Plotly draws
# with the browser's fonts, and Chinese titles need one of these.
FONT = dict(family='Inter, "Segoe UI", Helvetica, Arial, "Noto Sans SC", "Noto Sans CJK SC", "PingFang SC", '
                   '"Microsoft YaHei", sans-serif', size=13)


def color_of(key: str, i: int = 0) -> str:
    palette = list(OPTIMIZER_COLORS.values())
    return OPTIMIZER_COLORS.get(key, palette[i % len(palette)])


def legend_below() -> dict:
    """A horizontal legend at the bottom of the figure, its entries in reading order.
    Placed from the figure's bottom edge (``yref="container"``), Plotly makes room for it
    under the x-axis title however many rows it wraps to (ten optimizers, nine layers).
    Placed at a fraction of the plot's height below it, anchored by its bottom (Plotly's
    anchor there), a tall legend grew up over the x-axis title."""
    return dict(orientation="h", yref="container", yanchor="bottom", y=0, xanchor="left", x=0, traceorder="normal")


def base_layout(**overrides) -> dict:
    layout = dict(
        font=FONT,
        margin=dict(l=50, r=20, t=40, b=45),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
    )
    layout.update(overrides)
    return layout
