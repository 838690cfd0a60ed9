"""The Classifier page, run headless through Streamlit's AppTest."""
from __future__ import annotations

import math

import numpy as np
import pytest

from classifier import model as mlp
from experiments import classifier as ex
from tests.conftest import arr, chart_specs, open_page, texts

PAGE = "pages/4_Classifier.py"


def probabilities(spec: dict) -> dict:
    """The trace colouring the plane by the network's probabilities: a heatmap (3+ classes)
    or a heatmap-coloured contour with the P = 0.5 line (2 classes)."""
    return next(t for t in spec["data"] if t["type"] in ("heatmap", "contour"))


def boundary(at) -> dict:
    return next(s for s in chart_specs(at) if any(t["type"] in ("heatmap", "contour") for t in s["data"]))


def curves(at) -> dict:
    return next(s for s in chart_specs(at) if any(" · train" in t.get("name", "") for t in s["data"]))


def curve(spec: dict, run: str, split: str, metric: str) -> np.ndarray:
    """train/test loss (first panel) or accuracy (second panel, axis x2) of one run."""
    axis = "x" if metric == "loss" else "x2"
    trace = next(t for t in spec["data"] if t["name"].startswith(run) and t["name"].endswith(f"· {split}")
                 and t.get("xaxis", "x") == axis)
    return arr(trace["y"])


@pytest.fixture(scope="module")
def default_run():
    at = open_page(PAGE)
    at.run()
    return at


def test_defaults_train_a_good_classifier(default_run):
    at = default_run
    assert not at.exception
    assert not texts(at, "error") and not texts(at, "warning")
    spec = curves(at)
    loss, acc = curve(spec, "adam", "train", "loss"), curve(spec, "adam", "test", "acc")
    assert len(loss) == 201  # epochs 0..200
    assert math.isclose(loss[0], math.log(2), abs_tol=0.15)  # an untrained 2-class net: about ln 2
    assert loss[-1] < 0.1 and acc[-1] > 0.9  # two moons at noise 0.15 is nearly separable
    b = boundary(at)
    line = probabilities(b)
    assert line["type"] == "contour" and line["contours"]["start"] == line["contours"]["end"] == 0.5  # the P = 0.5 line
    n_train = sum(len(arr(t["x"])) for t in b["data"] if t.get("name", "").startswith("train class"))
    n_test = sum(len(arr(t["x"])) for t in b["data"] if t.get("name", "").startswith("test class"))
    assert (n_train, n_test) == (280, 120)
    assert "epoch 200" in b["layout"]["title"]["text"]
    assert dict(at.query_params) == {}  # defaults make a bare address


def test_the_default_view_is_the_run_a_warm_up_would_train(default_run):
    from ui import training_cache

    assert training_cache.is_cached(training_cache.DEFAULT_DATA, training_cache.default_config())


def test_moving_the_epoch_slider_does_not_retrain(default_run):
    from ui import training_cache

    at = default_run
    misses = training_cache.RUNS.misses
    before = arr(probabilities(boundary(at))["z"])
    at.select_slider(key="c.at").set_value(20).run()
    assert not at.exception
    assert training_cache.RUNS.misses == misses
    b = boundary(at)
    assert "epoch 20<br>" in b["layout"]["title"]["text"]
    after = arr(probabilities(b)["z"])
    assert not np.allclose(before, after)  # an earlier network, a different boundary
    assert at.query_params["c.at"] == "20"


def test_gradient_check_passes_for_the_trained_network(default_run):
    at = default_run
    at.toggle(key="c.gc").set_value(True).run()
    assert not at.exception
    bars = next(s for s in chart_specs(at) if s["data"][0]["type"] == "bar")
    errors = arr(bars["data"][0]["y"])
    assert len(errors) == 3  # two hidden layers and the output layer
    assert np.all(errors < 1e-6)
    assert "below the 1e-06 threshold" in " ".join(e.value for e in at.markdown)


def test_compare_three_optimizers_from_the_same_start():
    at = open_page(PAGE, {"c.compare": "1", "c.opts": "gd,momentum,adam"})
    at.run()
    assert not at.exception
    spec = curves(at)
    assert len(spec["data"]) == 15  # 4 curves per optimizer and the thin line of its updates
    first = [curve(spec, k, "train", "loss")[0] for k in ("gd", "momentum", "adam")]
    assert first[0] == first[1] == first[2]  # same initial weights
    assert all(curve(spec, k, "test", "acc")[-1] > 0.85 for k in ("gd", "momentum", "adam"))
    at.selectbox(key="c.show").set_value("momentum").run()
    assert not at.exception
    assert boundary(at)["layout"]["title"]["text"].startswith("Momentum")


