"""Pandas is complete before any page builds a figure: ui.frame, which every page imports
before its charts, imports it (Plotly looks pandas up in sys.modules without importing it,
and a half-imported one raised AttributeError on a Playground rerun under load)."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_importing_the_frame_completes_pandas() -> None:
    code = "import sys, ui.frame; m = sys.modules['pandas']; assert hasattr(m, 'Series'); print('ok')"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-1500:]


def test_every_page_imports_the_frame_before_building_charts() -> None:
    with_charts = []
    for page in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        text = page.read_text()
        found = re.search(r"^from ui import [^\n]*\bframe\b", text, re.MULTILINE)
        assert found, page.name
        frame_at = found.start()
        chart_at = min((i for i in (text.find("plotly_chart("), text.find("_figure(")) if i != -1), default=len(text))
        assert frame_at < chart_at, page.name
        if chart_at < len(text):
            with_charts.append(page.name)
    assert len(with_charts) >= 4, with_charts  # the four pages draw charts: the search finds them
