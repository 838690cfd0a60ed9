"""Robustness: hypothesis drives every widget of every page through AppTest with random,
extreme and boundary values (and hostile text), and no run may show an exception.

The number of examples is bounded so the whole suite stays within CI's budget; every
example starts from a fresh session, applies a few random actions and reruns after each.
"""
from __future__ import annotations

import functools
import importlib
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizers
from tests.conftest import open_page
from ui.frame import available_pages

PAGES = [p.path for p in available_pages() if p.path != "app.py"]
EXAMPLES = 10
ACTIONS = 3

EXPRESSIONS = [
    "x^2 - y^2", "sin(x)*cos(y)", "log(x)", "1/x", "sqrt(-x^2)", "x +", "__import__('os')", "9**9**9",
    "exp(x*100)", "z", "", "ｘ", "x" * 600, "maximum(x, y)", "abs(x) + abs(y)",
]

# Widgets show formatted labels; map them back to the values the page uses.
_TITLES = {spec.title: key for key, spec in optimizers.REGISTRY.items()}


def _value_of(option: str):
    if option in _TITLES:
        return _TITLES[option]
    try:
        return float(option)
    except ValueError:
        return option


_NONE = object()


def _known_keys() -> list:
    import surfaces
    from classifier import datasets
    from classifier import model as mlp
    from optimizers.schedules import SPECS as SCHEDULE_SPECS

    return [*optimizers.REGISTRY, *surfaces.names(), *SCHEDULE_SPECS, *datasets.names(), *mlp.ACTIVATIONS,
            *mlp.INITS]


_KEYS = _known_keys()


def _raw_option(w, option: str):
    """The value behind a selectbox's formatted option. AppTest knows only the formatted
    labels, and its select_index stores a label as the value, which breaks any widget with
    a format_func; so invert the format_func over the likely values."""
    candidates = [option, _value_of(option), *_KEYS]
    owner = getattr(w.format_func, "__self__", None)
    if isinstance(owner, dict):
        candidates += list(owner)
    for c in candidates:
        try:
            if str(w.format_func(c)) == option:
                return c
        except Exception:  # noqa: BLE001 (a candidate the format_func does not take)
            continue
    return _NONE


def _number(data, lo, hi, integer: bool):
    lo = -1e6 if lo is None else lo
    hi = 1e6 if hi is None else hi
    pick = data.draw(st.sampled_from(["min", "max", "mid", "random"]))
    v = {"min": lo, "max": hi, "mid": (lo + hi) / 2}.get(pick)
    if v is None:
        v = data.draw(st.floats(min_value=float(lo), max_value=float(hi), allow_nan=False, allow_infinity=False))
    return int(round(v)) if integer else float(v)


def act(at, data) -> str:
    """Apply one random action; returns a description for the failure message."""
    # Radios are left out: AppTest cannot map their formatted labels back to values (the
    # query-parameter test below drives them through the URL instead).
    kinds = [k for k in ("number_input", "slider", "select_slider", "selectbox", "multiselect", "toggle",
                         "checkbox", "text_input", "button") if len(at.get(k))]
    assert kinds, "the page shows no widget to act on"
    kind = data.draw(st.sampled_from(kinds))
    widgets = at.get(kind)
    w = widgets[data.draw(st.integers(0, len(widgets) - 1))]
    label = getattr(w, "label", "") or getattr(w, "key", "")
    if kind == "number_input":
        integer = isinstance(w.step, int) or (isinstance(w.value, int) and not isinstance(w.value, bool))
        v = _number(data, w.min, w.max, integer)
        w.set_value(v)
    elif kind == "slider":
        if isinstance(w.value, (tuple, list)):
            return "skip range slider"
        integer = isinstance(w.min, int) and isinstance(w.step, int)
        v = _number(data, w.min, w.max, integer)
        w.set_value(v)
    elif kind == "select_slider":
        v = _value_of(data.draw(st.sampled_from(w.options)))
        w.set_value(v)
    elif kind == "selectbox":
        option = w.options[data.draw(st.integers(0, len(w.options) - 1))]
        v = _raw_option(w, option)
        if v is _NONE:
            return f"skip selectbox {label!r}: no value formats as {option!r}"
        w.set_value(v)
    elif kind == "multiselect":
        chosen = data.draw(st.lists(st.sampled_from(w.options), unique=True, max_size=len(w.options)))
        v = [_value_of(o) for o in chosen]
        w.set_value(v)
    elif kind in ("toggle", "checkbox"):
        v = data.draw(st.booleans())
        w.set_value(v)
    elif kind == "text_input":
        v = data.draw(st.one_of(st.sampled_from(EXPRESSIONS), st.text(max_size=40)))
        w.input(v)
    else:
        v = "click"
        w.click()
    return f"{kind} {label!r} <- {v!r}"[:200]


