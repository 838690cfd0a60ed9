"""experiments.curvature without Streamlit, against known truths: Himmelblau's critical
points and its Hessian at (3, 2) by hand, the ravine's stable step 2/κ and what gradient
descent does either side of it, the monkey saddle's silent test, Newton's method on a
quadratic, URLs the page has always taken, and the catalog entries the page builds keys to."""
from __future__ import annotations

from experiments.common import critical_points_of  # noqa: E402

import math

import numpy as np
import pytest

import catalog
import surfaces
from experiments import curvature as lab
from experiments.curvature import DivergenceCause, GDOutcome, Kind, NewtonOutcome, Settings, Shape


def run(surface: str = "himmelblau", **by_key) -> lab.Result:
    return lab.run(Settings().replace(surface=surface, **by_key))


# ---------------------------------------------------------------------------------------
# Himmelblau


def test_himmelblau_has_four_minima_four_saddles_one_maximum() -> None:
    r = run(gdsteps=20)
    assert r.counts == {Kind.MINIMUM: 4, Kind.SADDLE: 4, Kind.MAXIMUM: 1}
    by_point = {row.point: row for row in r.critical}
    for x, y, kind in [(3.0, 2.0, Kind.MINIMUM), (-2.805118, 3.131313, Kind.MINIMUM),
                       (-3.779310, -3.283186, Kind.MINIMUM), (3.584428, -1.848127, Kind.MINIMUM),
                       (-0.270845, -0.923039, Kind.MAXIMUM), (0.086678, 2.884255, Kind.SADDLE)]:
        row = min(by_point.values(), key=lambda row: math.dist(row.point, (x, y)))
        assert math.dist(row.point, (x, y)) < 1e-5 and row.kind == kind, (x, y, row)
    for row in r.critical:  # the signs of the float64 eigenvalues are the kinds
        assert (min(row.eigenvalues) > 0) == (row.kind == Kind.MINIMUM)
        assert (max(row.eigenvalues) < 0) == (row.kind == Kind.MAXIMUM)
        if row.kind == Kind.MINIMUM:
            assert row.value == pytest.approx(0.0, abs=1e-12)  # all four minima are zeros of f
    assert sum(row.label == "global minimum" for row in r.critical) == 4


def test_himmelblau_hessian_at_3_2_by_hand() -> None:
    # f_xx = 12x² + 4y − 42 = 74, f_xy = 4x + 4y = 20, f_yy = 12y² + 4x − 26 = 34
    r = run(px=3.0, py=2.0, gdsteps=20)
    p = r.probe
    np.testing.assert_allclose(p.hessian, [[74.0, 20.0], [20.0, 34.0]], atol=1e-9)
    np.testing.assert_allclose(p.eigenvalues, [54 - math.sqrt(800), 54 + math.sqrt(800)], rtol=1e-12)
    assert p.gradient_norm < 1e-9 and p.critical and p.kind == Kind.MINIMUM and p.shape == Shape.MINIMUM
    assert p.value == pytest.approx(0.0, abs=1e-12) and p.determinant == pytest.approx(74 * 34 - 400)
    v = p.eigenvectors
    np.testing.assert_allclose(p.hessian @ v, v * p.eigenvalues, atol=1e-9)  # H vᵢ = λᵢ vᵢ
    # the stable step is taken at the minimum nearest to θ′: here θ′ itself
    assert r.step_limit.minimum == (3.0, 2.0)
    assert r.step_limit.stable_step == pytest.approx(2 / (54 + math.sqrt(800)), rel=1e-12)
    assert r.newton.outcome == NewtonOutcome.ALREADY_CRITICAL


def test_himmelblau_maximum_and_the_default_point() -> None:
    r = run(px=-0.270845, py=-0.923039)  # a URL's 6 digits, snapped onto the maximum
    assert r.point == (-0.270844590667348, -0.923038556479981)
    assert r.probe.critical and r.probe.shape == Shape.MAXIMUM and np.all(r.probe.eigenvalues < 0)
    first_saddle = next(m.point for m in surfaces.get("himmelblau").landmarks if m.kind == "saddle")
    d = run(gdsteps=20)
    assert d.point == first_saddle and d.probe.shape == Shape.SADDLE
    assert d.probe.eigenvalues[0] < 0 < d.probe.eigenvalues[1]


