"""The session's language: 中文 or English, chosen per session.

Where it comes from, first match wins:

1. ``?lang=zh`` or ``?lang=en`` in the address (shareable; written back on every run, so
   it travels with a copied link);
2. the switch in the app's own menu (kept in session state, so it holds across pages);
3. the browser's locale (``st.context.locale``): Chinese for zh*, English otherwise.

``choose()`` runs first on every page run (ui.frame.page) and sets the catalog's language
for this run's thread; everything after it, charts included, reads text in it.
"""
from __future__ import annotations

import streamlit as st

import catalog

KEY = "lang"  # the URL key and the switch's session-state key
NAMES = {"zh": "中文", "en": "English"}  # each language in its own script, as a switch shows it


def from_locale(locale: str | None) -> str:
    """The language for a browser locale such as "zh-CN", "zh-Hant-TW" or "en-US"."""
    return "zh" if (locale or "").lower().startswith("zh") else catalog.DEFAULT_LANGUAGE


def choose() -> str:
    """This run's language (see the module docstring); sets it in the catalog."""
    asked = st.query_params.get(KEY)
    if asked in catalog.LANGUAGES and not st.session_state.get("_lang.from_url"):
        # Read once per session: afterwards the switch rules, and writes the URL back.
        st.session_state[KEY] = asked
    st.session_state["_lang.from_url"] = True
    if st.session_state.get(KEY) not in catalog.LANGUAGES:
        st.session_state[KEY] = from_locale(getattr(st.context, "locale", None))
    language = st.session_state[KEY]
    catalog.set_language(language)
    return language


def apply() -> None:
    """Set the catalog's language from the session, without reading the URL: the first
    line of a fragment, whose reruns run only the fragment (frame.page's choose() is not
    run, and the run's thread need not hold the language from the last full run)."""
    catalog.set_language(st.session_state.get(KEY) if st.session_state.get(KEY) in catalog.LANGUAGES
                         else catalog.DEFAULT_LANGUAGE)


def switch() -> None:
    """The 中文 / English switch in the menu. Changing it reruns the page in the other
    language with every setting kept (widget values live in session state by key)."""
    st.segmented_control(" ", list(catalog.LANGUAGES), key=KEY, format_func=NAMES.__getitem__,
                         label_visibility="collapsed", selection_mode="single")


def query() -> dict[str, str]:
    """The language as the URL carries it."""
    return {KEY: st.session_state.get(KEY, catalog.DEFAULT_LANGUAGE)}
