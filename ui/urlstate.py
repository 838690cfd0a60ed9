"""Page state in the URL's query parameters.

A page declares its fields; on the first run of a session ``restore`` seeds
st.session_state from the URL (each value checked: unknown keys, malformed or
out-of-range values fall back to defaults with a notice, never an exception); widgets
then read and write st.session_state by key, and ``publish`` writes the state back to
the URL on every run, so copying the address bar shares the exact view.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import streamlit as st

_RESTORED = "_url_restored"
MAX_VALUE_LENGTH = 600


@dataclass(frozen=True)
class Field:
    """One piece of page state. kind: float, int, bool, str, choice or multi (a subset of
    choices, comma-separated in the URL)."""

    key: str
    default: Any
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 500

    def parse(self, text: str) -> Any:
        """The value the URL text means, or ValueError with a reason."""
        if len(text) > MAX_VALUE_LENGTH:
            raise ValueError("too long")
        if self.kind in ("float", "int"):
            value = float(text)
            if not math.isfinite(value):
                raise ValueError("not a finite number")
            if self.kind == "int":
                if value != int(value):
                    raise ValueError("not a whole number")
                value = int(value)
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                raise ValueError(f"outside {self.low:g} to {self.high:g}")
            return value
        if self.kind == "bool":
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("not true or false")
        if self.kind == "choice":
            if text not in self.choices:
                raise ValueError("not one of the choices")
            return text
        if self.kind == "multi":
            items = [t for t in text.split(",") if t]
            bad = [t for t in items if t not in self.choices]
            if bad or not items:
                raise ValueError(f"unknown {', '.join(bad[:3])}" if bad else "empty")
            return list(dict.fromkeys(items))
        if len(text) > self.max_length:
            raise ValueError("too long")
        return text

    def format(self, value: Any) -> str:
        if self.kind == "multi":
            return ",".join(value)
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "float":
            return f"{float(value):.6g}"
        return str(value)


def ensure(fields: Sequence[Field]) -> None:
    """Give every field a value in session state (its default) if it has none."""
    for f in fields:
        if f.key not in st.session_state:
            st.session_state[f.key] = list(f.default) if f.kind == "multi" else f.default


def restore(fields: Sequence[Field], keep: Sequence[str] = ()) -> list[str]:
    """On a session's first run, take field values from the URL. Returns notices about
    what was ignored. Later runs return [] (the session state is the truth)."""
    if st.session_state.get(_RESTORED):
        ensure(fields)
        return []
    st.session_state[_RESTORED] = True
    by_key = {f.key: f for f in fields}
    notices: list[str] = []
    ignored_unknown: list[str] = []
    for key in list(st.query_params.keys()):
        text = st.query_params.get(key, "")
        field = by_key.get(key)
        if field is None:
            if key not in keep:
                ignored_unknown.append(key)
            continue
        try:
            st.session_state[field.key] = field.parse(text)
        except (ValueError, TypeError, OverflowError) as e:
            shown = text if len(text) <= 40 else text[:37] + "..."
            notices.append(f"URL parameter `{key}={shown}` ignored ({e}); using the default.")
    if ignored_unknown:
        names = ", ".join(f"`{k[:30]}`" for k in ignored_unknown[:5])
        more = f" and {len(ignored_unknown) - 5} more" if len(ignored_unknown) > 5 else ""
        notices.append(f"Unknown URL parameter{'s' if len(ignored_unknown) > 1 else ''} {names}{more} ignored.")
    ensure(fields)
    return notices


def publish(fields: Sequence[Field], implied: dict[str, Any] | None = None) -> None:
    """Write the fields that differ from their defaults to the URL (a short, shareable
    address); remove the others. ``implied`` gives defaults that depend on other state
    (e.g. a surface's own start point)."""
    wanted: dict[str, str] = {}
    implied = implied or {}
    for f in fields:
        value = st.session_state.get(f.key, f.default)
        if value != f.default and value != implied.get(f.key, f.default):
            wanted[f.key] = f.format(value)
    current = {k: st.query_params.get(k) for k in st.query_params.keys()}
    if current != wanted:
        st.query_params.from_dict(wanted)
