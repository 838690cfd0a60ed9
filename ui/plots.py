"""st.plotly_chart for our figures: sent in wire form (charts.wire), without Streamlit's theme."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from charts.wire import to_wire


def plotly_chart(fig: go.Figure, **kwargs: Any):
    """Like st.plotly_chart. The figures carry their own style (charts.style); Streamlit's
    theme would add a template, and with it a second full drawing of every chart."""
    kwargs.setdefault("config", {"displaylogo": False})
    return st.plotly_chart(to_wire(fig), theme=None, **kwargs)
