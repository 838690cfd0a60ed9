"""Controls shared by pages: surface picker, optimizer hyperparameters, schedules.

Each control reads and writes st.session_state by key; the matching urlstate.Field
list (``*_fields``) puts the same keys in the URL.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any

import numpy as np
import streamlit as st

import optimizers
import surfaces
from optimizers.registry import HyperParam
from optimizers.schedules import SPECS as SCHEDULE_SPECS
from optimizers.schedules import ScheduleConfig
from surfaces.base import Surface
from experiments.schema import Field

CUSTOM = "custom"
DEFAULT_EXPRESSION = "sin(x)*cos(y) + 0.1*(x^2 + y^2)"
DOMAIN_LIMIT = 1e4
SURFACE_ECHO_LIMIT = 120  # a typed formula in a page's heading
ERROR_ECHO_LIMIT = 160  # an expression error quotes a part of the formula: show it whole


def surface_title(key: str) -> str:
    return "Your own f(x, y)" if key == CUSTOM else surfaces.get(key).title


# ---------------------------------------------------------------------------------------
# Surfaces


def surface_fields(default: str = "rosenbrock") -> list[Field]:
    fields = [
        Field("surface", default, "choice", choices=tuple(surfaces.names()) + (CUSTOM,)),
        Field("expr", DEFAULT_EXPRESSION, "str", max_length=500),
        Field("xmin", -3.0, "float", -DOMAIN_LIMIT, DOMAIN_LIMIT),
        Field("xmax", 3.0, "float", -DOMAIN_LIMIT, DOMAIN_LIMIT),
        Field("ymin", -3.0, "float", -DOMAIN_LIMIT, DOMAIN_LIMIT),
        Field("ymax", 3.0, "float", -DOMAIN_LIMIT, DOMAIN_LIMIT),
    ]
    for key in surfaces.names():
        for name, p in surfaces.parameters(key).items():
            fields.append(Field(f"{key}.{name}", p.default, "float", p.low, p.high))
    return fields


def surface_picker() -> tuple[Surface | None, str | None]:
    """Draw the surface controls; returns (surface, None) or (None, error message)."""
    key = st.selectbox("Surface", list(surfaces.names()) + [CUSTOM], key="surface", format_func=surface_title)
    if key == CUSTOM:
        st.text_input(
            "f(x, y) =", key="expr", max_chars=500,
            help="Numbers, x, y, + - * / ^ (or **), parentheses, sin cos tan exp log sqrt abs tanh "
            "sinh cosh arctan arcsin arccos, minimum(a, b), maximum(a, b), pi, e.",
        )
        c1, c2, c3, c4 = st.columns(4)
        for col, k in zip((c1, c2, c3, c4), ("xmin", "xmax", "ymin", "ymax")):
            col.number_input(k, key=k, format="%g", step=0.5, min_value=-DOMAIN_LIMIT, max_value=DOMAIN_LIMIT)
        domain = ((st.session_state.xmin, st.session_state.xmax), (st.session_state.ymin, st.session_state.ymax))
        try:
            return surfaces.from_expression(st.session_state.expr, domain=domain), None
        except surfaces.ExpressionError as e:
            return None, str(e)
    for name, p in surfaces.parameters(key).items():
        # A number box, not a slider: a new parameter value is a new function, which
        # compiles afresh (about a second), so it should be a deliberate change.
        st.number_input(p.label, min_value=float(p.low), max_value=float(p.high), key=f"{key}.{name}",
                        step=float(10 ** np.floor(np.log10(max(abs(p.default), 1e-3)))) / 2, format="%g")
    values = {name: st.session_state[f"{key}.{name}"] for name in surfaces.parameters(key)}
    return surfaces.get(key, **values), None


def surface_heading(surface: Surface) -> str:
    """The surface's name as Markdown. A typed formula is the user's text (the parser's
    canonical form of it, but '*' still makes italics): it is shown through ui.echo."""
    from ui import echo

    if surface.expression:
        return f"**Your own f(x, y)** = {echo.code(surface.expression, SURFACE_ECHO_LIMIT)}"
    return f"**{surface.title}**"


def surface_or_stop(fields, notices: list[str]) -> Surface:
    """The sidebar's surface picker. On a bad expression: the message, the notices, the
    URL kept up to date, and the page stops here (nothing else the user set is lost)."""
    from ui import echo, frame, urlstate

    with st.sidebar:
        surface, error = surface_picker()
    if surface is None:
        frame.notices(notices)
        st.error(f"That expression cannot be used: {echo.code(error, ERROR_ECHO_LIMIT)}. "
                 "Fix it in the sidebar; everything else is kept.")
        urlstate.publish(fields)
        st.stop()
    return surface


def follow_start(surface: Surface, keys: tuple[str, str], memo: str) -> None:
    """A new surface brings its own suggested start (a start typed for the old one rarely
    fits): reset the session-state point ``keys`` when the surface changed (remembered
    under ``memo``) or when the point is unset."""
    signature = (surface.key, surface.expression, surface.domain, surface.params)
    if st.session_state.get(memo) not in (None, signature) or st.session_state.get(keys[0]) is None:
        st.session_state[keys[0]], st.session_state[keys[1]] = map(float, (surface.starts or ((0.0, 0.0),))[0])
    st.session_state[memo] = signature


# ---------------------------------------------------------------------------------------
# Numbers


def log_grid(low: float, high: float, extra: float | None = None) -> list[float]:
    """1-1.5-2-3-5-7 per decade between low and high (and ``extra`` if given)."""
    values = set()
    for e in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for m in (1, 1.5, 2, 3, 5, 7):
            v = float(f"{m * 10.0**e:.6g}")
            if low * (1 - 1e-9) <= v <= high * (1 + 1e-9):
                values.add(v)
    if extra is not None and low <= extra <= high:
        values.add(float(extra))
    return sorted(values)


def _number(key: str, label: str, low: float, high: float, log: bool, step: float | None = None,
            help: str | None = None, integer: bool = False) -> Any:
    if integer:
        return st.number_input(label, min_value=int(low), max_value=int(high), step=1, key=key, help=help)
    if log and low > 0:
        current = st.session_state.get(key)
        return st.select_slider(label, options=log_grid(low, high, current), key=key, help=help,
                                format_func=lambda v: f"{v:g}")
    return st.slider(label, min_value=float(low), max_value=float(high), step=step or (high - low) / 100,
                     key=key, help=help, format="%g")


# ---------------------------------------------------------------------------------------
# Optimizers


def hyper_key(opt: str, name: str) -> str:
    return f"{opt}.{name}"


def optimizer_fields(default_lr: dict[str, float] | None = None) -> list[Field]:
    fields = []
    for opt, spec in optimizers.REGISTRY.items():
        for h in spec.hyperparams:
            default = h.default
            if h.name == "learning_rate" and default_lr and opt in default_lr:
                default = default_lr[opt]
            kind = "bool" if h.kind == "bool" else "float"
            fields.append(Field(hyper_key(opt, h.name), bool(default) if kind == "bool" else default, kind, h.low, h.high))
    return fields


def _hyper_widget(opt: str, h: HyperParam) -> None:
    key = hyper_key(opt, h.name)
    if h.kind == "bool":
        st.toggle(h.name.replace("_", " "), key=key, help=h.help)
        return
    step = 0.001 if h.high <= 1 else None
    _number(key, h.name.replace("_", " "), h.low, h.high, h.log, step=step, help=h.help)


def hyper_values(opt: str) -> dict[str, float]:
    spec = optimizers.REGISTRY[opt]
    return {h.name: float(st.session_state[hyper_key(opt, h.name)]) for h in spec.hyperparams}


def optimizer_controls(opt: str, expanded: bool = False, skip: tuple[str, ...] = (), title: str | None = None,
                       note: str = "") -> dict[str, float]:
    """An expander with the optimizer's update rule and its own hyperparameters (except
    ``skip``, which the caller sets some other way); returns the values shown."""
    spec = optimizers.REGISTRY[opt]
    # A closed expander draws no widgets; their values must survive it.
    keep_state(hyper_key(opt, h.name) for h in spec.hyperparams)
    # Lazy: a closed expander's content is not built or sent. Ten sliders and four
    # formulas were most of what the browser re-rendered on each Playground rerun.
    with st.expander(title or spec.title, expanded=expanded, key=f"open.{opt}", on_change="rerun") as box:
        if box.open:
            st.latex(spec.latex)
            for h in spec.hyperparams:
                if h.name not in skip:
                    _hyper_widget(opt, h)
            if note:
                st.caption(note)
    return {k: v for k, v in hyper_values(opt).items() if k not in skip}


# ---------------------------------------------------------------------------------------
# Schedules


def schedule_fields() -> list[Field]:
    fields = [Field("sched", "constant", "choice", choices=tuple(SCHEDULE_SPECS)),
              Field("warmup", 0, "int", 0, optimizers.MAX_STEPS)]
    for kind, spec in SCHEDULE_SPECS.items():
        for p in spec.params:
            integer = p.kind == "int"
            fields.append(Field(f"sched.{kind}.{p.name}", int(p.default) if integer else p.default,
                                "int" if integer else "float", p.low, p.high))
    return fields


def keep_state(keys) -> None:
    """Write each key's value back before its widget is drawn (if it is drawn at all): a
    widget that a run does not draw loses its state, and this keeps it."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def current_schedule() -> ScheduleConfig:
    """The schedule the session state describes (the controls need not be drawn)."""
    kind = st.session_state.sched
    params = tuple((p.name, float(st.session_state[f"sched.{kind}.{p.name}"])) for p in SCHEDULE_SPECS[kind].params)
    return ScheduleConfig(kind, params, int(st.session_state.warmup))


