"""The Playground page, run headless through Streamlit's AppTest."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.conftest import arr, chart_specs, open_page, texts

PAGE = "pages/1_Playground.py"


def contour(at) -> dict:
    """The surface chart: its fill is a layout image, its colour bar a trace named "surface"."""
    return next(s for s in chart_specs(at)
                if s["layout"].get("images") and any(t.get("name") == "surface" for t in s["data"]))


def path_trace(spec: dict, title: str) -> dict:
    return next(t for t in spec["data"] if t.get("name", "").startswith(title) and t.get("mode") in ("lines", "lines+markers"))


@pytest.fixture(scope="module")
def default_run():
    at = open_page(PAGE)
    at.run()
    return at


def test_defaults_run_and_draw_every_racer(default_run):
    at = default_run
    assert not at.exception
    spec = contour(at)
    for title in ("Gradient descent", "Momentum", "RMSProp", "Adam"):
        trace = path_trace(spec, title)
        assert len(arr(trace["x"])) > 100
    # The start marker sits at the surface's suggested start, Rosenbrock's (-1.5, 2).
    start = next(t for t in spec["data"] if t.get("name") == "start")
    assert (arr(start["x"])[0], arr(start["y"])[0]) == (-1.5, 2.0)
    # Animation frames move only the balls: few traces per frame, at most a few hundred frames.
    assert 10 <= len(spec["frames"]) <= 300
    assert all(len(f["data"]) == 4 for f in spec["frames"])
    assert len(chart_specs(at)) == 2  # contour, curves (loss and distance); inspector and 3-D are opt-in
    curves = next(c for c in chart_specs(at) if "xaxis2" in c["layout"])
    # One figure, two panels: loss above L* and distance to the nearest minimum, a line per racer in each.
    assert [t.get("xaxis", "x") for t in curves["data"]].count("x2") == 4
    assert sum(bool(t.get("showlegend", True)) for t in curves["data"]) == 4  # one legend entry per racer
    adam_loss = next(t for t in curves["data"] if t["name"] == "Adam" and t.get("xaxis", "x") == "x")
    y = arr(adam_loss["y"])
    assert y[0] == pytest.approx(12.5, rel=1e-5)  # f(-1.5, 2) - 0 on Rosenbrock
    assert np.nanmin(y) < 1.25  # and Adam gets at least ten times lower
    # The fill is one PNG drawn by the server over the axes' exact ranges, no go.Contour to
    # recompute in the browser, sent by URL (the same every rerun: fetched once; the browser
    # test fetches it); the click grid shows f on hover.
    (image,) = spec["layout"]["images"]
    assert re.fullmatch(r"(mock/)?media/[0-9a-f]{20,}\.png", image["source"]), image["source"]
    assert image["layer"] == "below"
    assert not any(t["type"] == "contour" for t in spec["data"])
    assert spec["layout"]["xaxis"]["range"] == [-2.0, 2.0] and spec["layout"]["yaxis"]["range"] == [-1.0, 3.0]
    assert image["x"] < -2.0 < 2.0 < image["x"] + image["sizex"]
    grid = next(t for t in spec["data"] if t.get("name") == "click-grid")
    assert len(arr(grid["customdata"])) == len(arr(grid["x"])) and "f=" in grid["hovertemplate"]


def test_changing_a_learning_rate_changes_the_path():
    at = open_page(PAGE)
    at.run()
    before = arr(path_trace(contour(at), "Adam")["x"])
    # Adam's expander starts closed, and a closed expander draws no controls: open it.
    assert not [s for s in at.select_slider if s.key == "adam.learning_rate"]
    at.session_state["open.adam"] = True
    at.run()
    at.select_slider(key="adam.learning_rate").set_value(0.2).run()
    assert not at.exception
    after = arr(path_trace(contour(at), "Adam")["x"])
    assert before.shape != after.shape or not np.allclose(before, after)
    assert at.query_params["adam.learning_rate"] == "0.2"
    # Closed again, Adam keeps its learning rate (Streamlit drops an undrawn widget's state).
    at.session_state["open.adam"] = False
    at.run()
    at.run()
    assert at.query_params["adam.learning_rate"] == "0.2"
    np.testing.assert_array_equal(arr(path_trace(contour(at), "Adam")["x"]), after)


def test_a_diverging_learning_rate_is_reported_and_the_others_keep_racing():
    at = open_page(PAGE, {"gd.learning_rate": "0.01"})
    at.run()
    assert not at.exception
    errors = " ".join(texts(at, "error"))
    assert "Gradient descent diverged at step" in errors
    spec = contour(at)
    gd = path_trace(spec, "Gradient descent")
    assert "diverged at step" in gd["name"]
    assert len(arr(gd["x"])) < 20  # drawn up to the divergence
    assert len(arr(path_trace(spec, "Momentum")["x"])) > 100
    assert not any(np.isnan(arr(gd["x"])))


def open_inspector(at):
    assert not [s for s in at.selectbox if s.key == "inspect_opt"]  # closed: nothing built
    at.session_state["open.inspector"] = True
    at.run()
    return at


def test_the_step_table_shows_every_racer_and_who_has_diverged():
    at = open_page(PAGE, {"gd.learning_rate": "0.01"})
    at.run()
    open_inspector(at)
    at.selectbox(key="inspect_opt").set_value("momentum").run()
    at.slider(key="inspect_k").set_value(100).run()
    assert not at.exception
    (table,) = [m for m in texts(at, "markdown") if m.startswith("|")]
    header, _, *rows = table.splitlines()
    assert [c.strip() for c in header.strip("|").split("|")] == ["", "Gradient descent", "Momentum", "RMSProp", "Adam"]
    cells = {r.split("|")[1].strip(): [c.strip() for c in r.strip("|").split("|")[1:]] for r in rows}
    assert cells["θ_k"][0] == "diverged" and cells["θ_k"][1].startswith("(")  # GD blew up before step 100
    t = at.session_state  # the numbers are the traces' own: Momentum's learning rate at step 100
    assert cells["η_k"][1] == f"{float(t['momentum.learning_rate']):.3g}"


def test_junk_query_parameters_fall_back_to_defaults_with_a_notice():
    at = open_page(PAGE, {"steps": "lots", "adam.learning_rate": "1e99", "surface": "nowhere", "hack": "<script>",
                          "opts": "gd,evil", "x0": "nan"})
    at.run()
    assert not at.exception
    notes = " ".join(texts(at, "info"))
    assert "`steps` = `lots` ignored" in notes and "`surface` = `nowhere` ignored" in notes and "`hack`" in notes
    assert "`adam.learning_rate` = `1e+99` is above the largest allowed value" in notes
    assert at.session_state["steps"] == 500
    assert at.session_state["surface"] == "rosenbrock"


def test_url_state_reproduces_the_view():
    at = open_page(PAGE, {"surface": "himmelblau", "opts": "adam,nesterov", "steps": "120", "x0": "0.5", "y0": "-1"})
    at.run()
    assert not at.exception
    spec = contour(at)
    assert len(arr(path_trace(spec, "Adam")["x"])) == 121
    assert len(arr(path_trace(spec, "Nesterov")["x"])) == 121
    start = next(t for t in spec["data"] if t.get("name") == "start")
    assert (arr(start["x"])[0], arr(start["y"])[0]) == (0.5, -1.0)


def test_a_click_on_the_contour_moves_the_start():
    at = open_page(PAGE)
    at.run()
    at.session_state["contour"] = {"selection": {"points": [{"x": 0.25, "y": 1.75, "curve_number": 1}]}}
    at.run()
    assert not at.exception
    assert (at.session_state["x0"], at.session_state["y0"]) == (0.25, 1.75)
    start = next(t for t in contour(at)["data"] if t.get("name") == "start")
    assert (arr(start["x"])[0], arr(start["y"])[0]) == (0.25, 1.75)
    assert at.query_params["x0"] == "0.25"


def test_custom_surface_and_a_bad_expression():
    at = open_page(PAGE, {"surface": "custom", "expr": "x^2 - y^2", "xmin": "-2", "xmax": "2", "ymin": "-2", "ymax": "2"})
    at.run()
    assert not at.exception
    assert any(t.get("name") == "saddle" for t in contour(at)["data"])  # found by the critical-point search
    at.text_input(key="expr").set_value("x + z").run()
    assert not at.exception
    assert "unknown name 'z' at column 5" in " ".join(texts(at, "error"))
    assert at.session_state["steps"] == 500  # nothing else lost


def test_the_inspector_fills_the_update_with_numbers():
    at = open_page(PAGE)
    at.run()
    assert r"\theta_{k}" not in " ".join(texts(at, "latex"))
    open_inspector(at)
    latex = " ".join(texts(at, "latex"))
    assert r"\theta_{k}" in latex and "pmatrix" in latex
    assert len(chart_specs(at)) == 3  # and its arrows chart


def test_csv_holds_every_optimizer_and_step():
    import io

    import pandas as pd

    import optimizers
    import surfaces
    from optimizers.export import traces_csv

    s = surfaces.get("rosenbrock")
    traces = [optimizers.trace(s, k, s.starts[0], 50, with_stats=True) for k in ("gd", "adam", "momentum")]
    df = pd.read_csv(io.StringIO(traces_csv(traces)))
    assert sorted(df.optimizer.unique()) == ["adam", "gd", "momentum"]
    assert (df.groupby("optimizer").step.max() == 50).all()
    assert {"x", "y", "loss", "grad_x", "update_y", "m_hat_x", "velocity_y", "learning_rate"} <= set(df.columns)
    adam = df[df.optimizer == "adam"]
    np.testing.assert_allclose(adam[["x", "y"]].to_numpy(), traces[1].points, rtol=1e-6)


# ---------------------------------------------------------------------------------------
# Issue 17


def test_with_noise_the_inspector_draws_the_true_and_the_noisy_gradient():
    at = open_page(PAGE, {"noise": "2", "opts": "gd"})
    at.run()
    open_inspector(at)
    assert not at.exception
    inspector = next(s for s in chart_specs(at) if any(t.get("name", "").startswith("−η·g̃") for t in s["data"]))
    names = [t.get("name") for t in inspector["data"]]
    assert "−η∇L (plain GD step)" in names and "−η·g̃, g̃ = ∇L + ξ (the noisy gradient used)" in names
    latex = " ".join(texts(at, "latex"))
    assert r"\tilde g_{k} = \nabla L(\theta_{k-1}) + \xi_{k}" in latex
    (table,) = [m for m in texts(at, "markdown") if m.startswith("|")]
    assert "g̃_k = ∇L + ξ_k" in table


def test_radams_formula_shows_the_threshold_in_use():
    at = open_page(PAGE, {"opts": "radam", "radam.threshold": "7"})
    at.run()
    assert not at.exception
    latex = " ".join(texts(at, "latex"))  # RAdam's expander is the first, open
    assert r"\rho_t \ge \rho_{\min} = 7" in latex and r"\ge 5" not in latex


def test_rmsprops_course_start_is_a_toggle_that_changes_the_formula_and_the_first_step():
    at = open_page(PAGE, {"opts": "rmsprop", "steps": "5"})
    at.run()
    assert r"\sigma_0^2 = 0" in " ".join(texts(at, "latex"))
    assert "PyTorch and Optax" in " ".join(texts(at, "caption"))  # the note beside the formula
    at.toggle(key="rmsprop.initial_sq_grad").set_value(True).run()
    assert not at.exception
    assert r"\sigma_1^2 = g_1^2" in " ".join(texts(at, "latex"))
    assert at.query_params["rmsprop.initial_sq_grad"] in ("true", "1", ["true"], ["1"])
    x = arr(path_trace(contour(at), "RMSProp")["x"])
    lr = float(at.session_state["rmsprop.learning_rate"])
    assert abs(x[1] - x[0]) == pytest.approx(lr, rel=1e-3)  # the course's first step: η


def test_adam_without_bias_correction_shows_the_ratio_curve():
    at = open_page(PAGE, {"opts": "adam"})
    at.run()
    assert not any("(1 − β₁ᵗ)/√(1 − β₂ᵗ)" in json.dumps(s, ensure_ascii=False) for s in chart_specs(at))
    at.toggle(key="adam.bias_correction").set_value(False).run()
    assert not at.exception
    (chart,) = [s for s in chart_specs(at) if s["data"][0].get("name") == "(1 − β₁ᵗ)/√(1 − β₂ᵗ)"]
    x, y = arr(chart["data"][0]["x"]), arr(chart["data"][0]["y"])
    assert y[0] == pytest.approx(3.162, abs=1e-3) and x[np.argmax(y)] == 12 and y.max() == pytest.approx(6.57, abs=0.01)
    assert y[list(x).index(100)] == pytest.approx(3.24, abs=0.01)
