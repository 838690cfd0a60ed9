"""The Inside page's widgets and views (pages/6_Inside.py): the view picker, each view's
controls, and the charts and sentences of a result of ``experiments.inside.run``.

Every widget's session-state key is its URL key in ``experiments.inside.Settings``
(``i.<name>``), so the URL, the lessons and ``urlstate.current`` see what it holds.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import streamlit as st

from catalog import t
from charts import inside as charts
from classifier import census
from experiments import classifier as ex
from experiments import inside
from experiments.schema import Notice
from ui.classifier_controls import choice_title, optimizer_title, widget_args
from ui.controls import setting_widget_args
from ui.plots import plotly_chart


def say(n: Notice) -> str:
    """A progress message or notice of the Inside page's work, in words."""
    return t(n.key, **n.params)


def _args(name: str, ranged: bool = False, **params: Any) -> dict[str, Any]:
    """Label, key, help and (``ranged``) bounds of the widget of setting ``i.<name>``."""
    return setting_widget_args("inside", inside.Settings, f"i.{name}", ranged, **params)


def view_picker() -> inside.View:
    st.segmented_control(options=[v.value for v in inside.View], format_func=lambda v: t(f"inside.view.{v}"),
                         **_args("view"))
    if st.session_state.get("i.view") is None:  # a segmented control can be clicked off: keep a view
        st.session_state["i.view"] = inside.View.SPECTRUM.value
    return inside.View(st.session_state["i.view"])


def view_controls(view: inside.View) -> None:
    """The controls of one view, drawn before it is computed."""
    S = st.session_state
    if view is inside.View.SPECTRUM:
        st.toggle(**_args("evolve"))
    elif view is inside.View.LANDSCAPE:
        c1, c2, c3, c4 = st.columns([1.2, 1.2, 0.8, 1.6], gap="medium")
        c1.slider(step=0.05, **_args("extent", ranged=True))
        c2.slider(step=2, **_args("res", ranged=True))
        c3.number_input(step=1, **_args("dseed", ranged=True))
        with c4:
            st.radio(options=[v.value for v in inside.Versus], format_func=lambda v: t(f"inside.versus.{v}"),
                     horizontal=True, **_args("vs"))
            if S["i.vs"] == inside.Versus.BATCHING.value:
                st.radio(options=[b.value for b in ex.Batching], format_func=choice_title("batching"),
                         horizontal=True, **_args("vsb"))
            elif S["i.vs"] == inside.Versus.OPTIMIZER.value:
                st.selectbox(options=ex.NAMES, format_func=optimizer_title, **_args("vso"))
    else:
        c1, c2, c3 = st.columns([2, 2, 1], gap="medium")
        c1.slider(step=1, **_args("nets", ranged=True))
        c2.slider(step=1, **_args("cwidth", ranged=True))
        c3.number_input(step=1, **_args("cseed", ranged=True))


def show(result: inside.Result) -> None:
    {inside.View.SPECTRUM: _spectrum, inside.View.LANDSCAPE: _landscape, inside.View.CENSUS: _census}[result.view](
        result)


def _epoch_slider(result: inside.Result) -> None:
    kept = list(result.net.kept_epochs)
    if len(kept) > 1:
        st.select_slider(options=kept, **widget_args("at", kept=len(kept)))


def _spectrum(result: inside.Result) -> None:
    point, net = result.spectrum, result.net
    s = point.spectrum
    left, right = st.columns([1.3, 1], gap="medium")
    with left:
        _epoch_slider(result)
        title = t("inside.spectrum.title", optimizer=optimizer_title(net.shown), epoch=net.at)
        if s.exact:
            plotly_chart(charts.spectrum_figure(s.eigenvalues, s.tol, title=title), width="stretch")
            plotly_chart(charts.magnitude_figure(s.eigenvalues, s.tol, title=t("inside.magnitude.title")),
                         width="stretch")
        else:
            plotly_chart(charts.density_figure(s.grid, s.density, s.tol, title=title), width="stretch")
    with right:
        st.markdown(t("inside.spectrum.counts_exact" if s.exact else "inside.spectrum.counts_estimated",
                      n=s.n_params, negative=s.n_negative, flat=s.n_flat, positive=s.n_positive,
                      ratio=s.min_ratio, top=float(s.top[0]), tol=s.tol))
        if point.n_gauge:
            st.caption(t("inside.spectrum.gauge", gauge=point.n_gauge))
        st.markdown(t(f"inside.spectrum.verdict.{point.verdict}") + " " + t("inside.spectrum.gradient",
                                                                             norm=point.grad_norm))
        st.caption(t("inside.spectrum.caption_exact" if s.exact else "inside.spectrum.caption_slq"))
    if result.evolution is not None:
        e = result.evolution
        plotly_chart(charts.evolution_figure(e.epochs, e.top, e.negative_fraction, at=net.at,
                                             title=t("inside.evolution.title")), width="stretch")
        st.caption(t("inside.evolution.caption"))
    elif not result.settings.evolve:
        st.caption(t("inside.evolution.off"))


