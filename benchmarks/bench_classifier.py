"""Classifier training speed: the compiled chunked trainer against a PyTorch-style
Python loop around a jitted step, in the same process.

Setting: two moons, 1,000 points (700 train / 300 test), 2 hidden layers x 32 tanh,
Adam (lr 1e-3), cross-entropy. Every epoch, both sides record the same numbers: train
loss and accuracy, test loss and accuracy, per-layer full-batch gradient norms.

* library: ``classifier.train.train`` (lax.scan over batches and epochs, chunks of
  epochs per call; the parameter snapshots and host-side bookkeeping included).
* loop (PyTorch-style): for each epoch, for each batch, call a jitted step; then call a
  jitted evaluation. Per-epoch metrics stay on the device until the end (kinder to the
  loop than ``.item()`` every epoch). Mini-batches: a NumPy permutation per epoch and
  host-side indexing, like a DataLoader.
* fused loop (full batch only): one jitted call per epoch doing exactly the library's
  work (one gradient per epoch, reused for the step and the record), so the ratio to it
  isolates the cost of per-epoch dispatch.

Timings are after compilation; each figure is the minimum (and median) of several
repeats, because the machine may be shared.

    .venv/bin/python benchmarks/bench_classifier.py
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import optimizers  # noqa: E402
from classifier import datasets, model  # noqa: E402
from classifier import train as training  # noqa: E402
from classifier.losses import accuracy, mean_loss  # noqa: E402

EPOCHS_FULL = 500
EPOCHS_MINI = 60
BATCH = 32
REPEATS = 7
TARGET_MS = 150.0
TARGET_RATIO = 1.5


def timed(fn: Callable[[], object], repeats: int = REPEATS) -> tuple[float, float]:
    """(min, median) seconds of fn() after one warm-up call."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def make_loop(data: datasets.Dataset, cfg: training.TrainConfig):
    """The reference: jitted step and evaluation, driven by Python loops."""
    arch = cfg.architecture(data.n_classes)
    act = arch.activation
    opt = optimizers.build(cfg.optimizer, **dict(cfg.hyperparams))
    x_tr, y_tr = jnp.asarray(data.x_train), jnp.asarray(data.y_train)
    x_te, y_te = jnp.asarray(data.x_test), jnp.asarray(data.y_test)
    params0 = model.init_params(jax.random.key(cfg.seed), arch, cfg.init)

    def loss_fn(p, x, y):
        logits = model.forward(p, x, act)
        return mean_loss(logits, y, cfg.loss), logits

    @jax.jit
    def step(p, state, x, y):
        g = jax.grad(lambda q: loss_fn(q, x, y)[0])(p)
        updates, state = opt.update(g, state, p)
        return optimizers.apply_updates(p, updates), state

    @jax.jit
    def evaluate(p):
        (l_tr, logits), g = jax.value_and_grad(loss_fn, has_aux=True)(p, x_tr, y_tr)
        l_te, logits_te = loss_fn(p, x_te, y_te)
        return l_tr, accuracy(logits, y_tr), l_te, accuracy(logits_te, y_te), model.layer_norms(g)

    @jax.jit
    def fused_epoch(p, state, g):
        """Step with the carried full-batch gradient, then evaluate (reusing the new one)."""
        updates, state = opt.update(g, state, p)
        p = optimizers.apply_updates(p, updates)
        (l_tr, logits), g = jax.value_and_grad(loss_fn, has_aux=True)(p, x_tr, y_tr)
        l_te, logits_te = loss_fn(p, x_te, y_te)
        return p, state, g, (l_tr, accuracy(logits, y_tr), l_te, accuracy(logits_te, y_te), model.layer_norms(g))

    def full_batch(epochs: int):
        p, state = params0, opt.init(params0)
        record = []
        for _ in range(epochs):
            p, state = step(p, state, x_tr, y_tr)
            record.append(evaluate(p))
        return jax.tree.map(lambda *a: np.stack(a), *record)

    def full_batch_fused(epochs: int):
        p, state = params0, opt.init(params0)
        g = jax.grad(lambda q: loss_fn(q, x_tr, y_tr)[0])(p)
        record = []
        for _ in range(epochs):
            p, state, g, m = fused_epoch(p, state, g)
            record.append(m)
        return jax.tree.map(lambda *a: np.stack(a), *record)

    x_np, y_np = np.asarray(data.x_train), np.asarray(data.y_train)

    def mini_batch(epochs: int, batch: int):
        p, state = params0, opt.init(params0)
        rng = np.random.default_rng(cfg.seed)
        record = []
        for _ in range(epochs):
            perm = rng.permutation(data.n_train)
            for s in range(0, data.n_train, batch):
                idx = perm[s:s + batch]
                p, state = step(p, state, x_np[idx], y_np[idx])
            record.append(evaluate(p))
        return jax.tree.map(lambda *a: np.stack(a), *record)

    return full_batch, full_batch_fused, mini_batch


