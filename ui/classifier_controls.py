"""The Classifier page's widgets (pages/4_Classifier.py): the sidebar, the optimizer row,
the lessons, the update rules, the verdict boxes and the ideas tab set, plus the words
they need (titles, notices) from ``catalog/en/classifier.toml``.

Every widget's session-state key is its URL key from ``experiments.classifier.Settings``
(``c.<name>``, or the optimizer and schedule keys of ``ui.controls``), so the URL, the
lessons and ``urlstate.current`` all see what the widgets hold.

An uploaded CSV file is not a setting (a link cannot carry it): the uploader's callback
parses it once into session state (``UPLOAD``, a ``datasets.Upload``; never written to
disk), and ``current()`` is ``urlstate.current`` with it attached. A refused file leaves
every setting and the previous file as they were; its ``CsvError`` is shown instead.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

import streamlit as st

import optimizers
from catalog import t
from charts import classifier as charts
from classifier import datasets
from classifier import model as mlp
from classifier.losses import LOSSES
from experiments import classifier as ex
from experiments import depth
from experiments.schema import Notice
from catalog import echo
from ui import frame, jobs, urlstate
from ui import training_cache as cache
from ui.controls import bias_ratio_chart, hyper_help, hyper_key, hyper_widget, log_grid, number_widget
from ui.controls import rule_formula, schedule_expander, setting_widget_args
from ui.plots import plotly_chart

UPLOAD = "_c_upload"  # the session's parsed CSV file (datasets.Upload), or None
UPLOAD_ERROR = "_c_upload_error"  # the last file refused (datasets.CsvError), or None
UPLOADER = "c_csv_file"  # the file uploader's own key (not a setting, not in the URL)
# Extensions the uploader takes: a workbook or a tab-separated export gets our message
# saying how to save it as CSV, rather than the browser's bare refusal.
UPLOAD_TYPES = ("csv", "txt", "tsv", "xlsx", "xls")
UPLOAD_MB = 1  # per file; .streamlit/config.toml sets the same server-wide

SettingsT = TypeVar("SettingsT", bound=ex.Settings)

# Message box and icon of each run outcome worth a box above the charts.
VERDICT_BOXES = {ex.Outcome.DIVERGED: (st.error, "💥"), ex.Outcome.EARLY_STOPPED: (st.info, "✋"),
                 ex.Outcome.LOSS_ROSE: (st.warning, "⚠️")}


# ---------------------------------------------------------------------------------------
# Words


def optimizer_title(key: str) -> str:
    """An optimizer's title, by its registry key."""
    return optimizers.REGISTRY[key].title


def data_title(key: str) -> str:
    """A data set's title, by its name in ``classifier.datasets``."""
    return t(f"classifier.data.{key}.title")


def choice_title(table: str) -> Callable[[str], str]:
    """The ``format_func`` of a choice whose titles are the catalog table ``classifier.<table>``."""
    return lambda key: t(f"classifier.{table}.{key}")


def say(n: Notice) -> str:
    """A notice or progress message of experiments.classifier, in words."""
    p = {**n.params, **{k: optimizer_title(n.params[k]) for k in ("optimizer", "instead") if k in n.params}}
    return t(n.key, **(p | {"data": data_title(p["data"])} if "data" in p else p))


def widget_args(name: str, ranged: bool = False, **params: Any) -> dict[str, Any]:
    """The label, key, help and (``ranged``) bounds of the widget of setting ``c.<name>``;
    ``params`` fill the label's and help's placeholders."""
    return setting_widget_args("classifier", ex.Settings, f"c.{name}", ranged, **params)


w = widget_args  # short: nearly every widget below spreads it


def plan_reporter(notice_box: Any, cut_box: Any) -> Callable[[ex.Plan, list[Notice]], None]:
    """``ex.run``'s on_plan for a page: notices found so far into ``notice_box``, and what
    the work budget cut into ``cut_box``, said before training starts."""
    def show_plan(plan: ex.Plan, found: list[Notice]) -> None:
        with notice_box:
            frame.notices([say(n) for n in found])
        for warning in ([" ".join(say(n) for n in plan.cuts())] if plan.cuts() else []) + [
                say(n) for n in (plan.update_cap(),) if n is not None]:
            cut_box.warning(warning, icon="⏱️")
    return show_plan


