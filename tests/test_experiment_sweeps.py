"""experiments.sweeps without Streamlit: the URL, settling, the sweep map against single
runs, the work budget's cuts, basins on a bowl, and the race table's types."""
from __future__ import annotations

import numpy as np
import pytest

import optimizers
import surfaces
from catalog import t
from experiments import sweeps as ex
from experiments.schema import Notice
from optimizers import budget

QUICK = {"steps": 150, "sw.nlr": 12, "sw.nh2": 8, "bs.n": 30, "race.nlr": 12}
# Every URL key the page read before its settings became a Settings class, in order.
OLD_KEYS = ["view", "steps", "tol", "x0", "y0", "sw.opt", "sw.h2", "sw.mode", "sw.lrlo", "sw.lrhi", "sw.nlr", "sw.h2lo",
            "sw.h2hi", "sw.nh2", "sw.lr", "sw.v", "bs.a", "bs.b", "bs.n", "bs.r", "bs.ltol", "race.opts", "race.lrlo",
            "race.lrhi", "race.nlr"]


def landscape(surface: surfaces.Surface) -> ex.Landscape:
    """What the page knows of a catalog surface: its minima (landmarks) and L*."""
    mins = [m.point for m in surface.landmarks if m.kind == "minimum"]
    values = np.array([float(surface.fn(np.asarray(p, np.float32))) for p in mins])
    return ex.Landscape(surface, float(values.min()), np.asarray(mins, float).reshape(-1, 2), values,
                        budget.step_weight(surface))


@pytest.fixture(scope="module")
def himmelblau() -> ex.Landscape:
    return landscape(surfaces.get("himmelblau"))


def quick(**more) -> ex.Settings:
    return ex.Settings().replace(**{**QUICK, **more})


# ---------------------------------------------------------------------------------------
# The URL


def test_the_old_keys_and_defaults_are_kept():
    keys = [f.key for f in ex.Settings.schema()]
    page_keys = [k for k in keys if k in OLD_KEYS]
    assert page_keys == OLD_KEYS
    s = ex.Settings()
    assert (s.surface.key, s.view, s.steps, s.tol, s.sweep_optimizer, s.second, s.racers) == (
        "himmelblau", "sweep", 500, 1e-3, "momentum", "momentum", ("gd", "momentum", "rmsprop", "adam"))
    assert s.to_query() == {}


def test_an_old_url_round_trips():
    old = {"surface": "rosenbrock", "view": "race", "steps": "300", "tol": "1e-05", "x0": "1", "y0": "-0.5",
           "sw.opt": "adam", "sw.h2": "b1", "sw.mode": "steps", "sw.h2lo": "0.5", "sw.h2hi": "0.99", "sw.lr": "0.01",
           "sw.v": "0.9", "bs.a": "adam", "bs.n": "60", "bs.r": "0.05", "race.opts": "gd,adam", "race.nlr": "20",
           "adam.b1": "0.8"}
    s, notices = ex.Settings.from_query(old)
    assert notices == []
    assert (s.view, s.steps, s.tol, s.x0, s.y0, s.second_name, s.picked_lr, s.basin_side, s.racers) == (
        "race", 300, 1e-5, 1.0, -0.5, "b1", 0.01, 60, ("gd", "adam"))
    assert s.hypers.of("adam")["b1"] == 0.8 and s.surface.key == "rosenbrock"
    assert s.to_query() == old
    assert ex.Settings.from_query(s.to_query())[0] == s


def test_junk_in_an_old_url_is_a_notice_not_an_error():
    s, notices = ex.Settings.from_query({"view": "nope", "bs.n": "5000", "race.opts": "gd,zzz", "sw.nlr": "1"})
    assert (s.view, s.basin_side, s.racers, s.sweep_lr_count) == ("sweep", 200, ("gd", "momentum", "rmsprop", "adam"), 2)
    assert [n.key for n in notices] == ["url.ignored", "url.above", "url.ignored", "url.below"]  # in the order given


# ---------------------------------------------------------------------------------------
# Settling


def test_settle_swaps_a_reversed_range_and_says_so():
    settled = ex.settle(quick(**{"sw.lrlo": 1.0, "sw.lrhi": 0.001}))
    assert (settled.settings.sweep_lr_low, settled.settings.sweep_lr_high) == (0.001, 1.0)
    assert settled.changes == {"sw.lrlo": 0.001, "sw.lrhi": 1.0, "sw.h2lo": 0.0, "sw.h2hi": 0.999}
    assert Notice("sweeps.notice.swapped_lr") in settled.notices


