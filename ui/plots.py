"""st.plotly_chart for our figures: sent in wire form (charts.wire), without Streamlit's
theme, and a contour's unchanging image sent once."""
from __future__ import annotations

import base64
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from charts.wire import to_wire
from ui import compat

PNG_DATA = "data:image/png;base64,"


def plotly_chart(fig: go.Figure, *, images_by_url: bool = False, **kwargs: Any):
    """Like st.plotly_chart. The figures carry their own style (charts.style); Streamlit's
    theme would add a template, and with it a second full drawing of every chart; a chart
    selecting points gets the modes Streamlit would add after drawing it, for the same
    reason (compat.selection_layout).

    images_by_url (needs a ``key``): the figure's PNG layout images go as URLs
    (compat.media_url) instead of inline data. For an image that stays the same from rerun
    to rerun, as a surface's filled contour does: inline, it was about a quarter of every
    Playground rerun's bytes (57 of 225 KB); by URL the browser fetches it once and
    draws it from its cache after that (Plotly still embeds it in the PNG download)."""
    kwargs.setdefault("config", {"displaylogo": False})
    wire = to_wire(fig)
    if kwargs.get("on_select") not in (None, "ignore"):
        compat.selection_layout(wire.to_dict()["layout"], kwargs.get("selection_mode"))
    if images_by_url:
        serve_images(wire.to_dict(), kwargs["key"])
    return st.plotly_chart(wire, theme=None, **kwargs)


def serve_images(spec: dict, key: str) -> None:
    """The spec's inline PNG layout images replaced by URLs, where a runtime serves them."""
    for i, image in enumerate(spec.get("layout", {}).get("images", []) or []):
        source = image.get("source")
        if isinstance(source, str) and source.startswith(PNG_DATA):
            url = compat.media_url(base64.b64decode(source[len(PNG_DATA):]), "image/png", f"descent-lab.{key}.image{i}")
            if url:
                image["source"] = url
