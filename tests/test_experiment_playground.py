"""experiments.playground against known truths: its settings and URL, a race's verdicts,
the step inspector's arrows, and the catalog entries the page's controls read."""
from __future__ import annotations

from experiments.common import critical_points_of  # noqa: E402

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import catalog
import optimizers
import surfaces
from experiments import playground as pg
from experiments.playground import ArrowKind, Landscape, Settings
from optimizers.schedules import SPECS as SCHEDULE_SPECS

ROOT = Path(__file__).resolve().parent.parent
HIMMELBLAU_MINIMUM = (3.0, 2.0)


def landscape(surface, n: int = 121) -> Landscape:
    """The uncached landscape (the page takes it from ui.surface_view's cache)."""
    return Landscape.of(surface, surfaces.evaluate_grid(surface, surface.domain, n)[2], critical_points_of(surface))


def race(on, **by_key) -> pg.Result:
    return pg.run(Settings().replace(**by_key), landscape(on))


def test_the_experiment_runs_without_streamlit():
    code = "import sys, experiments.playground; assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ---------------------------------------------------------------------------------------
# Settings and the URL


def test_defaults_are_todays_view():
    s = Settings()
    assert s.surface.key == "rosenbrock" and s.race == ("gd", "momentum", "rmsprop", "adam")
    assert s.steps == 500 and s.noise == 0.0 and s.seed == 0 and s.show3d is False
    assert (s.x0, s.y0) == (None, None) and s.start(surfaces.get("rosenbrock")) == (-1.5, 2.0)
    assert s.hypers.of("adam")["learning_rate"] == 0.05 and s.hypers.of("gd")["learning_rate"] == 1e-3
    assert s.hypers.of("adam")["b1"] == 0.9  # not a race default: the registry's
    assert s.schedule.config().kind == "constant" and s.to_query() == {}


def test_fields_keep_todays_keys_and_ranges():
    fields = {f.key: f for f in Settings.schema()}
    assert {"opts", "steps", "x0", "y0", "noise", "seed", "show3d", "surface", "expr", "xmin", "ymax",
            "rosenbrock.b", "adam.learning_rate", "adam.bias_correction", "sched", "warmup",
            "sched.cosine.decay_steps"} <= set(fields)
    assert (fields["steps"].low, fields["steps"].high) == (1, optimizers.MAX_STEPS)
    assert (fields["x0"].low, fields["x0"].high) == (-1e4, 1e4) and fields["x0"].default is None
    assert (fields["noise"].low, fields["noise"].high) == (0.0, 1e4)
    assert (fields["seed"].low, fields["seed"].high) == (0, 2**31 - 1)
    assert fields["opts"].kind == "multi" and set(fields["opts"].choices) == set(optimizers.names())
    assert fields["show3d"].kind == "bool" and fields["adam.bias_correction"].kind == "bool"


@pytest.mark.parametrize("query", [
    {"surface": "himmelblau", "opts": "adam,nesterov", "steps": "120", "x0": "0.5", "y0": "-1"},  # test_page_playground
    {"gd.learning_rate": "0.01"},
    {"adam.learning_rate": "0.2", "sched": "cosine", "sched.cosine.decay_steps": "300", "warmup": "20",
     "noise": "0.5", "seed": "7", "show3d": "1"},
])
def test_an_old_url_round_trips(query):
    s, notices = Settings.from_query(query)
    assert notices == [] and s.to_query() == query


def test_an_old_url_means_what_it_meant():
    s, _ = Settings.from_query({"surface": "himmelblau", "opts": "adam,nesterov", "steps": "120", "x0": "0.5",
                                "y0": "-1"})
    assert s.surface.build() is surfaces.get("himmelblau")
    assert s.race == ("adam", "nesterov") and s.steps == 120 and s.start(s.surface.build()) == (0.5, -1.0)