def test_every_page_is_fuzzed() -> None:
    assert PAGES and len(PAGES) == len(available_pages()) - 1, PAGES


@pytest.mark.slow
@pytest.mark.parametrize("path", PAGES)
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_widget_values_never_raise(path, data):
    at = open_page(path, timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    done = []
    for _ in range(ACTIONS):
        done.append(act(at, data))
        t0 = time.perf_counter()
        at.run()
        done[-1] += f" ({time.perf_counter() - t0:.1f} s)"
        shown = [e.value for e in at.exception]
        assert not shown, f"after {done}: {shown}"
        for md in at.get("markdown"):
            assert "Traceback (most recent call last)" not in md.value, f"after {done}"


def experiment_of(path: str):
    """The page's experiments module (pages/1_Playground.py: experiments.playground), or
    None while the page has none."""
    name = "experiments." + path.rsplit("/", 1)[-1].split("_", 1)[1].removesuffix(".py").lower()
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise  # the module exists and something it imports is missing: a real error
        return None


@functools.lru_cache(maxsize=None)
def declared_fields(path: str) -> tuple:
    """The URL fields a page declares: its Settings' schema (experiments.<page>), or, for a
    page without Settings yet, the fields it hands to urlstate.restore on a run. Either way
    the test follows the pages and cannot drift from them."""
    settings = getattr(experiment_of(path), "Settings", None)
    if settings is not None:
        fields = tuple(settings.schema())
        assert fields, f"{path}: its Settings declare no URL fields"
        return fields
    from ui import urlstate

    seen: list[tuple] = []
    original = urlstate.restore

    def spy(fields, *args, **kwargs):
        seen.append(tuple(fields))
        return original(fields, *args, **kwargs)

    urlstate.restore = spy
    try:
        open_page(path, timeout=120).run()
    finally:
        urlstate.restore = original
    assert seen, f"{path} declares no URL fields"
    return seen[-1]


JUNK = ["", "-1", "0", "1", "1e308", "-1e308", "nan", "inf", "-inf", "1e-320", "abc", "0x10", "1,2", "true",
        "`x`", "[a](//e.x)", "5001", "999999999999999999999"]


def url_values(field) -> st.SearchStrategy[str]:
    """Text for one field: valid values, its bounds and just past them, and junk."""
    options = [st.sampled_from(JUNK), st.text(max_size=12)]
    if field.kind in ("float", "int") and field.low is not None and field.high is not None:
        span = field.high - field.low
        options.append(st.sampled_from([field.low, field.high, field.low - 1, field.high + 1, field.low + span / 2])
                       .map(lambda v: f"{v:g}" if field.kind == "float" else str(int(v))))
    if field.choices:
        options.append(st.sampled_from(field.choices))
        options.append(st.lists(st.sampled_from(field.choices), min_size=1, max_size=4).map(",".join))
    if field.default is not None:
        options.append(st.just(field.format(field.default)))
    return st.one_of(options)


@pytest.mark.parametrize("path", PAGES)
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_urls_built_from_declared_keys_never_raise(path, data):
    """Any subset of the page's own keys, each given once or twice (a repeated key), with
    valid, boundary, out-of-range and junk values, half-given points included."""
    from experiments.schema import COORDINATE_PAIRS

    fields = {f.key: f for f in declared_fields(path)}
    keys = data.draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=6), label="keys")
    half = [a for a, b in COORDINATE_PAIRS if a in fields]
    if half and data.draw(st.booleans(), label="half-given point"):
        keys.append(half[0])
    query = {}
    for key in keys:
        values = data.draw(st.lists(url_values(fields[key]), min_size=1, max_size=2), label=key)
        query[key] = values[0] if len(values) == 1 else values
    query = {k: v for k, v in query.items() if "\x00" not in str(v)}
    at = open_page(path, query, timeout=120)
    at.run()
    assert not at.exception, (query, [e.value for e in at.exception])
