"""Hostile and careless URLs: no Markdown injection, no tracebacks, every refused, clamped
or repeated value told to the user.

A crafted link is the cheapest attack on a classroom app: whatever the page echoes from
the URL, the page draws. These tests feed Markdown, HTML and link payloads through every
path that echoes a user's value and check what the page would render: outside a code
span (which Markdown never interprets), no payload text may remain.
"""
from __future__ import annotations

import re

import pytest

from tests.conftest import open_page, texts

OUTSIDE = "outside.example"
PAYLOAD = (f"## :red[Session expired] sign in [here](https://{OUTSIDE}/login) "
           f"![](https://{OUTSIDE}/p.png) <img src='https://{OUTSIDE}/q.png'> $\\href{{https://{OUTSIDE}}}{{x}}$")
KEY_PAYLOAD = f"`[click](//{OUTSIDE})"  # its backtick closed the old code span early
# Parts of the payloads that would render as something other than plain text if Markdown
# (or Streamlit's directives, GitHub's bare-URL links) saw them; none of the app's own
# text contains them.
ACTIVE = ("![", ":red[", "Session expired", "<img", OUTSIDE, "href")

_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)


def outside_code(markdown: str) -> str:
    """The text of a Markdown string with every code span removed: what Markdown would
    interpret."""
    return _CODE_SPAN.sub("", markdown)


def assert_inert(markdown: str) -> None:
    live = outside_code(markdown)
    found = [a for a in ACTIVE if a in live]
    assert not found, f"{found} outside code in {markdown!r}"


def all_messages(at) -> list[str]:
    return [*texts(at, "info"), *texts(at, "error"), *texts(at, "warning"), *texts(at, "markdown"),
            *texts(at, "caption")]


# ---------------------------------------------------------------------------------------
# The echo helper itself


@pytest.mark.parametrize("text", [PAYLOAD, KEY_PAYLOAD, "a`b", "``x``", "`", "x\n\n## y", "", "   ", "x" * 600,
                                  "\u202e\x1b[31mred", "a ``` b"])
def test_code_span_holds_any_text(text: str) -> None:
    from catalog import echo

    shown = echo.code(text)
    assert outside_code(shown) == "", shown  # one code span, nothing outside it
    assert "\n" not in shown
    assert len(shown) <= echo.ECHO_LIMIT + 12  # the cut, plus fences and padding


def test_code_span_cuts_long_text_with_an_ellipsis() -> None:
    from catalog import echo

    shown = echo.code("y" * 600)
    assert "…" in shown and shown.count("y") == echo.ECHO_LIMIT - 1


# ---------------------------------------------------------------------------------------
# Finding 1: Markdown injection through URL notices


@pytest.mark.parametrize("query", [
    {"steps": PAYLOAD},
    {"x0": PAYLOAD, "y0": "1"},
    {"opts": f"gd,{PAYLOAD}"},
    {"sched": PAYLOAD},
    {KEY_PAYLOAD: "1"},
    {"show3d": PAYLOAD},
])
def test_url_payloads_render_as_plain_text(query: dict[str, str]) -> None:
    at = open_page("pages/1_Playground.py", query)
    at.run()
    assert not at.exception
    notes = texts(at, "info")
    assert notes, "a refused value must be told"
    for message in all_messages(at):
        assert_inert(message)
    assert all(len(n) < 400 for n in notes)  # a 600-character value is cut, not repeated


@pytest.mark.parametrize("page", ["pages/1_Playground.py", "pages/2_Curvature.py", "pages/3_Sweeps.py"])
def test_typed_formula_errors_and_headings_render_as_plain_text(page: str) -> None:
    at = open_page(page, {"surface": "custom", "expr": f"[a](https://{OUTSIDE}) + x"})
    at.run()
    assert not at.exception
    assert "cannot be used" in " ".join(texts(at, "error"))
    for message in all_messages(at):
        assert_inert(message)
    # An accepted formula's '*' would make italics in a heading: the formula is code.
    at = open_page(page, {"surface": "custom", "expr": "x*y*x + y*x*y"})
    at.run()
    assert not at.exception
    headings = [m for m in texts(at, "markdown") if "Your own f(x, y)" in m]
    assert headings and all("*" not in outside_code(h).replace("**", "") for h in headings)


# ---------------------------------------------------------------------------------------
# Finding 2: half-given points


@pytest.mark.parametrize("page, query, missing", [
    ("pages/1_Playground.py", {"x0": "1"}, "y0"),
    ("pages/1_Playground.py", {"y0": "1"}, "x0"),
    ("pages/2_Curvature.py", {"px": "1"}, "py"),
    ("pages/3_Sweeps.py", {"x0": "1"}, "y0"),
])
def test_half_given_point_is_a_notice_not_a_traceback(page: str, query: dict[str, str], missing: str) -> None:
    at = open_page(page, query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    notes = " ".join(texts(at, "info"))
    assert f"without `{missing}`" in notes
    coords = ("px", "py") if "px" in query or "py" in query else ("x0", "y0")
    assert all(isinstance(at.session_state[k], float) for k in coords)  # the page chose a point


# ---------------------------------------------------------------------------------------
# Finding 8: repeated and out-of-range values are told, not silently reset


def test_repeated_key_uses_the_last_valid_value_and_says_so() -> None:
    at = open_page("pages/1_Playground.py", {"steps": ["abc", "10"]})
    at.run()
    assert not at.exception
    assert at.session_state["steps"] == 10
    notes = " ".join(texts(at, "info"))
    assert "`steps` is given 2 times" in notes and "`10`" in notes


def test_out_of_range_value_is_clamped_with_a_notice() -> None:
    import optimizers

    at = open_page("pages/1_Playground.py", {"steps": str(optimizers.MAX_STEPS + 1000), "noise": "-5"})
    at.run()
    assert not at.exception
    assert at.session_state["steps"] == optimizers.MAX_STEPS
    assert at.session_state["noise"] == 0.0
    notes = " ".join(texts(at, "info"))
    assert f"above the largest allowed value; using `{optimizers.MAX_STEPS}`" in notes
    assert "below the smallest allowed value; using `0`" in notes