def test_junk_becomes_notices_and_keeps_the_rest():
    s, notices = Settings.from_query({"steps": "lots", "adam.learning_rate": "1e99", "surface": "nowhere",
                                      "hack": "<script>", "opts": "gd,evil", "x0": "nan", "seed": "3"})
    assert s.steps == 500 and s.surface.key == "rosenbrock" and s.opts == pg.PLAYGROUND_RACE and s.seed == 3
    assert s.hypers.of("adam")["learning_rate"] == 10.0  # clamped to the registry's top
    assert {n.key for n in notices} == {"url.ignored", "url.above", "url.unknown"}


def test_the_surfaces_own_start_stays_out_of_the_url():
    rosenbrock = surfaces.get("rosenbrock")
    s = Settings().replace(x0=-1.5, y0=2.0)
    assert s.to_query(Settings.implied(rosenbrock)) == {}
    assert s.replace(x0=0.25, y0=1.75).to_query(Settings.implied(rosenbrock)) == {"x0": "0.25", "y0": "1.75"}


def test_a_start_is_written_whole():
    s = Settings().replace(x0=0.25, y0=2.0)
    query = s.to_query(Settings.implied(surfaces.get("rosenbrock")))
    assert Settings.from_query(query)[0].start(surfaces.get("rosenbrock")) == (0.25, 2.0)


# ---------------------------------------------------------------------------------------
# A race


def test_gd_on_himmelblau_reaches_the_minimum_at_3_2():
    s = surfaces.get("himmelblau")
    r = race(s, opts=("gd",), steps=1000, x0=1.0, y0=1.0, **{"gd.learning_rate": 0.01})
    t = r.traces["gd"]
    assert r.start == (1.0, 1.0) and t.points.shape == (1001, 2)
    np.testing.assert_allclose(t.points[-1], HIMMELBLAU_MINIMUM, atol=1e-3)
    assert r.diverged == () and r.lowest == 0.0  # all four minima are exactly 0
    assert r.loss_gap[0][-1] < 1e-8 and r.loss_gap[0][0] == pytest.approx(9**2 + 5**2)  # f(1, 1)
    assert r.distance[0][-1] < 1e-3
    assert r.distance[0][0] == pytest.approx(np.hypot(2.0, 1.0), rel=1e-6)  # (1, 1) is nearest to (3, 2)


def test_distance_and_loss_gap_are_zero_at_a_minimum():
    s = surfaces.get("himmelblau")
    r = race(s, opts=("gd", "adam"), steps=10, x0=3.0, y0=2.0)
    for gap, dist in zip(r.loss_gap, r.distance):
        assert gap[0] == 0.0 and dist[0] == 0.0
    np.testing.assert_allclose(pg.distances_to(np.array([[0.0, 0.0], [3.0, 0.0]]), np.array([[0.0, 0.0], [3.0, 4.0]])),
                               [0.0, 3.0])


def test_a_too_large_rate_diverges_at_the_step_it_leaves_the_box():
    # GD on x^2 + y^2 with rate 1.5 multiplies the point by 1 - 2 * 1.5 = -2 each step: from
    # (1, 1) it is at 2^19 = 524288 after step 19, and at 2^20 > 10^6 (the box) after step 20.
    bowl = surfaces.from_expression("x^2 + y^2")
    r = race(bowl, surface="custom", expr="x^2 + y^2", opts=("gd", "adam"), steps=100, x0=1.0, y0=1.0,
             **{"gd.learning_rate": 1.5})
    assert r.diverged == (pg.Divergence("gd", 20, 1.5),)
    assert r.traces["gd"].last_valid == 19 and abs(r.traces["gd"].points[19, 0]) == 2**19
    assert r.traces["adam"].diverged_at is None  # the others keep racing
    assert r.lowest == 0.0 and r.distance is not None  # its minimum, found by the search, is (0, 0)


def test_the_default_race_with_gd_at_0_01_flags_only_gd():
    r = race(surfaces.get("rosenbrock"), **{"gd.learning_rate": 0.01})
    assert [d.optimizer for d in r.diverged] == ["gd"] and r.diverged[0].learning_rate == 0.01
    assert r.diverged[0].step < 20
    assert r.loss_gap[3][0] == pytest.approx(12.5)  # f(-1.5, 2) on Rosenbrock, L* = 0


