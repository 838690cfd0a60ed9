"""Descent Lab: the home page."""
from __future__ import annotations

from ui.preload import plotly_early

plotly_early()  # first, before the heavy imports below: the browser fetches Plotly.js meanwhile

import streamlit as st  # noqa: E402

from ui import frame  # noqa: E402

frame.page("Home", "📉")

st.title("📉 Descent Lab")
st.markdown(
    "Descent Lab lets you watch gradient-based optimizers move on loss surfaces, step by step. "
    "Gradients and Hessians come from the formulas themselves (automatic differentiation, float64), every "
    "update rule matches Optax step for step, and a run that diverges is shown diverging, never quietly clipped. "
    "Then the same optimizers train a small classifier, so the ideas carry over to a real model."
)

cols = st.columns(2)
for i, p in enumerate(frame.available_pages()[1:]):
    with cols[i % 2].container(border=True, height=110):
        st.page_link(p.path, label=f"**{p.title}**", icon=p.icon)
        st.caption(p.blurb)

st.markdown(
    """
**Where to start in class**

1. *Playground*: race GD, Momentum, RMSProp and Adam on Rosenbrock; raise GD's learning rate until it diverges.
2. *Curvature*: click a saddle of Himmelblau and read its Hessian eigenvalues; run GD at 0.9× and 1.1× of 2/λₘₐₓ.
3. *Sweeps*: see which learning rates work at all, and which minimum each start point falls into.
4. *Classifier*: a deep sigmoid network with tiny weights barely learns; switch to ReLU with He initialization.
"""
)
frame.footer()
