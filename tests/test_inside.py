"""The Inside page (issue 18): experiments/inside.py against independent computations, and
the page in both languages under AppTest."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import catalog
from classifier import landscape as land
from classifier import spectrum as spec
from classifier.losses import objective
from classifier.sharpness import top_hessian_eigenvalue
from experiments import classifier as ex
from experiments import inside
from tests.conftest import chart_specs, open_page

QUICK = {"c.epochs": 30}  # a short run: what is checked does not need a trained network


def _objective64(params, data, config) -> float:
    with jax.enable_x64(True):
        p64 = [{k: jnp.asarray(v, jnp.float64) for k, v in layer.items()} for layer in params]
        return float(objective(p64, jnp.asarray(data.x_train, jnp.float64), jnp.asarray(data.y_train),
                               config.activation, config.loss, config.l2))


@pytest.fixture(scope="module")
def spectrum_result() -> inside.Result:
    return inside.run(inside.Settings().replace(**QUICK, **{"i.view": "spectrum", "i.evolve": True}))


def test_the_spectrum_is_the_exact_hessian_of_the_network_shown(spectrum_result):
    r = spectrum_result
    run, data = r.net.shown_run, r.data
    point = r.spectrum
    s = point.spectrum
    assert s.exact and s.n_params == r.net.arch.n_params == 354
    c = run.config
    expected = spec.hessian_eigenvalues(run.snapshot_at(r.net.at), data.x_train, data.y_train, c.activation, c.loss,
                                        c.l2)
    np.testing.assert_allclose(s.eigenvalues, expected, rtol=1e-10, atol=1e-12)
    assert s.n_negative + s.n_flat + s.n_positive == s.n_params
    assert s.n_negative == int(np.sum(expected < -s.tol))
    # The gradient's norm, independently: central differences of the float64 objective along it.
    params = run.snapshot_at(r.net.at)
    with jax.enable_x64(True):
        p64 = [{k: jnp.asarray(v, jnp.float64) for k, v in layer.items()} for layer in params]
        g = jax.grad(objective)(p64, jnp.asarray(data.x_train, jnp.float64), jnp.asarray(data.y_train),
                                c.activation, c.loss, c.l2)
        norm = float(np.sqrt(sum(float(jnp.sum(v ** 2)) for layer in g for v in layer.values())))
    assert point.grad_norm == pytest.approx(norm, rel=1e-4)
    assert point.verdict == ("saddle" if s.n_negative else "degenerate" if s.n_flat > point.n_gauge else "minimum")


def test_the_spectrum_over_training_has_a_row_per_kept_network(spectrum_result):
    r = spectrum_result
    e = r.evolution
    kept = np.asarray(r.net.kept_epochs)
    np.testing.assert_array_equal(e.epochs, kept)
    assert e.top.shape == (len(kept), inside.TOP_K)
    assert np.all(np.diff(e.top, axis=1) <= 0)  # largest first
    assert r.net.at == kept[-1]
    assert e.negative_fraction[-1] == pytest.approx(r.spectrum.spectrum.negative_fraction)
    assert e.top[-1, 0] == pytest.approx(r.spectrum.spectrum.top[0], rel=1e-9)


@pytest.mark.parametrize("loss, l2, gauge", [("cross_entropy", 0.0, 17), ("cross_entropy", 1e-3, 1), ("mse", 0.0, 17),
                                             ("index", 0.0, 0)])
def test_softmax_gauge_directions_are_exact_zeros_of_every_hessian(loss, l2, gauge):
    settings = inside.Settings().replace(**{"c.loss": loss, "c.l2": l2})
    arch = settings.architecture()
    assert inside.gauge_count(arch, loss, l2) == gauge
    r = ex.run(settings.network().replace(**QUICK))
    c = r.shown_run.config
    eig = spec.hessian_eigenvalues(r.shown_run.snapshots[-1], r.data.x_train, r.data.y_train, c.activation, c.loss,
                                   c.l2)
    # At least `gauge` eigenvalues are zero to float64 rounding, at a network nobody tuned for it.
    assert np.sum(np.abs(eig) <= 1e-10 * np.abs(eig).max()) >= gauge


def test_the_landscape_views_are_the_objective_of_the_networks_compared():
    settings = inside.Settings().replace(**QUICK, **{"i.view": "landscape", "i.res": 11, "i.vs": "batching",
                                                     "i.vsb": "mini", "c.bs": 64})
    r = inside.run(settings)
    assert set(r.landscapes) == {"a", "b"}
    assert r.second.shown_run.config.batch_size == 64 and r.net.shown_run.config.batch_size is None
    for key, net in (("a", r.net), ("b", r.second)):
        v, run = r.landscapes[key], net.shown_run
        first, last = run.snapshots[0], run.snapshots[-1]
        alphas, betas, z = v.plane
        assert z.shape == (11, 11) and alphas[5] == 0.0 and betas[5] == 0.0
        assert z[5, 5] == pytest.approx(_objective64(last, r.data, run.config), rel=1e-5)
        a, losses = v.interpolation
        assert losses[np.argmin(np.abs(a))] == pytest.approx(_objective64(first, r.data, run.config), rel=1e-5)
        assert losses[np.argmin(np.abs(a - 1))] == pytest.approx(_objective64(last, r.data, run.config), rel=1e-5)
        c = run.config
        assert v.top_eigenvalue == pytest.approx(top_hessian_eigenvalue(last, r.data.x_train, r.data.y_train,
                                                                        c.activation, c.loss, c.l2), rel=1e-6)
        assert v.trajectory.coords.shape == (len(run.snapshots), 2)
        np.testing.assert_allclose(v.trajectory.coords[-1], 0.0, atol=1e-9)


def test_a_slice_too_large_for_the_budget_is_cut_and_said(monkeypatch):
    assert inside.grid_size(40, 280, 354, 2) == 41  # odd: the trained network is a grid point
    monkeypatch.setattr(inside, "SLICES_SECONDS", 1e-6)
    r = inside.run(inside.Settings().replace(**QUICK, **{"i.view": "landscape", "i.res": 41}))
    used = r.landscapes["a"].plane[2].shape[0]
    assert used < 41 and used % 2 == 1
    assert [n.params for n in r.notices if n.key == "inside.notice.grid"] == [{"asked": 41, "used": used}]
    assert used == land.largest_grid(r.data.n_train, r.net.arch.n_params, 1e-6 / 2, n_max=41)


def test_the_census_view_runs_the_census_on_the_page_data():
    r = inside.run(inside.Settings().replace(**QUICK, **{"i.view": "census", "i.nets": 6, "i.cwidth": 5,
                                                         "i.cseed": 7}))
    c = r.census
    assert c.config.n_nets == 6 and c.config.hidden == (5,) and c.config.seed == 7
    assert c.n_converged >= 1
    assert np.all(c.grad_norm[c.converged] < 1e-6)
    assert c.n_points == min(c.config.max_points, r.data.n_train)


def test_the_network_settings_are_the_classifier_page_s():
    s = inside.Settings().replace(**{"c.gc": True, "c.depth": True, "c.opt": "momentum", "i.vs": "optimizer",
                                     "i.vso": "gd", "c.compare": True})
    net = s.network()
    assert type(net) is ex.Settings and not net.gradcheck and not net.depth_sweep and net.optimizer == "momentum"
    second = s.second("adam")
    assert second.optimizer == "gd" and not second.compare
    assert s.replace(**{"i.vs": "batching", "i.vsb": "sgd"}).second("adam").batch == 1
    assert s.replace(**{"i.vs": "none"}).second("adam") is None
    query = {"i.view": "census", "i.nets": "12", "i.cwidth": "4", "i.res": "31", "i.3d": "1", "c.opt": "gd"}
    parsed, notices = inside.Settings.from_query(query)
    assert notices == []
    assert inside.Settings.from_query(parsed.to_query())[0] == parsed  # the URL round trip
    assert parsed.nets == 12 and parsed.census_width == 4 and parsed.resolution == 31 and parsed.surface3d


# ---------------------------------------------------------------------------------------
# The page


PAGE = "pages/6_Inside.py"
VIEWS = [({"i.view": "spectrum", "i.evolve": "1"}, 3), ({"i.view": "landscape"}, 3),
         ({"i.view": "landscape", "i.vs": "optimizer", "i.vso": "gd"}, 5), ({"i.view": "census", "i.nets": "6"}, 1)]


@pytest.mark.parametrize("lang", catalog.LANGUAGES)
@pytest.mark.parametrize("query, n_charts", VIEWS)
def test_each_view_draws_in_both_languages(lang, query, n_charts):
    catalog.set_language(lang)
    try:
        at = open_page(PAGE, {**query, "c.epochs": "30", "i.res": "21", "lang": lang}, timeout=240)
        at.run()
        assert not at.exception, at.exception
        assert len(at.get("plotly_chart")) == n_charts
        assert at.title[0].value == catalog.t("inside.heading")
        specs = chart_specs(at)
        view = query["i.view"]
        if view == "spectrum":
            assert specs[0]["layout"]["title"]["text"].startswith(catalog.t("inside.spectrum.title", optimizer="Adam",
                                                                            epoch=30)[:8])
        elif view == "census":
            assert any(m.value.startswith(catalog.t("inside.census.summary", n=6, converged=0, width=8, params=42,
                                                    counted=41, points=100, minimum=0, saddle=0, degenerate=0,
                                                    maximum=0)[:12]) for m in at.markdown)
    finally:
        catalog.set_language(catalog.DEFAULT_LANGUAGE)


def test_junk_in_the_address_is_said_and_the_page_still_draws():
    at = open_page(PAGE, {"i.view": "nowhere", "i.res": "abc", "i.nets": "9999", "c.epochs": "30"}, timeout=240)
    at.run()
    assert not at.exception, at.exception
    shown = " ".join(i.value for i in at.info)
    assert "i.view" in shown and "i.res" in shown and "i.nets" in shown
    assert at.session_state["i.view"] == "spectrum" and at.session_state["i.nets"] == inside.CENSUS_MAX_NETS


def test_a_grid_cut_by_the_budget_is_said_on_the_page(monkeypatch):
    monkeypatch.setattr(inside, "SLICES_SECONDS", 1e-6)
    at = open_page(PAGE, {"i.view": "landscape", "i.res": "41", "c.epochs": "30"}, timeout=240)
    at.run()
    assert not at.exception, at.exception
    used = inside.grid_size(41, 280, 354, 2)
    assert used < 41
    assert catalog.t("inside.notice.grid", asked=41, used=used) in [w.value for w in at.warning]


def test_moving_the_epoch_slider_shows_that_epoch_s_spectrum():
    at = open_page(PAGE, {"i.view": "spectrum", "c.epochs": "30"}, timeout=240)
    at.run()
    first = chart_specs(at)[0]["layout"]["title"]["text"]
    slider = next(s for s in at.select_slider if s.key == "c.at")
    slider.set_value(slider.options[0] if isinstance(slider.options[0], int) else int(slider.options[0])).run()
    assert not at.exception, at.exception
    title = chart_specs(at)[0]["layout"]["title"]["text"]
    assert title != first and title == catalog.t("inside.spectrum.title", optimizer="Adam", epoch=0)
    assert at.query_params.get("c.at") in (["0"], "0")