def test_newton_walks_to_the_saddle_it_is_near() -> None:
    r = run(px=0.5, py=2.5, gdsteps=20)
    assert not r.probe.critical and r.newton.outcome == NewtonOutcome.REACHED
    assert r.newton.end_kind == Kind.SADDLE
    assert math.dist(r.newton.end, (0.086677504555396, 2.884254701174776)) < 1e-9
    assert 1 <= r.newton.counted_steps <= 5


def test_snap_only_within_its_radius() -> None:
    crit = critical_points_of(surfaces.get("himmelblau"))
    saddle = (0.086677504555396, 2.884254701174776)
    assert lab.snap((0.0866775, 2.88425), crit, 10 * math.sqrt(2)) == saddle
    # SNAP x diagonal = 1.4e-4; (0.0868, 2.8845) is 2.8e-4 away: kept
    assert lab.snap((0.0868, 2.8845), crit, 10 * math.sqrt(2)) == (0.0868, 2.8845)


# ---------------------------------------------------------------------------------------
# The stable step on the ravine: λ = (1, κ), so 2/λ_max = 2/κ


@pytest.mark.parametrize("condition", [25.0, 100.0])
def test_ravine_stable_step_and_the_runs_either_side(condition: float) -> None:
    r = run("ravine", gdsteps=200, **{"ravine.condition": condition})
    limit = r.step_limit
    np.testing.assert_allclose(limit.eigenvalues, [1.0, condition], rtol=1e-9)
    assert limit.stable_step == pytest.approx(2 / condition, rel=1e-12)
    assert [run.multiple for run in limit.runs] == ["0.5", "0.9", "1.1"]
    expected = [1 - 1 / condition, max(1 - 1.8 / condition, 0.8), 1.2]  # max |1 − ηλᵢ|
    np.testing.assert_allclose([run.predicted for run in limit.runs], expected, rtol=1e-9)
    slow, fast, over = limit.runs
    assert slow.outcome == GDOutcome.CONVERGES and slow.cause is None
    assert fast.outcome == GDOutcome.OSCILLATES  # 1 − 0.9·2 = −0.8: v₂ flips every step, and shrinks
    assert over.outcome == GDOutcome.DIVERGED and over.cause == DivergenceCause.UNSTABLE
    # |1 − ηλ₂| = 1.2 per step, from 0.01 × 6 · 0.8 (v₂'s share) to past the 1e6 box
    assert over.diverged_at == pytest.approx(math.log(1e6 / (0.06 * 0.8)) / math.log(1.2), abs=3)


def test_measured_ratios_match_the_contraction_factors() -> None:
    limit = run("ravine", gdsteps=200).step_limit
    for gd in limit.runs:
        assert gd.measured == pytest.approx(gd.predicted, abs=1e-3), gd.multiple


def test_gd_just_below_and_just_above_the_limit() -> None:
    limit = run("ravine", gdsteps=2000, mult=("0.99", "1.01")).step_limit
    below, above = limit.runs
    assert below.outcome in (GDOutcome.CONVERGES, GDOutcome.OSCILLATES) and below.diverged_at is None
    assert above.outcome == GDOutcome.DIVERGED


def test_no_multiple_chosen_means_no_runs() -> None:
    s = Settings.from_values({**Settings().values(), "surface": "ravine", "mult": ()})
    assert lab.run(s).step_limit.runs == ()


# ---------------------------------------------------------------------------------------
# The verdict's cases


def test_monkey_saddle_is_degenerate() -> None:
    r = run("monkey_saddle", px=0.0, py=0.0)
    p = r.probe
    assert p.critical and p.kind == Kind.DEGENERATE and p.shape == Shape.FLAT and np.all(p.zero)
    np.testing.assert_allclose(p.hessian, 0.0, atol=1e-12)
    assert r.counts == {Kind.DEGENERATE: 1} and r.step_limit is None  # no minimum: no step bound
    assert r.newton.outcome == NewtonOutcome.ALREADY_CRITICAL


