"""A page's Settings in the URL's query parameters and in st.session_state.

``experiments.<page>.Settings`` declares every control; this module is the Streamlit
side. On a session's first run ``restore`` seeds st.session_state from the URL (junk,
out-of-range and repeated values become notices, never an exception); the widgets then
read and write st.session_state under the settings' URL keys; ``current`` reads the
Settings back; ``publish`` writes what differs from the defaults to the URL on every run,
so copying the address bar shares the exact view.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence, TypeVar

import streamlit as st

from catalog import DEFAULT_LANGUAGE, t
from experiments.schema import Notice, Settings, parse_query, query_of
from catalog import echo
from ui import language, lesson

_RESTORED = "_url_restored"
S = TypeVar("S", bound=Settings)


def ensure(spec: type[Settings]) -> None:
    """Give every field a value in session state (its default) if it has none."""
    for f in spec.schema():
        if f.key not in st.session_state:
            st.session_state[f.key] = list(f.default) if f.kind == "multi" else f.default


def _shown(value: Any) -> str:
    return echo.code(value) if value is not None else t("url.own_choice")


def render(notice: Notice) -> str:
    """A notice as Markdown in the session's language; every string from the URL is
    shown through catalog.echo."""
    p = dict(notice.params)
    if notice.key == "url.unknown":
        keys = ", ".join(echo.code(k, 30) for k in p["keys"])
        if p["more"]:
            keys = t("url.unknown_more", keys=keys, more=p["more"])
        return t("url.unknown_one" if len(p["keys"]) == 1 else "url.unknown_many", keys=keys)
    if "reason" in p:
        items = ", ".join(echo.code(i) for i in p.pop("items", ()))
        p["reason"] = t(f"url.reason.{p['reason']}", items=items)
    for k in ("value", "default", "used"):
        if k in p:
            p[k] = _shown(p[k])
    for k in ("key", "missing"):
        if k in p:
            p[k] = echo.code(p[k])
    return t(notice.key, **p)


def restore(spec: type[Settings], keep: Sequence[str] = ()) -> list[str]:
    """On a session's first run, take the settings from the URL. Returns the notices as
    Markdown. Later runs return [] (the session state is the truth)."""
    if st.session_state.get(_RESTORED):
        ensure(spec)
        lesson.stage(spec)
        return []
    st.session_state[_RESTORED] = True
    extra = tuple(keep) + tuple(spec.extra_keys) + (language.KEY,) + lesson.URL_KEYS
    given, notices = parse_query(spec.schema(), st.query_params, keep=extra)
    for key, value in given.items():
        st.session_state[key] = list(value) if isinstance(value, tuple) else value
    ensure(spec)
    lesson.stage(spec)  # a lesson step in the address sets the controls it stages
    return [render(n) for n in notices]


def current(settings_cls: type[S]) -> S:
    """The Settings the session state holds now."""
    ensure(settings_cls)
    return settings_cls.from_values({f.key: st.session_state[f.key] for f in settings_cls.schema()})


def publish(spec: type[Settings] | Settings, implied: Mapping[str, Any] | None = None) -> None:
    """Write the settings that differ from their defaults to the URL; remove the others.
    ``implied`` gives defaults that depend on other settings (a surface's own start)."""
    if isinstance(spec, Settings):
        wanted = spec.to_query(implied)
    else:
        fields = spec.schema()
        wanted = query_of(fields, {f.key: st.session_state.get(f.key, f.default) for f in fields}, implied)
    if st.session_state.get(language.KEY, DEFAULT_LANGUAGE) != DEFAULT_LANGUAGE:
        wanted[language.KEY] = st.session_state[language.KEY]  # shared links keep the language
    wanted.update(lesson.kept_in_url())  # and the lesson step they are on
    current_query = {k: st.query_params.get(k) for k in st.query_params.keys()}
    if current_query != wanted:
        st.query_params.from_dict(wanted)