def test_settle_picks_a_second_axis_the_optimizer_has():
    settled = ex.settle(quick(**{"sw.opt": "gd", "sw.h2": "momentum"}))
    assert settled.settings.second == ex.NONE and settled.axes == ("gd", ex.NONE)
    (notice,) = settled.notices
    assert t(notice.key, **notice.params) == ("Gradient descent has no hyperparameter momentum to sweep; "
                                              "the second axis is now none (η only).")


def test_a_new_optimizer_resets_the_second_range_and_the_picked_cell():
    s = quick(**{"sw.opt": "adam", "sw.h2": "b1", "sw.h2lo": 0.5, "sw.h2hi": 0.9, "sw.lr": 0.01, "sw.v": 0.9})
    kept = ex.settle(s, ("adam", "b1"))
    assert kept.notices == [] and kept.settings == s
    moved = ex.settle(s, ("momentum", "momentum")).settings
    h = optimizers.REGISTRY["adam"].hyperparam("b1")
    assert (moved.second_low, moved.second_high, moved.picked_lr, moved.picked_value) == (h.low, h.high, None, None)


def test_settle_leaves_other_views_alone():
    s = quick(view="basins", **{"sw.opt": "gd", "sw.h2": "momentum", "race.lrlo": 1.0, "race.lrhi": 0.01})
    settled = ex.settle(s)
    assert settled.settings == s and settled.notices == []


# ---------------------------------------------------------------------------------------
# The sweep map


def test_the_best_cell_rerun_alone_ends_where_the_map_says(himmelblau):
    s = ex.settle(quick()).settings
    r = ex.run_sweep(s, himmelblau)
    assert r.sweep.final_losses.shape == (8, 12) and r.cut is None and r.best is not None
    i, j = r.best
    cell = r.sweep.settings(i, j)
    fixed = {k: v for k, v in s.hypers.of("momentum").items() if k not in cell}
    alone = optimizers.trace(himmelblau.surface, "momentum", ex.start_of(s, himmelblau.surface), r.steps, **cell,
                             **fixed)
    assert float(alone.losses[-1]) == pytest.approx(float(r.sweep.final_losses[i, j]), rel=1e-4, abs=1e-6)
    # The path the page draws is that run, and the best cell is the fastest to the tolerance.
    assert r.selected == r.best and not r.picked
    np.testing.assert_allclose(r.path.points, alone.points, rtol=1e-5, atol=1e-6)
    hit = np.where((r.sweep.hit_at >= 0) & (r.sweep.diverged_at < 0), r.sweep.hit_at, np.iinfo(int).max)
    assert r.best_steps == hit.min() == r.sweep.hit_at[i, j]


def test_a_click_picks_the_nearest_cell_and_its_path_is_shown(himmelblau):
    s = ex.settle(quick(**{"sw.lrlo": 1e-4, "sw.lrhi": 1.0, "sw.nlr": 5, "sw.nh2": 3})).settings
    picked = ex.pick_at(s, himmelblau.weight, (-2.03, 0.98))  # x is log10(eta), a little off the centre
    assert picked.picked_lr == pytest.approx(0.01) and picked.picked_value == pytest.approx(0.999)
    r = ex.run_sweep(picked, himmelblau)
    assert r.picked and r.selected == (2, 2) and r.shown == {"learning_rate": picked.picked_lr,
                                                             "momentum": picked.picked_value}
    assert r.path_caption.key.startswith("sweeps.sweep.picked_")


def test_learning_rate_only_sweep_is_one_row(himmelblau):
    s = ex.settle(quick(**{"sw.opt": "gd"})).settings
    r = ex.run_sweep(s, himmelblau)
    assert r.grid.axis is None and r.sweep.final_losses.shape == (1, 12)
    assert r.summary[0].params["steps"] == 150
    assert 0.0 <= r.diverged_share <= 1.0 and r.diverged_share == float(np.mean(r.sweep.diverged_at >= 0))


def test_the_budget_cut_is_reported_as_data(himmelblau, monkeypatch):
    monkeypatch.setattr(budget, "SWEEPS_CAP", 64 * 64 * 150 * himmelblau.weight / 4)  # a quarter of the request
    s = ex.settle(quick(**{"sw.nlr": 64, "sw.nh2": 64})).settings
    r = ex.run_sweep(s, himmelblau)
    assert r.sweep.final_losses.shape == (32, 32) and r.steps == 150
    assert r.cut == Notice("sweeps.cut.sweep_map", {"runs": 4096, "steps": 150, "rows": 32, "columns": 32,
                                                    "run_steps": 150})
    assert "4,096 runs of 150 steps" in t(r.cut.key, **r.cut.params)