def test_a_surface_without_a_minimum_has_no_distance_and_its_lowest_grid_value():
    plane = surfaces.from_expression("x + y", domain=((-1.0, 1.0), (-1.0, 1.0)))
    land = landscape(plane, 11)
    assert land.minima.shape == (0, 2) and land.lowest == pytest.approx(-2.0)
    r = pg.run(Settings().replace(surface="custom", expr="x + y", opts=("gd",), steps=5, x0=0.0, y0=0.0), land)
    assert r.distance is None and r.loss_gap[0][0] == pytest.approx(2.0)


def test_the_blank_fraction_is_the_share_where_f_is_not_finite():
    # log(x) on x in [-1, 1] at 11 points: x = -1 ... 0 (6 of 11 columns) is NaN or -inf.
    log = surfaces.from_expression("log(x)", domain=((-1.0, 1.0), (-1.0, 1.0)))
    assert landscape(log, 11).blank_fraction == pytest.approx(6 / 11)
    assert landscape(surfaces.get("rosenbrock")).blank_fraction == 0.0


# ---------------------------------------------------------------------------------------
# The step inspector


def traced(optimizer: str, steps: int = 50, learning_rate: float = 1e-3, **hyper):
    s = surfaces.get("rosenbrock")
    return optimizers.trace(s, optimizer, s.starts[0], steps, with_stats=True, learning_rate=learning_rate, **hyper)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "adam", "rmsprop"])
def test_the_update_arrow_is_the_step_taken_and_the_gradient_arrow_is_plain_gd(optimizer):
    t = traced(optimizer)
    v = pg.inspect(t, 20)
    arrows = {a.kind: a.vector for a in v.arrows}
    np.testing.assert_array_equal(v.here, t.points[19])
    np.testing.assert_array_equal(arrows[ArrowKind.UPDATE], t.updates[20])
    np.testing.assert_allclose(v.here + arrows[ArrowKind.UPDATE], t.points[20], rtol=1e-5)
    np.testing.assert_allclose(arrows[ArrowKind.GRADIENT_STEP], -t.learning_rates[20] * t.gradients[20], rtol=1e-6)
    if optimizer == "gd":  # plain GD takes exactly the plain GD step
        np.testing.assert_allclose(arrows[ArrowKind.UPDATE], arrows[ArrowKind.GRADIENT_STEP], rtol=1e-5)
    assert v.radius == pytest.approx(pg.ZOOM_ARROWS * max(np.abs(a.vector).max() for a in v.arrows))
    assert v.window[0] == pytest.approx((v.here[0] - v.radius, v.here[0] + v.radius))
    np.testing.assert_array_equal(v.nearby, t.points[20 - pg.NEARBY_STEPS: 20 + pg.NEARBY_STEPS])


def test_heavy_ball_velocity_is_the_step_itself():
    # v_t = λ v_{t-1} - η g_t and θ_t = θ_{t-1} + v_t: the velocity arrow is the update.
    v = pg.inspect(traced("momentum"), 20)
    arrows = {a.kind: a.vector for a in v.arrows}
    assert set(arrows) == {ArrowKind.GRADIENT_STEP, ArrowKind.UPDATE, ArrowKind.VELOCITY}
    np.testing.assert_allclose(arrows[ArrowKind.VELOCITY], arrows[ArrowKind.UPDATE], rtol=1e-6)


def test_nesterovs_buffer_is_drawn_as_minus_eta_b_and_the_arrows_add_up():
    # b_t = μ b_{t-1} + g_t, Δθ = -η (g_t + μ b_t) = (-η g_t) + μ (-η b_t).
    mu = 0.9
    t = traced("nesterov", momentum=mu)
    v = pg.inspect(t, 20)
    arrows = {a.kind: a.vector for a in v.arrows}
    assert set(arrows) == {ArrowKind.GRADIENT_STEP, ArrowKind.UPDATE, ArrowKind.BUFFER}
    np.testing.assert_allclose(arrows[ArrowKind.BUFFER], -t.learning_rates[20] * t.stats["velocity"][20], rtol=1e-6)
    np.testing.assert_allclose(arrows[ArrowKind.UPDATE], arrows[ArrowKind.GRADIENT_STEP] + mu * arrows[ArrowKind.BUFFER],
                               rtol=1e-4, atol=1e-9)