def test_a_diverging_learning_rate_is_reported_and_the_page_lives():
    # Unbounded leaky ReLU units and gradient descent at the largest rate: the loss overflows.
    at = open_page(PAGE, {"c.act": "leaky_relu", "c.init": "he", "c.opt": "gd", "gd.learning_rate": "10"})
    at.run()
    assert not at.exception
    errors = " ".join(texts(at, "error"))
    assert "Gradient descent diverged at epoch" in errors
    k = int(errors.split("diverged at epoch ")[1].split("*")[0])
    loss = curve(curves(at), "gd", "train", "loss")
    assert 1 < k < 200 and len(loss) == k and np.all(np.isfinite(loss))  # curves up to epoch k - 1
    assert "epoch {}<br>".format(k - 1) in boundary(at)["layout"]["title"]["text"]  # the last finite network
    at.select_slider(key="gd.learning_rate").set_value(0.5).run()
    assert not at.exception and not texts(at, "error")
    assert curve(curves(at), "gd", "test", "acc")[-1] > 0.9
    # The same rate on x1 x 100 diverges again; normalizing with the training statistics cures it.
    at.toggle(key="c.badscale").set_value(True).run()
    assert "diverged at epoch" in " ".join(texts(at, "error"))
    at.toggle(key="c.norm").set_value(True).run()
    assert not at.exception and not texts(at, "error")
    assert curve(curves(at), "gd", "test", "acc")[-1] > 0.9
    assert at.query_params["c.norm"] == "1" and "gd.learning_rate" not in at.query_params  # 0.5: the default


@pytest.mark.parametrize("loss,initial", [("mse", 0.5), ("cross_entropy", math.log(2))])
def test_mse_and_cross_entropy_both_train(loss, initial):
    """Untrained (p ≈ ½): MSE on softmax is 2(1 − ½)² = ½, cross-entropy ln 2."""
    at = open_page(PAGE, {"c.loss": loss})
    at.run()
    assert not at.exception
    spec = curves(at)
    train_loss = curve(spec, "adam", "train", "loss")
    assert math.isclose(train_loss[0], initial, abs_tol=0.15)
    assert train_loss[-1] < 0.3 * train_loss[0] and curve(spec, "adam", "test", "acc")[-1] > 0.9


def test_junk_query_parameters_fall_back_to_defaults_with_a_notice():
    at = open_page(PAGE, {"c.epochs": "lots", "c.layers": "9", "c.data": "nowhere", "c.opts": "adam,evil",
                          "adam.learning_rate": "nan", "hack": "<script>"})
    at.run()
    assert not at.exception
    notes = " ".join(texts(at, "info"))
    for key in ("`c.epochs` = `lots` ignored", "`c.layers` = `9` is above the largest allowed value",
                "`c.data` = `nowhere` ignored", "`c.opts`", "`adam.learning_rate`", "`hack`"):
        assert key in notes
    assert (at.session_state["c.epochs"], at.session_state["c.layers"], at.session_state["c.data"]) == (
        200, mlp.MAX_HIDDEN_LAYERS, "moons")
    assert len(curve(curves(at), "adam", "train", "loss")) == 201


def test_sgd_on_many_points_is_capped_with_a_notice(monkeypatch):
    """Batch size 1: one update per training point per epoch; a run stops at MAX_UPDATES."""
    from classifier import budget

    monkeypatch.setattr(budget, "CLASSIFIER_CAP", 1e15)  # the cap on updates alone
    at = open_page(PAGE, {"c.batch": "sgd", "c.points": "1000", "c.test": "0.5", "c.epochs": "2000"})
    at.run()
    assert not at.exception
    warning = " ".join(texts(at, "warning"))
    assert "500 updates per epoch" in warning and "400 epochs run" in warning  # 200,000 / 500
    assert len(curve(curves(at), "adam", "train", "loss")) == 401


