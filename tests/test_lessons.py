"""Lessons: every claim checked against the app, malformed files refused with the file,
line and key, the expectation grammar, and a step opened by its address."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

import lessons
from catalog import LANGUAGES, messages, set_language
from lessons import facts as page_facts
from lessons.concepts import CONCEPTS
from lessons.expect import Expectation, ExpectationError

LIBRARY = lessons.library()
STEPS = [(lesson, i) for lesson in LIBRARY.lessons for i in range(len(lesson.steps))]


# ---------------------------------------------------------------------------------------
# The built-in lessons


def test_every_lesson_file_loads():
    assert not LIBRARY.errors, [str(e) for e in LIBRARY.errors]
    assert len(LIBRARY.lessons) == len(list(lessons.FILES.glob("*.toml")))


def test_the_course_is_covered():
    """At least 14 lessons and 50 steps, covering at least 22 of the curriculum's 26 concepts."""
    assert len(CONCEPTS) == 26
    assert len(LIBRARY.lessons) >= 14
    assert len(STEPS) >= 50
    covered = {c for lesson in LIBRARY.lessons for c in lesson.concepts}
    assert len(covered) >= 22, sorted(set(CONCEPTS) - covered)


def test_every_step_asks_in_every_language():
    for lesson, i in STEPS:
        step = lesson.steps[i]
        assert set(step.text) == set(LANGUAGES)
        for lang in LANGUAGES:
            assert 2 <= len(step.text[lang].choices) <= 4
            assert 1 <= step.answer <= len(step.text[lang].choices)


_FACTS: dict = {}


def _facts_of(step: lessons.Step):
    key = (step.page, step.settings())
    if key not in _FACTS:
        _FACTS[key] = page_facts.of(step.page, step.settings())
    return _FACTS[key]


@pytest.mark.slow
@pytest.mark.parametrize("lesson,i", STEPS, ids=[f"{lesson.id}-{i + 1}" for lesson, i in STEPS])
def test_every_expectation_holds(lesson, i):
    """What each step says is what the page computes: its page's run on the staged
    settings makes every expectation true."""
    step = lesson.steps[i]
    got = _facts_of(step)
    failed = [(e.text, {k: got[k] for k in e.facts()}) for e in step.expect if not e.holds(got)]
    assert not failed, failed


# ---------------------------------------------------------------------------------------
# Malformed files: each refused with its file, line and key; the others still load

GOOD = '''order = 1
concepts = ["critical_points"]

[en]
title = "A saddle"
summary = "Where the gradient is zero."
[zh]
title = "鞍点"
summary = "梯度为零的地方。"

[[step]]
page = "curvature"
answer = 2
expect = ["point.kind == \\"saddle\\"", "point.lambda_min < 0"]
[step.settings]
surface = "saddle"
[step.en]
look = "The origin of the saddle surface."
question = "What is the origin?"
choices = ["A minimum", "A saddle"]
notice = "The eigenvalues have both signs."
[step.zh]
look = "鞍点曲面的原点。"
question = "原点是什么？"
choices = ["最小值", "鞍点"]
notice = "特征值有正有负。"
'''


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


