"""中文 / English: every page in either language, nothing of the other showing, settings
kept across a switch, and no sentence left outside the catalog."""
from __future__ import annotations

import ast
import json
import re
import string
import tomllib
from pathlib import Path

import pytest

import catalog
from tests.conftest import open_page

ROOT = Path(__file__).resolve().parent.parent
PAGES = [None, "pages/1_Playground.py", "pages/2_Curvature.py", "pages/3_Sweeps.py", "pages/4_Classifier.py",
         "pages/5_Lessons.py", "pages/6_Inside.py"]
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
SWITCH_LABELS = ("中文",)
# Names the Chinese text keeps as they are: the app's name, and terms the course writes in
# English (the notes: leaky ReLU, inverted dropout; Lee's lecture slide: minimum ratio).
KEPT_IN_ENGLISH = {"Descent Lab", "leaky ReLU", "inverted dropout", "minimum ratio"}  # each language names itself in the switch, on every page


def _literal_pieces(template: str) -> list[str]:
    return [text for text, _, _, _ in string.Formatter().parse(template) if text]


def english_sentences() -> set[str]:
    """Pieces of English messages long enough to be a phrase (three words or more) that
    the Chinese message of the same key does not also contain (names, formulas)."""
    en, zh = catalog.messages("en"), catalog.messages("zh")
    out = set()
    for key, template in en.items():
        for piece in _literal_pieces(template):
            piece = piece.strip(" .,:;()—-*`_")
            if len(piece.split()) >= 3 and re.search(r"[a-z]{3}", piece) and piece not in zh[key]:
                out.add(piece)
    return out


def rendered_text(at) -> str:
    """The text a student reads on the page: elements, widget labels, help, options, and
    the charts' titles, axes, legends and hover templates."""
    parts: list[str] = []
    kinds = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success",
             "button", "toggle", "checkbox", "selectbox", "multiselect", "slider", "select_slider",
             "number_input", "text_input", "radio", "expander", "tabs", "metric", "text")
    for kind in kinds:
        for el in at.get(kind):
            for attr in ("value", "body", "label", "help", "options"):
                try:
                    v = getattr(el, attr)
                except Exception:  # noqa: BLE001  (an element may not have that attribute)
                    continue
                if isinstance(v, str):
                    parts.append(v)
                elif isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
                    parts.extend(v)
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout = spec.get("layout", {})
        parts.append(json.dumps({k: v for k, v in layout.items() if "title" in k or k.startswith(("xaxis", "yaxis"))},
                                ensure_ascii=False))
        for trace in spec.get("data", []):
            parts += [str(trace.get(k, "")) for k in ("name", "hovertemplate", "text") if isinstance(trace.get(k), str)]
    return "\n".join(parts)


def page_text(page: str | None, language: str) -> str:
    """The rendered text of a page opened with ?lang=<language>, which must raise nothing."""
    at = open_page(page, {"lang": language})
    at.run()
    assert not at.exception, at.exception
    return rendered_text(at)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_chinese_page_shows_no_english_sentence(page):
    text = page_text(page, "zh")
    assert len(CJK.findall(text)) > 20, "the page did not render in Chinese"
    leaked = sorted(s for s in english_sentences() if s in text)
    assert not leaked, leaked[:10]
    # Nor any English phrase from outside the catalog (surface, optimizer or landmark names).
    phrases = {m for m in re.findall(r"[A-Za-z][A-Za-z'-]+(?: [A-Za-z][A-Za-z'-]+)+", text)} - KEPT_IN_ENGLISH
    assert not phrases, sorted(phrases)[:10]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_english_page_shows_no_chinese(page):
    text = page_text(page, "en")
    for label in SWITCH_LABELS:
        text = text.replace(label, "")
    assert not CJK.findall(text), sorted(set(CJK.findall(text)))[:20]
    assert "Descent Lab" in text or page is not None


def test_browser_locale_decides_without_a_choice():
    from ui.language import from_locale

    assert from_locale("zh-CN") == "zh" and from_locale("zh-Hant-TW") == "zh"
    assert from_locale("en-US") == "en" and from_locale(None) == "en" and from_locale("de") == "en"


@pytest.mark.slow
@pytest.mark.parametrize("page, changes", [
    ("pages/1_Playground.py", {"steps": 321, "noise": 0.5, "surface": "himmelblau"}),
    ("pages/2_Curvature.py", {"newton": 7, "surface": "monkey_saddle"}),
    ("pages/3_Sweeps.py", {"steps": 200, "sw.nlr": 12}),
    ("pages/4_Classifier.py", {"c.epochs": 40, "c.width": 8, "c.act": "relu"}),
])
def test_switching_language_keeps_every_setting(page, changes):
    at = open_page(page)
    at.run()
    for key, value in changes.items():
        at.session_state[key] = value
    at.run()
    before = {key: at.session_state[key] for key in changes}
    query_before = {k: v for k, v in at.query_params.items() if k != "lang"}
    at.session_state["lang"] = "zh"  # what the menu's switch does
    at.run()
    assert not at.exception, at.exception
    assert CJK.search(at.title[0].value), "the switch did not change the language"
    assert {key: at.session_state[key] for key in changes} == before
    assert {k: v for k, v in at.query_params.items() if k != "lang"} == query_before
    assert at.query_params["lang"] in ("zh", ["zh"])


# ---------------------------------------------------------------------------------------
# No sentence outside the catalog

TEXT_CALLS = {"markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success", "toast",
              "write", "text", "button", "toggle", "checkbox", "selectbox", "multiselect", "slider", "select_slider",
              "number_input", "text_input", "text_area", "radio", "expander", "tabs", "metric", "download_button",
              "page_link", "popover", "segmented_control", "pills", "progress", "spinner", "status", "form_submit_button"}


LOGGERS = {"_log", "log", "logger", "logging"}


def _words(node: ast.AST) -> str:
    """The literal text of a string constant or f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return ""


def test_no_user_facing_literal_in_pages_or_ui():
    offenders = []
    files = sorted((ROOT / "pages").glob("*.py")) + sorted((ROOT / "ui").glob("*.py")) + [ROOT / "app.py"]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TEXT_CALLS):
                continue
            if isinstance(node.func.value, ast.Name) and node.func.value.id in LOGGERS:
                continue  # the server's log, for whoever runs it, not a student
            texts = [a for a in node.args[:1]] + [k.value for k in node.keywords if k.arg in ("label", "help", "body", "text")]
            for arg in texts:
                words = _words(arg)
                if re.search(r"[A-Za-z]{2,}|[\u4e00-\u9fff]", words):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {words[:50]!r}")
    assert not offenders, offenders


# ---------------------------------------------------------------------------------------
# The glossary

GLOSSARY = tomllib.loads((ROOT / "catalog" / "glossary.toml").read_text())


def test_glossary_has_four_columns():
    assert len(GLOSSARY) >= 30
    for name, term in GLOSSARY.items():
        assert {"en", "zh", "notes", "definition"} <= set(term), name


def test_chinese_uses_the_glossary_terms():
    """Wherever an English message uses a glossary term, the Chinese message of the same
    key uses its Chinese term (placeholders, which name values and not words, excluded)."""
    en, zh = catalog.messages("en"), catalog.messages("zh")
    misses = []
    for key, template in en.items():
        text = re.sub(r"%?\{[^{}]*\}", " ", template)
        for term in GLOSSARY.values():
            if re.search(rf"\b{re.escape(term['en'])}(s|es)?\b", text, re.IGNORECASE) and term["zh"].lower() not in zh[key].lower():
                misses.append(f"{key}: {term['en']} -> {term['zh']}")
    assert not misses, misses
