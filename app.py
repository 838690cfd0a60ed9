"""Descent Lab: the home page."""
from __future__ import annotations

from ui.preload import plotly_early

plotly_early()  # first, before the heavy imports below: the browser fetches Plotly.js meanwhile

import streamlit as st  # noqa: E402

from catalog import t  # noqa: E402
from ui import frame  # noqa: E402

frame.page("home")

st.title(t("app.home.title"))
st.markdown(t("app.home.intro"))
with st.expander(t("app.home.optax_title")):
    st.markdown(t("app.home.optax"))

cols = st.columns(2)
for i, p in enumerate(frame.available_pages()[1:]):
    with cols[i % 2].container(border=True, height=110):
        st.page_link(p.path, label=f"**{p.title}**", icon=p.icon)
        st.caption(p.blurb)

st.markdown(t("app.home.start"))
frame.footer()
