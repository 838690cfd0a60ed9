"""Inside the network: the Hessian spectrum, the loss landscape and the saddle census of
the Classifier's network, on the same settings. What it computes is experiments/inside.py;
the views are ui/inside_view.py."""
from __future__ import annotations

from ui.preload import plotly_early

plotly_early()  # first, before the heavy imports below: the browser fetches Plotly.js meanwhile

import streamlit as st  # noqa: E402

from catalog import t  # noqa: E402
from experiments import classifier as ex  # noqa: E402
from experiments import inside  # noqa: E402
from ui import classifier_controls as controls  # noqa: E402
from ui import frame, inside_view, jobs, lesson, urlstate  # noqa: E402
from ui import training_cache as cache  # noqa: E402
from ui.classifier_controls import data_title, say  # noqa: E402
from ui.controls import keep_state  # noqa: E402

AT_FOLLOWS = "_c_at_last"  # as on the Classifier page: a slider left at the last epoch follows the end

frame.page("inside")
notices = urlstate.restore(inside.Settings)
keep_state(f.key for f in inside.Settings.schema())
S = st.session_state

asked = controls.current(inside.Settings)
settled, fixes = ex.settle(asked)
S.update({k: v for k, v in settled.values().items() if v != asked.values()[k]})
notices += [say(n) for n in fixes]

controls.sidebar()

st.title(t("inside.heading"))
lesson.panel("inside")
notice_box = st.container()
with notice_box:
    frame.notices(notices)
settings = controls.current(inside.Settings)
data, arch = cache.dataset(settings.data_params()), settings.architecture()
st.markdown(t("inside.summary", data=data_title(data.name), train=data.n_train,
              sizes=t("classifier.sizes_separator").join(str(s) for s in arch.sizes),
              activation=t(f"classifier.activation.{arch.activation}"), params=arch.n_params))
progress_slot = st.empty()
settings = controls.optimizer_row(data.n_train)
if not settings.race:
    st.warning(t("classifier.pick_optimizer"))
    urlstate.publish(controls.current(inside.Settings))
    st.stop()
cut_box = st.container()



def heavy(key, job):
    """Spectra, landscapes and the census: in the queue, kept for every session by key."""
    return jobs.cached(repr(key), lambda report: job(lambda f, n: report(f, inside_view.say(n))),
                       t("inside.progress.waiting"), progress_slot)


view = inside_view.view_picker()
inside_view.view_controls(view)
settings = controls.current(inside.Settings)
lesson.gate()
follows = S["c.at"] is None or S["c.at"] == S.get(AT_FOLLOWS)
result = inside.run(settings.replace(**{"c.at": None}) if follows else settings, cache,
                    controls.in_queue(progress_slot), heavy, on_plan=controls.plan_reporter(notice_box, cut_box))
kept = list(result.net.kept_epochs)
S["c.at"], S[AT_FOLLOWS] = result.net.at, kept[-1]
with notice_box:
    frame.notices([say(n) for n in result.net.notices if n.key == "classifier.notice.epoch"])
for cut in result.notices:  # what the work budget cut here (the slices' grid)
    cut_box.warning(inside_view.say(cut), icon="⏱️")
controls.verdict_boxes(result.net)
inside_view.show(result)

urlstate.publish(result.settings, implied={"c.at": kept[-1], "c.show": result.net.settings.race[0]})
frame.footer()
