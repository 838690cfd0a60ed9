"""ui.compat, the one module that reaches into Streamlit's, Plotly's and JAX's internals:
the installed versions are the pinned ones, every internal it relies on is there, and
each reach still does what it is there for. A failure names the package."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from ui import compat

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", re.M)


def pins() -> dict[str, str]:
    return dict(PIN.findall((ROOT / "requirements.txt").read_text()))


def test_compat_was_written_for_the_pinned_versions() -> None:
    pinned = pins()
    assert set(compat.WRITTEN_FOR) <= set(pinned), "requirements.txt no longer pins every package ui/compat.py reaches into"
    for package, version in compat.WRITTEN_FOR.items():
        assert version == pinned[package], (
            f"requirements.txt pins {package} {pinned[package]}, but ui/compat.py was written for {version}: "
            f"check its reaches into {package} and update WRITTEN_FOR")


def test_the_installed_libraries_are_what_compat_was_written_for() -> None:
    found = compat.problems()
    assert not found, "\n".join(found)


def test_a_problem_names_the_package_and_what_is_missing(monkeypatch) -> None:
    """The check itself can fail: another version, a missing attribute."""
    real = compat._installed
    monkeypatch.setattr(compat, "_installed", lambda p: "1.68.0" if p == "streamlit" else real(p))
    from streamlit.runtime.caching.ttl_cache import TTLCache

    monkeypatch.delattr(TTLCache, "expire")
    found = compat.problems()
    assert "ui/compat.py was written for streamlit 1.67.0; 1.68.0 is installed" in found
    assert "ui/compat.py relies on streamlit TTLCache.expire, which is missing" in found
    assert len(found) == 2, found


# ---------------------------------------------------------------------------------------
# Plotly figures reach the browser as built, without validation


def _script() -> None:
    import plotly.graph_objects as go
    import streamlit as st

    from ui.compat import AnimatedFigure, PreparedFigure

    # A property Plotly does not know: validation would raise on it.
    st.plotly_chart(PreparedFigure({"data": [{"type": "scatter", "x": [0, 1], "y": [1, 0]}],
                                    "layout": {"datarevision": 1, "no_such_property": 7}}), theme=None)
    fig = AnimatedFigure()
    fig.add_trace(go.Scatter(x=[0], y=[0]))
    fig.set_animation([{"name": "0", "data": [{"type": "scatter", "x": [1], "y": [1]}], "no_such_key": 1}],
                      [{"steps": [{"label": "0", "method": "animate", "args": [["0"]]}]}])
    st.plotly_chart(fig, theme=None)


def test_prepared_and_animated_figures_are_sent_as_they_are() -> None:
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    prepared, animated = (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
    assert prepared == {"data": [{"type": "scatter", "x": [0, 1], "y": [1, 0]}],
                        "layout": {"datarevision": 1, "no_such_property": 7}}
    assert animated["frames"][0]["no_such_key"] == 1
    assert animated["layout"]["sliders"][0]["steps"][0]["label"] == "0"
    assert animated["data"][0]["x"] == [0]


def test_charts_use_compat_without_importing_streamlit() -> None:
    code = "import sys, charts.surface, charts.wire, ui.compat; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr[-1500:]


def test_streamlit_takes_the_template_default_and_start_up_claims_it_back(tmp_path) -> None:
    code = """
import json
import plotly.io as pio
import charts.style
ours = pio.templates.default
import streamlit
theirs = pio.templates.default
from ui import startup
startup.start()
print(json.dumps([ours, theirs, pio.templates.default]))
"""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DESCENT_LAB_NO_WARMUP": "1",
           "DESCENT_LAB_CACHE": str(tmp_path), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    from charts.style import TEMPLATE

    assert json.loads(out.stdout.strip().splitlines()[-1]) == [TEMPLATE, "streamlit", TEMPLATE]


# ---------------------------------------------------------------------------------------
# Streamlit: closed sessions reaped once their reconnect window has passed


def _fake_runtime(monkeypatch, manager) -> None:
    import streamlit.runtime as st_runtime

    monkeypatch.setattr(st_runtime, "exists", lambda: True)
    monkeypatch.setattr(st_runtime, "get_instance", lambda: SimpleNamespace(_session_mgr=manager))


def test_expired_closed_sessions_are_reaped(monkeypatch) -> None:
    from streamlit.runtime.caching.ttl_cache import TTLCache

    clock = [0.0]
    cache = TTLCache(maxsize=128, ttl=30, timer=lambda: clock[0])
    for i in range(3):
        cache[f"s{i}"] = SimpleNamespace(session=f"session {i}")
    _fake_runtime(monkeypatch, SimpleNamespace(_storage_lock=threading.Lock(),
                                               _session_storage=SimpleNamespace(_cache=cache)))
    clock[0] = 10.0
    assert compat.reap_expired_sessions() == 0  # still inside the 30 s window: kept for a reconnect
    assert len(cache._data) == 3
    clock[0] = 31.0
    assert compat.reap_expired_sessions() == 3
    assert len(cache._data) == 0


def test_reaping_needs_a_server_and_says_so_when_the_internals_changed(monkeypatch) -> None:
    import streamlit.runtime as st_runtime

    monkeypatch.setattr(st_runtime, "exists", lambda: False)
    assert compat.reap_expired_sessions() == 0  # no server, no sessions
    _fake_runtime(monkeypatch, SimpleNamespace())  # a session manager without the storage
    with pytest.raises(compat.CompatError, match="streamlit"):
        compat.reap_expired_sessions()


# ---------------------------------------------------------------------------------------
# Nobody else reaches in


PRIVATE = re.compile(r"_validate=|jax\._src|\._session_mgr|\._session_storage|_raw_frames|_raw_sliders"
                     r"|streamlit\.runtime\.|streamlit\.elements\.|plotly\.basedatatypes|scriptrunner")


def test_only_compat_reaches_into_library_internals() -> None:
    """The app's side (the library packages keep to JAX and their own reaches)."""
    files = [ROOT / "app.py", *(p for d in ("pages", "ui", "charts", "experiments") for p in sorted((ROOT / d).rglob("*.py")))]
    assert len(files) > 20
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in files if p.name != "compat.py"
             for n, line in enumerate(p.read_text().splitlines(), 1) if PRIVATE.search(line)]
    assert not found, "\n".join(found)
    assert PRIVATE.search((ROOT / "ui" / "compat.py").read_text())  # the pattern finds what compat does


def test_numpy_s_blas_runs_on_one_thread_after_start_up():
    """ui.startup.start (run by conftest, as by every page) puts NumPy's OpenBLAS on one
    thread: right after a compiled call its second thread waited for XLA's (the exact
    spectrum took 69 ms against 43 ms)."""
    from ui import compat

    assert compat.blas_threads() == 1