def test_sharpness_and_three_classes_with_mini_batches():
    at = open_page(PAGE, {"c.data": "blobs", "c.classes": "3", "c.batch": "mini", "c.bs": "32", "c.epochs": "40",
                          "c.sharp": "1"})
    at.run()
    assert not at.exception
    b = boundary(at)
    assert not any(t["type"] == "contour" for t in b["data"])  # no single P = 0.5 line with 3 classes
    assert {t["name"] for t in b["data"] if t["type"] == "scatter"} >= {"train class 2", "test class 2"}
    assert curve(curves(at), "adam", "test", "acc")[-1] > 0.9  # blobs are nearly separable
    sharp = next(s for s in chart_specs(at) if any(t.get("name", "").startswith("λ_max") for t in s["data"]))
    lam = arr(next(t for t in sharp["data"] if t["name"].startswith("λ_max"))["y"])
    limit = arr(next(t for t in sharp["data"] if t["name"].startswith("2/η"))["y"])
    assert np.all(np.isfinite(lam)) and np.all(lam > 0)
    np.testing.assert_allclose(limit, 2 / 0.01, rtol=1e-5)  # Adam's default rate here, constant schedule


def test_vanishing_gradients_experiment_then_relu_with_he():
    at = open_page(PAGE)
    at.run()
    next(b for b in at.button if b.label == "Vanishing gradients").click().run()
    assert not at.exception
    assert (at.session_state["c.layers"], at.session_state["c.act"], at.session_state["c.opt"]) == (4, "sigmoid", "gd")
    norms = next(s for s in chart_specs(at) if "Gradient norm per layer" in s["layout"]["title"]["text"])
    first, last = (arr(next(t for t in norms["data"] if t["name"].startswith(n))["y"]) for n in ("layer 1", "layer 5"))
    assert first[0] < 1e-6 < last[0]  # sigmoid' <= 1/4 and 0.01-sized weights, four times over
    assert math.isclose(curve(curves(at), "gd", "train", "loss")[-1], math.log(2), abs_tol=0.01)  # stuck
    at.selectbox(key="c.act").set_value("relu")
    at.selectbox(key="c.init").set_value("he").run()
    assert not at.exception
    assert curve(curves(at), "gd", "test", "acc")[-1] > 0.9


def test_a_very_large_run_is_capped_by_the_page_budget_with_a_notice():
    from classifier import budget
    from classifier import model as mlp

    at = open_page(PAGE, {"c.points": "5000", "c.layers": "4", "c.width": "64", "c.epochs": "2000"}, timeout=300)
    at.run()
    assert not at.exception
    arch = mlp.Architecture((64,) * 4, "tanh", 2, 2)
    shape = budget.TrainShape(3500, arch.n_params, arch.n_layers, 1)
    plan = budget.plan_training(budget.TrainingRequest(shape, 2000, 51, False, 1))
    assert plan.cut_epochs and 100 < plan.epochs < 2000
    warnings = " ".join(texts(at, "warning"))
    assert "more than one page run may compute" in warnings
    assert f"{plan.epochs:,} epochs run." in warnings
    assert len(curve(curves(at), "adam", "train", "loss")) == plan.epochs + 1


def default_shape():
    from classifier import budget
    from classifier import model as mlp

    arch = mlp.Architecture((16, 16), "tanh", 2, 2)
    return budget.TrainShape(280, arch.n_params, arch.n_layers, 1)


def test_compare_mode_shares_one_budget_and_the_next_run_finds_it_cached(monkeypatch):
    """Three runs share what one page run may train: each gets a third, the same epochs for
    all (a fair comparison); a rerun plans the same cut and retrains nothing."""
    from classifier import budget
    from ui import training_cache

    shape = default_shape()
    fixed = budget.compile_work(shape) + budget.gradcheck_share(shape)
    monkeypatch.setattr(budget, "CLASSIFIER_CAP", fixed + 3 * 50.5 * budget.epoch_work(shape))
    # A seed no other test uses: runs already trained with these settings would be free.
    at = open_page(PAGE, {"c.compare": "1", "c.opts": "gd,momentum,adam", "c.seed": "7"})
    at.run()
    assert not at.exception
    warnings = " ".join(texts(at, "warning"))
    assert "Training 3 runs of 200 epochs" in warnings and "50 epochs run per optimizer" in warnings
    assert all(len(curve(curves(at), k, "train", "loss")) == 51 for k in ("gd", "momentum", "adam"))
    misses = training_cache.RUNS.misses
    at.run()
    assert not at.exception and training_cache.RUNS.misses == misses
    at.toggle(key="c.compare").set_value(False).run()  # one run alone gets the whole budget
    assert not at.exception
    assert "151 epochs run." in " ".join(texts(at, "warning"))
    assert len(curve(curves(at), "adam", "train", "loss")) == 152