def in_queue(slot: Any) -> ex.Runner:
    """``ex.run``'s runner for a page: training in the server's heavy-work queue, its
    progress bar in ``slot``."""
    return lambda job: jobs.run(lambda report: job(lambda f, n: report(f, say(n))), t("classifier.progress.waiting"),
                                slot)


# ---------------------------------------------------------------------------------------
# Controls


def current(settings_cls: type[SettingsT] = ex.Settings) -> SettingsT:  # type: ignore[assignment]
    """The settings the session state holds, with the session's uploaded file
    (``settings_cls``: ex.Settings or a page's subclass of it)."""
    return urlstate.current(settings_cls).with_upload(st.session_state.get(UPLOAD))


def read_upload() -> None:
    """The uploader's callback: parse the file once. A refused file keeps the previous
    one (and every setting). Emptying the uploader keeps it too: a browser replacing the
    file in a single-file uploader first empties it, and a refused replacement must not
    lose the file in use. Another data set is chosen with the data set box."""
    S = st.session_state
    file = S.get(UPLOADER)
    if file is None:
        S[UPLOAD_ERROR] = None
        return
    try:
        S[UPLOAD], S[UPLOAD_ERROR] = datasets.Upload.read(file.getvalue(), file.name), None
    except datasets.CsvError as e:
        S[UPLOAD_ERROR] = e


def upload_box() -> None:
    """The file uploader, what it holds, and why a file was refused."""
    S = st.session_state
    st.file_uploader(t("classifier.csv.upload"), type=list(UPLOAD_TYPES), key=UPLOADER, on_change=read_upload,
                     max_upload_size=UPLOAD_MB, help=t("classifier.csv.help", most=datasets.MAX_POINTS))
    upload, error = S.get(UPLOAD), S.get(UPLOAD_ERROR)
    if error is not None:
        st.error(str(error), icon="🚫")
    if upload is not None:
        name = echo.code(upload.file_name or "CSV")
        if error is not None:
            st.caption(t("classifier.csv.kept", name=name))
        labels = ", ".join(t("classifier.csv.class_of", index=i, label=echo.code(n, 20))
                           for i, n in enumerate(upload.table.class_names))
        st.caption(t("classifier.csv.using", name=name, rows=upload.n_rows, labels=labels))
    st.caption(t("classifier.csv.ignored"))


def download_button(settings: ex.Settings) -> None:
    """The data set in view as a CSV file (written only when the button is clicked)."""
    p = settings.data_params()
    data = cache.dataset(p)
    st.download_button(t("classifier.csv.download"), data=lambda: cache.csv_text(p), mime="text/csv",
                       file_name=f"{'my_data' if p.name == ex.CSV else p.name}.csv", on_click="ignore",
                       help=t("classifier.csv.download_help", points=data.n_train + data.n_val + data.n_test),
                       key="c_csv_download")


