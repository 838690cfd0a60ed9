"""A page's settings: every control, its default, its range and its kind, in one typed
object that serializes to the URL (TensorFlow Playground's ``state.ts`` is the model).

A page declares ``Settings``, a frozen dataclass. Each attribute is either

* a **setting**, one control: ``steps: int = setting(500, "int", 1, 10_000)``; its URL key
  is the attribute's name unless ``key=`` says otherwise (``"c.points"``); or
* a **group** of controls that several pages share (the surface picker, the optimizers'
  hyperparameters, the schedule): ``surface: SurfaceChoice = group(SurfaceChoice,
  default="rosenbrock")``. A group class has ``fields(**args)`` (its URL fields),
  ``from_values(values)`` and ``values()``.

Everything else is derived: ``Settings.schema()`` (the URL fields, which the fuzz test,
the warm-up and the lessons read), ``Settings()`` (the defaults), ``from_query`` (junk
becomes a notice, never an exception), ``to_query`` (only what differs from the
defaults, so a shared address stays short) and ``from_values`` / ``values`` (the flat
mapping of URL key to value that the page's widgets read and write in session state).

No Streamlit here: notices are ``Notice(key, params)``, rendered by ``ui`` through the
message catalog, with every value that came from the URL shown through ``catalog.echo``.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Mapping, Sequence, TypeVar

from catalog import Notice  # noqa: F401  (defined there, re-exported: experiments import it from here)

MAX_VALUE_LENGTH = 600
KINDS = ("float", "int", "bool", "str", "choice", "multi")

# Points given as two URL fields: a half-given point is no point (the page then picks its
# own), never a float(None) traceback.
COORDINATE_PAIRS: tuple[tuple[str, str], ...] = (("x0", "y0"), ("px", "py"))


class Refused(ValueError):
    """A URL value that cannot be read; ``reason`` is a catalog key (never the parser's
    own message: Python's float() repeats the whole value in it)."""

    def __init__(self, reason: str, **params: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class Field:
    """One control as the URL sees it. kind: float, int, bool, str, choice or multi (a
    subset of choices, comma-separated in the URL). ``default`` None means "the page
    chooses" (a surface's own start point)."""

    key: str
    default: Any
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 500

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.key}: unknown kind {self.kind!r}")

    def parse(self, text: str) -> Any:
        """The value the URL text means, or ``Refused``. Numbers outside the range are
        returned as they are; ``clamp`` brings them in."""
        if len(text) > MAX_VALUE_LENGTH:
            raise Refused("too_long")
        if self.kind in ("float", "int"):
            try:
                value = float(text)
            except (ValueError, OverflowError):
                raise Refused("not_a_number") from None
            if not math.isfinite(value):
                raise Refused("not_finite")
            if self.kind == "int":
                if value != int(value):
                    raise Refused("not_whole")
                value = int(value)
            return value
        if self.kind == "bool":
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise Refused("not_bool")
        if self.kind == "choice":
            if text not in self.choices:
                raise Refused("not_a_choice")
            return text
        if self.kind == "multi":
            items = [t for t in text.split(",") if t]
            bad = [t for t in items if t not in self.choices]
            if bad:
                raise Refused("unknown_items", items=bad[:3])
            if not items:
                raise Refused("empty")
            return tuple(dict.fromkeys(items))
        if len(text) > self.max_length:
            raise Refused("too_long")
        return text

    def clamp(self, value: Any) -> Any:
        """A number brought inside [low, high] (other kinds are returned as they are)."""
        if self.kind not in ("float", "int") or value is None:
            return value
        if self.low is not None and value < self.low:
            value = self.low
        if self.high is not None and value > self.high:
            value = self.high
        return int(value) if self.kind == "int" else float(value)

    def normalize(self, value: Any) -> Any:
        """The canonical Python value: a multi is a tuple, numbers are int or float."""
        if value is None:
            return None
        if self.kind == "multi":
            return tuple(value)
        if self.kind == "int":
            return int(value)
        if self.kind == "float":
            return float(value)
        if self.kind == "bool":
            return bool(value)
        return value

    def format(self, value: Any) -> str:
        if self.kind == "multi":
            return ",".join(value)
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "float":
            return f"{float(value):.6g}"
        return str(value)


# ---------------------------------------------------------------------------------------
# Reading a query


def _texts(query: Mapping[str, Any], key: str) -> list[str]:
    """All values of a key: Streamlit's query_params (get_all), a dict of lists, or a dict
    of strings."""
    get_all = getattr(query, "get_all", None)
    if get_all is not None:
        return [str(v) for v in get_all(key)]
    value = query[key]
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _from_texts(field: Field, texts: list[str], notices: list[Notice]) -> tuple[bool, Any]:
    """(given, value) for one field from its URL values (several when the key repeats),
    adding a notice for each value refused, clamped or passed over."""
    parsed: list[Any] = []
    refused: list[tuple[str, Refused]] = []
    for text in texts:
        try:
            parsed.append(field.parse(text))
        except Refused as e:
            refused.append((text, e))
    if not parsed:
        text, why = refused[-1]
        notices.append(Notice("url.ignored", {"key": field.key, "value": text, "reason": why.reason,
                                              **why.params, "default": _shown(field, field.default)}))
        return False, field.default
    value = parsed[-1]
    if len(texts) > 1:
        notices.append(Notice("url.repeated", {"key": field.key, "count": len(texts), "value": _shown(field, value)}))
    clamped = field.clamp(value)
    if clamped != value:
        side = "url.below" if clamped > value else "url.above"
        notices.append(Notice(side, {"key": field.key, "value": _shown(field, value), "used": _shown(field, clamped)}))
    return True, clamped


def _shown(field: Field, value: Any) -> str | None:
    """A value as the URL writes it; None stands for "the page's own choice"."""
    return None if value is None else field.format(value)


def parse_query(fields: Sequence[Field], query: Mapping[str, Any], keep: Iterable[str] = ()) -> tuple[dict[str, Any], list[Notice]]:
    """The values a query gives (only the keys it gives, checked and clamped) and the
    notices about what was ignored, clamped or chosen among repeats."""
    by_key = {f.key: f for f in fields}
    keep = set(keep)
    notices: list[Notice] = []
    unknown: list[str] = []
    given: dict[str, Any] = {}
    for key in list(query.keys()):
        field = by_key.get(key)
        if field is None:
            if key not in keep:
                unknown.append(key)
            continue
        ok, value = _from_texts(field, _texts(query, key), notices)
        if ok:
            given[key] = field.normalize(value)
    for a, b in COORDINATE_PAIRS:
        if a in by_key and b in by_key and (a in given) != (b in given):
            have, missing = (a, b) if a in given else (b, a)
            notices.append(Notice("url.half_point", {"key": have, "missing": missing}))
            del given[have]
    if unknown:
        notices.append(Notice("url.unknown", {"keys": unknown[:5], "more": max(0, len(unknown) - 5)}))
    return given, notices


def query_of(fields: Sequence[Field], values: Mapping[str, Any], implied: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The URL fields that differ from their defaults (a short, shareable address).
    ``implied`` gives defaults that depend on other settings (a surface's own start)."""
    implied = implied or {}
    out: dict[str, str] = {}
    for f in fields:
        value = values.get(f.key, f.default)
        default = f.normalize(f.default)
        if value is None:
            continue
        if f.normalize(value) != default and f.normalize(value) != f.normalize(implied.get(f.key, f.default)):
            out[f.key] = f.format(value)
    # A point is written whole: (0.25, 2.0) on a surface whose own start has y = 2.0
    # would otherwise be written as x0 alone, which reads back as a half-given point.
    by_key = {f.key: f for f in fields}
    for pair in COORDINATE_PAIRS:
        if any(k in out for k in pair) and all(k in by_key and values.get(k) is not None for k in pair):
            for k in pair:
                out[k] = by_key[k].format(values[k])
    return out


# ---------------------------------------------------------------------------------------
# Declaring settings


def setting(default: Any, kind: str = "float", low: float | None = None, high: float | None = None,
            choices: Sequence[str] = (), key: str | None = None, max_length: int = 500) -> Any:
    """A dataclass field that is one control of a page (its URL key is the attribute's
    name unless ``key`` is given)."""
    spec = dict(default=default, kind=kind, low=low, high=high, choices=tuple(choices), max_length=max_length, key=key)
    return dataclasses.field(default=tuple(default) if kind == "multi" else default, metadata={"setting": spec})


def group(cls: type, **args: Any) -> Any:
    """A dataclass field holding a group of controls; ``args`` go to ``cls.fields``."""
    factory = lambda: cls.from_values({f.key: f.normalize(f.default) for f in cls.fields(**args)})  # noqa: E731
    return dataclasses.field(default_factory=factory, metadata={"group": (cls, args)})


S = TypeVar("S", bound="Settings")


class Settings:
    """Mixin for a page's frozen Settings dataclass (see the module docstring)."""

    # URL keys a page reads itself (not controls), which are therefore not "unknown".
    extra_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    @functools.cache
    def schema(cls) -> tuple[Field, ...]:
        """Every URL field, groups expanded. Built once per class: a rerun reads the
        settings back and writes the URL, and building ~60 fields each time was most of
        that work."""
        out: list[Field] = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if "setting" in f.metadata:
                spec = dict(f.metadata["setting"])
                out.append(Field(spec.pop("key") or f.name, **spec))
            elif "group" in f.metadata:
                group_cls, args = f.metadata["group"]
                out.extend(group_cls.fields(**args))
        keys = [f.key for f in out]
        if len(keys) != len(set(keys)):
            raise TypeError(f"{cls.__name__}: duplicate URL keys")
        return tuple(out)

    @classmethod
    def field_of(cls, key: str) -> Field:
        for f in cls.schema():
            if f.key == key:
                return f
        raise KeyError(key)

    @classmethod
    def from_values(cls: type[S], values: Mapping[str, Any]) -> S:
        """Settings from a flat mapping of URL key to value (missing keys: defaults)."""
        flat = {f.key: f.normalize(values.get(f.key, f.default)) for f in cls.schema()}
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if "setting" in f.metadata:
                kwargs[f.name] = flat[f.metadata["setting"]["key"] or f.name]
            elif "group" in f.metadata:
                kwargs[f.name] = f.metadata["group"][0].from_values(flat)
        return cls(**kwargs)

    def values(self) -> dict[str, Any]:
        """The flat mapping of URL key to value (what the widgets hold)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if "setting" in f.metadata:
                out[f.metadata["setting"]["key"] or f.name] = getattr(self, f.name)
            elif "group" in f.metadata:
                out.update(getattr(self, f.name).values())
        return out

    @classmethod
    def from_query(cls: type[S], query: Mapping[str, Any]) -> tuple[S, list[Notice]]:
        given, notices = parse_query(cls.schema(), query, keep=cls.extra_keys)
        return cls.from_values(given), notices

    def to_query(self, implied: Mapping[str, Any] | None = None) -> dict[str, str]:
        return query_of(self.schema(), self.values(), implied)

    def replace(self: S, **by_key: Any) -> S:
        """A copy with some URL keys changed: ``s.replace(**{"c.epochs": 50})``."""
        unknown = set(by_key) - {f.key for f in self.schema()}
        if unknown:
            raise KeyError(f"no setting {sorted(unknown)}")
        return type(self).from_values({**self.values(), **by_key})

    def check(self) -> list[Notice]:
        """Notices for values out of range or not among the choices (a lesson's staged
        values are checked with this when the lesson loads)."""
        notices: list[Notice] = []
        for f, value in ((f, self.values()[f.key]) for f in self.schema()):
            if value is None:
                continue
            try:
                f.parse(f.format(value))
            except Refused as e:
                notices.append(Notice("url.ignored", {"key": f.key, "value": f.format(value), "reason": e.reason,
                                                      **e.params, "default": _shown(f, f.default)}))
                continue
            if f.clamp(value) != value:
                notices.append(Notice("url.above" if value > f.clamp(value) else "url.below",
                                      {"key": f.key, "value": f.format(value), "used": f.format(f.clamp(value))}))
        return notices