CASES = [
    # (name, old -> new, reason, key, line of)
    ("missing key", ('answer = 2\n', ''), "missing", "answer", "[[step]]"),
    ("unknown setting", ('surface = "saddle"', 'surfce = "saddle"'), "unknown_setting", "settings.surfce", "surfce"),
    ("not a choice", ('surface = "saddle"', 'surface = "sadle"'), "not_a_choice", "settings.surface", "sadle"),
    ("out of range", ('surface = "saddle"', 'surface = "saddle"\nnewton = 99'), "out_of_range", "settings.newton",
     "newton = 99"),
    ("wrong type", ('surface = "saddle"', 'surface = "saddle"\nnewton = "five"'), "wrong_type", "settings.newton",
     'newton = "five"'),
    ("unknown fact", ('"point.lambda_min < 0"', '"point.lamda_min < 0"'), "unknown_fact", "expect", "expect ="),
    ("bad expectation", ('"point.lambda_min < 0"', '"point.lambda_min <"'), "bad_expectation", "expect", "expect ="),
    ("code is not an expectation", ('"point.lambda_min < 0"', '"__import__(\\"os\\").system(\\"ls\\")"'),
     "bad_expectation", "expect", "expect ="),
    ("unknown page", ('page = "curvature"', 'page = "kitchen"'), "unknown_page", "page", 'page = "kitchen"'),
    ("answer out of range", ('answer = 2', 'answer = 3'), "answer_range", "answer", "answer = 3"),
    ("choices differ", ('choices = ["最小值", "鞍点"]', 'choices = ["最小值", "鞍点", "最大值"]'), "choices_differ",
     "zh.choices", 'choices = ["最小值", "鞍点", "最大值"]'),
    ("one choice", ('choices = ["A minimum", "A saddle"]', 'choices = ["A saddle"]'), "choices_count", "en.choices",
     'choices = ["A saddle"]'),
    ("missing language", ('[step.zh]\nlook = "鞍点曲面的原点。"\nquestion = "原点是什么？"\nchoices = ["最小值", "鞍点"]\n'
                          'notice = "特征值有正有负。"\n', ''), "missing", "zh", "[[step]]"),
    ("unknown key", ('answer = 2', 'answer = 2\nhint = "no"'), "unknown_key", "hint", 'hint = "no"'),
    ("unknown concept", ('concepts = ["critical_points"]', 'concepts = ["cooking"]'), "unknown_concept", "concepts",
     'concepts = ["cooking"]'),
    ("not TOML", ('answer = 2', 'answer = = 2'), "not_toml", "file", "answer = = 2"),
]


@pytest.mark.parametrize("name,change,reason,key,where", CASES, ids=[c[0] for c in CASES])
def test_a_malformed_lesson_is_refused_with_file_line_and_key(tmp_path, name, change, reason, key, where):
    old, new = change
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    (tmp_path / "broken.toml").write_text(text, encoding="utf-8")
    (tmp_path / "fine.toml").write_text(GOOD, encoding="utf-8")
    library = lessons.load(tmp_path.glob("*.toml"))
    assert [lesson.id for lesson in library.lessons] == ["fine"]  # the others keep working
    [error] = library.errors
    assert (error.path.name, error.reason, error.key) == ("broken.toml", reason, key)
    assert error.line == _line(text, where)


def test_a_file_that_is_not_text_is_refused(tmp_path):
    (tmp_path / "latin.toml").write_bytes(GOOD.replace("鞍点", "x").encode("utf-8").replace(b"A saddle", b"\xe9\xe9"))
    [error] = lessons.load([tmp_path / "latin.toml"]).errors
    assert error.reason == "not_utf8"


def test_every_error_reason_has_a_message_in_every_language():
    reasons = {c[2] for c in CASES} | {"not_utf8", "too_big", "bad_name", "duplicate_id", "steps_count", "empty"}
    for lang in LANGUAGES:
        catalog = messages(lang)
        assert all(f"lessons.error.{r}" in catalog for r in reasons), lang


def test_the_error_text_names_file_line_and_key(tmp_path):
    from catalog import set_language
    from ui.lesson import error_text

    (tmp_path / "broken.toml").write_text(GOOD.replace('surface = "saddle"', 'surface = "sadle"'), encoding="utf-8")
    [error] = lessons.load([tmp_path / "broken.toml"]).errors
    set_language("zh")
    try:
        zh = error_text(error)
    finally:
        set_language("en")
    en = error_text(error)
    assert "`broken.toml`" in en and "line 16" in en and "`settings.surface`" in en and "`sadle`" in en
    assert "`broken.toml`" in zh and "第 16 行" in zh and "`sadle`" in zh


# ---------------------------------------------------------------------------------------
# The expectation grammar


