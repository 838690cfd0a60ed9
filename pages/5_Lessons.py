"""Lessons: the course, staged step by step on the other pages. This page lists them;
a step opens on its own page (ui.lesson draws it there)."""
from __future__ import annotations

import streamlit as st

import catalog
import lessons
from catalog import t
from ui import frame, lesson

frame.page("lessons")
library = lessons.library()
wanted, notice = lesson.find(*lesson.asked())
if wanted is not None and notice is None:  # a link to a step: open it on its page
    lesson.go(wanted.lesson, wanted.index, "lessons")

lang = catalog.language()
st.title(t("lessons.page.title"))
st.markdown(t("lessons.page.intro"))
if notice:
    st.warning(notice)
st.toggle(t("lessons.panel.present"), value=lesson.presenting(), key="lesson_present",
          on_change=lesson.toggle_present, help=t("lessons.panel.present_help"))

for e in library.errors:
    st.error(lesson.error_text(e), icon="⚠️")

for number, item in enumerate(library.lessons, 1):
    with st.container(border=True):
        st.markdown(t("lessons.page.item", number=number, title=item.title[lang]))
        st.markdown(item.summary[lang])
        concepts = t("lessons.page.separator").join(t(f"lessons.concept.{c}") for c in item.concepts)
        st.caption(t("lessons.page.about", n=len(item.steps), concepts=concepts))
        st.page_link(frame.BY_KEY[item.steps[0].page].path, label=t("lessons.page.start"), icon="▶️",
                     query_params=lesson.query_of(item.id, 0))
        with st.expander(t("lessons.page.steps")):
            for i, step in enumerate(item.steps):
                st.page_link(frame.BY_KEY[step.page].path, query_params=lesson.query_of(item.id, i),
                             label=t("lessons.page.step", k=i + 1, page=frame.BY_KEY[step.page].title,
                                     question=step.text[lang].question))

frame.footer()