def sidebar() -> None:
    """The sidebar: data, network and training settings (those another setting rules out
    must be settled before this draws them). Noise, points and classes are an uploaded
    file's own: their controls are not drawn for CSV (their values are kept)."""
    S = st.session_state
    with st.sidebar:
        st.markdown(f"#### {t('classifier.section.data')}")
        st.selectbox(options=[*datasets.names(), ex.CSV], format_func=data_title, **w("data"))
        own = S["c.data"] == ex.CSV
        if own:
            upload_box()
        elif len(offered := datasets.DATASETS[S["c.data"]].classes) > 1:
            st.radio(options=list(offered), horizontal=True, **w("classes"))
        for name, step in (("noise", 0.01), ("points", 10), ("test", 0.05), ("val", 0.05)):
            if not (own and name in ("noise", "points")):
                st.slider(step=step, **w(name, ranged=True, most=datasets.MAX_POINTS))
        st.number_input(step=1, **w("seed", ranged=True))
        for name in ("badscale", "norm"):
            st.toggle(**w(name))
        download_button(current())
        st.markdown(f"#### {t('classifier.section.network')}")
        st.slider(**w("layers", ranged=True))
        if S["c.layers"] > 0:
            st.slider(**w("width", ranged=True))
        st.selectbox(options=list(mlp.ACTIVATIONS), format_func=choice_title("activation"), **w("act"))
        st.selectbox(options=list(mlp.INITS), format_func=choice_title("init"), **w("init"))
        if S["c.layers"] > 0:
            st.toggle(**w("bn"))
        st.markdown(f"#### {t('classifier.section.training')}")
        st.radio(options=list(LOSSES), format_func=choice_title("loss"), horizontal=True, **w("loss"))
        st.select_slider(options=[0.0] + log_grid(*ex.L2_RANGE, S["c.l2"] or None), format_func=lambda v: f"{v:g}",
                         **w("l2"))
        st.slider(step=0.05, **w("dropout", ranged=True))
        st.toggle(**w("es"))
        if S["c.es"]:
            st.number_input(step=5, **w("patience", ranged=True))
        st.radio(options=[b.value for b in ex.Batching], format_func=choice_title("batching"), horizontal=True,
                 **w("batch"))
        if S["c.batch"] == ex.Batching.MINI:
            st.select_slider(options=ex.BATCH_SIZES, **w("bs"))
        st.number_input(step=50, **w("epochs", ranged=True, most=ex.MAX_EPOCHS))


def load_lesson(lesson: ex.Lesson) -> None:
    """Every setting back to this page's default, then the lesson's own (a button's callback)."""
    for key, value in ex.lesson(lesson).values().items():
        st.session_state[key] = list(value) if isinstance(value, tuple) else value


def lessons() -> None:
    """The expander of one-click lessons: a button and what it shows, per lesson."""
    with st.expander(t("classifier.section.lessons")):
        for i, lesson in enumerate(ex.Lesson):
            b, c = st.columns([1, 4], vertical_alignment="center")
            b.button(t(f"classifier.lesson.{lesson.value}.name"), key=f"c.exp{i}", on_click=load_lesson,
                     args=(lesson,), width="stretch")
            c.caption(t(f"classifier.lesson.{lesson.value}.what"))


def optimizer_row(n_train: int) -> ex.Settings:
    """The row above the results: the optimizer (or the ones compared), their learning
    rates, and the schedule with the updates per epoch for ``n_train`` training points.
    Returns the settings with these widgets' values."""
    S = st.session_state
    top = st.columns([1, 1.2, 1.1], gap="medium")
    with top[0]:
        st.toggle(**w("compare"))
        if S["c.compare"]:
            st.multiselect(options=ex.NAMES, format_func=optimizer_title, **w("opts"))
        else:
            st.selectbox(options=ex.NAMES, format_func=optimizer_title, **w("opt"))
    settings = current()
    with top[1]:
        for k in settings.race:
            h = optimizers.REGISTRY[k].hyperparam("learning_rate")
            label = t("classifier.label.learning_rate_of", optimizer=optimizer_title(k)) if settings.compare else None
            number_widget(hyper_key(k, h.name), label or t("classifier.label.learning_rate"), h.low, h.high, h.log,
                          help=hyper_help(k, h.name))
    with top[2], schedule_expander() as (_, schedule_open):
        if schedule_open:
            steps = ex.steps_per_epoch(settings, n_train)
            st.caption(t("classifier.schedule.updates", steps=steps) if steps > 1
                       else t("classifier.schedule.one_update"))
    return current()


