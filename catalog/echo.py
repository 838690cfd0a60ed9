"""Text that came from a user, made safe to show inside Markdown.

Every Streamlit element that takes a message (st.info, st.error, st.markdown, captions)
renders it as Markdown, with Streamlit's extras on top: colored text (``:red[...]``),
icons and emoji (``:material/...:``), LaTeX (``$...$``), headings, links and images. A
URL value or a typed formula echoed as is lets anyone who can craft a link draw a fake
"session expired" box with a link and a tracking image inside our page.

Backslash-escaping each special character is not enough: Streamlit's directives and
GitHub's bare-URL links are found in the parsed text, after the escapes are gone. A code
span is the one Markdown construct whose content is never interpreted, by CommonMark or
by any of Streamlit's plugins, so user text is shown as code: cut to a length (the float
parser's own error message would repeat a 600-character value), with line breaks and
control characters folded to spaces, and fenced with more backticks than it contains.
"""
from __future__ import annotations

import re
import unicodedata

ECHO_LIMIT = 40  # characters of a user's value shown back to them


def _printable(text: str) -> str:
    """Control characters (line breaks included) become spaces: a code span cannot hold a
    blank line, and a raw escape code has nothing to show."""
    return "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)


def code(text: object, limit: int = ECHO_LIMIT) -> str:
    """``text`` as a Markdown code span that renders literally, cut to ``limit`` characters
    with "…". Use it wherever a value a user typed or put in a URL is shown back."""
    shown = _printable(str(text))
    if len(shown) > limit:
        shown = shown[: max(limit - 1, 1)] + "…"
    if not shown.strip():
        shown = shown or " "
        return "`" + shown.replace(" ", "\u00a0") + "`"  # an empty or all-space span would vanish
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space on each side when both are present; a leading or trailing
    # backtick needs that space so it is not read as part of the fence.
    pad = " " if shown.startswith("`") or shown.endswith("`") or (shown.startswith(" ") and shown.endswith(" ")) else ""
    return f"{fence}{pad}{shown}{pad}{fence}"
