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

from ui import echo

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
        """The value the URL text means, or ValueError with a reason. The reason is ours,
        never the parser's: Python's float() repeats the whole value in its message, and a
        notice must echo a user's text only through ui.echo. Numbers outside the range
        are returned as they are; ``clamp`` brings them in."""
        if len(text) > MAX_VALUE_LENGTH:
            raise ValueError("too long")
        if self.kind in ("float", "int"):
            try:
                value = float(text)
            except (ValueError, OverflowError):
                raise ValueError("not a number") from None
            if not math.isfinite(value):
                raise ValueError("not a finite number")
            if self.kind == "int":
                if value != int(value):
                    raise ValueError("not a whole number")
                value = int(value)
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
            if bad:
                raise ValueError(f"unknown: {', '.join(echo.code(b) for b in bad[:3])}")
            if not items:
                raise ValueError("empty")
            return list(dict.fromkeys(items))
        if len(text) > self.max_length:
            raise ValueError("too long")
        return text

    def clamp(self, value: Any) -> Any:
        """A number brought inside [low, high] (other kinds are returned as they are)."""
        if self.kind not in ("float", "int"):
            return value
        if self.low is not None and value < self.low:
            value = self.low
        if self.high is not None and value > self.high:
            value = self.high
        return int(value) if self.kind == "int" else float(value)

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


# Points given as two URL fields: a half-given point is no point (the page then picks its
# own), never a float(None) traceback.
COORDINATE_PAIRS: tuple[tuple[str, str], ...] = (("x0", "y0"), ("px", "py"))


def _value_text(field: Field, value: Any) -> str:
    return echo.code(field.format(value)) if value is not None else "its own choice"


def _from_url(field: Field, texts: list[str], notices: list[str]) -> tuple[bool, Any]:
    """(given, value) for one field from its URL values (several when the key repeats),
    adding a notice for each value refused, clamped or passed over."""
    key = echo.code(field.key)
    parsed: list[Any] = []
    reasons: list[tuple[str, str]] = []
    for text in texts:
        try:
            parsed.append(field.parse(text))
        except (ValueError, TypeError, OverflowError) as e:
            reasons.append((text, str(e)))
    if not parsed:
        text, reason = reasons[-1]
        notices.append(f"URL parameter {key} = {echo.code(text)} ignored ({reason}); "
                       f"using the default, {_value_text(field, field.default)}.")
        return False, field.default
    value = parsed[-1]
    if len(texts) > 1:
        notices.append(f"URL parameter {key} is given {len(texts)} times; using the last valid value, "
                       f"{_value_text(field, value)}.")
    clamped = field.clamp(value)
    if clamped != value:
        side = "below the smallest" if clamped > value else "above the largest"
        notices.append(f"URL parameter {key} = {_value_text(field, value)} is {side} allowed value; "
                       f"using {_value_text(field, clamped)}.")
    return True, clamped


def restore(fields: Sequence[Field], keep: Sequence[str] = ()) -> list[str]:
    """On a session's first run, take field values from the URL. Returns notices, as
    Markdown with every value from the URL shown through ui.echo, about what was ignored,
    clamped or chosen among repeats. Later runs return [] (the session state is the truth)."""
    if st.session_state.get(_RESTORED):
        ensure(fields)
        return []
    st.session_state[_RESTORED] = True
    by_key = {f.key: f for f in fields}
    notices: list[str] = []
    ignored_unknown: list[str] = []
    given: dict[str, Any] = {}
    for key in list(st.query_params.keys()):
        field = by_key.get(key)
        if field is None:
            if key not in keep:
                ignored_unknown.append(key)
            continue
        ok, value = _from_url(field, list(st.query_params.get_all(key)), notices)
        if ok:
            given[key] = value
    for a, b in COORDINATE_PAIRS:
        if a in by_key and b in by_key and (a in given) != (b in given):
            have, missing = (a, b) if a in given else (b, a)
            notices.append(f"URL parameter {echo.code(have)} is given without {echo.code(missing)}; "
                           "a point needs both, so the page chooses its own.")
            del given[have]
    for key, value in given.items():
        st.session_state[key] = value
    if ignored_unknown:
        names = ", ".join(echo.code(k, 30) for k in ignored_unknown[:5])
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