def update_rules(race: tuple[str, ...]) -> None:
    """An expander with each raced optimizer's rule and its hyperparameters besides η
    (which stays in view in the optimizer row)."""
    with st.expander(t("classifier.label.update_rules" if len(race) > 1 else "classifier.label.update_rule")):
        for k in race:
            spec = optimizers.REGISTRY[k]
            st.markdown(f"**{spec.title}** — {spec.summary}")
            rule_formula(k)
            for col, h in zip(st.columns(4) * 2, [h for h in spec.hyperparams if h.name != "learning_rate"]):
                with col:
                    hyper_widget(k, h)
            bias_ratio_chart(k)


# ---------------------------------------------------------------------------------------
# Results in words


def verdict_boxes(result: ex.Result) -> None:
    """A box per run that diverged, stopped early or ended with a higher loss."""
    for k, v in ((k, v) for k, v in result.verdicts.items() if v.outcome in VERDICT_BOXES):
        box, icon = VERDICT_BOXES[v.outcome]
        held = t("classifier.chart.validation" if result.runs[k].has_validation else "classifier.chart.test")
        box(t(f"classifier.verdict.{v.outcome.value}", optimizer=optimizer_title(k), **v._asdict(),
              patience=result.settings.patience, shown_to=(v.epoch or 0) - 1, held=held), icon=icon)


def ideas() -> None:
    """The expander with a tab per idea behind the switches: its formulas and text."""
    with st.expander(t("classifier.section.ideas")):
        for tab, (key, formulas) in zip(st.tabs([t(f"classifier.idea.{k}.tab") for k in charts.IDEA_FORMULAS]),
                                        charts.IDEA_FORMULAS.items()):
            with tab:
                for formula in formulas:
                    st.latex(formula)
                st.caption(t(f"classifier.idea.{key}.text"))
                if key == "batch_size":
                    batch_timing()


def batch_timing() -> None:
    """The measured time per epoch and per update against batch size (benchmarks/)."""
    timing = ex.batch_timing()
    if timing is None:
        return
    plotly_chart(charts.batch_timing_figure(timing.batch, timing.per_epoch, timing.per_update,
                                            title=t("classifier.timing.title")), width="stretch")
    slow, fast = timing.per_epoch[0], timing.per_epoch[-1]
    st.caption(t("classifier.timing.caption", n_train=timing.n_train, measured=timing.measured,
                 machine=timing.machine, small=timing.batch[0], large=timing.batch[-1], slow=1e3 * slow,
                 fast=1e3 * fast, ratio=timing.per_update[-1] / timing.per_update[0],
                 examples=timing.batch[-1] // max(timing.batch[0], 1)))


def depth_section(settings: ex.Settings, data: datasets.Dataset, slot: Any) -> None:
    """Accuracy against depth, sigmoid against ReLU (experiments/depth.py): trained in the
    heavy-work queue only when its toggle is on, its result kept for every session."""
    st.subheader(t("classifier.depth.section"))
    st.toggle(t("classifier.depth.toggle", deepest=depth.DEPTHS[-1]), key="c.depth", help=t("classifier.depth.help"))
    if not settings.depth_sweep:
        st.caption(t("classifier.depth.off"))
        return
    plan = depth.plan(settings, data)
    for n in plan.cuts():
        st.warning(say(n))
    say_act = {act: t(f"classifier.activation.{act}") for act, _ in depth.PAIRS}

    def work(report: Callable[[float, str], None]) -> depth.DepthResult:
        return depth.job(plan, data)(lambda f, n: report(f, t(n.key, **(n.params | (
            {"activation": say_act[n.params["activation"]]} if "activation" in n.params else {})))))

    result = jobs.cached(repr(("classifier.depth", settings.data_params(), plan.configs)), work,
                         t("classifier.progress.waiting"), slot)
    optimizer = settings.race[0] if settings.race else settings.optimizer
    plotly_chart(charts.depth_figure(result.depths, result.test_acc, result.chance,
                                     {act: t(f"classifier.depth.{act}") for act in result.test_acc},
                                     title=t("classifier.depth.title", optimizer=optimizer_title(optimizer),
                                             epochs=result.epochs, width=settings.width)), width="stretch")
    st.caption(t("classifier.depth.caption"))