def _landscape(result: inside.Result) -> None:
    lands, net = result.landscapes, result.net
    names = {"a": _run_label(net)}
    if result.second is not None:
        names["b"] = _run_label(result.second)
    st.subheader(t("inside.interpolation.section"))
    plotly_chart(charts.interpolation_figure({names[k]: v.interpolation for k, v in lands.items()},
                                             title=t("inside.interpolation.title")), width="stretch")
    st.caption(t("inside.interpolation.caption"))
    st.subheader(t("inside.landscape.section"))
    cols = st.columns(len(lands), gap="medium")
    levels = charts.common_levels(*(v.plane[2] for v in lands.values()))
    for col, (k, v) in zip(cols, lands.items()):
        with col:
            a, b, z = v.plane
            title = t("inside.landscape.title", name=names[k], top=v.top_eigenvalue, rise=v.flatness.rise,
                      radius=v.flatness.radius)
            plotly_chart(charts.plane_figure(a, b, z, title=title, levels=levels), width="stretch")
            if result.settings.surface3d:
                plotly_chart(charts.plane3d_figure(a, b, z), width="stretch")
    st.toggle(**_args("3d"))
    st.caption(t("inside.landscape.caption", extent=result.settings.extent))
    if len(lands) > 1:
        _sharper(lands, names)
    st.subheader(t("inside.trajectory.section"))
    cols = st.columns(len(lands), gap="medium")
    for col, (k, v) in zip(cols, lands.items()):
        run = (result.second if k == "b" else net).shown_run
        tp = v.trajectory
        with col:
            plotly_chart(charts.trajectory_figure(tp.alphas, tp.betas, tp.losses, tp.coords, run.snapshot_epochs,
                                                  _at_snapshots(run), tp.explained,
                                                  title=t("inside.trajectory.title", name=names[k])), width="stretch")
    st.caption(t("inside.trajectory.caption"))


def _at_snapshots(run) -> list[float]:
    """The training loss at each kept epoch (the path's hover and 3-D height)."""
    return [float(run.train_loss[min(int(e), len(run.train_loss) - 1)]) for e in run.snapshot_epochs]


def _sharper(lands: dict[str, inside.Landscape], names: dict[str, str]) -> None:
    """Which network is sharper, by the top eigenvalue and by the filter-normalized rise:
    two measures that need not agree (the eigenvalue changes when ReLU layers are
    rescaled, the filter-normalized slice does not), so both are said."""
    by_top = max(lands, key=lambda k: lands[k].top_eigenvalue)
    by_rise = max(lands, key=lambda k: lands[k].flatness.rise)
    other = {"a": "b", "b": "a"}
    params = dict(top_sharp=lands[by_top].top_eigenvalue, top_flat=lands[other[by_top]].top_eigenvalue,
                  rise_sharp=lands[by_rise].flatness.rise, rise_flat=lands[other[by_rise]].flatness.rise,
                  radius=lands["a"].flatness.radius)
    if by_top == by_rise:
        st.markdown(t("inside.landscape.sharper_both", sharp=names[by_top], flat=names[other[by_top]], **params))
    else:
        st.markdown(t("inside.landscape.sharper_split", by_top=names[by_top], by_rise=names[by_rise], **params))


def _run_label(net: ex.Result) -> str:
    """A trained network's name: its optimizer and its batching."""
    s = net.settings
    batching = (t("inside.versus.mini", size=s.batch_size) if s.batching == ex.Batching.MINI.value
                else t(f"classifier.batching.{s.batching}"))
    return t("inside.versus.run_label", optimizer=optimizer_title(net.shown), batching=batching)


def _census(result: inside.Result) -> None:
    c = result.census
    ok = np.flatnonzero(c.converged)
    counts = {k.value: c.count(k) for k in census.KINDS}
    left, right = st.columns([1.4, 1], gap="medium")
    with left:
        plotly_chart(charts.census_figure(c.min_ratio[ok], c.loss[ok], [c.kinds[i].value for i in ok],
                                          c.n_negative[ok], title=t("inside.census.title")), width="stretch")
    with right:
        st.markdown(t("inside.census.summary", n=len(c.seeds), converged=c.n_converged, width=c.arch.hidden[0],
                      params=c.n_params, counted=c.n_counted, points=c.n_points, **counts))
        if c.n_converged:
            st.markdown(t("inside.census.verdict_many_saddles" if counts["saddle"] > c.n_converged / 2
                          else "inside.census.verdict_few_saddles", share=counts["saddle"] / c.n_converged))
            negative = c.eigenvalues[ok][c.n_negative[ok] > 0]
            if negative.size:
                lowest = float(negative.min())
                st.caption(t("inside.census.shallow", lowest=lowest, top=float(np.median(c.eigenvalues[ok, -1])),
                              rate=c.config.learning_rate, steps=1.0 / (c.config.learning_rate * abs(lowest))))
        st.caption(t("inside.census.caption"))