def test_basins_at_their_floor_get_fewer_steps(himmelblau, monkeypatch):
    monkeypatch.setattr(budget, "SWEEPS_CAP", 30 * 30 * 2 * himmelblau.weight * 100.5)
    r = ex.run_basins(quick(view="basins"), himmelblau)  # 30 x 30 is below the floor: the steps give way
    assert r.cut.key == "sweeps.cut.basins_two_steps" and (r.side, r.steps) == (30, 100)
    assert all(m.num_steps == 100 for m in r.maps.values())


def test_a_small_request_is_not_cut(himmelblau):
    assert ex.run_race(quick(view="race"), himmelblau).cut is None


def test_a_stop_request_stops_the_job(himmelblau):
    with pytest.raises(ex.Stopped):
        ex.run_sweep(ex.settle(quick()).settings, himmelblau, should_stop=lambda: True)


# ---------------------------------------------------------------------------------------
# Basins and the race


def test_every_start_on_a_bowl_ends_in_its_one_minimum():
    bowl = surfaces.from_expression("(x-1)^2 + (y+0.5)^2", domain=((-3, 3), (-3, 3)))
    land = ex.Landscape(bowl, 0.0, np.array([[1.0, -0.5]]), np.array([0.0]), budget.step_weight(bowl))
    r = ex.run_basins(quick(view="basins", steps=500, **{"bs.n": 20}), land)  # GD contracts by 0.98 a step
    assert r.which == ("gd", "momentum")
    for shares in r.shares:
        assert shares.minima == (1.0,) and shares.not_converged == 0.0 and shares.diverged == 0.0
    assert r.caption.params == {"starts": 400, "minima": 1}


def test_the_race_table_has_one_type_per_column(himmelblau):
    # A tolerance Adam cannot reach in 150 steps from here and GD can; and a grid of rates at
    # which GD diverges every time, while Adam's steps stay bounded.
    reached = ex.run_race(quick(view="race", tol=1e-8, **{"race.opts": ("gd", "adam")}), himmelblau)
    diverged = ex.run_race(quick(view="race", **{"race.opts": ("gd", "adam"), "race.lrlo": 5.0, "race.lrhi": 10.0}),
                           himmelblau)
    table = reached.table + diverged.table
    assert [e.reached for e in reached.table] == [True, False]
    assert diverged.table[0].best_rate is None and diverged.all_diverged == ["Gradient descent"]
    for column, kind in zip(ex.RaceEntry._fields, (str, float, bool, int, float, int, int, int)):
        kinds = {type(getattr(e, column)) for e in table if getattr(e, column) is not None}
        assert kinds == {kind}, (column, kinds)
    for e in table:
        assert e.reached == (e.steps is not None) and e.rates == 12
        assert e.rates_reaching + e.rates_diverging <= e.rates


def test_the_race_runs_each_optimizer_at_its_best_rate(himmelblau):
    r = ex.run_race(quick(view="race"), himmelblau)
    assert r.racers == ("gd", "momentum", "rmsprop", "adam") and set(r.paths) == set(r.racers)
    for k, best in r.best.items():
        assert best.learning_rate in r.learning_rates
        path = r.paths[k]
        assert float(path.losses[-1]) == pytest.approx(float(best.final_losses[best.index]), rel=1e-4, abs=1e-6)


def test_no_racer_runs_nothing(himmelblau):
    r = ex.run_race(quick(view="race").replace(**{"race.opts": ()}), himmelblau)
    assert r.racers == () and r.table == [] and r.cut is None


def test_rmsprops_course_start_reaches_the_sweep(himmelblau):
    """A bool hyperparameter (rmsprop.initial_sq_grad) rides along as a fixed input: the
    map's best cell, rerun alone with it, ends where the map says, and it changes the map."""
    more = {"sw.opt": "rmsprop", "sw.h2": "decay", "sw.nlr": 6, "sw.nh2": 3}
    on = ex.settle(quick(**more, **{"rmsprop.initial_sq_grad": True})).settings
    assert on.hypers.of("rmsprop")["initial_sq_grad"] == 1.0
    r = ex.run_sweep(on, himmelblau)
    i, j = r.best if r.best is not None else (0, 0)
    cell = r.sweep.settings(i, j)
    fixed = {k: v for k, v in on.hypers.of("rmsprop").items() if k not in cell}
    alone = optimizers.trace(himmelblau.surface, "rmsprop", ex.start_of(on, himmelblau.surface), r.steps, **cell,
                             **fixed)
    assert float(alone.losses[-1]) == pytest.approx(float(r.sweep.final_losses[i, j]), rel=1e-4, abs=1e-6)
    off = ex.run_sweep(ex.settle(quick(**more)).settings, himmelblau)
    assert not np.allclose(off.sweep.final_losses, r.sweep.final_losses)
