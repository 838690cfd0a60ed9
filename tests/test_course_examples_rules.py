"""Issue 17, the notes' examples made live (part: saddle escape, Lee's unified rule, the
two momentum conventions, the exponentially weighted average), against known truths:
the second-order Taylor model at a saddle, the update each trace actually took, a
hand-written loop of Ng's momentum, and the EWA's weights computed by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

import optimizers
import surfaces
from experiments import curvature as lab
from experiments.common import critical_points_of
from optimizers import ewa, unified
from surfaces.curvature import value as surface_value
from tests.conftest import chart_specs, open_page, texts

CURVATURE, PLAYGROUND = "pages/2_Curvature.py", "pages/1_Playground.py"


# ---------------------------------------------------------------------------------------
# The saddle escape


def saddles(key: str) -> list[lab.Probe]:
    surface = surfaces.get(key)
    found = [c for c in critical_points_of(surface) if c.kind == "saddle"]
    return [lab.probe_at(surface, lab.snap(tuple(map(float, c.point)), [c], 1.0)) for c in found]


@pytest.mark.parametrize("key, count", [("himmelblau", 4), ("saddle", 1)])
def test_the_escape_step_lowers_the_loss_both_ways_as_half_lambda_t_squared(key: str, count: int) -> None:
    surface = surfaces.get(key)
    probes = saddles(key)
    assert len(probes) == count
    for p in probes:
        e = lab.escape_from(surface, p)
        assert e is not None and e.eigenvalue == pytest.approx(min(p.eigenvalues)) and e.eigenvalue < 0
        assert abs(float(np.linalg.norm(e.direction)) - 1) < 1e-12
        assert abs(float(e.direction @ p.hessian @ e.direction) - e.eigenvalue) < 1e-9  # v is λ's eigenvector
        assert e.falls and e.matches
        for s in e.steps:  # the point really is θ′ ± t v, and f there is lower than at θ′
            assert math.dist(s.point, p.point + s.sign * e.step * e.direction) < 1e-12
            assert s.value < e.value
            assert float(surface_value(surface, s.point)) == pytest.approx(s.value, rel=1e-9, abs=1e-12)
            assert s.change == pytest.approx(s.value - e.value)
            assert s.predicted == pytest.approx(e.second_order, rel=1e-6, abs=1e-12)  # g = 0 here
        # Second order: (change − ½λt²)/t² → 0 as t → 0 (the error is O(t³)).
        errors = []
        for t in e.step * 2.0 ** -np.arange(0, 5):
            small = lab.escape_along(surface, p, t)
            errors.append(max(abs(s.change - s.predicted) for s in small.steps) / t**2)
        if key == "saddle":  # a quadratic: the model is exact
            assert max(errors) < 1e-9
        else:
            assert errors[-1] < 0.2 * errors[0] and errors[-1] < 0.05 * abs(e.eigenvalue)


def test_no_escape_at_a_minimum_a_degenerate_point_or_off_a_critical_point() -> None:
    bowl = surfaces.get("himmelblau")
    assert lab.escape_from(bowl, lab.probe_at(bowl, (3.0, 2.0))) is None  # minimum
    assert lab.escape_from(bowl, lab.probe_at(bowl, (1.0, 1.0))) is None  # g ≠ 0
    monkey = surfaces.get("monkey_saddle")
    assert lab.escape_from(monkey, lab.probe_at(monkey, (0.0, 0.0))) is None  # λ = 0: nothing to go down along
    r = lab.run(lab.Settings().replace(surface="himmelblau", gdsteps=20))
    assert r.escape is not None and r.escape.start == r.point  # the default point is a saddle


def test_the_escape_button_shows_the_loss_falling() -> None:
    for query in ({}, {"surface": "saddle"}):
        at = open_page(CURVATURE, query, timeout=120)
        at.run()
        assert not at.exception
        assert not at.success  # nothing before the press
        at.button(key="curv_escape").click().run()
        assert not at.exception
        (box,) = texts(at, "success")
        assert "f falls both ways" in box
        (table,) = [m for m in texts(at, "markdown") if m.startswith("|")]
        rows = [[c.strip() for c in r.strip("|").split("|")] for r in table.splitlines()[2:]]
        assert len(rows) == 2
        for row in rows:
            before, after, change = float(row[2]), float(row[3]), float(row[4])
            assert after < before and change < 0


def test_the_escape_in_chinese() -> None:
    at = open_page(CURVATURE, {"lang": "zh"}, timeout=120)
    at.run()
    at.button(key="curv_escape").click().run()
    assert not at.exception and "两个方向上 f 都下降了" in texts(at, "success")[0]


# ---------------------------------------------------------------------------------------
# Lee's unified rule


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


RATES = {"gd": 1e-3, "momentum": 1e-3, "adagrad": 0.3, "rmsprop": 0.01, "adam": 0.05}


@pytest.mark.parametrize("key", unified.UNIFIED)
@pytest.mark.parametrize("surface", ["rosenbrock", "himmelblau"])
def test_eta_m_over_sigma_is_the_update_taken(key: str, surface: str) -> None:
    s = surfaces.get(surface)
    tr = optimizers.trace(s, key, tuple(s.starts[0]), 120, with_stats=True, learning_rate=RATES[key])
    assert tr.diverged_at is None
    for k in (1, 2, 7, 60, 120):
        p = unified.parts(tr, k)
        scale = max(float(np.max(np.abs(tr.points[k]))), 1.0) * 1e-6  # float32 rounding of θ_k − θ_{k−1}
        np.testing.assert_allclose(p.update, tr.updates[k], rtol=1e-4, atol=scale)
        assert p.eta == pytest.approx(RATES[key])


def test_what_each_optimizer_uses_as_sigma_and_m() -> None:
    s = surfaces.get("himmelblau")
    start, k = tuple(s.starts[0]), 5
    traces = {key: optimizers.trace(s, key, start, 10, with_stats=True, learning_rate=0.01) for key in unified.UNIFIED}
    g = {key: tr.gradients[1: k + 1].astype(np.float64) for key, tr in traces.items()}
    gd, mom, ada, rms, adam = (unified.parts(traces[key], k) for key in unified.UNIFIED)
    assert np.all(gd.sigma == 1) and np.allclose(gd.m, g["gd"][-1])
    lam = traces["momentum"].hyper["momentum"]
    assert np.all(mom.sigma == 1)
    np.testing.assert_allclose(mom.m, sum(lam ** (k - 1 - j) * g["momentum"][j] for j in range(k)), rtol=1e-10)
    np.testing.assert_allclose(ada.sigma, np.sqrt((g["adagrad"] ** 2).sum(0) + 1e-7), rtol=1e-5)
    assert np.allclose(ada.m, g["adagrad"][-1]) and np.allclose(rms.m, g["rmsprop"][-1])
    sq = sum(0.9 ** (k - 1 - j) * 0.1 * g["rmsprop"][j] ** 2 for j in range(k))  # σ₀² = 0
    np.testing.assert_allclose(rms.sigma, np.sqrt(sq) + 1e-8, rtol=1e-5)
    m = sum(0.9 ** (k - 1 - j) * 0.1 * g["adam"][j] for j in range(k)) / (1 - 0.9**k)
    v = sum(0.999 ** (k - 1 - j) * 0.001 * g["adam"][j] ** 2 for j in range(k)) / (1 - 0.999**k)
    np.testing.assert_allclose(adam.m, m, rtol=1e-4)
    np.testing.assert_allclose(adam.sigma, np.sqrt(v) + 1e-8, rtol=1e-4)
    assert unified.parts(optimizers.trace(s, "nesterov", start, 10, with_stats=True), 3) is None


def test_the_inspector_shows_the_unified_rule_for_the_racers() -> None:
    at = open_page(PLAYGROUND, timeout=120)
    at.run()
    at.session_state["open.inspector"] = True
    at.run()
    at.slider(key="inspect_k").set_value(20).run()
    assert not at.exception
    (md,) = [m for m in texts(at, "markdown") if m.startswith("**One rule for five optimizers**")]
    rows = [[c.strip() for c in r.strip("|").split("|")] for r in md.split("\n\n", 1)[1].splitlines()[2:]]
    assert [r[0] for r in rows] == ["Gradient descent", "Momentum", "RMSProp", "Adam"]
    for r in rows:
        assert r[6] == r[7]  # −ηm/σ, as shown, is the update taken
    assert any(r"\frac{\eta^{t}}{\sigma_i^{t}}" in x for x in texts(at, "latex"))


# ---------------------------------------------------------------------------------------
# The two momentum conventions


def ng_path(surface, start, alpha: float, beta: float, steps: int) -> np.ndarray:
    """Andrew Ng's momentum, written out: V = βV + (1−β)dw, w = w − αV."""
    w, V, out = np.array(start, np.float64), np.zeros(2), [np.array(start, np.float64)]
    for _ in range(steps):
        dw = np.asarray(surfaces.gradient(surface, w), np.float64)
        V = beta * V + (1 - beta) * dw
        w = w - alpha * V
        out.append(w.copy())
    return np.array(out)


