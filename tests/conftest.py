"""Shared test set-up: JAX's compilation cache in a throwaway folder (faster reruns of the
suite on one machine), and an AppTest factory that opens a page through the home page."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DESCENT_LAB_CACHE", str(Path(tempfile.gettempdir()) / "descent-lab-test-cache"))
# The background warm-up compiles every page's defaults: useful in a server, only load in
# a test process (the browser test's server runs it).
os.environ.setdefault("DESCENT_LAB_NO_WARMUP", "1")

# Importing Streamlit's plotly_chart sets Plotly's default template to "streamlit". Done
# before any test module imports charts.style (which sets our own default), as in a server;
# otherwise the first page test to draw a chart switches the default for every figure built
# after it, and a chart test's template check depended on the order the files ran in.
import streamlit.elements.plotly_chart  # noqa: E402,F401

# The process's start-up, before any test computes, as a server's first page run does it:
# JAX's settings (some are read when JAX creates its backend), our Plotly template back as
# the default, the memory trimmer (the warm-up is off, above).
from ui import startup  # noqa: E402

startup.start()


def open_page(page: str | None, query: dict[str, str] | None = None, timeout: float = 60):
    """An AppTest for ``page`` (e.g. "pages/1_Playground.py"; None for home), not yet run.
    Pages are reached by switch_page from app.py, as Streamlit resolves page links
    relative to the entry point."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    if page:
        at.switch_page(page)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at


def chart_specs(at) -> list[dict]:
    """The Plotly figures a page drew, as dicts."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def arr(value) -> "np.ndarray":
    """A Plotly array: a plain list, or Plotly's typed-array form {dtype, bdata[, shape]}."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            out = out.reshape([int(n) for n in str(value["shape"]).split(",")])
        return out
    return np.asarray(value, dtype=float)


def texts(at, kind: str) -> list[str]:
    return [e.value for e in at.get(kind)]


@pytest.fixture
def page():
    return open_page
