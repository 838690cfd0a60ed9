"""The Sweeps page (and custom surfaces on the Playground) run headless in AppTest: every
section, custom and broken expressions, junk URLs, a picked cell, settings kept across
sections. Small grids and few steps keep each run quick."""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")
QUICK = {"steps": "150", "sw.nlr": "12", "sw.nh2": "8", "bs.n": "30", "race.nlr": "12"}


def run_page(page: str = "pages/3_Sweeps.py", **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page(page)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def sweeps_page(**params: str) -> AppTest:
    return run_page(**{**QUICK, **params})


def figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def traces(fig: dict, name: str) -> list[dict]:
    return [d for d in fig["data"] if d.get("name") == name]


def arr(value) -> np.ndarray:
    """A figure's array: plain JSON lists, or Plotly's typed arrays (base64 + dtype + shape)."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return out.reshape([int(n) for n in str(value.get("shape", out.size)).split(",")])
    return np.asarray(value, dtype=float)


def is_contour(fig: dict) -> bool:
    """A surface's contour: its fill a layout image, its colour bar a trace named "surface"."""
    return bool(traces(fig, "surface")) and bool(fig["layout"].get("images"))


def texts(elements) -> str:
    return " | ".join(str(e.value) for e in elements)


def test_defaults_show_a_sweep_map_and_the_best_path():
    at = run_page()
    figs = figures(at)
    sweep = next(f for f in figs if traces(f, "sweep"))
    z = arr(traces(sweep, "sweep")[0]["z"])
    assert z.shape == (32, 32)  # the default grid: 32 learning rates x 32 momentum values
    assert traces(sweep, "diverged") and traces(sweep, "best cell")
    assert any(is_contour(f) for f in figs)  # the contour with the chosen run's path
    summary = texts(at.markdown)
    assert "of the runs diverged" in summary and "Fastest" in summary
    assert not at.error


def test_learning_rate_only_sweep_for_gd():
    at = sweeps_page(**{"sw.opt": "gd"})
    assert at.selectbox(key="sw.h2").value == "none"
    fig = next(f for f in figures(at) if traces(f, "runs"))
    assert arr(traces(fig, "sweep-cells")[0]["x"]).size == 12


def test_picked_cell_from_the_url_is_drawn():
    at = sweeps_page(**{"sw.lr": "0.01", "sw.v": "0.5", "sw.lrlo": "0.001", "sw.lrhi": "0.1", "sw.nlr": "3",
                        "sw.h2lo": "0", "sw.h2hi": "0.5", "sw.nh2": "2"})
    sweep = next(f for f in figures(at) if traces(f, "sweep"))
    shown = traces(sweep, "path shown")[0]
    assert np.isclose(shown["x"][0], -2.0) and np.isclose(shown["y"][0], 0.5)
    assert "picked" in texts(at.caption)
    assert any("η = 0.01" in (d.get("name") or "") for f in figures(at) for d in f["data"])


def test_steps_mode_and_a_log_second_axis():
    at = sweeps_page(**{"sw.opt": "adam", "sw.h2": "eps", "sw.mode": "steps"})
    sweep = next(f for f in figures(at) if traces(f, "sweep"))
    assert traces(sweep, "not reached")
    assert sweep["layout"]["yaxis"]["title"]["text"].startswith("eps")


def test_basins_section_on_himmelblau():
    at = sweeps_page(view="basins")
    maps = [f for f in figures(at) if traces(f, "basins")]
    assert len(maps) == 2  # GD and Momentum side by side
    table = at.dataframe[0].value
    assert list(table["optimizer"]) == ["Gradient descent", "Momentum"]
    minima_cols = [c for c in table.columns if c.startswith("M")]
    assert len(minima_cols) == 4
    gd = table.iloc[0]
    assert all(float(gd[c].rstrip("%")) > 10 for c in minima_cols) and gd["diverged"] == "0.0%"


def test_race_section():
    at = sweeps_page(view="race")
    table = at.dataframe[0].value
    assert list(table["optimizer"]) == ["Gradient descent", "Momentum", "RMSProp", "Adam"]
    assert all(v != "—" for v in table["best η"])
    contour = next(f for f in figures(at) if is_contour(f))
    assert sum("η =" in (d.get("name") or "") for d in contour["data"]) == 4


def test_custom_surface_on_every_section():
    custom = {"surface": "custom", "expr": "(x-1)^2 + (y+0.5)^2"}
    at = sweeps_page(view="basins", steps="500", **custom)  # GD contracts by 1 - 2 eta = 0.98 a step
    table = at.dataframe[0].value
    assert "M1 (1.00, -0.50)" in table.columns and list(table["M1 (1.00, -0.50)"]) == ["100.0%", "100.0%"]
    sweeps_page(view="sweep", **custom)
    sweeps_page(view="race", **custom)


def test_bad_expression_gives_a_message():
    at = sweeps_page(surface="custom", expr="x^^2 + sin(")
    assert "That expression cannot be used" in texts(at.error)
    assert at.text_input(key="expr").value == "x^^2 + sin("  # kept for fixing


def test_expression_not_finite_everywhere_warns():
    at = sweeps_page(view="basins", surface="custom", expr="log(x) + y^2")
    assert "not finite" in texts(at.warning)


def test_junk_url_gives_notices_not_exceptions():
    at = run_page(view="nope", junk="1", steps="999999", **{"bs.n": "5000", "sw.opt": "sgd", "race.opts": "gd,zzz"})
    notes = texts(at.info)
    for key in ("view", "steps", "bs.n", "sw.opt", "race.opts", "junk"):
        assert f"`{key}" in notes, key
    assert at.radio(key="view").value == "sweep"


def test_settings_survive_switching_sections():
    at = sweeps_page(**{"sw.nlr": "10"})
    at.radio(key="view").set_value("basins").run()
    assert not at.exception
    at.slider(key="bs.n").set_value(20).run()
    at.radio(key="view").set_value("sweep").run()
    assert not at.exception
    assert at.slider(key="sw.nlr").value == 10
    assert at.session_state["bs.n"] == 20
    assert at.query_params["sw.nlr"] in ("10", ["10"])


@pytest.mark.parametrize("expr", ["x^2-y^2"])
def test_custom_surface_on_the_playground(expr):
    at = run_page("pages/1_Playground.py", surface="custom", expr=expr, steps="100")
    assert not at.error
    assert any(is_contour(f) for f in figures(at))


def test_not_finite_expression_on_the_playground():
    at = run_page("pages/1_Playground.py", surface="custom", expr="log(x)", steps="100")
    assert "not finite" in texts(at.warning)


def test_click_on_the_sweep_map_picks_that_cell():
    at = sweeps_page(**{"sw.lrlo": "0.0001", "sw.lrhi": "1", "sw.nlr": "5", "sw.nh2": "3"})
    # What Streamlit stores for a click: the clicked point of the invisible cell grid
    # (x = log10 of the learning rate), a little off the centre.
    at.session_state["sweep_map"] = {"selection": {"points": [{"x": -2.03, "y": 0.98}], "point_indices": [],
                                                   "box": [], "lasso": []}}
    at.run()
    assert not at.exception
    assert at.session_state["sw.lr"] == pytest.approx(0.01) and at.session_state["sw.v"] == pytest.approx(0.999)
    assert at.query_params["sw.lr"] in ("0.01", ["0.01"])
    sweep = next(f for f in figures(at) if traces(f, "sweep"))
    shown = traces(sweep, "path shown")[0]
    assert np.isclose(shown["x"][0], -2.0) and np.isclose(shown["y"][0], 0.999)


# ---------------------------------------------------------------------------------------
# One type per column, the work budget, notices, the shared results


def test_race_table_has_one_type_per_column_and_needs_no_arrow_fix():
    """A column mixing step counts and "not reached" could not be sent to the browser as
    Arrow; Streamlit then logged a traceback and converted it. Each column must have one
    type, and Streamlit must not have to fix any (it logs when it does)."""
    import logging

    import pandas as pd
    import pyarrow as pa

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("streamlit.dataframe_util")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        # A tolerance Adam cannot reach within 150 steps from here, GD can: both kinds of row.
        at = sweeps_page(view="race", tol="1e-08", **{"race.opts": "gd,adam"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert not [r for r in records if "Arrow" in r.getMessage()], [r.getMessage() for r in records]
    table = at.dataframe[0].value
    pa.Table.from_pandas(table)  # what Streamlit does; raised ArrowTypeError before
    for column in table.columns:
        kinds = {type(v) for v in table[column] if not pd.isna(v)}
        assert len(kinds) <= 1, (column, kinds)
    steps = next(c for c in table.columns if c.startswith("steps to"))
    assert pd.api.types.is_numeric_dtype(table[steps]) and table["reached"].dtype == bool
    assert table["reached"].tolist() == [True, False]
    assert table[steps].isna().tolist() == [False, True]


def test_the_race_table_builder_types_its_columns():
    import pyarrow as pa

    from charts.sweeps import RaceRow, race_table

    rows = [RaceRow("gd", "Gradient descent", "#000", np.array([0.1, 1.0]), np.array([5, -1]), np.array([-1, 2]),
                    0.1, 5),
            RaceRow("adam", "Adam", "#111", np.array([0.1, 1.0]), np.array([-1, -1]), np.array([-1, -1]), 0.1, None),
            RaceRow("nadam", "Nadam", "#222", np.array([0.1, 1.0]), np.array([-1, -1]), np.array([1, 1]), None, None)]
    table = race_table(rows, [1e-4, 0.3, None], tol=1e-3)
    schema = pa.Table.from_pandas(table).schema
    assert str(schema.field("steps to L − L* < 0.001").type) == "int64"
    assert str(schema.field("reached").type) == "bool"
    assert list(table["reached"]) == [True, False, False]
    assert table["best η"].tolist() == ["0.1", "0.1", "—"]


def budget_weight() -> float:
    import surfaces
    from optimizers import budget

    return budget.step_weight(surfaces.get("himmelblau"))


def test_a_sweep_over_the_budget_runs_on_a_smaller_grid_with_a_warning(monkeypatch):
    from optimizers import budget

    monkeypatch.setattr(budget, "SWEEPS_CAP", 64 * 64 * 150 * budget_weight() / 4)  # a quarter of the request
    at = sweeps_page(**{"sw.nlr": "64", "sw.nh2": "64"})
    warning = texts(at.warning)
    assert "4,096 runs of 150 steps on this surface is more than one page run may compute" in warning
    assert "the map has 32 × 32 cells." in warning
    z = arr(traces(next(f for f in figures(at) if traces(f, "sweep")), "sweep")[0]["z"])
    assert z.shape == (32, 32)


def test_basins_over_the_budget_at_the_floor_get_fewer_steps(monkeypatch):
    from optimizers import budget

    per_step = 30 * 30 * 2 * budget_weight()
    monkeypatch.setattr(budget, "SWEEPS_CAP", per_step * 100.5)
    at = sweeps_page(view="basins")  # 30 x 30 is below the floor of 50: the steps give way
    warning = texts(at.warning)
    assert "2 maps of 30 × 30 runs of 150 steps" in warning and "30 × 30 starts, 100 steps each" in warning
    titles = [f["layout"]["title"]["text"] for f in figures(at) if traces(f, "basins")]
    assert len(titles) == 2 and all("100 steps" in t for t in titles)


def test_a_new_basin_radius_relabels_without_running_again(monkeypatch):
    from optimizers import sweeps

    calls = []
    real = sweeps.basins
    monkeypatch.setattr(sweeps, "basins", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    at = sweeps_page(view="basins", steps="137", **{"bs.n": "20"})  # settings no other test asks for
    assert sorted(calls) == ["gd", "momentum"]
    before = at.dataframe[0].value
    at.select_slider(key="bs.r").set_value(0.0001).run()
    assert not at.exception
    assert sorted(calls) == ["gd", "momentum"]  # no new runs, only new labels
    after = at.dataframe[0].value
    share = lambda table: [float(v.rstrip("%")) for v in table["not converged"]]  # noqa: E731
    assert sum(share(after)) > sum(share(before))  # a tighter radius: fewer runs count as converged


def test_resets_because_of_another_setting_get_a_notice():
    at = sweeps_page(**{"sw.opt": "gd", "sw.h2": "momentum"})
    assert "Gradient descent has no hyperparameter momentum to sweep" in texts(at.info)
    at = sweeps_page(**{"sw.lrlo": "1", "sw.lrhi": "0.001"})
    assert "The smallest learning rate was above the largest; the two were swapped." in texts(at.info)
    assert (at.session_state["sw.lrlo"], at.session_state["sw.lrhi"]) == (0.001, 1.0)