@pytest.mark.parametrize("text,facts,holds", [
    ("gd.diverged", {"gd.diverged": True}, True),
    ("not gd.diverged", {"gd.diverged": True}, False),
    ('point.kind == "saddle"', {"point.kind": "saddle"}, True),
    ('point.kind != "saddle"', {"point.kind": "minimum"}, True),
    ("adam.steps_to_tolerance < gd.steps_to_tolerance", {"adam.steps_to_tolerance": 40.0,
                                                         "gd.steps_to_tolerance": math.inf}, True),
    ("a / b < 1e-3", {"a": 1e-5, "b": 0.1}, True),
    ("a / b < 1e-3", {"a": 1.0, "b": 0.0}, False),  # x / 0 is infinite, never small
    ("-a + 2 * (b - 1) >= 0", {"a": 1.0, "b": 1.5}, True),
    ("x > 0.5", {"x": 0.5}, False),
])
def test_expectations_evaluate(text, facts, holds):
    e = Expectation.parse(text)
    assert e.facts() == set(facts)
    assert e.holds(facts) is holds


@pytest.mark.parametrize("text", [
    "", "a <", "a < < b", "f(x) > 0", "a.__class__ > 0", "a[0] > 1", "'single' == a", "a ** 2 > 1",
    "a < b < c", "lambda: 1", "x" * 300,
])
def test_anything_else_is_not_an_expectation(text):
    with pytest.raises(ExpectationError):
        Expectation.parse(text)


def test_strings_compare_only_for_equality():
    with pytest.raises(ExpectationError):
        Expectation.parse('a < "b"').holds({"a": "c"})


# ---------------------------------------------------------------------------------------
# A step opened by its address (AppTest)


def _a_step(page: str) -> tuple[lessons.Lesson, int]:
    return next((lesson, i) for lesson, i in STEPS if lesson.steps[i].page == page)


@pytest.mark.slow
@pytest.mark.parametrize("page_key,path", [("playground", "pages/1_Playground.py"),
                                           ("curvature", "pages/2_Curvature.py"),
                                           ("classifier", "pages/4_Classifier.py"),
                                           ("inside", "pages/6_Inside.py")])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_deep_link_stages_the_step_and_reveals_on_show(page, page_key, path, lang):
    lesson, i = _a_step(page_key)
    step = lesson.steps[i]
    at = page(path, {"lesson": lesson.id, "step": str(i + 1), "lang": lang}, timeout=120)
    set_language(lang)  # AppTest formats widget values in the test's thread: in the page's language
    try:
        at.run()
        assert not at.exception, at.exception
        text = step.text[lang]
        shown = " ".join(m.value for m in at.markdown)
        assert text.look in shown and text.question in shown
        for key, value in step.staged.items():  # the page's controls hold the staged values
            got = at.session_state[key]
            assert (list(got) if isinstance(got, (list, tuple)) else got) == value, key
        assert not at.get("plotly_chart"), "results are hidden until the answer is shown"
        at.button(key="lesson_show").click().run()
        assert not at.exception, at.exception
        assert at.get("plotly_chart"), "the page's results appear after the reveal"
        assert any(text.choices[step.answer - 1] in s.value for s in at.success)
        assert any(text.notice in m.value for m in at.info)
        assert at.query_params["lesson"] in (lesson.id, [lesson.id])
    finally:
        set_language("en")


@pytest.mark.slow
def test_next_goes_to_the_next_step_and_explore_leaves_with_the_settings(page):
    lesson = next(lesson for lesson in LIBRARY.lessons
                  if len(lesson.steps) > 1 and lesson.steps[0].page == lesson.steps[1].page == "curvature")
    at = page("pages/2_Curvature.py", {"lesson": lesson.id, "step": "1"})
    at.run()
    at.button(key="lesson_next").click().run()
    assert not at.exception, at.exception
    assert at.query_params["step"] in ("2", ["2"])
    second = lesson.steps[1]
    assert second.text["en"].question in " ".join(m.value for m in at.markdown)
    for key, value in second.staged.items():
        assert at.session_state[key] == value
    at.button(key="lesson_explore").click().run()
    assert not at.exception, at.exception
    assert "lesson" not in at.query_params
    assert at.get("plotly_chart"), "exploring shows the page with the step's settings"
    for key, value in second.staged.items():
        assert at.session_state[key] == value


