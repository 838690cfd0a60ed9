"""Widgets for the control groups pages share (experiments.common): the surface picker,
every optimizer's hyperparameters, the learning-rate schedule.

Each widget reads and writes st.session_state under its URL key, so ``urlstate.current``
reads a page's Settings straight back. Labels and help come from the message catalog
(controls.toml). The ``*_fields`` functions are the older field-list API, kept while pages
move to Settings.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import numpy as np
import streamlit as st

import optimizers
import surfaces
from catalog import has, t
from charts.optimizers import bias_ratio_figure
from experiments.common import CUSTOM, DOMAIN_LIMIT, EXPRESSION_LIMIT
from experiments.common import ScheduleChoice, SurfaceChoice, hyper_key
from experiments.schema import Settings
from optimizers.registry import HyperParam
from optimizers.schedules import SPECS as SCHEDULE_SPECS
from optimizers.schedules import WARMUP_LATEX, ScheduleConfig
from surfaces.base import Surface
from ui.plots import plotly_chart

SURFACE_ECHO_LIMIT = 120  # a typed formula in a page's heading
ERROR_ECHO_LIMIT = 160  # an expression error quotes a part of the formula: show it whole
DOMAIN_KEYS = ("xmin", "xmax", "ymin", "ymax")


def surface_title(key: str) -> str:
    return t("controls.surface.custom") if key == CUSTOM else surfaces.get(key).title


# ---------------------------------------------------------------------------------------
# Surfaces




def surface_picker() -> tuple[Surface | None, str | None]:
    """Draw the surface controls; returns (surface, None) or (None, the parser's reason)."""
    key = st.selectbox(t("controls.surface.label"), list(surfaces.names()) + [CUSTOM], key="surface",
                       format_func=surface_title)
    if key == CUSTOM:
        st.text_input(t("controls.surface.expression"), key="expr", max_chars=EXPRESSION_LIMIT,
                      help=t("controls.surface.expression_help"))
        labels = {"xmin": t("controls.surface.xmin"), "xmax": t("controls.surface.xmax"),
                  "ymin": t("controls.surface.ymin"), "ymax": t("controls.surface.ymax")}
        for col, k in zip(st.columns(4), DOMAIN_KEYS):
            col.number_input(labels[k], key=k, format="%g", step=0.5, min_value=-DOMAIN_LIMIT, max_value=DOMAIN_LIMIT)
    else:
        for name, p in surfaces.parameters(key).items():
            # A number box, not a slider: a new parameter value is a new function, which
            # compiles afresh (about a second), so it should be a deliberate change.
            label = f"surfaces.{key}.param.{name}"
            st.number_input(t(label) if has(label) else p.label, min_value=float(p.low), max_value=float(p.high),
                            key=f"{key}.{name}", step=float(10 ** np.floor(np.log10(max(abs(p.default), 1e-3)))) / 2, format="%g")
    try:
        return SurfaceChoice.from_values(st.session_state).build(), None
    except surfaces.ExpressionError as e:
        return None, str(e)


def surface_heading(surface: Surface, with_lesson: bool = False) -> str:
    """The surface's name as Markdown, and its lesson after it if asked (a typed formula
    has none). A typed formula is the user's text (the parser's canonical form of it, but
    '*' still makes italics): it is shown through catalog.echo."""
    from catalog import echo

    if surface.expression:
        return t("controls.surface.heading_custom", expression=echo.code(surface.expression, SURFACE_ECHO_LIMIT))
    heading = t("controls.surface.heading", name=surface.title)
    if with_lesson and surface.lesson:
        return t("controls.surface.with_lesson", heading=heading, lesson=surface.lesson)
    return heading


def surface_or_stop(spec: type[Settings], notices: list[str]) -> Surface:
    """The sidebar's surface picker. On a bad expression: the message, the notices, the
    URL kept up to date, and the page stops here (nothing else the user set is lost).
    ``spec``: the page's Settings class, for the URL."""
    from catalog import echo
    from ui import frame, urlstate

    with st.sidebar:
        surface, error = surface_picker()
    if surface is None:
        frame.notices(notices)
        st.error(t("controls.surface.expression_error", error=echo.code(error, ERROR_ECHO_LIMIT)))
        urlstate.publish(spec)
        st.stop()
    return surface


def follow_start(surface: Surface, keys: tuple[str, str], memo_name: str) -> None:
    """A new surface brings its own suggested start (a start typed for the old one rarely
    fits): reset the session-state point ``keys`` when the surface changed (remembered
    under ``memo_name``, through ui.memo) or when the point is unset."""
    from ui import memo

    if memo.changed(memo_name, surface_signature(surface)) or st.session_state.get(keys[0]) is None:
        st.session_state[keys[0]], st.session_state[keys[1]] = map(float, (surface.starts or ((0.0, 0.0),))[0])


def surface_signature(surface: Surface) -> tuple:
    """What makes a surface another one for a page: its key, formula, domain, parameters."""
    return (surface.key, surface.expression, surface.domain, surface.params)


# ---------------------------------------------------------------------------------------
# Numbers


def setting_widget_args(area: str, settings_cls: type, key: str, ranged: bool = False,
                        **params: Any) -> dict[str, Any]:
    """The label and help (catalog ``<area>.label.<name>`` and ``<area>.help.<name>``, the
    name being the key after its "c." or "i." prefix), the session-state key and
    (``ranged``) the bounds of the widget of setting ``key`` of ``settings_cls``;
    ``params`` fill the label's and help's placeholders."""
    name = key.split(".", 1)[1]
    out: dict[str, Any] = dict(label=t(f"{area}.label.{name}", **params), key=key)
    if has(f"{area}.help.{name}"):
        out["help"] = t(f"{area}.help.{name}", **params)
    if ranged:
        field = settings_cls.field_of(key)
        out.update(min_value=field.low, max_value=field.high)
    return out


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


def number_widget(key: str, label: str, low: float, high: float, log: bool, step: float | None = None,
                  help: str | None = None, integer: bool = False) -> Any:
    """A number control for session-state ``key``: a whole-number box, a slider over a
    1-1.5-2-3-5-7 grid for a log-scale range, or a plain slider."""
    if integer:
        return st.number_input(label, min_value=int(low), max_value=int(high), step=1, key=key, help=help)
    if log and low > 0:
        current = st.session_state.get(key)
        return st.select_slider(label, options=log_grid(low, high, current), key=key, help=help,
                                format_func=lambda v: f"{v:g}")
    return st.slider(label, min_value=float(low), max_value=float(high), step=step or (high - low) / 100,
                     key=key, help=help, format="%g")


def param_label(name: str) -> str:
    """A hyperparameter's or schedule parameter's label, by its name."""
    key = f"controls.label.{name}"
    return t(key) if has(key) else name.replace("_", " ")


# ---------------------------------------------------------------------------------------
# Optimizers




def hyper_help(opt: str, name: str) -> str | None:
    """What a hyperparameter does, from the catalog (none if it has no entry)."""
    key = f"controls.hyper.{opt}.{name}"
    return t(key) if has(key) else None


def hyper_widget(opt: str, h: HyperParam, label: str | None = None) -> None:
    """The control of one optimizer's hyperparameter ``h``."""
    key = hyper_key(opt, h.name)
    label = label or param_label(h.name)
    if h.kind == "bool":
        st.toggle(label, key=key, help=hyper_help(opt, h.name))
        return
    step = 0.001 if h.high <= 1 else None
    number_widget(key, label, h.low, h.high, h.log, step=step, help=hyper_help(opt, h.name))


def hyper_values(opt: str) -> dict[str, float]:
    """One optimizer's hyperparameters as the session state holds them."""
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
            rule_formula(opt)
            for h in spec.hyperparams:
                if h.name not in skip:
                    hyper_widget(opt, h)
            bias_ratio_chart(opt)
            if note:
                st.caption(note)
    return {k: v for k, v in hyper_values(opt).items() if k not in skip}


def rule_formula(opt: str) -> None:
    """The update rule with the settings in use written in (RAdam's threshold, RMSProp's
    start), and its note: the convention it follows where Optax or the notes differ."""
    spec = optimizers.REGISTRY[opt]
    st.latex(spec.latex_for(hyper_values(opt)))
    if spec.note:
        st.caption(spec.note)


def bias_ratio_chart(opt: str) -> None:
    """With bias correction switched off: how many times larger each step is than the
    corrected one, (1 − β₁ᵗ)/√(1 − β₂ᵗ), over the steps."""
    if "bias_correction" not in optimizers.REGISTRY[opt].hyper_names:
        return
    h = hyper_values(opt)
    if not h["bias_correction"]:
        plotly_chart(bias_ratio_figure(h["b1"], h["b2"]), width="stretch", config={"staticPlot": True},
                     key=f"bias_ratio.{opt}")


# ---------------------------------------------------------------------------------------
# Schedules




def keep_state(keys: Iterable[str]) -> None:
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


def schedule_title(kind: str) -> str:
    key = f"controls.schedule.{kind}.title"
    return t(key) if has(key) else SCHEDULE_SPECS[kind].title


@contextmanager
def schedule_expander() -> Iterator[tuple[ScheduleConfig, bool]]:
    """An expander with the schedule's controls and formula, built only while open (a
    closed one sends nothing). Yields the schedule, and whether the expander is open (to
    add more to it)."""
    keep_state(f.key for f in ScheduleChoice.fields())
    with st.expander(t("controls.schedule.label"), expanded=st.session_state.sched != "constant", key="open.sched",
                     on_change="rerun") as box:
        schedule = schedule_controls() if box.open else current_schedule()
        if box.open:
            st.latex(schedule_latex(schedule))
            note = f"controls.schedule.{schedule.kind}.formula"
            if has(note):
                st.caption(t(note))
        yield schedule, box.open


def schedule_controls() -> ScheduleConfig:
    kind = st.selectbox(t("controls.schedule.label"), list(SCHEDULE_SPECS), key="sched", format_func=schedule_title)
    for p in SCHEDULE_SPECS[kind].params:
        help_key = f"controls.schedule.{kind}.help.{p.name}"
        number_widget(f"sched.{kind}.{p.name}", param_label(p.name), p.low, p.high, p.log,
                      help=t(help_key) if has(help_key) else None, integer=p.kind == "int")
    st.number_input(t("controls.schedule.warmup"), min_value=0, max_value=optimizers.MAX_STEPS, step=10, key="warmup")
    return current_schedule()


def schedule_latex(config: ScheduleConfig) -> str:
    body = SCHEDULE_SPECS[config.kind].latex
    if not config.warmup_steps:
        return body
    return body + r",\qquad " + WARMUP_LATEX.replace("schedule", r"\text{schedule}")