@pytest.mark.parametrize("surface, eta, beta", [("himmelblau", 0.002, 0.9), ("rosenbrock", 1e-3, 0.9),
                                                ("himmelblau", 0.005, 0.5)])
def test_ngs_momentum_and_the_course_form_give_the_same_path(surface: str, eta: float, beta: float) -> None:
    s = surfaces.get(surface)
    start = tuple(s.starts[0])
    tr = optimizers.trace(s, "momentum", start, 150, with_stats=True, learning_rate=eta, momentum=beta)
    ng = ng_path(s, start, eta / (1 - beta), beta, 150)
    np.testing.assert_allclose(tr.points, ng, rtol=2e-4, atol=2e-4)
    step = unified.ng_momentum(tr, 80)
    assert step.constant_rate and step.alpha == pytest.approx(eta / (1 - beta))
    np.testing.assert_allclose(step.update, tr.updates[80], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(step.velocity, step.beta * step.previous + (1 - beta) * step.gradient)


def test_the_inspector_shows_ngs_form_for_momentum() -> None:
    at = open_page(PLAYGROUND, timeout=120)
    at.run()
    at.session_state["open.inspector"] = True
    at.run()
    at.selectbox(key="inspect_opt").set_value("momentum").run()
    assert not at.exception
    latex = " ".join(texts(at, "latex"))
    assert r"V_{k} = \beta V_{k-1} + (1-\beta)\,g_{k}" in latex and r"\alpha = \frac{\eta_{k}}{1-\beta} = 0.01" in latex
    assert any(m.startswith("**The same step in Ng's form**") for m in texts(at, "markdown"))


# ---------------------------------------------------------------------------------------
# The exponentially weighted average


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.95, 0.98])
def test_ewa_weights_sum_to_one_minus_beta_t_and_fall_to_one_over_e(beta: float) -> None:
    for t in (1, 5, 50):
        assert ewa.weights(beta, t).sum() == pytest.approx(1 - beta**t, rel=1e-12)
    n = ewa.window(beta)
    w = ewa.weights(beta, int(4 * n) + 1)
    if beta >= 0.9:  # β^(1/(1−β)) → 1/e as β → 1 (0.349 at 0.9, 0.364 at 0.98)
        assert w[round(n)] / w[0] == pytest.approx(1 / math.e, rel=0.06)
    x = ewa.noisy_series(30, seed=3)  # v_t is the weighted sum of the values, newest first
    a = ewa.average(x, beta)
    assert a.v[-1] == pytest.approx(float(ewa.weights(beta, 30) @ x[::-1]), rel=1e-12)


def test_bias_corrected_ewa_of_a_constant_is_that_constant() -> None:
    a = ewa.average(np.full(40, 7.5), 0.9)
    np.testing.assert_allclose(a.v_hat, 7.5, rtol=1e-12)
    assert a.v[0] == pytest.approx(0.75) and np.all(a.v < 7.5)  # without: pulled toward v₀ = 0
    with pytest.raises(ValueError, match="beta"):
        ewa.average(np.ones(3), 1.0)


def test_the_ewa_widget_draws_the_series_and_follows_beta() -> None:
    at = open_page(PLAYGROUND, {"ewa": "0.8"}, timeout=120)
    at.run()
    assert at.session_state["ewa"] == pytest.approx(0.8)
    at.session_state["open.ewa"] = True
    at.run()
    assert not at.exception
    (spec,) = [s for s in chart_specs(at) if any(d.get("type") == "bar" for d in s["data"])]
    assert len(spec["data"]) == 4
    assert any("1/(1−β) = 5 values" in m for m in texts(at, "markdown"))
    at.slider(key="ewa").set_value(0.95).run()
    assert any("1/(1−β) = 20 values" in m for m in texts(at, "markdown"))
    assert at.query_params.get("ewa") in (["0.95"], "0.95")
