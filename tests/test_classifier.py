"""The classifier against known truths: data statistics, initialisation variances, the
L2 gradient, dropout's expectation, float64 finite differences, the dense Hessian,
hand-written Optax training loops, and accuracies a correct trainer must reach."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

from classifier import datasets, gradcheck, losses, model, sharpness
from classifier.boundary import probability_grid
from classifier import train as training
from classifier.train import TrainConfig
import optimizers

# ---------------------------------------------------------------------------------------
# Data


@pytest.mark.parametrize("name,n_classes", [(k, c) for k, s in datasets.DATASETS.items() for c in s.classes])
def test_datasets_are_deterministic_balanced_and_split(name, n_classes):
    a = datasets.make_dataset(name, 301, noise=0.1, seed=3, n_classes=n_classes)
    b = datasets.make_dataset(name, 301, noise=0.1, seed=3, n_classes=n_classes)
    c = datasets.make_dataset(name, 301, noise=0.1, seed=4, n_classes=n_classes)
    np.testing.assert_array_equal(a.x_train_raw, b.x_train_raw)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train_raw, c.x_train_raw)
    assert a.n_train + a.n_test == 301 and a.n_test == round(0.3 * 301)
    counts = np.bincount(np.concatenate([a.y_train, a.y_test]), minlength=n_classes)
    assert counts.max() - counts.min() <= 1
    assert a.x_train.dtype == np.float32 and a.y_train.dtype == np.int32
    assert np.abs(a.x_train_raw).max() < 3.0  # shapes live around [-1.5, 1.5]


def test_noise_is_the_coordinate_jitter():
    """Circles: clean radii are exactly 1 and 0.5; the jitter moves points by ~noise."""
    clean = datasets.make_dataset("circles", 2000, noise=0.0, seed=0)
    r = np.linalg.norm(clean.x_train_raw, axis=1)
    np.testing.assert_allclose(np.where(clean.y_train == 0, r - 1.0, r - 0.5), 0.0, atol=1e-6)
    noisy = datasets.make_dataset("circles", 2000, noise=0.05, seed=0)
    spread = np.linalg.norm(noisy.x_train_raw, axis=1) - np.where(noisy.y_train == 0, 1.0, 0.5)
    assert 0.04 < spread.std() < 0.06


def test_dataset_limits():
    with pytest.raises(ValueError):
        datasets.make_dataset("moons", datasets.MAX_POINTS + 1)
    with pytest.raises(ValueError):
        datasets.make_dataset("moons", n_classes=3)


def test_normalization_uses_training_statistics():
    raw = datasets.make_dataset("blobs", 500, noise=0.2, seed=1, badly_scaled=True)
    d = datasets.make_dataset("blobs", 500, noise=0.2, seed=1, badly_scaled=True, normalize=True)
    np.testing.assert_array_equal(raw.x_train_raw, d.x_train_raw)  # same points, only a map added
    np.testing.assert_allclose(d.shift, raw.x_train_raw.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(d.scale, raw.x_train_raw.std(axis=0), rtol=1e-5)
    np.testing.assert_allclose(d.x_train.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(d.x_train.std(axis=0), 1.0, atol=1e-4)
    # The test set goes through the TRAINING map, so it is not exactly standardised itself.
    np.testing.assert_allclose(d.x_test, (raw.x_test_raw - d.shift) / d.scale, rtol=1e-5, atol=1e-5)
    assert np.abs(d.x_test.mean(axis=0)).max() > 1e-3
    # Badly scaled: the first axis is stretched 100x.
    plain = datasets.make_dataset("blobs", 500, noise=0.2, seed=1)
    np.testing.assert_allclose(raw.x_train_raw[:, 0], 100.0 * plain.x_train_raw[:, 0], rtol=1e-6)
    np.testing.assert_array_equal(raw.x_train_raw[:, 1], plain.x_train_raw[:, 1])


# ---------------------------------------------------------------------------------------
# Model and losses


@pytest.mark.parametrize("init,expected", [("small", 0.01), ("normal", 1.0), ("xavier", np.sqrt(2 / 128)),
                                           ("he", np.sqrt(2 / 64))])
def test_initialisation_variances(init, expected):
    arch = model.Architecture((64, 64, 64), "relu")
    params = model.init_params(jax.random.key(0), arch, init)
    w = np.asarray(params[1]["w"])  # 64 x 64
    assert abs(w.std() / expected - 1.0) < 0.05
    assert all(np.all(np.asarray(layer["b"]) == 0) for layer in params)


def test_losses_match_hand_formulas():
    logits = jnp.asarray([[2.0, -1.0, 0.5], [0.0, 0.0, 3.0]])
    y = jnp.asarray([0, 1])
    p = np.exp(np.asarray(logits)) / np.exp(np.asarray(logits)).sum(axis=1, keepdims=True)
    ce = -np.mean(np.log(p[[0, 1], [0, 1]]))
    mse = np.mean(((p - np.eye(3)[[0, 1]]) ** 2).sum(axis=1))
    np.testing.assert_allclose(losses.mean_loss(logits, y, "cross_entropy"), ce, rtol=1e-6)
    np.testing.assert_allclose(losses.mean_loss(logits, y, "mse"), mse, rtol=1e-6)
    # Padding weights: a weight-0 example does not count.
    w = jnp.asarray([1.0, 0.0])
    np.testing.assert_allclose(losses.mean_loss(logits, y, "cross_entropy", w), -np.log(p[0, 0]), rtol=1e-6)


def test_l2_gradient_is_lambda_w_on_weights_only():
    arch = model.Architecture((5, 4), "tanh")
    params = model.init_params(jax.random.key(1), arch, "normal")
    params = [{"w": l["w"], "b": l["b"] + 0.3} for l in params]  # nonzero biases must not be decayed
    lam = 0.37
    g = jax.grad(losses.l2_penalty)(params, lam)
    for gl, pl in zip(g, params):
        np.testing.assert_allclose(gl["w"], lam * pl["w"], rtol=1e-6)
        np.testing.assert_array_equal(gl["b"], 0.0)
    x = jax.random.normal(jax.random.key(2), (20, 2))
    y = jnp.arange(20) % 2
    grad = jax.jit(jax.grad(losses.objective), static_argnums=(3, 4))
    with_l2 = grad(params, x, y, "tanh", "cross_entropy", lam)
    without = grad(params, x, y, "tanh", "cross_entropy", 0.0)
    for a, b, pl in zip(with_l2, without, params):
        np.testing.assert_allclose(a["w"] - b["w"], lam * pl["w"], rtol=1e-4, atol=1e-6)


def test_dropout_is_inverted_and_off_at_evaluation():
    """One hidden layer: logits are linear in the dropped activations, so their mean
    over masks equals the no-dropout logits (inverted scaling). Without a key: no mask."""
    arch = model.Architecture((32,), "tanh")
    params = model.init_params(jax.random.key(0), arch, "xavier")
    x = jax.random.normal(jax.random.key(1), (4, 2))
    clean = model.forward(params, x, "tanh")
    np.testing.assert_array_equal(model.forward(params, x, "tanh", 0.5, None), clean)
    np.testing.assert_array_equal(model.forward(params, x, "tanh", 0.0, jax.random.key(3)), clean)
    keys = jax.random.split(jax.random.key(2), 20000)
    dropped = jax.vmap(lambda k: model.forward(params, x, "tanh", 0.5, k))(keys)
    assert float(jnp.abs(dropped[0] - clean).max()) > 1e-3
    np.testing.assert_allclose(dropped.mean(axis=0), clean, atol=0.02)


def test_probability_grid_sees_points_through_the_training_map():
    d = datasets.make_dataset("blobs", 300, noise=0.1, seed=0, n_classes=3, badly_scaled=True, normalize=True)
    arch = model.Architecture((8,), "tanh", n_out=3)
    params = model.init_params(jax.random.key(0), arch, "normal")
    xs, ys, probs = probability_grid(params, d, "tanh", resolution=40)
    assert xs.shape == (40,) and ys.shape == (40,) and probs.shape == (40, 40, 3)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-5)
    i, j = 7, 31  # probs[i, j] is the point (xs[j], ys[i]) in raw coordinates
    expected = model.predict_proba(params, jnp.asarray(d.transform(np.array([[xs[j], ys[i]]]))), "tanh")[0]
    np.testing.assert_allclose(probs[i, j], expected, rtol=1e-5, atol=1e-6)
    (x0, x1), (y0, y1) = d.bounds()
    assert xs[0] == np.float32(x0) and ys[-1] == np.float32(y1)
    assert x1 - x0 > 50 * (y1 - y0)  # raw coordinates: the stretched axis stays stretched


# ---------------------------------------------------------------------------------------
# Gradient check and sharpness


@pytest.mark.parametrize("activation", list(model.ACTIVATIONS))
def test_gradient_check_float64_for_every_activation(activation):
    arch = model.Architecture((6, 5), activation)
    params = model.init_params(jax.random.key(7), arch, "xavier")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 2)).astype(np.float32)  # random points: no ReLU kink at 0
    y = rng.integers(0, 2, 40)
    for loss in losses.LOSSES:
        result = gradcheck.gradient_check(params, x, y, activation, loss, l2=0.01, max_coords_per_layer=None)
        assert result.passed(1e-6), (loss, result.rel_errors)
        assert np.all(result.n_checked == [2 * 6 + 6, 6 * 5 + 5, 5 * 2 + 2])
        assert np.all(result.analytic_norms > 0)
    assert jnp.ones(1).dtype == jnp.float32  # x64 stayed inside the check


def test_gradient_check_samples_coordinates_and_catches_a_one_percent_error(monkeypatch):
    arch = model.Architecture((7,), "tanh")
    params = model.init_params(jax.random.key(0), arch, "xavier")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((30, 2)), rng.integers(0, 2, 30)
    sampled = gradcheck.gradient_check(params, x, y, "tanh", max_coords_per_layer=5, seed=3)
    assert np.all(sampled.n_checked == [5, 5]) and sampled.passed(1e-6)

    @jax.custom_vjp
    def identity(p):
        return p

    # Back-propagation that is 1% off: the check must see it.
    identity.defvjp(lambda p: (p, None), lambda _, g: (jax.tree.map(lambda a: 1.01 * a, g),))

    def buggy_objective(p, *args):
        return losses.objective(identity(p), *args)

    monkeypatch.setattr(gradcheck, "objective", buggy_objective)
    gradcheck._gradients.clear_cache()
    try:
        bad = gradcheck.gradient_check(params, x, y, "tanh", max_coords_per_layer=None)
    finally:
        gradcheck._gradients.clear_cache()
    assert not bad.passed(1e-6)
    np.testing.assert_allclose(bad.rel_errors, 0.01 / 2.01, rtol=1e-3)


def test_the_gradient_check_pads_its_coordinates_to_whole_batches_without_changing_any():
    """37 coordinates become 64 (two batches of 32, the last coordinate repeated); the 37
    analytic and numeric derivatives are those computed without padding."""
    idx = np.arange(3, 40)
    assert np.array_equal(gradcheck.padded(idx), np.r_[idx, np.full(27, 39)])
    assert gradcheck.padded(np.arange(64)).size == 64
    params = model.init_params(jax.random.key(2), model.Architecture((8,), "tanh"), "xavier")
    rng = np.random.default_rng(4)
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(np.asarray(a), jnp.float64), params)
        args = (jnp.asarray(rng.standard_normal((20, 2))), jnp.asarray(rng.integers(0, 2, 20), jnp.int32),
                jnp.asarray(0.0), jnp.asarray(1e-6))
        plain = gradcheck._gradients(p64, jnp.asarray(idx), *args, activation="tanh", loss="cross_entropy")
        whole = gradcheck._gradients(p64, jnp.asarray(gradcheck.padded(idx)), *args, activation="tanh",
                                     loss="cross_entropy")
    for a, b in zip(plain, whole):
        np.testing.assert_allclose(np.asarray(b)[: idx.size], np.asarray(a), rtol=1e-9, atol=1e-15)



def test_top_eigenvalue_matches_dense_hessian():
    d = datasets.make_dataset("moons", 100, noise=0.1, seed=0)
    arch = model.Architecture((3,), "tanh")
    params = model.init_params(jax.random.key(1), arch, "normal")
    flat, unravel = ravel_pytree(params)
    f = lambda th: losses.objective(unravel(th), d.x_train, d.y_train, "tanh", "cross_entropy", 0.01)  # noqa: E731
    dense = np.linalg.eigvalsh(np.asarray(jax.jit(jax.hessian(f))(flat), np.float64))[-1]
    for method, n_iter in (("lanczos", 20), ("power", 300)):
        lam = sharpness.top_hessian_eigenvalue(params, d.x_train, d.y_train, "tanh", l2=0.01,
                                               method=method, n_iter=n_iter)
        assert abs(lam - dense) / abs(dense) < 1e-3, (method, lam, dense)


def test_power_iteration_finds_the_largest_not_the_dominant_eigenvalue():
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((6, 6)))
    a = jnp.asarray(q @ np.diag([-5.0, 2.0, 1.0, 0.5, -1.0, 0.1]) @ q.T, jnp.float32)
    v0 = jnp.ones(6)
    assert abs(float(sharpness.power_iteration(lambda v: a @ v, v0, 500)) - 2.0) < 1e-3
    assert abs(float(sharpness.lanczos(lambda v: a @ v, v0, 6)) - 2.0) < 1e-4


# ---------------------------------------------------------------------------------------
# Training

MOONS = dict(name="moons", n_points=1000, noise=0.1, seed=0)
SMALL = dict(name="moons", n_points=200, noise=0.1, seed=0)


@pytest.fixture(scope="module")
def moons():
    return datasets.make_dataset(**MOONS)


@pytest.fixture(scope="module")
def small():
    return datasets.make_dataset(**SMALL)


@pytest.mark.slow
def test_adam_defaults_reach_97_percent_on_two_moons(moons):
    """Two moons, noise 0.1, 1,000 points (700 train / 300 test); 2 hidden layers x 16
    tanh, Xavier init, cross-entropy, Adam with registry defaults (lr 1e-3), batch 32,
    300 epochs."""
    cfg = TrainConfig(hidden=(16, 16), activation="tanh", optimizer="adam", batch_size=32, epochs=300)
    r = training.train(moons, cfg)
    assert r.status == "finished" and r.epochs_run == 300
    assert r.test_acc[-1] >= 0.97, r.test_acc[-1]
    assert r.train_loss[-1] < 0.5 * r.train_loss[0]


def test_vanishing_gradients_sigmoid_small_init_but_not_relu_he(moons):
    for seed in range(3):
        _, sig = training.initial_state(moons, TrainConfig(hidden=(16,) * 4, activation="sigmoid", init="small",
                                                           seed=seed))
        _, relu = training.initial_state(moons, TrainConfig(hidden=(16,) * 4, activation="relu", init="he",
                                                            seed=seed))
        assert sig["grad_norms"][0] * 10 <= sig["grad_norms"][-1]
        assert relu["grad_norms"][0] * 10 > relu["grad_norms"][-1]


def test_initial_state_is_epoch_zero_of_training(small):
    cfg = TrainConfig(hidden=(8,), optimizer="gd", batch_size=32, epochs=3)
    params, metrics = training.initial_state(small, cfg)
    r = training.train(small, cfg)
    np.testing.assert_array_equal(r.snapshots[0][0]["w"], params[0]["w"])
    np.testing.assert_array_equal(r.grad_norms[0], metrics["grad_norms"])


def test_full_batch_training_equals_an_optax_loop(small):
    """Full-batch Adam (non-default b1) with L2 against optax.adam on the same objective;
    also checks the recorded end-of-epoch metrics against a direct evaluation."""
    lr, b1, lam, epochs = 0.02, 0.8, 1e-3, 12
    cfg = TrainConfig(hidden=(8, 8), optimizer="adam", hyperparams=(("b1", b1), ("learning_rate", lr)),
                      l2=lam, epochs=epochs, n_snapshots=epochs + 1)
    r = training.train(small, cfg)
    params, _ = training.initial_state(small, cfg)
    params = jax.tree.map(jnp.asarray, params)
    x, y = jnp.asarray(small.x_train), jnp.asarray(small.y_train)
    tx = optax.adam(lr, b1=b1)

    @jax.jit
    def step(params, state):
        g = jax.grad(losses.objective)(params, x, y, "tanh", "cross_entropy", lam)
        updates, state = tx.update(g, state, params)
        return optax.apply_updates(params, updates), state

    state = tx.init(params)
    for e in range(1, epochs + 1):
        params, state = step(params, state)
        np.testing.assert_allclose(r.snapshot_at(e)[0]["w"], params[0]["w"], rtol=1e-4, atol=1e-6)
    logits = model.forward(params, x, "tanh")
    np.testing.assert_allclose(r.train_loss[-1], losses.mean_loss(logits, y, "cross_entropy"), rtol=1e-4)
    np.testing.assert_allclose(r.train_acc[-1], losses.accuracy(logits, y), rtol=1e-6)
    g_data = jax.grad(lambda p: losses.mean_loss(model.forward(p, x, "tanh"), y, "cross_entropy"))(params)
    np.testing.assert_allclose(r.grad_norms[-1], model.layer_norms(g_data), rtol=1e-3)


def test_minibatch_sgd_equals_a_reshuffling_loop(small):
    """Batch 32 on 140 training points: 5 batches per epoch, the last of 12 points; a new
    permutation each epoch (from fold_in(order key, epoch)); SGD via optax.sgd."""
    lr, epochs, batch = 0.3, 4, 32
    cfg = TrainConfig(hidden=(8,), optimizer="gd", hyperparams=(("learning_rate", lr),), batch_size=batch,
                      epochs=epochs, seed=5)
    r = training.train(small, cfg)
    assert r.steps_per_epoch == 5
    params = jax.tree.map(jnp.asarray, training.initial_state(small, cfg)[0])
    _, k_order, _ = jax.random.split(jax.random.key(5), 3)
    x, y = np.asarray(small.x_train), np.asarray(small.y_train)
    tx = optax.sgd(lr)

    @jax.jit
    def step(params, state, xb, yb):
        g = jax.grad(losses.objective)(params, xb, yb, "tanh", "cross_entropy")
        updates, state = tx.update(g, state, params)
        return optax.apply_updates(params, updates), state

    state = tx.init(params)
    for e in range(1, epochs + 1):
        perm = np.asarray(jax.random.permutation(jax.random.fold_in(k_order, e), small.n_train))
        for s in range(0, small.n_train, batch):
            idx = perm[s:s + batch]
            params, state = step(params, state, x[idx], y[idx])
    np.testing.assert_allclose(r.snapshots[-1][0]["w"], params[0]["w"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(r.snapshots[-1][1]["b"], params[1]["b"], rtol=1e-4, atol=1e-5)


def test_same_seed_same_curves_and_prefix_independent_of_length(small):
    cfg = TrainConfig(hidden=(8,), optimizer="momentum", batch_size=16, dropout=0.2, epochs=12, seed=2)
    a, b = training.train(small, cfg), training.train(small, cfg)
    for field in ("train_loss", "test_loss", "train_acc", "test_acc", "grad_norms"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    other = training.train(small, dataclasses.replace(cfg, seed=3))
    assert not np.array_equal(a.train_loss, other.train_loss)
    # Data order and masks are keyed by epoch, so a longer run starts with the same curve.
    longer = training.train(small, dataclasses.replace(cfg, epochs=20))
    np.testing.assert_array_equal(longer.train_loss[:13], a.train_loss)


def test_hyperparameters_are_traced_not_compiled_in(small):
    """New learning rate, momentum, L2, dropout rate, schedule, patience, seed, epoch
    count and even another optimizer reuse the compiled program (one trace of the chunk
    function)."""
    from optimizers import ScheduleConfig

    base = TrainConfig(hidden=(8,), optimizer="momentum", batch_size=16, dropout=0.2, epochs=12, seed=2)
    training.train(small, base)
    misses = training._programs.cache_info().misses
    variant = dataclasses.replace(base, hyperparams=(("learning_rate", 0.05), ("momentum", 0.5)), l2=1e-3,
                                  dropout=0.4, schedule=ScheduleConfig("cosine", (("decay_steps", 50),)),
                                  patience=5, seed=9, epochs=7)
    r = training.train(small, variant)
    other = training.train(small, variant.with_optimizer("adam", {"b1": 0.8}))
    assert training._programs.cache_info().misses == misses
    arch = base.architecture(2)
    static = training._Static(arch.sizes, "tanh", "cross_entropy", 16, small.n_train, small.n_test,
                              training._chunk_epochs(r.steps_per_epoch), True)
    assert training._programs(static).chunk._cache_size() == 1
    assert not np.allclose(other.train_loss, r.train_loss)  # the switch did pick another rule


def test_dropout_training_records_evaluation_mode_metrics(small):
    cfg = TrainConfig(hidden=(8,), optimizer="momentum", batch_size=16, dropout=0.5, epochs=6, seed=2)
    r = training.train(small, cfg)
    p = jax.tree.map(jnp.asarray, r.snapshots[-1])
    logits = model.forward(p, jnp.asarray(small.x_test), "tanh")
    np.testing.assert_allclose(r.test_loss[-1], losses.mean_loss(logits, jnp.asarray(small.y_test), "cross_entropy"),
                               rtol=1e-5)


def test_schedule_counts_optimizer_steps(small):
    """Step decay every 10 steps by 0.5, 5 steps per epoch: the rate halves every 2 epochs."""
    from optimizers import ScheduleConfig

    sched = ScheduleConfig("step", (("step_size", 10), ("gamma", 0.5)))
    cfg = TrainConfig(hidden=(8,), optimizer="gd", hyperparams=(("learning_rate", 0.4),), batch_size=32,
                      epochs=6, schedule=sched)
    r = training.train(small, cfg)
    np.testing.assert_allclose(r.learning_rate, 0.4 * 0.5 ** np.floor(5 * r.epoch / 10), rtol=1e-6)


def test_divergence_stops_and_keeps_the_finite_curve(small):
    cfg = TrainConfig(hidden=(16, 16), activation="relu", init="he", optimizer="gd",
                      hyperparams=(("learning_rate", 1000.0),), epochs=60)
    r = training.train(small, cfg)
    assert r.status == "diverged" and r.diverged_at is not None and r.diverged_at < 60
    assert r.epochs_run == r.diverged_at - 1 and len(r.train_loss) == r.diverged_at
    assert np.all(np.isfinite(r.train_loss)) and np.all(np.isfinite(r.test_loss))
    assert r.snapshot_epochs[-1] == r.epochs_run
    assert all(np.all(np.isfinite(layer["w"])) for layer in r.snapshots[-1])


def test_early_stopping_on_test_loss():
    """Few noisy points and a wide network overfit: the test loss turns up."""
    d = datasets.make_dataset("moons", 200, noise=0.5, seed=0)
    patience = 20
    cfg = TrainConfig(hidden=(64, 64), optimizer="adam", hyperparams=(("learning_rate", 0.02),), epochs=400,
                      patience=patience)
    r = training.train(d, cfg)
    assert r.status == "early_stopped"
    assert r.stopped_at == r.epochs_run == r.best_epoch + patience
    assert r.best_epoch == int(np.argmin(r.test_loss))
    assert np.all(r.test_loss[r.best_epoch + 1:] >= r.test_loss[r.best_epoch])


def test_badly_scaled_features_train_worse_without_normalisation():
    """Same GD (lr 0.5, 300 full-batch epochs, 1 x 16 tanh) on the same points; a first
    axis stretched 100x makes the problem ill-conditioned unless standardised."""
    for seed in range(3):
        runs = {}
        for norm in (False, True):
            d = datasets.make_dataset("moons", 400, noise=0.1, seed=seed, badly_scaled=True, normalize=norm)
            cfg = TrainConfig(hidden=(16,), optimizer="gd", hyperparams=(("learning_rate", 0.5),), epochs=300,
                              seed=seed)
            runs[norm] = training.train(d, cfg)
        assert runs[True].train_loss[-1] < 0.25 * runs[False].train_loss[-1]
        assert runs[True].test_acc[-1] > runs[False].test_acc[-1] + 0.15


def test_compare_same_start_different_paths(small):
    cfg = TrainConfig(hidden=(8,), batch_size=32, epochs=5, track_sharpness=True, n_snapshots=3)
    seen = []
    results = training.compare(small, cfg, {"gd": {"learning_rate": 0.1}, "adam": {}},
                               on_chunk=lambda done, total: seen.append((done, total)))
    assert list(results) == ["gd", "adam"]
    gd, adam = results["gd"], results["adam"]
    np.testing.assert_array_equal(gd.snapshots[0][0]["w"], adam.snapshots[0][0]["w"])
    assert gd.train_loss[0] == adam.train_loss[0] and gd.train_loss[-1] != adam.train_loss[-1]
    assert seen[-1] == (10, 10) and all(a <= b for (a, _), (b, _) in zip(seen, seen[1:]))
    assert gd.sharpness is not None and len(gd.sharpness) == len(gd.snapshot_epochs) == 3
    # The recorded sharpness is the top Hessian eigenvalue of the training objective.
    p = jax.tree.map(jnp.asarray, gd.snapshots[-1])
    direct = sharpness.top_hessian_eigenvalue(p, small.x_train, small.y_train, "tanh")
    assert abs(gd.sharpness[-1] - direct) < 1e-3 * abs(direct)


def test_every_optimizer_shares_one_state_the_size_of_the_largest():
    """any_optimizer's state holds three parameter vectors (AMSGrad's m, v and v̂) and one
    step count, whichever optimizer runs, not every optimizer's state side by side; and
    each optimizer's updates through it are its own (three steps, against the rule alone)."""
    from classifier.any_optimizer import NAMES, any_optimizer

    params = jnp.linspace(-1.0, 1.0, 7, dtype=jnp.float32)
    hypers = {k: {} for k in NAMES}
    for i, name in enumerate(NAMES):
        shared_opt = any_optimizer(jnp.asarray(i), 0.05, hypers)
        alone = optimizers.build(name, learning_rate=0.05)
        shared, state, p, q = shared_opt.init(params), alone.init(params), params, params
        assert sorted(tuple(r.shape) for r in shared.rows) == [(1,), (3, 7)]
        for step in range(3):
            g = jnp.sin(3.0 * p + step)
            u, shared = shared_opt.update(g, shared, p)
            v, state = alone.update(jnp.sin(3.0 * q + step), state, q)
            p, q = optimizers.apply_updates(p, u), optimizers.apply_updates(q, v)
        np.testing.assert_allclose(np.asarray(p), np.asarray(q), rtol=1e-6, err_msg=name)
        assert not np.allclose(np.asarray(p), np.asarray(params))


