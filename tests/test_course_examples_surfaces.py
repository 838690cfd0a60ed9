"""Issue 17, the notes' examples made live: Lee's Pokémon regression surface, the ‖g‖ panel
of the Playground's curves, the 1/√(t+1) decay, and cross-entropy against squared error
as surfaces. Known truths: the least-squares fit in closed form, values by hand, finite
differences."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import catalog
import optimizers
import surfaces
from experiments import playground as pg
from experiments.common import ScheduleChoice, critical_points_of
from optimizers import schedules
from optimizers.schedules import SPECS, ScheduleConfig
from surfaces import curvature
from surfaces.catalog import POKEMON_CP, POKEMON_EVOLVED, SIGMOID_DECAY
from tests.conftest import chart_specs, open_page

PLAYGROUND = "pages/1_Playground.py"

# ---------------------------------------------------------------------------------------
# Lee's Pokémon regression


def _least_squares() -> tuple[float, float]:
    """w*, b* of y = b + w x by the textbook formulas (not lstsq)."""
    x, y = POKEMON_CP, POKEMON_EVOLVED
    w = float(np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2))
    return w, float(y.mean() - w * x.mean())


def test_pokemon_data_are_ten_pairs_with_cp_in_the_hundreds() -> None:
    assert POKEMON_CP.shape == POKEMON_EVOLVED.shape == (10,)
    assert 100 <= np.median(POKEMON_CP) <= 1000 and POKEMON_CP.max() >= 500


def test_pokemon_surface_is_the_mean_squared_error_of_the_line() -> None:
    s = surfaces.get("pokemon")
    for b, w in [(-120.0, -4.0), (-150.0, 1.5), (-188.0, 2.7)]:
        by_hand = sum((yn - (b + w * xn)) ** 2 for xn, yn in zip(POKEMON_CP, POKEMON_EVOLVED)) / 10
        assert curvature.value(s, (b, w)) == pytest.approx(by_hand, rel=1e-12)
        assert float(s.fn(jnp.asarray([b, w], jnp.float32))) == pytest.approx(by_hand, rel=1e-5)


def test_pokemon_landmark_is_the_least_squares_fit() -> None:
    s = surfaces.get("pokemon")
    w, b = _least_squares()
    [lm] = s.landmarks
    assert lm.kind == "minimum" and lm.label == "global minimum"
    assert lm.point == pytest.approx((b, w), abs=1e-9)
    assert w == pytest.approx(2.669, abs=1e-3) and b == pytest.approx(-188.43, abs=1e-2)
    # Ill-conditioned: 2/N [[sum x^2, sum x], [sum x, N]], condition number above 1e5.
    lam = np.linalg.eigvalsh(surfaces.hessian(s, lm.point))
    x = POKEMON_CP
    by_hand = np.linalg.eigvalsh(2 / 10 * np.array([[np.sum(x * x), np.sum(x)], [np.sum(x), 10.0]]))
    np.testing.assert_allclose(lam, by_hand, rtol=1e-9)
    assert lam[1] / lam[0] > 1e5


def test_pokemon_gd_crawls_while_adagrad_arrives() -> None:
    """From the default start (Lee's (b, w) = (-120, -4)), within the 5000-step cap: GD at
    any stable rate (eta < 2/lambda_max, about 1.14e-5) zig-zags in w, then crawls along
    the floor and ends more than 60 away; just above 2/lambda_max it diverges. AdaGrad at
    eta = 10 gets within 1 of the fit in fewer steps than the cap. At GD's own eta = 1e-5,
    AdaGrad's steps (about eta per coordinate) barely move: neither arrives."""
    s = surfaces.get("pokemon")
    start = pg.own_start(s)
    assert start == (-120.0, -4.0)
    fit = np.array(s.landmarks[0].point)
    lam_max = np.linalg.eigvalsh(surfaces.hessian(s, tuple(fit)))[1]
    n = optimizers.MAX_STEPS

    gd = optimizers.trace(s, "gd", start, n, learning_rate=1e-5)
    assert 1e-5 < 2 / lam_max
    assert gd.diverged_at is None
    w = gd.points[:8, 1]
    assert np.all(np.diff(np.sign(np.diff(w)))[:4] != 0)  # zig-zag across the ravine (in w)
    assert np.linalg.norm(gd.points[-1] - fit) > 60
    assert np.linalg.norm(gd.points[-1] - gd.points[100]) < 3  # crawl: < 3 in b over 4900 steps
    assert optimizers.trace(s, "gd", start, 50, learning_rate=1.2 * 2 / lam_max).diverged_at is not None

    ada = optimizers.trace(s, "adagrad", start, n, learning_rate=10.0)
    d = np.linalg.norm(ada.points - fit, axis=1)
    assert ada.diverged_at is None and d.min() < 1
    assert int(np.argmax(d < 1)) < n
    slow = optimizers.trace(s, "adagrad", start, n, learning_rate=1e-5)
    assert np.linalg.norm(slow.points[-1] - fit) > 60


# ---------------------------------------------------------------------------------------
# The ‖g‖ panel


def _playground(**kw) -> pg.Result:
    settings = pg.Settings().replace(**kw)
    surface = settings.surface.build()
    z = surfaces.evaluate_grid(surface, surface.domain, 41)[2]
    return pg.run(settings, pg.Landscape.of(surface, z, critical_points_of(surface)))


def test_gradient_norm_panel_values_are_the_recorded_gradients_norms_on_a_ravine() -> None:
    result = _playground(**{"surface": "ravine", "ravine.condition": 100.0, "opts": ("gd", "momentum"), "steps": 200,
                            "gd.learning_rate": 0.0199, "momentum.learning_rate": 0.01})
    for tr, norms in zip(result.traces.values(), result.gradient_norm):
        assert norms.shape == (201,) and math.isnan(norms[0])  # row 0 is the start: no step, no gradient
        np.testing.assert_allclose(norms[1:], np.hypot(tr.gradients[1:, 0], tr.gradients[1:, 1]), rtol=1e-6)
        # the gradient step k used is grad L at points[k - 1]
        g3 = surfaces.gradient(surfaces.get("ravine", condition=100.0), tuple(tr.points[2]))
        assert norms[3] == pytest.approx(np.linalg.norm(g3), rel=1e-4)
    # Momentum's ‖g‖ swings up and down in the valley, far from monotone, while it still falls overall.
    g = result.gradient_norm[1][1:61]
    turns = int(np.sum(np.diff(np.sign(np.diff(g))) != 0))
    assert turns >= 20


def test_loss_flat_gradient_not_small_on_the_pokemon_crawl() -> None:
    """GD at eta = 1e-5 on the Pokémon ravine: over steps 100..5000 the loss above L*
    drops by under 10% (1304 to 1235) while ‖g‖ stays near 37, never below 30: training has
    stalled though the gradient is not small."""
    result = _playground(**{"surface": "pokemon", "opts": ("gd",), "steps": optimizers.MAX_STEPS,
                            "gd.learning_rate": 1e-5})
    gap, norms = result.loss_gap[0], result.gradient_norm[0]
    assert gap[-1] > 0.9 * gap[100]
    assert norms[100:].min() > 30


# ---------------------------------------------------------------------------------------
# The 1/√(t+1) decay


def test_inverse_sqrt_values_by_hand() -> None:
    t = np.arange(0, 101)
    got = np.asarray(jax.vmap(schedules.inverse_sqrt(0.4))(jnp.asarray(t)), np.float64)
    np.testing.assert_allclose(got, 0.4 / np.sqrt(t + 1.0), rtol=1e-6)
    assert got[0] == pytest.approx(0.4) and got[3] == pytest.approx(0.2) and got[99] == pytest.approx(0.04)
    table = schedules.table_kernel(np.asarray(ScheduleConfig("inverse_sqrt").packed(), np.float32), 101)
    np.testing.assert_allclose(np.asarray(table), 1.0 / np.sqrt(t + 1.0), rtol=1e-6)


def test_inverse_sqrt_is_a_choice_with_its_formula() -> None:
    [field] = [f for f in ScheduleChoice.fields() if f.key == "sched"]
    assert "inverse_sqrt" in field.choices
    assert SPECS["inverse_sqrt"].latex == r"\eta_t = \frac{\eta_0}{\sqrt{t + 1}}"
    for lang in ("en", "zh"):
        assert "η/√(t+1)" in catalog.messages(lang)["controls.schedule.inverse_sqrt.formula"]


def test_gd_under_inverse_sqrt_takes_the_decayed_steps() -> None:
    s = surfaces.get("bowl")
    tr = optimizers.trace(s, "gd", (2.0, -1.0), 5, schedule=ScheduleConfig("inverse_sqrt"), with_stats=True,
                          learning_rate=0.1)
    np.testing.assert_allclose(tr.learning_rates[1:], 0.1 / np.sqrt(np.arange(5) + 1.0), rtol=1e-6)
    p = np.array([2.0, -1.0])
    for k in range(5):  # on the bowl grad = 2p
        p = p - 0.1 / math.sqrt(k + 1) * 2 * p
        np.testing.assert_allclose(tr.points[k + 1], p, rtol=1e-5)


# ---------------------------------------------------------------------------------------
# Cross-entropy against squared error for one wrong example


def _sigma(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_sigmoid_losses_by_hand() -> None:
    ce, mse = surfaces.get("cross_entropy"), surfaces.get("mse_sigmoid")
    for w, b in [(-5.0, -4.0), (0.3, 0.2), (2.0, -1.0)]:
        decay = 0.5 * SIGMOID_DECAY * (w * w + b * b)
        assert curvature.value(ce, (w, b)) == pytest.approx(-math.log(_sigma(w + b)) + decay, rel=1e-12)
        assert curvature.value(mse, (w, b)) == pytest.approx((1 - _sigma(w + b)) ** 2 + decay, rel=1e-12)


def _fd_gradient(s, p: tuple[float, float], h: float = 1e-5) -> np.ndarray:
    e = np.eye(2)
    return np.array([(curvature.value(s, np.add(p, h * v)) - curvature.value(s, np.subtract(p, h * v))) / (2 * h)
                     for v in e])


def test_mse_plateau_where_the_model_is_very_wrong() -> None:
    """At (w, b) = (-5, -4), z = -9, sigma(z) ~ 1.2e-4: cross-entropy's slope is about
    sqrt(2), squared error's about 1e-3 (most of it the weight decay): three orders of
    magnitude apart. Near z = 0 they are comparable."""
    ce, mse = surfaces.get("cross_entropy"), surfaces.get("mse_sigmoid")
    wrong = (-5.0, -4.0)
    g_ce, g_mse = np.linalg.norm(_fd_gradient(ce, wrong)), np.linalg.norm(_fd_gradient(mse, wrong))
    assert g_ce == pytest.approx(math.sqrt(2) * (1 - _sigma(-9.0)), rel=1e-3)
    assert g_ce / g_mse > 1000
    np.testing.assert_allclose(surfaces.gradient(mse, wrong), _fd_gradient(mse, wrong), rtol=1e-5)
    near = (0.0, 0.0)
    assert 0.5 < np.linalg.norm(_fd_gradient(ce, near)) / np.linalg.norm(_fd_gradient(mse, near)) < 5
    for s in (ce, mse):
        assert all(np.linalg.norm(surfaces.gradient(s, st)) > 1e-4 for st in s.starts)


def test_gd_from_the_wrong_corner_cross_entropy_learns_squared_error_stalls() -> None:
    ce, mse = surfaces.get("cross_entropy"), surfaces.get("mse_sigmoid")
    start = ce.starts[0]
    assert start == mse.starts[0] and start[0] + start[1] < -8
    a = optimizers.trace(ce, "gd", start, 200, learning_rate=1.0)
    b = optimizers.trace(mse, "gd", start, 200, learning_rate=1.0)
    z = lambda tr: float(tr.points[-1].sum())  # noqa: E731
    assert _sigma(z(a)) > 0.9  # cross-entropy: the example is classified right
    assert _sigma(z(b)) < 0.01  # squared error: still on the plateau


def test_new_surfaces_have_titles_and_lessons_in_both_languages() -> None:
    for key in ("pokemon", "cross_entropy", "mse_sigmoid"):
        assert surfaces.get(key).title == catalog.messages("en")[f"surfaces.{key}.title"]
        for lang in ("en", "zh"):
            m = catalog.messages(lang)
            assert m[f"surfaces.{key}.title"] and m[f"surfaces.{key}.lesson"]


# ---------------------------------------------------------------------------------------
# The page


def test_playground_draws_the_gradient_norm_panel_on_the_pokemon_surface() -> None:
    at = open_page(PLAYGROUND, {"surface": "pokemon", "opts": "gd,adagrad", "gd.learning_rate": "1e-05",
                                "adagrad.learning_rate": "10", "steps": "300"}, timeout=120)
    at.run()
    assert not at.exception
    curves = next(c for c in chart_specs(at) if "xaxis3" in c["layout"])
    gd = [t for t in curves["data"] if t.get("xaxis") == "x3"]
    assert len(gd) == 2
    assert curves["layout"]["yaxis3"]["title"]["text"] == "‖g‖"
    assert any("‖g‖" in a["text"] for a in curves["layout"]["annotations"])


def test_playground_schedule_picker_offers_inverse_sqrt_with_its_formula() -> None:
    at = open_page(PLAYGROUND, {"sched": "inverse_sqrt", "lang": "zh"}, timeout=120)
    at.run()
    assert not at.exception
    assert at.selectbox(key="sched").value == "inverse_sqrt"
    assert any(r"\sqrt{t + 1}" in e.value for e in at.latex)
    assert any("η/√(t+1)" in c.value for c in at.caption)
