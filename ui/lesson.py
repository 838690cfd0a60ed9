"""A lesson step on the page it stages: the staging, the panel, the gate before the reveal.

The address says which step is on: ``?lesson=momentum&step=3`` (``present=1`` for the
projector), so a teacher can prepare links. On the page the step belongs to:

* ``stage(spec)`` (called by ``ui.urlstate.restore``) sets every control of the page to
  the step's settings once when the step comes on; from then on the controls are the
  user's again ("everything staged stays editable");
* ``panel()`` draws the lesson's title, progress, the text, the question with its
  choices, and after "show" the answer and what to notice, with Previous / Next,
  "explore from here" (leave the lesson, keep the settings) and the lesson list;
* ``gate()`` stops the page before its results until the question is revealed, so the
  class predicts before it sees.

Lessons themselves (files, checks) live in lessons/; no text is written here (catalog).
"""
from __future__ import annotations

from typing import NamedTuple

import streamlit as st

import catalog
import lessons
from catalog import t
from experiments.lessons import Settings as Address
from experiments.schema import Settings
from lessons import Lesson, Step
from catalog import echo
from ui import language, memo

LESSON, STEP, PRESENT = (f.key for f in Address.schema())
URL_KEYS = (LESSON, STEP, PRESENT)
_STAGED = "_lesson.staged"  # (lesson id, step index) last staged in this session
_REVEALED = "_lesson.revealed"  # {(lesson id, step index)} whose answer is shown
LESSONS_PAGE = "pages/5_Lessons.py"


class Active(NamedTuple):
    lesson: Lesson
    index: int  # 0-based

    @property
    def step(self) -> Step:
        return self.lesson.steps[self.index]

    @property
    def mark(self) -> tuple[str, int]:
        return self.lesson.id, self.index


def asked() -> tuple[str | None, str | None]:
    return st.query_params.get(LESSON), st.query_params.get(STEP)


def find(lesson_id: str | None, step: str | None) -> tuple[Active | None, str | None]:
    """The step the address asks for, or a notice (Markdown) saying why there is none."""
    if not lesson_id:
        return None, None
    library = lessons.library()
    lesson = library.get(lesson_id)
    if lesson is None:
        broken = next((e for e in library.errors if e.path.stem == lesson_id), None)
        if broken is not None:  # the file is there but malformed: say what is wrong with it
            return None, error_text(broken)
        return None, t("lessons.notice.no_lesson", lesson=echo.code(lesson_id, 40))
    try:
        k = int(step) if step is not None else 1
    except ValueError:
        k = 0
    if not 1 <= k <= len(lesson.steps):
        return Active(lesson, 0), t("lessons.notice.no_step", step=echo.code(step or "", 12), n=len(lesson.steps))
    return Active(lesson, k - 1), None


def active() -> Active | None:
    return find(*asked())[0]


def presenting() -> bool:
    return st.query_params.get(PRESENT) == "1"


def query_of(lesson_id: str | None, index: int | None) -> dict[str, str]:
    """The address of a step (the session's language and presenter mode travel along)."""
    q: dict[str, str] = {}
    if lesson_id is not None and index is not None:
        q.update({LESSON: lesson_id, STEP: str(index + 1)})
    q.update({k: v for k, v in language.query().items() if v != "en"})
    if presenting():
        q[PRESENT] = "1"
    return q


def kept_in_url() -> dict[str, str]:
    """The lesson keys of the address, which a page's publish keeps."""
    return {k: st.query_params[k] for k in URL_KEYS if k in st.query_params}


# ---------------------------------------------------------------------------------------
# Staging


def stage(spec: type[Settings]) -> None:
    """Set the page's controls to the active step's settings, once per step coming on."""
    memo.end_staging()
    a = active()
    if a is None or a.step.settings_class is not spec or st.session_state.get(_STAGED) == a.mark:
        return
    st.session_state[_STAGED] = a.mark
    for key, value in a.step.settings().values().items():
        st.session_state[key] = list(value) if isinstance(value, tuple) else value
    memo.begin_staging()  # a surface the step changed must not reset the start it staged


# ---------------------------------------------------------------------------------------
# Moving between steps


def _page_path(page: str) -> str:
    from ui.frame import BY_KEY

    return BY_KEY[page].path


def go(lesson: Lesson | None, index: int | None, here: str | None) -> None:
    """Open a step (None: the lesson list) from page ``here``."""
    if lesson is None or index is None:
        st.switch_page(LESSONS_PAGE, query_params=query_of(None, None))
    step = lesson.steps[index]
    query = query_of(lesson.id, index)
    if step.page == here:
        st.query_params.from_dict(query)
        st.rerun()
    st.switch_page(_page_path(step.page), query_params=query)


def leave() -> None:
    """Explore from here: the lesson keys leave the address; the settings stay."""
    for k in (LESSON, STEP):
        if k in st.query_params:
            del st.query_params[k]
    st.session_state.pop(_STAGED, None)


# ---------------------------------------------------------------------------------------
# What the page shows


def revealed(a: Active) -> bool:
    return a.mark in st.session_state.get(_REVEALED, set())