def test_optimizers_without_a_velocity_get_two_arrows():
    assert [a.kind for a in pg.inspect(traced("adam"), 5).arrows] == [ArrowKind.GRADIENT_STEP, ArrowKind.UPDATE]


def test_the_step_is_kept_inside_the_trace():
    t = traced("adam", 30)
    assert (pg.inspect(t, 10**6).k, pg.inspect(t, 0).k, pg.inspect(t, 10**6).last_step) == (30, 1, 30)
    blown = traced("gd", 30, learning_rate=0.01)  # diverges within 20 steps on Rosenbrock
    v = pg.inspect(blown, 29)
    assert v.k == v.last_step == blown.diverged_at - 1 and v.has_step
    np.testing.assert_array_equal(v.here, blown.points[v.k - 1])


def test_a_racer_that_diverged_on_its_first_step_has_no_step():
    bowl = surfaces.from_expression("x^2 + y^2")
    t = optimizers.trace(bowl, "gd", (5e5, 5e5), 10, with_stats=True, learning_rate=5.0)
    assert t.diverged_at == 1
    v = pg.inspect(t, 3)
    assert not v.has_step and v.k == 1 and v.last_step == 1


def test_the_step_table_holds_each_racers_numbers_and_none_once_diverged():
    traces = {"gd": traced("gd", 100, learning_rate=0.01), "momentum": traced("momentum", 100)}
    rows = pg.step_table(traces, 50)
    assert rows["gd"] is None  # diverged before step 50
    m, t = rows["momentum"], traces["momentum"]
    np.testing.assert_array_equal(m.point, t.points[50])
    assert m.loss == t.losses[50] and m.learning_rate == pytest.approx(1e-3)
    np.testing.assert_array_equal(m.update, t.updates[50])
    assert set(m.stats) == {"velocity"}
    assert pg.step_table(traces, 1)["gd"] is not None


# ---------------------------------------------------------------------------------------
# What the page's controls read from the catalog


def test_every_hyperparameter_has_a_label_and_a_help_sentence():
    messages = catalog.messages("en")
    for opt, spec in optimizers.REGISTRY.items():
        for h in spec.hyperparams:
            assert f"controls.label.{h.name}" in messages, h.name
            help_text = messages.get(f"controls.hyper.{opt}.{h.name}", "")
            assert help_text.endswith(".") and help_text[0].isupper(), (opt, h.name)


def test_every_schedule_has_a_title_and_help_for_its_parameters():
    messages = catalog.messages("en")
    for kind, spec in SCHEDULE_SPECS.items():
        assert f"controls.schedule.{kind}.title" in messages
        for p in spec.params:
            assert f"controls.label.{p.name}" in messages and f"controls.schedule.{kind}.help.{p.name}" in messages


def test_every_arrow_and_statistic_has_a_name():
    messages = catalog.messages("en")
    assert all(f"playground.inspector.arrow.{k.value}" in messages for k in ArrowKind)
    assert all(f"playground.inspector.stat.{s}" in messages for s in optimizers.STAT_TITLES)


# ---------------------------------------------------------------------------------------
# Issue 17: the noisy gradient shown as noisy; RMSProp's course start as a setting


