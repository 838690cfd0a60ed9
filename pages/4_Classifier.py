"""Classifier: train a small network on 2-D points, TensorFlow-Playground style, with the
course's ideas (normalization, initialization, softmax and losses, regularization, batch
size, optimizers) as switches. What it computes is experiments/classifier.py."""
from __future__ import annotations

from ui.preload import plotly_early

plotly_early()  # first, before the heavy imports below: the browser fetches Plotly.js meanwhile

import streamlit as st  # noqa: E402

from catalog import t  # noqa: E402
from charts import classifier as charts  # noqa: E402
from experiments import classifier as ex  # noqa: E402
from ui import classifier_controls as controls  # noqa: E402
from ui import frame, lesson, urlstate  # noqa: E402
from ui import training_cache as cache  # noqa: E402
from ui.classifier_controls import data_title, optimizer_title, say, widget_args  # noqa: E402
from ui.controls import keep_state  # noqa: E402
from ui.plots import plotly_chart  # noqa: E402

AT_FOLLOWS = "_c_at_last"  # the previous run's last kept epoch: a slider left there follows the end

frame.page("classifier")
notices = urlstate.restore(ex.Settings)
# Streamlit forgets the value of a widget not drawn in a run (another optimizer's
# hyperparameters, the batch size on full batch): every setting is kept as plain state.
keep_state(f.key for f in ex.Settings.schema())
S = st.session_state

asked = controls.current()  # with the session's uploaded file, if any
settled, fixes = ex.settle(asked)  # values other settings rule out, replaced before their widgets
S.update({k: v for k, v in settled.values().items() if v != asked.values()[k]})
notices += [say(n) for n in fixes]

controls.sidebar()

st.title(t("classifier.heading"))
lesson.panel("classifier")
notice_box = st.container()  # notices found later in the run go here too, above the results
with notice_box:
    frame.notices(notices)
settings = controls.current()
data, arch = cache.dataset(settings.data_params()), settings.architecture()
st.markdown(t("classifier.summary", data=data_title(data.name), classes=data.n_classes,
              lesson=t(f"classifier.data.{data.name}.lesson"), train=data.n_train, test=data.n_test,
              sizes=t("classifier.sizes_separator").join(str(s) for s in arch.sizes),
              activation=t(f"classifier.activation.{arch.activation}"), params=arch.n_params)
            + (" " + t("classifier.summary_val", val=data.n_val) if data.n_val else ""))
progress_slot = st.empty()  # near the top, so a long run's progress is in view
controls.lessons()
settings = controls.optimizer_row(data.n_train)
if not settings.race:
    st.warning(t("classifier.pick_optimizer"))
    urlstate.publish(settings)
    st.stop()
controls.update_rules(settings.race)
settings = controls.current()
cut_box = st.container()  # what the work budget cut, said before training starts



lesson.gate()  # a lesson step's results wait for its question to be revealed
follows = S["c.at"] is None or S["c.at"] == S.get(AT_FOLLOWS)
result = ex.run(settings.replace(**{"c.at": None}) if follows else settings, cache, controls.in_queue(progress_slot),
                on_plan=controls.plan_reporter(notice_box, cut_box))
shown, at, kept = result.shown_run, result.at, list(result.kept_epochs)
S["c.at"], S[AT_FOLLOWS] = at, kept[-1]
with notice_box:
    frame.notices([say(n) for n in result.notices if n.key == "classifier.notice.epoch"])
controls.verdict_boxes(result)

left, right = st.columns(2, gap="medium")
with left:
    if settings.comparing and len(result.plan.race) > 1:
        if S.get("c.show") not in result.plan.race:
            S["c.show"] = result.shown  # its optimizer was not trained (the work budget)
        st.selectbox(options=list(result.plan.race), format_func=optimizer_title, **widget_args("show"))
    if len(kept) > 1:
        st.select_slider(options=kept, **widget_args("at", kept=len(kept)))
    title = t("classifier.boundary.title", optimizer=optimizer_title(result.shown), epoch=at,
              train=result.train_acc_at, test=result.test_acc_at)
    plotly_chart(charts.decision_boundary_figure(
        *result.boundary, data.x_train_raw, data.y_train, data.x_test_raw, data.y_test, title=title, height=520,
        x_title=t("classifier.boundary.x_badly_scaled") if data.badly_scaled else None), width="stretch")
    st.caption(t("classifier.boundary.caption_two" if data.n_classes == 2 else "classifier.boundary.caption_many")
               + (" " + t("classifier.boundary.normalized") if data.normalized else ""))
with right:
    val = shown.has_validation
    plotly_chart(charts.curves_figure(result.runs, title=t("classifier.curves.title" + ("_val" if val else "")), at=at,
                                      height=520, log_loss=result.log_loss_axis, markers=result.markers),
                 width="stretch")
    st.caption(t("classifier.curves.caption") + (" " + t("classifier.curves.caption_val") if val else ""))
    if (o := result.overfitting) is not None:
        st.caption(t("classifier.verdict.overfitting", best=o.best_epoch, lowest=o.best_test_loss,
                     final=o.final_test_loss))

g1, g2 = st.columns(2, gap="medium")
with g1:
    norms_title = t("classifier.norms.title", optimizer=optimizer_title(result.shown))
    plotly_chart(charts.gradient_norms_figure(shown.epoch, shown.grad_norms, shown.layer_names, title=norms_title,
                                              decade_ticks=result.decade_ticks), width="stretch")
    st.caption(t("classifier.norms.caption"))
    for name, found in (("vanishing", result.vanishing), ("exploding", result.exploding)):
        if found is not None:
            st.caption(t(f"classifier.verdict.{name}", **found._asdict()))
with g2:
    st.toggle(**widget_args("sharp"))
    if result.plan.budget.dropped_sharpness:
        st.caption(t("classifier.sharpness.dropped"))
    elif settings.sharpness:
        plotly_chart(charts.sharpness_figure(result.runs, title=t("classifier.sharpness.title")), width="stretch")
        st.caption(t("classifier.sharpness.caption"))
    else:
        st.caption(t("classifier.sharpness.off"))

st.subheader(t("classifier.section.gradient_check"))
st.toggle(**widget_args("gc", epoch=at, optimizer=optimizer_title(result.shown)))
if (check := result.check) is None:
    st.caption(t("classifier.check.dropped" if settings.gradcheck else "classifier.check.off"))
elif check.verdict is ex.CheckVerdict.NOT_FINITE:
    st.warning(t("classifier.check.not_finite"))
else:
    c1, c2 = st.columns([1.2, 1], gap="medium")
    with c1:
        plotly_chart(charts.gradcheck_figure(check.result.layer_names, check.result.rel_errors, ex.GRADCHECK_TOL,
                                             title=t("classifier.check.title")), width="stretch")
    with c2:
        for formula in charts.gradcheck_formulas(check.eps_exponent):
            st.latex(formula)
        st.markdown(t(f"classifier.check.{check.verdict.value}", worst=check.worst, tol=ex.GRADCHECK_TOL))
        st.caption(t("classifier.check.caption", checked=check.n_checked))

controls.depth_section(result.settings, data, progress_slot)
controls.ideas()

urlstate.publish(result.settings, implied={"c.at": kept[-1], "c.show": settings.race[0]})
frame.footer()