def main() -> None:
    data = datasets.make_dataset("moons", n_points=1000, noise=0.1, seed=0)
    base = training.TrainConfig(hidden=(32, 32), activation="tanh", optimizer="adam",
                                hyperparams=(("learning_rate", 1e-3),))
    full_cfg = dataclasses.replace(base, epochs=EPOCHS_FULL)
    mini_cfg = dataclasses.replace(base, epochs=EPOCHS_MINI, batch_size=BATCH)
    loop_full, loop_fused, loop_mini = make_loop(data, base)
    print(f"jax {jax.__version__}, {jax.devices()[0].platform}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"data: moons, {data.n_train} train / {data.n_test} test; network 2x32 tanh; Adam lr 1e-3\n")

    t = time.perf_counter()
    training.train(data, full_cfg)
    print(f"first full-batch run (compile + run): {time.perf_counter() - t:.2f} s")

    lib_min, lib_med = timed(lambda: training.train(data, full_cfg).train_loss)
    loop_min, loop_med = timed(lambda: loop_full(EPOCHS_FULL))
    fused_min, fused_med = timed(lambda: loop_fused(EPOCHS_FULL))
    print(f"\nfull batch, {EPOCHS_FULL} epochs incl. train+test evaluation every epoch:")
    print(f"  library (scan, chunks)      {lib_min * 1e3:8.1f} ms  (median {lib_med * 1e3:.1f})"
          f"   target <= {TARGET_MS:.0f} ms: {'PASS' if lib_min * 1e3 <= TARGET_MS else 'FAIL'}")
    print(f"  PyTorch-style loop          {loop_min * 1e3:8.1f} ms  (median {loop_med * 1e3:.1f})"
          f"   library is {loop_min / lib_min:.2f}x faster (target >= {TARGET_RATIO}x: "
          f"{'PASS' if loop_min / lib_min >= TARGET_RATIO else 'FAIL'})")
    print(f"  fused loop (1 call/epoch)   {fused_min * 1e3:8.1f} ms  (median {fused_med * 1e3:.1f})"
          f"   library is {fused_min / lib_min:.2f}x faster")
    print(f"  per epoch: library {lib_min / EPOCHS_FULL * 1e6:.0f} us, loop {loop_min / EPOCHS_FULL * 1e6:.0f} us")

    training.train(data, mini_cfg)
    mlib_min, mlib_med = timed(lambda: training.train(data, mini_cfg).train_loss, repeats=5)
    mloop_min, mloop_med = timed(lambda: loop_mini(EPOCHS_MINI, BATCH), repeats=5)
    steps = -(-data.n_train // BATCH)
    print(f"\nmini-batch {BATCH} ({steps} steps/epoch), {EPOCHS_MINI} epochs, per epoch:")
    print(f"  library                     {mlib_min / EPOCHS_MINI * 1e3:8.3f} ms  "
          f"(median {mlib_med / EPOCHS_MINI * 1e3:.3f})")
    print(f"  PyTorch-style loop          {mloop_min / EPOCHS_MINI * 1e3:8.3f} ms  "
          f"(median {mloop_med / EPOCHS_MINI * 1e3:.3f})   library is {mloop_min / mlib_min:.2f}x faster")


if __name__ == "__main__":
    main()
