"""The exponentially weighted average on the Playground, in an expander beside the
optimizers: a noisy series, its EWA for the chosen β with and without bias correction,
and the weights (optimizers.ewa, charts.ewa)."""
from __future__ import annotations

import streamlit as st

from catalog import t
from charts.ewa import ewa_figure
from optimizers import ewa
from ui.plots import plotly_chart

KEY = "ewa"  # the Playground Settings' URL key for β


def expander() -> None:
    with st.expander(t("playground.ewa.title"), expanded=False, key="open.ewa", on_change="rerun") as box:
        if not box.open:
            return
        st.latex(r"v_t = \beta v_{t-1} + (1-\beta)\,x_t,\quad v_0 = 0")
        st.latex(r"\hat v_t = \frac{v_t}{1-\beta^t}")
        st.slider(t("playground.ewa.beta"), min_value=0.0, max_value=0.99, step=0.01, key=KEY,
                  help=t("playground.ewa.beta_help"))
        a = ewa.average(ewa.noisy_series(), float(st.session_state[KEY]))
        plotly_chart(ewa_figure(a), width="stretch", config={"staticPlot": True}, key="ewa_chart")
        st.markdown(t("playground.ewa.window", beta=a.beta, window=a.window, weight=a.beta ** a.window,
                      first=a.v[0], first_hat=a.v_hat[0], x1=a.x[0]))
        st.caption(t("playground.ewa.adam"))