@pytest.mark.parametrize("course", [False, True])
def test_rmsprops_course_start_reaches_the_classifiers_training(small, course):
    """initial_sq_grad goes through any_optimizer's switch as a traced number: full-batch
    RMSProp's first update is η·g/(|g| + ε) with it (the course's σ₁² = g₁²) and
    η·g/(√(1 − α)|g| + ε) without it (PyTorch, Optax)."""
    lr, eps = 0.01, 1e-8
    cfg = TrainConfig(hidden=(8,), optimizer="rmsprop", hyperparams=(("initial_sq_grad", float(course)),
                                                                     ("learning_rate", lr)),
                      epochs=2, n_snapshots=3)
    r = training.train(small, cfg)
    params = jax.tree.map(jnp.asarray, training.initial_state(small, cfg)[0])
    g = jax.grad(losses.objective)(params, jnp.asarray(small.x_train), jnp.asarray(small.y_train), "tanh",
                                   "cross_entropy", 0.0)
    scale = 1.0 if course else np.sqrt(1 - 0.9)
    expected = np.asarray(params[0]["w"]) - lr * np.asarray(g[0]["w"]) / (scale * np.abs(np.asarray(g[0]["w"])) + eps)
    np.testing.assert_allclose(r.snapshot_at(1)[0]["w"], expected, rtol=1e-4, atol=1e-6)