def test_one_flat_direction_names_it() -> None:
    r = run("custom", expr="x^2 + y^4", px=0.0, py=0.0)
    p = r.probe
    assert p.shape == Shape.ONE_FLAT and p.flat_index == 0 and list(p.zero) == [True, False]
    np.testing.assert_allclose(p.eigenvalues, [0.0, 2.0], atol=1e-12)


def test_saddle_origin() -> None:
    r = run("saddle", px=0.0, py=0.0)
    np.testing.assert_allclose(r.probe.eigenvalues, [-2.0, 2.0])
    assert r.probe.shape == Shape.SADDLE and r.newton.outcome == NewtonOutcome.ALREADY_CRITICAL


def test_a_point_that_is_not_critical_and_newton_on_a_quadratic() -> None:
    r = run("bowl", px=1.0, py=0.5)
    p = r.probe
    np.testing.assert_allclose(p.gradient, [2.0, 1.0])
    assert not p.critical and p.shape == Shape.MINIMUM
    # one Newton step lands on the critical point of a quadratic
    assert r.newton.outcome == NewtonOutcome.REACHED and r.newton.end_kind == Kind.MINIMUM
    assert r.newton.end == (0.0, 0.0) and r.newton.counted_steps == 1
    # the model is exact on a quadratic: window and slices agree with f
    np.testing.assert_allclose(r.model.q, r.model.f, atol=1e-5)
    for f, q in zip(r.slices.f, r.slices.q):
        np.testing.assert_allclose(q, f, atol=1e-9)


def test_newton_singular_stopped_and_gone() -> None:
    flat = run("custom", expr="x^2 + y^4", px=1.0, py=0.0)  # H = diag(2, 0): −H⁻¹g is undefined
    assert flat.newton.outcome == NewtonOutcome.SINGULAR and flat.newton.steps == 0
    # on x³ a Newton step halves x: five steps from 1 end at 1/32, where g = 3/1024 ≠ 0
    cubic = run("custom", expr="x^3 + y^2", px=1.0, py=0.0, newton=5)
    assert cubic.newton.outcome == NewtonOutcome.STOPPED and cubic.newton.counted_steps == 5
    assert cubic.newton.end == (1 / 32, 0.0) and cubic.newton.end_gradient_norm == pytest.approx(3 / 1024)
    # on log cosh x the step x − sinh x cosh x overshoots: 1.5 -> -3.5 -> 270, out of the plot
    gone = run("custom", expr="log(cosh(x)) + y^2", px=1.5, py=0.0)
    assert gone.newton.outcome == NewtonOutcome.LEFT_BOX and gone.newton.steps == 2


def test_outside_the_domain_and_not_finite() -> None:
    assert run("bowl", px=5.0, py=5.0).outside_domain
    r = run("custom", expr="log(x) + y^2", px=-1.0, py=0.0)
    assert r.probe is None and r.model is None and r.newton is None


def test_gd_outcome_two_cycle_and_stall() -> None:
    star, steep = np.zeros(2), np.array([0.0, 1.0])
    bounce = np.array([[0.0, 0.5], [0.0, -0.5]] * 10)
    assert lab.gd_outcome(bounce, None, 0.5, star, steep, 0.1, 1.0) == (GDOutcome.TWO_CYCLE, 1.0)
    crawl = np.linspace([0.5, 0.5], [0.4, 0.4], 20)
    assert lab.gd_outcome(crawl, None, 0.566, star, steep, 0.1, 1.0) == (GDOutcome.STALLED, None)
    assert lab.gd_outcome(crawl, 7, 0.566, star, steep, 0.1, 1.0) == (GDOutcome.DIVERGED, None)


# ---------------------------------------------------------------------------------------
# Settings and the URL


def test_old_urls_round_trip() -> None:
    for query in ({"surface": "himmelblau", "px": "0.0866775", "py": "2.88425", "gdsteps": "60"},
                  {"surface": "ravine", "ravine.condition": "100", "gdsteps": "60"},
                  {"surface": "custom", "expr": "x^2 - y^2", "px": "0", "py": "0", "mult": "0.9,1.1"},
                  {"newton": "12", "mult": "0.25,2"}):
        s, notices = Settings.from_query(query)
        shared = {k: v for k, v in query.items() if (k, v) != ("surface", "himmelblau")}  # the default: left out
        assert notices == [] and s.to_query() == shared, query
        assert Settings.from_query(s.to_query()) == (s, [])
    s, _ = Settings.from_query({"px": "1.5", "py": "-2", "newton": "7", "mult": "1.1,0.5"})
    assert s.point == (1.5, -2.0) and s.newton_steps == 7 and s.multiples == ("1.1", "0.5")
    assert Settings().point is None and Settings().surface.key == "himmelblau"