def _reveal(mark: tuple[str, int]) -> None:
    st.session_state.setdefault(_REVEALED, set()).add(mark)


def _letter(i: int) -> str:
    return "ABCD"[i]


def panel(here: str) -> None:
    """The lesson panel at the top of page ``here`` (nothing when no lesson is on)."""
    a, notice = find(*asked())
    if notice:
        st.warning(notice)
    if a is None:
        return
    if a.step.page != here:  # the address names a step of another page: open that page
        go(a.lesson, a.index, here)
    lang = catalog.language()
    lesson, step, text = a.lesson, a.step, a.step.text[lang]
    library = lessons.library()
    big = presenting()
    with st.container(border=True, key="lesson_panel"):
        head, nav = st.columns([3, 2], vertical_alignment="center")
        number = library.lessons.index(lesson) + 1
        head.markdown(t("lessons.panel.heading", number=number, title=lesson.title[lang]))
        head.progress((a.index + 1) / len(lesson.steps),
                      text=t("lessons.panel.progress", k=a.index + 1, n=len(lesson.steps)))
        _navigation(nav, a, here)
        st.markdown(text.look)
        st.markdown(("## " if big else "#### ") + t("lessons.panel.question", question=text.question))
        is_open = revealed(a)
        pick = None
        if big:  # the class votes by letter, read off the screen
            st.markdown("\n".join(f"### {_letter(i)}. {c}" for i, c in enumerate(text.choices)))
        else:
            pick = st.radio(t("lessons.panel.vote"), range(len(text.choices)), index=None,
                            format_func=lambda i: f"{_letter(i)}. {text.choices[i]}",
                            key=f"vote.{lesson.id}.{a.index}", disabled=is_open)
        if not is_open:
            st.button(t("lessons.panel.show"), type="primary", key="lesson_show", on_click=_reveal, args=(a.mark,))
            st.caption(t("lessons.panel.hidden"))
            return
        right = step.answer - 1
        answer = t("lessons.panel.answer", letter=_letter(right), choice=text.choices[right])
        if pick is None:
            st.success(answer)
        elif pick == right:
            st.success(t("lessons.panel.you_right", answer=answer))
        else:
            st.error(t("lessons.panel.you_wrong", answer=answer, letter=_letter(pick)))
        st.info(t("lessons.panel.notice", notice=text.notice), icon="🔎")


def _open(lesson_id: str, index: int) -> None:
    """A step button's callback: the address names the step before the run starts, so one
    run stages it (on this page) or the panel switches to its page."""
    st.query_params.from_dict(query_of(lesson_id, index))


def _navigation(box, a: Active, here: str) -> None:
    lesson, library = a.lesson, lessons.library()
    prev_col, next_col, out_col = box.columns(3)
    prev_col.button(t("lessons.panel.previous"), key="lesson_prev", disabled=a.index == 0, width="stretch",
                    on_click=_open, args=(lesson.id, a.index - 1))
    following = library.next_of(lesson)
    if a.index + 1 < len(lesson.steps):
        next_col.button(t("lessons.panel.next"), key="lesson_next", type="primary", width="stretch",
                        on_click=_open, args=(lesson.id, a.index + 1))
    elif following is not None:
        next_col.button(t("lessons.panel.next_lesson"), key="lesson_next", type="primary", width="stretch",
                        help=following.title[catalog.language()], on_click=_open, args=(following.id, 0))
    elif next_col.button(t("lessons.panel.finish"), key="lesson_next", type="primary", width="stretch"):
        go(None, None, here)
    with out_col.popover(t("lessons.panel.more"), width="stretch"):
        st.button(t("lessons.panel.explore"), key="lesson_explore", help=t("lessons.panel.explore_help"),
                  width="stretch", on_click=leave)
        if st.button(t("lessons.panel.all"), key="lesson_all", width="stretch"):
            go(None, None, here)
        st.toggle(t("lessons.panel.present"), value=presenting(), key="lesson_present", on_change=toggle_present,
                  help=t("lessons.panel.present_help"))


def toggle_present() -> None:
    """The presenter switch's callback: presenter mode lives in the address."""
    if st.session_state.get("lesson_present"):
        st.query_params[PRESENT] = "1"
    elif PRESENT in st.query_params:
        del st.query_params[PRESENT]


def error_text(e: lessons.LessonError) -> str:
    """A malformed lesson file's problem, in the session's language."""
    params = {k: echo.code(v, 60) if isinstance(v, str) else v for k, v in e.params.items()}
    if "detail" in params and isinstance(e.params["detail"], str) and catalog.has(e.params["detail"]):
        params["detail"] = t(e.params["detail"], **{k: echo.code(v) for k, v in e.params.items() if k != "detail"})
    reason = t(f"lessons.error.{e.reason}", **params)
    where = "lessons.error.where" if e.line else "lessons.error.where_no_line"
    return t(where, file=echo.code(e.path.name), line=e.line, key=echo.code(e.key), reason=reason)


def gate() -> None:
    """Stop the page here, before its results, while the active step's answer is hidden."""
    a = active()
    if a is None or revealed(a):
        return
    from ui import frame

    frame.footer()
    st.stop()