def test_with_noise_the_true_and_the_noisy_gradient_are_two_arrows():
    """σ > 0: the update used g̃_k = ∇L(θ_{k−1}) + ξ_k. The inspector draws the true step
    −η∇L (from the surface) and the noisy one −η·g̃_k; the noise between them is ξ_k."""
    s, sigma, seed, k = surfaces.get("rosenbrock"), 3.0, 4, 7
    t = optimizers.trace(s, "gd", s.starts[0], 20, with_stats=True, learning_rate=1e-3, noise=sigma, seed=seed)
    v = pg.inspect(t, k, s)
    arrows = {a.kind: a.vector for a in v.arrows}
    assert [a.kind for a in v.arrows] == [ArrowKind.GRADIENT_STEP, ArrowKind.NOISY_GRADIENT_STEP, ArrowKind.UPDATE]
    true = surfaces.gradient(s, t.points[k - 1])
    np.testing.assert_allclose(v.true_gradient, true, rtol=1e-12)
    np.testing.assert_allclose(arrows[ArrowKind.GRADIENT_STEP], -1e-3 * true, rtol=1e-6)
    np.testing.assert_allclose(arrows[ArrowKind.NOISY_GRADIENT_STEP], -1e-3 * t.gradients[k], rtol=1e-6)
    np.testing.assert_allclose(arrows[ArrowKind.UPDATE], arrows[ArrowKind.NOISY_GRADIENT_STEP], rtol=1e-5)  # GD
    xi = sigma * np.random.default_rng(seed).standard_normal((20, 2))[k - 1]
    np.testing.assert_allclose(t.gradients[k] - true, xi, rtol=1e-3, atol=1e-3)
    assert np.linalg.norm(arrows[ArrowKind.NOISY_GRADIENT_STEP] - arrows[ArrowKind.GRADIENT_STEP]) > 1e-4
    # The filled-in update says g̃ = ∇L + ξ with those numbers, and the table names it g̃.
    from ui.formulas import filled_update, num
    first = filled_update(t, k, v.true_gradient)[0]
    assert r"\tilde g_{k} = \nabla L(\theta_{k-1}) + \xi_{k}" in first and num(float(true[0])) in first
    assert pg.step_table({"gd": t}, k)["gd"].noisy
    with pytest.raises(ValueError):
        pg.inspect(t, k)  # the true gradient needs the surface


def test_without_noise_there_is_one_gradient_arrow_and_it_is_exact():
    s = surfaces.get("rosenbrock")
    t = traced("gd")
    v = pg.inspect(t, 5, s)
    assert v.true_gradient is None and ArrowKind.NOISY_GRADIENT_STEP not in {a.kind for a in v.arrows}
    from ui.formulas import filled_update
    assert r"g_{k} = \nabla L(\theta_{k-1})" in filled_update(t, 5)[0] and r"\tilde g" not in filled_update(t, 5)[0]
    assert not pg.step_table({"gd": t}, 5)["gd"].noisy


def test_the_inspector_writes_radams_threshold_and_adams_uncorrected_ratio():
    from ui.formulas import filled_update
    r = traced("radam", 20, threshold=7.0)
    lines = " ".join(filled_update(r, 3))  # rho_3 ~ 3 < 7
    assert r"< \rho_{\min} = 7" in lines
    assert r"\ge \rho_{\min} = 7" in " ".join(filled_update(r, 15))
    a = traced("adam", 20, bias_correction=0.0)
    assert r"\sqrt{1-\beta_2^{k}}} = 6.569" in " ".join(filled_update(a, 12))
    assert r"\beta_2^{k}" not in " ".join(filled_update(traced("adam", 20), 12))  # corrected: no ratio line


def test_rmsprops_course_start_is_a_playground_setting():
    fields = {f.key: f for f in Settings.schema()}
    assert fields["rmsprop.initial_sq_grad"].kind == "bool" and fields["rmsprop.initial_sq_grad"].default is False
    s, notices = Settings.from_query({"opts": "rmsprop", "rmsprop.initial_sq_grad": "true", "steps": "5"})
    assert not notices and s.hypers.of("rmsprop")["initial_sq_grad"] == 1.0
    on = pg.run(s, landscape(surfaces.get("rosenbrock"))).traces["rmsprop"]
    off = race(surfaces.get("rosenbrock"), opts=("rmsprop",), steps=5).traces["rmsprop"]
    lr = s.hypers.of("rmsprop")["learning_rate"]
    np.testing.assert_allclose(np.abs(on.updates[1]), lr, rtol=1e-4)  # the course's first step: η
    np.testing.assert_allclose(np.abs(off.updates[1]), lr / np.sqrt(0.1), rtol=1e-4)  # PyTorch / Optax: 3.16 η