@contextmanager
def schedule_expander():
    """An expander with the schedule's controls and formula, built only while open (a
    closed one sends nothing). Yields the schedule, and whether the expander is open (to
    add more to it)."""
    keep_state(f.key for f in schedule_fields())
    with st.expander("Learning-rate schedule", expanded=st.session_state.sched != "constant", key="open.sched",
                     on_change="rerun") as box:
        schedule = schedule_controls() if box.open else current_schedule()
        if box.open:
            st.latex(schedule_latex(schedule))
        yield schedule, box.open


def schedule_controls() -> ScheduleConfig:
    kind = st.selectbox("Learning-rate schedule", list(SCHEDULE_SPECS), key="sched",
                        format_func=lambda k: SCHEDULE_SPECS[k].title)
    spec = SCHEDULE_SPECS[kind]
    for p in spec.params:
        _number(f"sched.{kind}.{p.name}", p.name.replace("_", " "), p.low, p.high, p.log, help=p.help,
                integer=p.kind == "int")
    st.number_input("Warm-up steps (0 = none)", min_value=0, max_value=optimizers.MAX_STEPS, step=10, key="warmup")
    return current_schedule()


def schedule_latex(config: ScheduleConfig) -> str:
    from optimizers.schedules import WARMUP_LATEX

    body = SCHEDULE_SPECS[config.kind].latex
    return body if not config.warmup_steps else body + r",\qquad " + WARMUP_LATEX.replace("schedule", r"\text{schedule}")