def test_junk_url_gives_notices_and_defaults() -> None:
    s, notices = Settings.from_query({"px": "abc", "newton": "-3", "mult": "0.5,7", "bogus": "1"})
    assert [n.key for n in notices] == ["url.ignored", "url.below", "url.ignored", "url.unknown"]
    assert s.point is None and s.newton_steps == 1 and s.multiples == ("0.5", "0.9", "1.1")


def test_schema_keeps_the_page_keys_and_ranges() -> None:
    f = {x.key: x for x in Settings.schema()}
    assert (f["newton"].default, f["newton"].low, f["newton"].high) == (5, 1, 30)
    assert (f["gdsteps"].default, f["gdsteps"].low, f["gdsteps"].high) == (200, 10, 5000)
    assert f["mult"].choices == lab.MULTIPLES and f["mult"].default == ("0.5", "0.9", "1.1")
    assert (f["px"].low, f["px"].high) == (-1e4, 1e4) and f["surface"].default == "himmelblau"


def test_zoom_grid_is_the_step_inspectors() -> None:
    from ui.surface_view import ZOOM_GRID

    assert lab.ZOOM_GRID == ZOOM_GRID  # one compiled grid program for both


# ---------------------------------------------------------------------------------------
# Catalog entries the page and the surfaces build keys to


def test_every_verdict_outcome_and_kind_has_its_message() -> None:
    m = catalog.messages("en")
    need = [f"curvature.verdict.{w}.{s}" for w in ("critical", "not_critical") for s in Shape]
    need += [f"curvature.kind.{k}" for k in Kind] + [f"curvature.count.{k}.{n}" for k in Kind for n in ("one", "other")]
    need += [f"curvature.newton.reached.{k}.{n}" for k in Kind for n in ("one", "other")]
    need += [f"curvature.newton.{o}" for o in (NewtonOutcome.SINGULAR, NewtonOutcome.ALREADY_CRITICAL)]
    need += [f"curvature.newton.{o}.{n}" for o in (NewtonOutcome.LEFT_BOX, NewtonOutcome.NOT_FINITE,
                                                   NewtonOutcome.STOPPED) for n in ("one", "other")]
    need += [f"curvature.step.outcome.{o}" for o in GDOutcome]
    need += [f"curvature.step.diverged.{c}" for c in DivergenceCause]
    assert not [k for k in need if k not in m]


@pytest.mark.parametrize("key", surfaces.names())
def test_every_surface_has_its_lesson_in_the_catalog(key: str) -> None:
    text = catalog.t(f"surfaces.{key}.lesson")
    assert surfaces.get(key).lesson == text and text.endswith(".") and text.count(". ") == 0
    assert "{" not in text


def test_a_typed_formula_has_no_lesson() -> None:
    assert surfaces.from_expression("x^2 - y^2").lesson == ""


def test_critical_points_of_is_the_list_the_page_caches() -> None:
    from ui.surface_view import critical_of  # what the page passes to run

    for s in (surfaces.get("himmelblau"), surfaces.get("rastrigin"), surfaces.from_expression("x^2 - y^2")):
        assert [(c.point, c.kind) for c in critical_points_of(s)] == [(c.point, c.kind) for c in critical_of(s)]


def test_a_run_that_wanders_off_does_not_converge() -> None:
    """GD at 1.5 x 2/lambda_max from 0.1 beside Himmelblau's (3, 2) shrinks its distance for
    a while (median ratio 0.98) but ends ~6 away near another minimum: not "converges"."""
    s = lab.Settings().replace(surface="himmelblau", px=3.0, py=2.0, mult=("1.5",))
    [run] = lab.run(s).step_limit.runs
    assert run.end_distance > 1.0
    assert run.outcome not in (GDOutcome.CONVERGES, GDOutcome.OSCILLATES)
