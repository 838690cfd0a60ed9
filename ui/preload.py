"""Start the browser's download of Plotly.js before a page does its heavy work.

Streamlit loads its Plotly chart component (Plotly.js, some megabytes of script) only when
the first chart arrives; on a cold start that download came after the Playground's first
run had finished and was most of the wait (benchmarks/cold_start.py). A 10 px high empty chart,
sent as the first element of a session's first run, starts that download while the
server imports JAX and compiles; the page's footer removes it again.

Imports nothing but Streamlit, so pages call it before their own imports.
"""
from __future__ import annotations

import threading

import streamlit as st

_SENT = "_plotly_preload_sent"
# This run's placeholder slot. Thread-local: a session's script runs one at a time on
# that session's ScriptRunner thread, and sessions never share one (Streamlit 1.67 starts
# a thread for a run and keeps it for the reruns it handles itself, st.rerun included, so
# a thread can see several runs of its session, one after another: plotly_early sets the
# slot anew at the top of every run).
_run = threading.local()

# One invisible point: Plotly refuses a figure without traces, and one under 10 px high.
_FIGURE = {
    "data": [{"type": "scatter", "x": [0], "y": [0], "mode": "markers", "marker": {"opacity": 0},
              "hoverinfo": "skip"}],
    "layout": {"height": 10, "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
               "xaxis": {"visible": False}, "yaxis": {"visible": False}},
}


def plotly_early() -> None:
    """Send the placeholder chart, once per browser session (later runs find Plotly.js
    loaded already). Every run holds the same empty slot for it, so that the page's own
    elements keep their places: shifted by one, each would be drawn anew on the next run."""
    slot = st.empty()
    _run.slot = None
    if st.session_state.get(_SENT):
        return
    st.session_state[_SENT] = True
    slot.plotly_chart(_FIGURE, config={"staticPlot": True, "displayModeBar": False}, key="_plotly_preload")
    _run.slot = slot


def finish() -> None:
    """Remove this run's placeholder, if it sent one."""
    slot = getattr(_run, "slot", None)
    if slot is not None:
        slot.empty()
        _run.slot = None
