"""The Curvature page headless in AppTest: every catalog surface, the critical-point table
of Himmelblau, the verdicts at the saddle and the monkey saddle, the stable step of the
ravine against its Hessian, custom and broken expressions, junk URLs, and moving the point
by table row and by contour click. Few GD steps keep each run quick."""
from __future__ import annotations

from ui.controls import surface_signature  # noqa: E402

import base64
import json
import math
import re

import jax
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import surfaces
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
PAGE = "pages/2_Curvature.py"
QUICK = {"gdsteps": "60"}


def run_page(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(PAGE)
    for k, v in {**QUICK, **params}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return " | ".join(str(e.value) for e in elements)


def verdict(at: AppTest) -> str:
    """The verdict box: the one alert that starts with a bold headline."""
    for e in list(at.success) + list(at.warning) + list(at.error) + list(at.info):
        if str(e.value).startswith("**"):
            return str(e.value)
    raise AssertionError("no verdict shown")


def critical_table(at: AppTest):
    return next(d.value for d in at.dataframe if "kind" in d.value.columns)


def arr(value) -> np.ndarray:
    """A figure's array: plain JSON lists, or Plotly's typed arrays (base64 + dtype + shape)."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return out.reshape([int(n) for n in str(value.get("shape", out.size)).split(",")])
    return np.asarray(value, dtype=float)


def figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_every_catalog_surface_runs() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(PAGE)
    for k, v in QUICK.items():
        at.query_params[k] = v
    for key in surfaces.names():
        at.session_state["surface"] = key
        at.run()
        assert not at.exception, (key, at.exception)
        assert not at.error or all("diverged" in str(e.value) for e in at.error), (key, texts(at.error))
        verdict(at)  # the second-order test is stated at the default point
        if surfaces.get(key).minima:
            assert any("2/λmax" in m.label for m in at.metric), key


def test_himmelblau_table_lists_four_minima_four_saddles_one_maximum() -> None:
    at = run_page(surface="himmelblau")
    table = critical_table(at)
    assert sorted(table["kind"]) == sorted(["minimum"] * 4 + ["saddle"] * 4 + ["maximum"])
    s = surfaces.get("himmelblau")
    for landmark in s.landmarks:
        row = table[np.isclose(table["x"], landmark.point[0]) & np.isclose(table["y"], landmark.point[1])]
        assert len(row) == 1 and row["kind"].iloc[0] == landmark.kind
    # eigenvalue signs agree with the kinds, and the values are f there (minima: 0)
    assert ((table["λ₁"] > 0) == (table["kind"] == "minimum")).all()
    assert ((table["λ₂"] < 0) == (table["kind"] == "maximum")).all()
    np.testing.assert_allclose(table.loc[table["kind"] == "minimum", "f"], 0.0, atol=1e-12)
    # the map marks them by kind: 4 stars, 4 crosses, 1 triangle
    main = figures(at)[0]
    counts = {d["name"]: arr(d["x"]).size for d in main["data"] if d.get("name") in ("minimum", "saddle", "maximum")}
    assert counts == {"minimum": 4, "saddle": 4, "maximum": 1}


def test_default_point_of_himmelblau_is_its_first_saddle() -> None:
    at = run_page(surface="himmelblau")
    first_saddle = next(m.point for m in surfaces.get("himmelblau").landmarks if m.kind == "saddle")
    assert (at.session_state["px"], at.session_state["py"]) == first_saddle
    assert verdict(at).startswith("**Saddle point.**")


def test_origin_of_saddle_is_a_saddle() -> None:
    at = run_page(surface="saddle", px="0", py="0")
    v = verdict(at)
    assert v.startswith("**Saddle point.**") and "λ₁ = -2 < 0 < λ₂ = 2" in v
    assert "curves down along v₁ and up along v₂" in v
    assert "already critical" in texts(at.markdown)  # Newton does not move from a critical point


def test_origin_of_monkey_saddle_is_undecided() -> None:
    at = run_page(surface="monkey_saddle", px="0", py="0")
    v = verdict(at)
    assert v.startswith("**Undecided (degenerate).**")
    assert "λ₁ = λ₂ = 0 (H = 0)" in v and "higher-order terms decide" in v
    assert "no minimum" in texts(at.info)


def test_a_point_that_is_not_critical_says_so() -> None:
    at = run_page(surface="bowl", px="1", py="0.5")
    v = verdict(at)
    assert v.startswith("**Not a critical point.**") and "does not apply" in v
    assert "curves up along every direction" in v  # the curvature is still described
    assert "Newton reached a minimum at (0, 0) in 1 step." in texts(at.markdown)


@pytest.mark.parametrize("condition", ["25", "100"])
def test_ravine_stable_step_is_two_over_lambda_max(condition: str) -> None:
    at = run_page(surface="ravine", **{"ravine.condition": condition})
    shown = next(m.value for m in at.metric if "2/λmax" in m.label)
    # The Hessian, independently: central second differences of f in float64.
    f = surfaces.get("ravine", condition=float(condition)).fn
    h, p = 1e-3, np.zeros(2)
    e = np.eye(2)
    with jax.enable_x64(True):
        def f64(q):
            return float(f(np.asarray(q, np.float64)))

        hess = np.array([[(f64(p + h * e[i] + h * e[j]) - f64(p + h * e[i] - h * e[j]) - f64(p - h * e[i] + h * e[j])
                           + f64(p - h * e[i] - h * e[j])) / (4 * h * h) for j in range(2)] for i in range(2)])
    lam_max = float(np.max(np.linalg.eigvalsh(hess)))
    assert lam_max == pytest.approx(float(condition), rel=1e-6)
    assert float(shown) == pytest.approx(2.0 / lam_max, rel=1e-5)
    # the run table's predictions for the default multiples 0.5x, 0.9x, 1.1x, with lambda = (1, kappa)
    runs = next(d.value for d in at.dataframe if "outcome" in d.value.columns)
    kappa = float(condition)
    expected = [max(1 - 1 / kappa, 0.0), max(0.8, 1 - 1.8 / kappa), 1.2]
    np.testing.assert_allclose(runs["max |1−ηλᵢ|"], expected, rtol=1e-9)
    assert runs["outcome"].iloc[0] == "converges"


def test_gd_at_1_1x_diverges_and_shows_the_step() -> None:
    at = run_page(surface="ravine", gdsteps="200")
    runs = next(d.value for d in at.dataframe if "outcome" in d.value.columns)
    k = int(re.search(r"diverged at step (\d+)", runs["outcome"].iloc[2]).group(1))
    assert 60 < k < 120  # |1 - eta lambda_max| = 1.2 per step from 0.05 to the 1e6 box: ~90 steps
    assert f"diverged at step {k}" in texts(at.error)
    assert runs["outcome"].iloc[1] == "converges, oscillating along v₂"
    # measured on the float32 runs: the ratio of successive distances is max |1 − ηλᵢ| (0.96, 0.928, 1.2)
    np.testing.assert_allclose(runs["measured ratio"].astype(float), runs["max |1−ηλᵢ|"], atol=1e-3)


def test_custom_expression_surface() -> None:
    at = run_page(surface="custom", expr="x^2 - y^2", px="0", py="0")
    assert verdict(at).startswith("**Saddle point.**")
    table = critical_table(at)
    assert list(table["kind"]) == ["saddle"]
    assert abs(table["x"].iloc[0]) < 1e-9 and abs(table["y"].iloc[0]) < 1e-9


def test_bad_expression_shows_a_message() -> None:
    at = run_page(surface="custom", expr="x^^2 + sin(")
    assert "cannot be used" in texts(at.error)
    assert at.session_state["expr"] == "x^^2 + sin("  # what the user typed is kept


def test_junk_url_params_give_notices() -> None:
    at = run_page(surface="himmelblau", px="abc", newton="-3", mult="0.5,7", bogus="1")
    notes = texts(at.info)
    assert "`px` = `abc` ignored (not a number)" in notes and "`mult` = `0.5,7` ignored" in notes
    assert "`newton` = `-3` is below the smallest allowed value; using `1`" in notes
    assert "`bogus`" in notes
    assert verdict(at).startswith("**Saddle point.**")  # defaults used


def test_table_row_and_contour_click_move_the_point() -> None:
    at = run_page(surface="himmelblau")
    table = critical_table(at)
    row = int(np.flatnonzero(table["kind"] == "maximum")[0])
    key = f"curv_table_{abs(hash(surface_signature(surfaces.get('himmelblau'))))}"
    at.session_state[key] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert not at.exception
    assert (at.session_state["px"], at.session_state["py"]) == (table["x"].iloc[row], table["y"].iloc[row])
    assert verdict(at).startswith("**Local maximum.**")
    at.session_state["curvature_contour"] = {"selection": {"points": [{"x": 3.0, "y": 2.0}]}}
    at.run()
    assert (at.session_state["px"], at.session_state["py"]) == (3.0, 2.0)
    assert verdict(at).startswith("**Local minimum.**")


def test_url_rounding_snaps_back_onto_the_critical_point() -> None:
    """The URL keeps 6 significant digits; a point that close to a saddle is put on it."""
    at = run_page(surface="himmelblau", px="0.0866775", py="2.88425")
    assert verdict(at).startswith("**Saddle point.**")
    assert math.isclose(at.session_state["px"], 0.086677504555396, rel_tol=1e-14)


def test_figures_carry_arrows_model_and_newton() -> None:
    at = run_page(surface="himmelblau", px="0.5", py="2.5")
    main = figures(at)[0]
    names = {d.get("name") for d in main["data"]}
    assert {"θ′ (the point)", "Newton steps", "f levels", "quadratic model"} <= names
    arrows = [a for a in main["layout"]["annotations"] if a.get("arrowside") == "end+start"]
    assert len(arrows) == 2
    newton = next(d for d in main["data"] if d.get("name") == "Newton steps")
    # walked to the saddle (charts carry 7 significant digits: float32 precision, more than drawn)
    assert math.isclose(arr(newton["x"])[-1], 0.086677504555396, rel_tol=1e-6)
    assert "Newton reached a saddle" in texts(at.markdown)


def test_a_new_surface_brings_its_own_point_and_no_multiple_is_said() -> None:
    at = run_page(surface="himmelblau", px="3", py="2")
    at.session_state["surface"] = "ravine"
    at.run()
    assert not at.exception
    assert (at.session_state["px"], at.session_state["py"]) == surfaces.get("ravine").starts[0]  # it has no saddle
    assert at.query_params["px"] == "-2.5"  # the URL follows
    at.session_state["mult"] = []
    at.run()
    assert "Pick at least one multiple" in texts(at.warning)
    assert not [d for d in at.dataframe if "outcome" in d.value.columns]
