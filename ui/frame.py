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

from catalog import t
from ui import language, lesson

from ui import preload, startup, warmup

# Imported here, once per process, before any page can build a figure: Plotly looks pandas
# up in sys.modules without importing it, and a pandas that another session's first
# Curvature or Sweeps run was still importing made a Playground rerun raise "partially
# initialized module 'pandas' has no attribute 'Series'" (benchmarks/hostile.py, five
# heavy sessions). Every page imports this module before its charts, and a thread that
# imports it while another is doing so waits until it, pandas included, is complete.
import pandas  # noqa: E402,F401

PRESENTER_FONT_PX = 22  # the root font size in presenter mode (Streamlit's own: 16)

# Where the footer's "source" link points; a deployment sets its own repository's address.
SOURCE_URL = os.environ.get("DESCENT_LAB_SOURCE_URL", "https://github.com/descent-lab/descent-lab")


@dataclass(frozen=True)
class PageInfo:
    """A page of the menu; its title and blurb are in the catalog (app.page.<key>)."""

    key: str
    path: str
    icon: str

    @property
    def title(self) -> str:
        return t(f"app.page.{self.key}.title")

    @property
    def blurb(self) -> str:
        return t(f"app.page.{self.key}.blurb")


PAGES: tuple[PageInfo, ...] = (
    PageInfo("home", "app.py", "🏠"),
    PageInfo("lessons", "pages/5_Lessons.py", "🎓"),
    PageInfo("playground", "pages/1_Playground.py", "🏁"),
    PageInfo("curvature", "pages/2_Curvature.py", "🧭"),
    PageInfo("sweeps", "pages/3_Sweeps.py", "🗺️"),
    PageInfo("classifier", "pages/4_Classifier.py", "🧠"),
    PageInfo("inside", "pages/6_Inside.py", "🔬"),
)
BY_KEY = {p.key: p for p in PAGES}


def available_pages() -> list[PageInfo]:
    root = Path(__file__).resolve().parent.parent
    return [p for p in PAGES if (root / p.path).exists()]


def page(key: str) -> None:
    """Call first on every page, with its key in PAGES: the process's start-up
    (ui.startup.start: JAX settings and background threads, once per process, before the
    page computes anything), then page config and the menu in the sidebar."""
    startup.start()
    language.choose()  # before any text: this run's language for the catalog
    info = BY_KEY[key]
    presenting = lesson.presenting()
    st.set_page_config(page_title=f"{info.title} · Descent Lab", page_icon=info.icon, layout="wide",
                       initial_sidebar_state="collapsed" if presenting else "auto")
    if presenting:  # for a projector: larger type everywhere (Streamlit sizes text in rem)
        st.html(f"<style>html {{ font-size: {PRESENTER_FONT_PX}px; }}</style>")
    with st.sidebar:
        st.markdown(t("app.brand"))
        for p in available_pages():
            st.page_link(p.path, label=p.title, icon=p.icon)
        language.switch()
        st.divider()


def footer() -> None:
    """Call last on every page: removes the Plotly.js placeholder and tells the warm-up
    that a page has been drawn (it waits for the first)."""
    preload.finish()
    warmup.page_drawn.set()
    st.divider()
    st.caption(t("app.footer", url=SOURCE_URL))


def notices(messages: list[str]) -> None:
    """Show what was ignored or corrected (bad URL parameters, out-of-range values)."""
    for m in messages:
        st.info(m, icon="ℹ️")
