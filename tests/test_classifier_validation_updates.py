"""Issue 17 on the Classifier: the train / validation / test split, the loss of every
update, depth up to 8 and exploding gradients. Checked against hand computations."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from classifier import datasets
from classifier import model as mlp
from classifier import train as training
from classifier.losses import mean_loss
from classifier.train import TrainConfig
from experiments import classifier as ex


# ---------------------------------------------------------------------------------------
# The split


@pytest.mark.parametrize("n,test,val", [(400, 0.3, 0.2), (301, 0.25, 0.1), (20, 0.5, 0.4), (1000, 0.1, 0.0)])
def test_split_sizes_add_up_and_the_parts_are_disjoint(n, test, val):
    d = datasets.make_dataset("blobs", n, noise=0.1, seed=2, n_classes=3, test_fraction=test, val_fraction=val)
    assert d.n_train + d.n_val + d.n_test == n
    assert d.n_test == round(test * n) and d.n_val == min(round(val * n), n - d.n_test - 1) and d.n_train >= 1
    points = np.concatenate([d.x_train_raw, d.x_val_raw, d.x_test_raw])
    assert len(np.unique(points, axis=0)) == n  # every point in exactly one part


def test_a_validation_set_comes_out_of_the_training_set_only():
    plain = datasets.make_dataset("moons", 400, noise=0.15, seed=0)
    split = datasets.make_dataset("moons", 400, noise=0.15, seed=0, val_fraction=0.2)
    assert np.array_equal(plain.x_test_raw, split.x_test_raw)  # the same test set
    both = np.concatenate([split.x_val_raw, split.x_train_raw])
    assert np.array_equal(np.sort(both, axis=0), np.sort(plain.x_train_raw, axis=0))
    with pytest.raises(ValueError, match="val_fraction"):
        datasets.make_dataset("moons", 400, test_fraction=0.6, val_fraction=0.4)


def test_settle_shrinks_a_validation_share_that_leaves_no_training_points():
    settled, notices = ex.settle(ex.Settings().replace(**{"c.test": 0.6, "c.val": 0.5}))
    assert [n.key for n in notices] == ["classifier.notice.val"] and settled.val_share == pytest.approx(0.3)
    assert ex.settle(settled) == (settled, [])


# ---------------------------------------------------------------------------------------
# Early stopping watches the validation loss; the test set is touched once


def overfitting_data(val: float = 0.25) -> datasets.Dataset:
    return datasets.make_dataset("moons", 200, noise=0.4, seed=0, val_fraction=val)


OVERFIT = TrainConfig(hidden=(64, 64, 64), activation="relu", init="he", optimizer="adam", epochs=400,
                      patience=15, n_snapshots=200)


@pytest.fixture(scope="module")
def stopped() -> training.TrainResult:
    return training.train(overfitting_data(), OVERFIT)


def test_early_stopping_stops_on_the_validation_loss(stopped):
    r = stopped
    assert r.status is training.Status.EARLY_STOPPED and r.has_validation
    val, stop = r.val_loss, r.stopped_at
    # By hand: the best validation loss up to the stop, then `patience` epochs without a new best.
    assert r.best_epoch == int(np.argmin(val[:stop + 1]))
    assert stop - r.best_epoch == OVERFIT.patience
    assert np.all(val[r.best_epoch + 1:stop + 1] >= val[r.best_epoch])
    # ... and nowhere earlier was there such a run of epochs.
    best, since = np.inf, 0
    for e, v in enumerate(val[:stop]):
        since = 0 if v < best else since + 1
        best = min(best, v)
        assert e == 0 or since < OVERFIT.patience


def test_the_test_set_is_scored_once_and_never_steers(stopped):
    r = stopped
    assert np.all(np.isnan(r.test_loss[:-1])) and np.all(np.isnan(r.test_acc[:-1]))
    d = overfitting_data()
    final = r.snapshots[-1]
    logits = mlp.forward(jax_params(final), jnp.asarray(d.x_test), "relu")
    assert r.test_loss[-1] == pytest.approx(float(mean_loss(logits, jnp.asarray(d.y_test), "cross_entropy")),
                                            rel=1e-5)
    # The same training and validation sets with the test labels scrambled: the same run.
    scrambled = dataclasses.replace(d, y_test=(d.y_test + 1) % 2)
    other = training.train(scrambled, OVERFIT)
    assert other.stopped_at == r.stopped_at and np.array_equal(other.val_loss, r.val_loss)
    assert np.array_equal(other.train_loss, r.train_loss)
    assert other.test_acc[-1] == pytest.approx(1 - r.test_acc[-1], abs=1e-6)


def test_without_a_validation_set_the_test_set_is_the_held_out_set():
    r = training.train(overfitting_data(0.0), dataclasses.replace(OVERFIT, epochs=40, patience=0))
    assert not r.has_validation and r.val_loss is None and np.all(np.isfinite(r.test_loss))
    assert r.best_epoch == int(np.argmin(r.test_loss)) and r.held_loss is r.test_loss


def test_the_page_scores_the_shown_network_on_the_test_set():
    s = ex.Settings().replace(**{"c.val": 0.25, "c.epochs": 30, "c.at": 12})
    r = ex.run(s)
    shown = r.shown_run
    assert shown.has_validation and r.at == 12
    expected = training.evaluate(shown.snapshot_at(12), r.data.x_test, r.data.y_test, "tanh", "cross_entropy")[1]
    assert r.test_acc_at == pytest.approx(expected)


def jax_params(params):
    return [{k: jnp.asarray(v) for k, v in layer.items()} for layer in params]


# ---------------------------------------------------------------------------------------
# The loss of every update


@pytest.fixture(scope="module")
def moons() -> datasets.Dataset:
    return datasets.make_dataset("moons", 200, noise=0.2, seed=1)


def test_full_batch_update_losses_are_the_training_losses_before_each_update(moons):
    r = training.train(moons, TrainConfig(optimizer="gd", hyperparams=(("learning_rate", 0.5),), epochs=30,
                                          n_snapshots=31))
    assert r.steps_per_epoch == 1 and len(r.update_loss) == 30
    assert np.array_equal(r.update_epoch, np.arange(30))
    np.testing.assert_allclose(r.update_loss, r.train_loss[:-1], rtol=1e-6)
    # By hand, from the kept weights of each epoch (every epoch is kept here).
    by_hand = [float(mean_loss(mlp.forward(jax_params(p), jnp.asarray(moons.x_train), "tanh"),
                               jnp.asarray(moons.y_train), "cross_entropy")) for p in r.snapshots[:-1]]
    np.testing.assert_allclose(r.update_loss, by_hand, rtol=1e-5)


def test_a_mini_batch_update_loss_is_its_batch_loss_at_the_weights_before_it(moons):
    # The first update of the run: the first 40 of epoch 1's permutation, at the initial weights.
    r = training.train(moons, TrainConfig(optimizer="gd", batch_size=40, epochs=2, n_snapshots=3))
    assert moons.n_train == 140 and r.steps_per_epoch == 4 and len(r.update_loss) == 8
    np.testing.assert_allclose(r.update_epoch, [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75])
    k_order = jax.random.split(jax.random.key(0), 3)[1]  # as classifier.train draws the data order
    order = np.asarray(jax.random.permutation(jax.random.fold_in(k_order, 1), moons.n_train))
    first = order[:40]
    by_hand = mean_loss(mlp.forward(jax_params(r.snapshots[0]), jnp.asarray(moons.x_train[first]), "tanh"),
                        jnp.asarray(moons.y_train[first]), "cross_entropy")
    assert r.update_loss[0] == pytest.approx(float(by_hand), rel=1e-5)


def noise_of(r: training.TrainResult) -> float:
    """Spread of the per-update losses around their running trend: the standard deviation
    of consecutive differences."""
    return float(np.std(np.diff(r.update_loss)))


def test_smaller_batches_give_noisier_update_losses(moons):
    base = TrainConfig(optimizer="gd", hyperparams=(("learning_rate", 0.05),), epochs=10, n_snapshots=2)
    full, mini, sgd = (training.train(moons, dataclasses.replace(base, batch_size=b)) for b in (None, 16, 1))
    assert noise_of(full) < noise_of(mini) < noise_of(sgd)
    assert noise_of(sgd) > 10 * noise_of(full)


def test_recorded_updates_are_capped(moons):
    r = training.train(moons, TrainConfig(optimizer="gd", batch_size=1, epochs=60,
                                          n_snapshots=2))
    total = 60 * r.steps_per_epoch
    assert total > training.MAX_UPDATE_POINTS >= len(r.update_loss)
    stride = training.update_stride(60, r.steps_per_epoch)
    assert len(r.update_loss) == -(-total // stride)
    assert np.all(np.diff(r.update_epoch) > 0) and r.update_epoch[-1] < 60


# ---------------------------------------------------------------------------------------
# Depth and exploding gradients


def test_eight_hidden_layers_fit_the_work_cap():
    assert mlp.MAX_HIDDEN_LAYERS == 8
    s = ex.Settings().replace(**{"c.layers": 8, "c.width": 64})
    plan = ex.plan(s, ex.UNCACHED.dataset(s.data_params()), lambda p, c: False)
    assert not plan.budget.cut and plan.configs["adam"].hidden == (64,) * 8


def test_the_exploding_gradients_preset_explodes():
    r = ex.run(ex.lesson(ex.Lesson.EXPLODING).replace(**{"c.epochs": 5}))
    norms = r.shown_run.grad_norms[0]
    assert len(norms) == 9 and r.exploding is not None and r.vanishing is None
    assert r.exploding.ratio == pytest.approx(norms[0] / norms[-1]) and r.exploding.ratio > 50
    # Layer by layer the norms grow on the way back (from the output towards the input).
    assert norms[0] > norms[4] > norms[-1]
    # With Xavier's variance the same network is tame.
    tame = ex.run(ex.lesson(ex.Lesson.EXPLODING).replace(**{"c.epochs": 5, "c.init": "xavier"}))
    assert tame.exploding is None


def test_the_vanishing_preset_is_not_called_exploding():
    r = ex.run(ex.lesson(ex.Lesson.VANISHING).replace(**{"c.epochs": 2}))
    assert r.vanishing is not None and r.exploding is None


# ---------------------------------------------------------------------------------------
# One-hot versus a class index


def test_the_index_loss_is_the_squared_distance_to_the_class_number():
    from classifier.losses import accuracy, per_example, predicted_class

    z = jnp.asarray([[0.6], [2.4], [3.9], [1.5]])
    y = jnp.asarray([0, 1, 2, 0])
    np.testing.assert_allclose(per_example(z, y, "index"), [0.16, 0.16, 0.81, 0.25], rtol=1e-6)
    assert predicted_class(z, "index", 3).tolist() == [0, 1, 2, 1]  # round(1.5) = 2 (to even), clipped to 1..3
    assert float(accuracy(z, y, "index", 3)) == 0.75


def test_a_class_index_cannot_put_class_3_between_1_and_2():
    """Classes 1, 3, 2 in a row: a linear model of the class number rises or falls along
    the row, so it loses one class; softmax on one-hot targets separates all three."""
    lesson = ex.lesson(ex.Lesson.CLASS_INDEX)
    index = ex.run(lesson)
    onehot = ex.run(lesson.replace(**{"c.loss": "cross_entropy"}))
    assert index.arch.sizes == (2, 1) and onehot.arch.sizes == (2, 3)
    i_run, o_run = index.shown_run, onehot.shown_run
    assert i_run.train_acc[-1] < 0.75 and onehot.shown_run.train_acc[-1] > 0.95
    assert o_run.test_acc[-1] - i_run.test_acc[-1] > 0.2
    # The boundary marks the nearest class number: one class per grid point.
    probs = index.boundary[2]
    assert probs.shape[-1] == 3 and np.all(probs.sum(-1) == 1) and set(np.unique(probs)) == {0.0, 1.0}


# ---------------------------------------------------------------------------------------
# Time per epoch against batch size (a stored measurement, not timed here)


def test_the_stored_batch_timing_is_read_and_a_missing_one_is_none(tmp_path):
    timing = ex.batch_timing()
    assert timing is not None and len(timing.batch) == len(timing.per_epoch) == len(timing.per_update) >= 3
    assert list(timing.batch) == sorted(timing.batch) and timing.measured[:2] == "20"
    steps = [-(-timing.n_train // b) for b in timing.batch]
    np.testing.assert_allclose(np.asarray(timing.per_update) * steps, timing.per_epoch, rtol=1e-9)
    assert ex.batch_timing(tmp_path / "none.json") is None
    (tmp_path / "bad.json").write_text("{")
    assert ex.batch_timing(tmp_path / "bad.json") is None


# ---------------------------------------------------------------------------------------
# Batch normalization


def test_batch_norm_in_training_normalizes_with_the_batch_and_in_evaluation_with_running_averages():
    arch = mlp.Architecture((5,), "tanh", 2, 3)
    params = mlp.init_params(jax.random.key(3), arch, "normal", batch_norm=True)
    x = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32) * [3.0, 0.5] + [1.0, -2.0]
    logits, stats = mlp.forward_train(params, jnp.asarray(x), "tanh")
    w, b = np.asarray(params[0]["w"]), np.asarray(params[0]["b"])
    z = x @ w + b
    mean, var = z.mean(0), z.var(0)
    np.testing.assert_allclose(stats[0][0], mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stats[0][1], var, rtol=1e-5)
    zhat = (z - mean) / np.sqrt(var + mlp.BN_EPS)
    np.testing.assert_allclose(zhat.mean(0), 0, atol=1e-5)  # before the scale and shift: mean 0, variance 1
    np.testing.assert_allclose(zhat.var(0), 1, rtol=1e-3)
    out = np.tanh(zhat) @ np.asarray(params[1]["w"]) + np.asarray(params[1]["b"])  # gamma 1, beta 0
    np.testing.assert_allclose(logits, out, rtol=1e-4, atol=1e-5)
    # Evaluation: the running averages, here moved once from (0, 1) towards the batch.
    moved = mlp.update_running(params, stats)
    m = mlp.BN_MOMENTUM
    np.testing.assert_allclose(moved[0]["mean"], (1 - m) * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(moved[0]["var"], m + (1 - m) * var, rtol=1e-5)
    moved[0]["gamma"], moved[0]["beta"] = jnp.full(5, 2.0), jnp.full(5, 0.5)
    by_hand = np.tanh(2.0 * (z - np.asarray(moved[0]["mean"])) / np.sqrt(np.asarray(moved[0]["var"]) + mlp.BN_EPS)
                      + 0.5) @ np.asarray(params[1]["w"]) + np.asarray(params[1]["b"])
    np.testing.assert_allclose(mlp.forward(moved, jnp.asarray(x), "tanh"), by_hand, rtol=1e-4, atol=1e-5)


def test_batch_norm_trains_a_deep_sigmoid_network_faster():
    """Four sigmoid layers and plain gradient descent: without it the loss stays near ln 2
    after 30 epochs; with it the network has learned the moons."""
    d = datasets.make_dataset("moons", 400, noise=0.15, seed=0)
    base = TrainConfig(hidden=(16,) * 4, activation="sigmoid", init="xavier", optimizer="gd",
                       hyperparams=(("learning_rate", 0.5),), batch_size=32, epochs=30, n_snapshots=2)
    plain = training.train(d, base)
    normed = training.train(d, dataclasses.replace(base, batch_norm=True))
    assert plain.train_loss[-1] > 0.6 and plain.train_acc[-1] < 0.6
    assert normed.train_loss[-1] < 0.2 and normed.train_acc[-1] > 0.9
    # The kept network carries its running averages, and evaluation used them.
    last = normed.snapshots[-1]
    assert {"gamma", "beta", "mean", "var"} <= set(last[0]) and "mean" not in last[-1]
    assert not np.allclose(last[0]["mean"], 0) and np.all(last[0]["var"] > 0)