def test_sharpness_is_dropped_with_a_notice_when_even_two_estimates_do_not_fit(monkeypatch):
    from classifier import budget

    shape = default_shape()
    estimate = budget.sharpness_work(shape, 1)
    monkeypatch.setattr(budget, "CLASSIFIER_CAP", budget.compile_work(shape) + budget.gradcheck_share(shape)
                        + 1.5 * estimate)
    at = open_page(PAGE, {"c.sharp": "1", "c.seed": "8"})
    at.run()
    assert not at.exception
    assert "λ_max is not computed" in " ".join(texts(at, "warning"))
    assert "Not computed for this request" in " ".join(texts(at, "caption"))
    assert not any(t.get("name", "").startswith("λ_max") for s in chart_specs(at) for t in s["data"])


@pytest.mark.parametrize("query,expected", [
    ({"c.classes": "3"}, "Two moons comes with 2 classes, not 3: 2 classes are used."),
    ({"c.batch": "mini", "c.bs": "100"}, "Mini-batch size 100 is not one of the sizes offered; the nearest, 128"),
    ({"c.batch": "mini", "c.bs": "512"}, "Mini-batch size 512 is not smaller than the 280 training points"),
    ({"c.l2": "0.000001"}, "L2 strength 1e-06 is below the smallest one offered, 1e-05, so L2 is off."),
    ({"c.compare": "1", "c.opts": "gd,adam", "c.show": "nadam"}, "is not among the compared optimizers"),
    ({"c.at": "7"}, "No network was kept at epoch 7; the nearest kept one, epoch 8, is shown."),
])
def test_a_value_reset_because_of_another_setting_gets_a_notice(query, expected):
    at = open_page(PAGE, query)
    at.run()
    assert not at.exception
    notes = " ".join(texts(at, "info"))
    assert expected in notes, notes


def test_notices_name_what_was_reset_and_the_page_uses_it():
    at = open_page(PAGE, {"c.classes": "3", "c.compare": "1", "c.opts": "gd,adam", "c.show": "nadam"})
    at.run()
    assert not at.exception
    assert at.session_state["c.classes"] == 2 and at.session_state["c.show"] == "gd"
    assert boundary(at)["layout"]["title"]["text"].startswith("Gradient descent")
    assert "c.classes" not in at.query_params  # the URL now says what is shown


def test_a_validation_share_moves_the_dashed_curves_and_early_stopping_to_it():
    at = open_page(PAGE, {"c.es": "1", "c.patience": "10", "c.points": "200", "c.noise": "0.4", "c.layers": "3",
                          "c.width": "64", "c.act": "relu", "c.init": "he", "c.epochs": "300"})
    at.run()
    assert not at.exception
    at.slider(key="c.val").set_value(0.25).run()
    assert not at.exception and at.query_params["c.val"] == "0.25"
    spec = curves(at)
    assert "dashed: validation" in spec["layout"]["title"]["text"]
    val = curve(spec, "adam", "validation", "loss")
    assert not any(t["name"].endswith("· test") for t in spec["data"])  # the test set draws no curve
    info = " ".join(texts(at, "info"))
    stop, best = (int(info.split(word)[1].split("*")[0].split(" ")[0]) for word in ("stopping at epoch ", "lowest at epoch "))
    assert "The validation loss was lowest" in info and stop - best == 10 and best == int(np.argmin(val))
    assert "The test set is used once" in " ".join(texts(at, "caption"))
    n_boundary = sum(len(arr(t["x"])) for t in boundary(at)["data"] if t.get("name", "").startswith("train class"))
    assert n_boundary == 200 - 60 - 50  # test 0.3, validation 0.25 of 200 points


def test_each_update_is_drawn_as_a_thin_line_with_mini_batches():
    at = open_page(PAGE, {"c.batch": "mini", "c.bs": "32", "c.epochs": "20"})
    at.run()
    assert not at.exception
    spec = curves(at)
    thin = next(t for t in spec["data"] if t["name"].endswith("each update"))
    x, y = arr(thin["x"]), arr(thin["y"])
    assert len(y) == 20 * 9 and thin["line"]["width"] == 1  # ceil(280 / 32) = 9 updates per epoch
    np.testing.assert_allclose(x[:3], [0, 1 / 9, 2 / 9])
    assert np.std(np.diff(y)) > np.std(np.diff(curve(spec, "adam", "train", "loss")))  # noisier than the epochs


