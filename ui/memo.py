"""What a page remembers between its runs that is not a control: the last surface it
drew, the last click or table selection it acted on. One way for every page, under keys
that cannot clash with a widget's (``_memo.<name>``).

A Streamlit page runs top to bottom on every interaction, so "did this change since the
last run?" needs the previous value kept somewhere; a click or a selected row stays in
the widget's state after it was acted on, so "is this a new one?" needs the same.
"""
from __future__ import annotations

from typing import Any, TypeVar

import streamlit as st

T = TypeVar("T")


def _key(name: str) -> str:
    return f"_memo.{name}"


def recall(name: str) -> Any:
    """What is remembered under ``name`` (None if nothing is)."""
    return st.session_state.get(_key(name))


def remember(name: str, value: Any) -> Any:
    """Remember ``value`` under ``name``; return what was remembered before (None the
    first time)."""
    previous = recall(name)
    st.session_state[_key(name)] = value
    return previous


def changed(name: str, value: Any) -> bool:
    """Whether ``value`` differs from the one remembered under ``name`` (False the first
    time: nothing changed yet, and in a run that staged a lesson step: the step set every
    control itself); remembers it."""
    previous = remember(name, value)
    return previous is not None and previous != value and not st.session_state.get(_STAGING)


# A lesson step sets every control of its page at once (ui.lesson.stage); in that run a
# changed surface must not reset the start point the step staged with it.
_STAGING = _key("__staging__")


def begin_staging() -> None:
    st.session_state[_STAGING] = True


def end_staging() -> None:
    st.session_state.pop(_STAGING, None)


def is_new(name: str, value: T | None) -> bool:
    """Whether ``value`` (a click, a selection) is one not yet acted on, without marking
    it acted on: ``take`` does that."""
    return value is not None and value != recall(name)


def take(name: str, value: T | None) -> T | None:
    """``value`` if it is new (then remembered as acted on), else None."""
    if not is_new(name, value):
        return None
    st.session_state[_key(name)] = value
    return value
