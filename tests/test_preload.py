"""ui.preload: the placeholder chart that starts the browser's Plotly.js download early."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script() -> None:
    import streamlit as st

    from ui import preload

    preload.plotly_early()
    st.write("page")
    if st.session_state.get("finish_flag"):
        preload.finish()


def _plotly_elements(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


def test_sent_first_in_a_sessions_first_run_and_only_then() -> None:
    at = AppTest.from_function(_script, default_timeout=30)
    at.run()
    assert not at.exception
    assert _plotly_elements(at) == 1  # the placeholder, ahead of the page's own elements
    first = [type(e).__name__ for e in at.main]
    at.run()
    assert _plotly_elements(at) == 0  # Plotly.js is loaded in this browser already
    # The slot stays (empty), so the page's own elements keep their places: moved, each
    # would be drawn anew in the browser.
    assert [type(e).__name__ for e in at.main][1:] == first[1:] and at.main[1].value == "page"


def test_the_footer_removes_it() -> None:
    at = AppTest.from_function(_script, default_timeout=30)
    at.session_state["finish_flag"] = True
    at.run()
    assert not at.exception
    assert _plotly_elements(at) == 0
    assert at.session_state["_plotly_preload_sent"]
