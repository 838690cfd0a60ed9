"""The layout's promises, checked: experiments without Streamlit, thin pages, no private
names across modules, internals only in ui/compat.py."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]
MAX_PAGE_LINES = 180
STREAMLIT_ALLOWED = ("app.py", "pages/", "ui/")


def _python_files():
    for folder in ("experiments", "ui", "pages", "charts", "classifier", "optimizers", "surfaces", "catalog"):
        yield from sorted((ROOT / folder).rglob("*.py"))
    yield ROOT / "app.py"


def test_experiments_import_no_streamlit():
    code = ("import sys, experiments.playground, experiments.curvature, experiments.sweeps, "
            "experiments.classifier; assert 'streamlit' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)


def test_only_app_pages_and_ui_import_streamlit():
    offenders = []
    for path in _python_files():
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n == "streamlit" or n.startswith("streamlit.") for n in names) and not rel.startswith(STREAMLIT_ALLOWED):
                offenders.append(rel)
    assert not offenders, offenders


def test_pages_are_thin():
    assert PAGES, "no page found"
    long = {p.name: n for p in PAGES if (n := len(p.read_text().splitlines())) > MAX_PAGE_LINES}
    assert not long, long


def test_no_module_imports_a_private_name_of_another():
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                offenders += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names
                              if a.name.startswith("_") and not a.name.startswith("__")]
    assert not offenders, offenders


# Private attributes of Streamlit or Plotly objects, as the code has used them.
INTERNALS = re.compile(r"_validate\s*=|_raw_frames|_session_mgr|_session_storage|_get_script_run_ctx|"
                       r"streamlit\.runtime\.|\bst\._[a-z]")


def test_streamlit_and_plotly_internals_only_in_compat():
    found = [f"{p.relative_to(ROOT)}:{i}" for p in _python_files() if p.name != "compat.py"
             for i, line in enumerate(p.read_text().splitlines(), 1) if INTERNALS.search(line)]
    assert not found, found
    compat = (ROOT / "ui" / "compat.py").read_text()
    assert INTERNALS.search(compat), "the pattern no longer finds what compat.py holds: it would find nothing elsewhere"


def test_every_test_file_the_readme_names_exists():
    """The README's tables say which test checks what: each named file is there."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(test_[a-z0-9_]+\.py)`", readme))
    assert len(named) >= 10
    missing = sorted(n for n in named if not (ROOT / "tests" / n).exists())
    assert not missing, missing
