"""The Chinese interface and the lessons in a real browser (Debian's chromium, Playwright,
`streamlit run app.py`): the helpers and fixtures are tests/test_browser.py's. A file of its
own so that the two halves run on both cores (pytest-xdist gives a file to one worker)."""
from __future__ import annotations

import re

import pytest

# The fixtures are shared by import (pytest finds them in this module's namespace).
from tests.test_browser import browser, server  # noqa: F401,F811
from tests.test_browser import CHARTLESS, SHOTS, check_page, menu, move_one_control, page_urls, wait_done

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_every_page_in_chinese(browser, server):
    """?lang=zh: every page renders with its charts drawn, menu and title in Chinese; the
    screenshots are for a person to look at (missing glyphs, cut-off titles)."""
    context = browser.new_context(viewport={"width": 1440, "height": 2400}, locale="en-US")
    page = context.new_page()
    for name, path in page_urls():
        page.goto(server.url + path + ("&" if "?" in path else "?") + "lang=zh")
        wait_done(page)
        check_page(page, name + " in Chinese")
        if name not in CHARTLESS:
            assert page.locator("[data-testid='stPlotlyChart'] .main-svg").count() >= 1, f"{name}: no chart drawn"
        title = page.locator("h1").first.inner_text()
        assert re.search(r"[\u4e00-\u9fff]", title) or name in ("Home",), f"{name}: title {title!r} is not Chinese"
        assert any(re.search(r"[\u4e00-\u9fff]", item) for item in menu(page)), menu(page)
        page.screenshot(path=str(SHOTS / f"{name.lower()}-zh.png"), full_page=True)
    context.close()


def test_a_fragment_rerun_stays_in_chinese(browser, server):
    """Moving a learning rate reruns only the Playground's race fragment, on whatever
    thread Streamlit picks: its headings and legends must stay in the session's language."""
    context = browser.new_context(viewport={"width": 1440, "height": 1600}, locale="en-US")
    page = context.new_page()
    page.goto(server.url + "/Playground?lang=zh")
    wait_done(page)
    main = page.locator("[data-testid='stMain']")
    assert "优化器" in main.inner_text()
    for _ in range(2):
        assert move_one_control(page)
        page.wait_for_timeout(300)
        wait_done(page)
    text = main.inner_text()
    legends = " ".join(page.eval_on_selector_all("[data-testid='stMain'] .legendtext", "els => els.map(e => e.textContent)"))
    assert "优化器" in text and "Optimizers" not in text, text[:300]
    assert "梯度下降" in legends and "Gradient descent" not in legends, legends
    context.close()


def test_browser_locale_chooses_chinese(browser, server):
    """No ?lang and no choice made: a browser that prefers Chinese gets Chinese."""
    context = browser.new_context(viewport={"width": 1280, "height": 1200}, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url + "/Playground")
    wait_done(page)
    assert re.search(r"[\u4e00-\u9fff]", page.locator("h1").first.inner_text())
    context.close()


def lesson_steps() -> list[tuple[str, int, str]]:
    """A step of a lesson on each page a lesson stages: (lesson id, step number, page path)."""
    import lessons

    out, seen = [], set()
    for lesson in lessons.library().lessons:
        for i, step in enumerate(lesson.steps):
            if step.page not in seen:
                seen.add(step.page)
                out.append((lesson.id, i + 1, "/" + step.page.capitalize()))
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_lesson_step_by_its_address_asks_then_reveals(browser, server, lang):
    """A deep link to a step shows the staged page with the question and no results; "show"
    draws the results, the answer and what to notice. The screenshots (question, then
    revealed) are for a person to look at."""
    context = browser.new_context(viewport={"width": 1440, "height": 1800}, locale="en-US")
    page = context.new_page()
    steps = lesson_steps()
    assert {path for _, _, path in steps} == {"/Playground", "/Curvature", "/Classifier", "/Inside"}
    for lesson_id, k, path in steps:
        page.goto(f"{server.url}{path}?lesson={lesson_id}&step={k}&lang={lang}")
        wait_done(page)
        check_page(page, f"{lesson_id} step {k}")
        panel = page.locator(".st-key-lesson_panel")
        assert panel.count() == 1, "no lesson panel"
        assert page.locator("[data-testid='stPlotlyChart']").count() == 0, "results shown before the reveal"
        page.screenshot(path=str(SHOTS / f"lesson-{lesson_id}-{k}-{lang}-question.png"), full_page=True)
        panel.locator("button", has_text="显示结果" if lang == "zh" else "Show the result").click()
        page.wait_for_timeout(300)
        wait_done(page)
        check_page(page, f"{lesson_id} step {k} revealed")
        assert page.locator("[data-testid='stPlotlyChart'] .main-svg").count() >= 1, "no result after the reveal"
        assert ("答案" if lang == "zh" else "Answer") in panel.inner_text()
        page.screenshot(path=str(SHOTS / f"lesson-{lesson_id}-{k}-{lang}-revealed.png"), full_page=True)
    context.close()