def test_preactivation_variance_is_n_var_w_times_the_mean_square_of_the_inputs():
    """Var(z) = n·Var(w)·E[x²] for zero-mean weights independent of x, which is
    n·Var(w)·Var(x) only for zero-mean inputs: behind sigmoid units (mean ~½) the two are
    far apart. Measured on the app's own network (Xavier), its second layer behind 64
    sigmoid units; Var(z) over weight draws is E[z²], as E[z] = 0."""
    arch = model.Architecture((64, 64), "sigmoid")
    x = jax.random.normal(jax.random.key(1), (500, 2)) * 2.0
    z_sq, predicted, zero_mean_rule, h_mean = [], [], [], []
    for seed in range(16):
        params = model.init_params(jax.random.key(seed), arch, "xavier")
        h = np.asarray(jax.nn.sigmoid(x @ params[0]["w"] + params[0]["b"]), np.float64)
        w = np.asarray(params[1]["w"], np.float64)
        n, var_w = h.shape[1], float(np.asarray(model.init_std("xavier", 64, 64)) ** 2)
        z_sq.append(((h @ w) ** 2).mean())
        predicted.append(n * var_w * (h ** 2).mean())
        zero_mean_rule.append(n * var_w * h.var(axis=0).mean())
        h_mean.append(h.mean())
    assert abs(np.mean(h_mean) - 0.5) < 0.05  # sigmoid outputs: mean about ½
    assert np.mean(z_sq) == pytest.approx(np.mean(predicted), rel=0.15)
    assert np.mean(z_sq) > 5 * np.mean(zero_mean_rule)  # n·Var(w)·Var(x) would be far too small
    import catalog

    for lang in ("en", "zh"):
        text = catalog.messages(lang)["classifier.idea.initialization.text"]
        assert "n·Var(w)·E[x²]" in text and "½" in text, lang
