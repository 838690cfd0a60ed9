"""The page frame: page config, the app's own menu, notices and the footer.

Streamlit's default page list is hidden (client.showSidebarNavigation = false in
.streamlit/config.toml) and this menu drawn instead, so every page, deep-linked or not,
shows the same menu with proper titles.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

import ui.runtime  # noqa: F401  (JAX cache set-up, once per process)

# Imported here, once per process, before any page can build a figure: Plotly looks pandas
# up in sys.modules without importing it, and a pandas that another session's first
# Curvature or Sweeps run was still importing made a Playground rerun raise "partially
# initialized module 'pandas' has no attribute 'Series'" (benchmarks/hostile.py, five
# heavy sessions). Every page imports this module before its charts, and a thread that
# imports it while another is doing so waits until it, pandas included, is complete.
import pandas  # noqa: E402,F401

# Where the footer's "source" link points; a deployment sets its own repository's address.
SOURCE_URL = os.environ.get("DESCENT_LAB_SOURCE_URL", "https://github.com/descent-lab/descent-lab")


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str
    blurb: str


PAGES: tuple[PageInfo, ...] = (
    PageInfo("app.py", "Home", "🏠", "What Descent Lab is and where to start."),
    PageInfo("pages/1_Playground.py", "Playground", "🏁",
             "Race optimizers on a loss surface and inspect every step."),
    PageInfo("pages/2_Curvature.py", "Curvature", "🧭",
             "Hessian eigenvalues decide: minimum, maximum or saddle; and the largest stable step."),
    PageInfo("pages/3_Sweeps.py", "Sweeps", "🗺️",
             "Hyperparameter sweeps, basins of attraction and a fair race."),
    PageInfo("pages/4_Classifier.py", "Classifier", "🧠",
             "Train a small network and see the same ideas on a real model."),
)


def available_pages() -> list[PageInfo]:
    root = Path(__file__).resolve().parent.parent
    return [p for p in PAGES if (root / p.path).exists()]


def page(title: str, icon: str = "📉") -> None:
    """Call first on every page: page config, menu in the sidebar."""
    st.set_page_config(page_title=f"{title} · Descent Lab", page_icon=icon, layout="wide")
    with st.sidebar:
        st.markdown("### 📉 Descent Lab")
        for p in available_pages():
            st.page_link(p.path, label=p.title, icon=p.icon)
        st.divider()


def footer() -> None:
    """Call last on every page. Also starts the background warm-up (once per process)."""
    from ui import preload, warmup

    preload.finish()
    warmup.start()
    st.divider()
    st.caption(
        f"Descent Lab · optimizers written in JAX, checked step for step against Optax · "
        f"[source]({SOURCE_URL})"
    )


def notices(messages: list[str]) -> None:
    """Show what was ignored or corrected (bad URL parameters, out-of-range values)."""
    for m in messages:
        st.info(m, icon="ℹ️")