def test_a_bad_address_is_a_notice(page):
    at = page("pages/2_Curvature.py", {"lesson": "no-such-lesson", "step": "1"})
    at.run()
    assert not at.exception
    assert any("no-such-lesson" in w.value for w in at.warning)
    assert at.get("plotly_chart"), "the page itself still works"


def test_the_lessons_page_lists_every_lesson(page):
    for lang in LANGUAGES:
        at = page("pages/5_Lessons.py", {"lang": lang})
        at.run()
        assert not at.exception, at.exception
        shown = " ".join(m.value for m in at.markdown)
        assert all(lesson.title[lang] in shown for lesson in LIBRARY.lessons)


def test_page_facts_are_known_for_every_page_a_lesson_can_stage():
    from ui.frame import BY_KEY

    assert set(page_facts.PAGES) == {"playground", "curvature", "classifier", "inside"}
    assert set(page_facts.PAGES) <= set(BY_KEY)  # a step's page is one the menu opens
    assert Path(lessons.FILES).is_dir()


def test_the_readme_concept_table_is_current():
    """The README's table is lessons.concept_table() (regenerate it with
    ``python -m lessons.check --readme``)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- concept table")
    start = readme.index("\n", start) + 1
    end = readme.index("<!-- end of concept table -->")
    assert readme[start:end].strip() == lessons.concept_table(LIBRARY).strip()


def test_the_readme_example_is_a_lesson_that_holds(tmp_path):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("```toml\n") + len("```toml\n")
    (tmp_path / "example.toml").write_text(readme[start:readme.index("```", start)], encoding="utf-8")
    library = lessons.load([tmp_path / "example.toml"])
    assert not library.errors, library.errors
    [step] = library.lessons[0].steps
    got = page_facts.of(step.page, step.settings())
    assert all(e.holds(got) for e in step.expect)


def test_a_link_to_a_malformed_lesson_says_what_is_wrong(page, tmp_path, monkeypatch):
    (tmp_path / "broken.toml").write_text(GOOD.replace('surface = "saddle"', 'surface = "sadle"'), encoding="utf-8")
    monkeypatch.setattr(lessons, "folders", lambda: [lessons.FILES, tmp_path])
    lessons.library.cache_clear()
    try:
        at = page("pages/2_Curvature.py", {"lesson": "broken", "step": "1"})
        at.run()
        assert not at.exception, at.exception
        assert any("`broken.toml`" in w.value and "`settings.surface`" in w.value for w in at.warning)
        assert at.get("plotly_chart"), "the page itself still works"
    finally:
        lessons.library.cache_clear()


@pytest.mark.slow
def test_next_opens_a_step_on_another_page(page):
    """From the last Curvature step of a lesson to its first Playground step."""
    lesson, i = next((lesson, i) for lesson in LIBRARY.lessons for i in range(len(lesson.steps) - 1)
                     if lesson.steps[i].page == "curvature" and lesson.steps[i + 1].page == "playground")
    at = page("pages/2_Curvature.py", {"lesson": lesson.id, "step": str(i + 1)})
    at.run()
    at.button(key="lesson_next").click().run()
    assert not at.exception, at.exception
    step = lesson.steps[i + 1]
    assert step.text["en"].question in " ".join(m.value for m in at.markdown)
    assert any("Playground" in h.value for h in at.title)
    for key, value in step.staged.items():
        got = at.session_state[key]
        assert (list(got) if isinstance(got, (list, tuple)) else got) == value, key