def test_the_exploding_gradients_preset():
    at = open_page(PAGE)
    at.run()
    next(b for b in at.button if b.label == "Exploding gradients").click().run()
    assert not at.exception
    assert (at.session_state["c.layers"], at.session_state["c.width"], at.session_state["c.init"]) == (8, 64, "normal")
    norms = next(s for s in chart_specs(at) if "Gradient norm per layer" in s["layout"]["title"]["text"])
    first, last = (arr(next(t for t in norms["data"] if t["name"].startswith(n))["y"]) for n in ("layer 1", "layer 9"))
    assert first[0] > 50 * last[0]
    assert "Exploding gradients here" in " ".join(texts(at, "caption"))


def test_the_class_index_preset_and_its_loss():
    at = open_page(PAGE)
    at.run()
    next(b for b in at.button if b.label == "One-hot vs a class index").click().run()
    assert not at.exception
    assert (at.session_state["c.data"], at.session_state["c.loss"], at.session_state["c.layers"]) == ("row", "index", 0)
    assert curve(curves(at), "adam", "train", "acc")[-1] < 0.75
    at.radio(key="c.loss").set_value("cross_entropy").run()
    assert not at.exception and curve(curves(at), "adam", "train", "acc")[-1] > 0.95


def test_the_measured_time_per_epoch_is_drawn_in_the_batch_size_idea(default_run):
    from experiments import classifier as ex

    timing = ex.batch_timing()
    spec = next(s for s in chart_specs(default_run) if "Time per epoch" in s["layout"]["title"]["text"])
    np.testing.assert_allclose(arr(spec["data"][0]["y"]), 1e3 * np.asarray(timing.per_epoch), rtol=1e-5)
    assert f"on {timing.measured}" in " ".join(texts(default_run, "caption"))


def test_the_batch_normalization_switch_rescues_a_deep_sigmoid_network():
    at = open_page(PAGE, {"c.layers": "4", "c.act": "sigmoid", "c.opt": "gd", "c.batch": "mini", "c.bs": "32",
                          "c.epochs": "30"})
    at.run()
    assert not at.exception and curve(curves(at), "gd", "train", "acc")[-1] < 0.6
    at.toggle(key="c.bn").set_value(True).run()
    assert not at.exception and at.query_params["c.bn"] == "1"
    assert curve(curves(at), "gd", "train", "acc")[-1] > 0.9
    at.toggle(key="c.gc").set_value(True).run()  # back-propagation through the running averages checks out
    assert not at.exception and "below the 1e-06 threshold" in " ".join(e.value for e in at.markdown)


def test_a_comparison_too_big_for_the_budget_trains_its_first_optimizers_and_says_so():
    """SGD on 4,500 points with 2 x 64 ReLU and all ten optimizers: one epoch of each does
    not fit next to compiling, so the first few train. The warning says how many; the
    curves and the boundary's selector hold those only; a boundary asked of an optimizer
    left out shows the first one's."""
    from classifier import budget

    query = {"c.points": "5000", "c.test": "0.1", "c.layers": "2", "c.width": "64", "c.act": "relu",
             "c.init": "he", "c.batch": "sgd", "c.compare": "1", "c.opts": ",".join(ex.NAMES), "c.show": "radam",
             "c.seed": "11"}
    at = open_page(PAGE, query)
    at.run()
    assert not at.exception
    arch_params = 2 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2
    shape = budget.TrainShape(4500, arch_params, 3, 4500)
    kept = int((budget.CLASSIFIER_CAP - budget.compile_work(shape) - budget.gradcheck_share(shape))
               // budget.epoch_work(shape))
    assert 1 < kept < len(ex.NAMES)
    assert f"So only the first {kept} of the 10 optimizers train, one epoch each." in " ".join(texts(at, "warning"))
    runs = {t["name"].split(" · ")[0].split(" (")[0] for t in curves(at)["data"] if " · train" in t.get("name", "")}
    assert runs == set(ex.NAMES[:kept])
    assert len(at.selectbox(key="c.show").options) == kept and at.selectbox(key="c.show").value == ex.NAMES[0]
