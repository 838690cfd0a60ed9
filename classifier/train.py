r"""Compiled training of the MLP with any optimizer of the registry.

One epoch is a ``lax.scan`` over mini-batches; a chunk of epochs is a ``lax.scan`` over
epochs; the host loops over chunks so a page can move a progress bar (``train_iter``
yields a partial result after each chunk, ``train`` takes ``on_chunk(done, total)``).

What is traced (changing it reuses the compiled program): every optimizer
hyperparameter, the learning rate and schedule parameters, L2 strength, dropout rate,
patience, the epoch count, the seed, the data values, and the optimizer itself
(classifier/any_optimizer.py). What is compiled in (one program per combination, at most
``CACHE_SIZE`` kept): layer widths, activation, loss, batch size, number of train/test
points, dropout on/off, batch normalization on/off (``mlp.forward_train`` in training, the
running averages in every evaluation), the number of classes.

Conventions:

* Mini-batches: every epoch draws a fresh permutation of the training set (from
  ``fold_in(key, epoch)``, all permutations of a chunk drawn up front, outside the
  loops) and cuts it into ceil(n / B) batches; the last, shorter batch is padded and
  its padding carries zero weight, so every example is used exactly once per epoch
  (PyTorch's ``drop_last=False``). Full batch (``batch_size=None``) takes one step per
  epoch on all points, in a fixed order; without dropout that step reuses the gradient
  recorded at the end of the previous epoch (the same number), so an epoch costs one
  forward/backward pass on the training set and one forward pass on the test set.
* The step minimises data loss (with dropout if p > 0) + lambda/2 sum ||W||^2.
* Schedules count optimizer steps (not epochs), as Optax does.
* The held-out set: the validation set if the data set has one (``Dataset.n_val`` > 0),
  else the test set. Early stopping, ``best_epoch`` and the per-epoch held-out curves use
  it. With a validation set the test set is touched once, by the final network
  (``test_loss``/``test_acc`` are NaN but at the last epoch; ``evaluate`` scores any
  other kept network on it, e.g. the one a page shows).
* Recorded per epoch, after its last step, on the full sets in evaluation mode (no
  dropout): train and held-out data loss and accuracy, and the per-layer norm
  sqrt(||dL/dW||^2 + ||dL/db||^2) of the full-batch gradient of the train DATA loss
  (no L2, no dropout) at the end of the epoch. Epoch 0 is the initial network.
* Recorded per update: the data loss of the mini-batch the update used (with dropout if
  p > 0, without L2), at the parameters before the update: ``update_loss`` at
  ``update_epoch`` = (epoch - 1) + j / steps for update j of an epoch. At most
  ``MAX_UPDATE_POINTS`` per run are kept (every k-th update, the same k for the whole run).
* Divergence: the first epoch whose train or test loss is not finite is
  ``diverged_at``; training stops and the curves end at the epoch before (no clipping).
* Early stopping (patience > 0): stop once the held-out loss has not improved on its best
  for ``patience`` epochs; ``stopped_at`` is that epoch, the final parameters are the
  ones of that epoch (not restored to the best; ``best_epoch`` says where it was).
* Same seed and settings give identical results: the initial weights, the data order
  and the dropout masks come from ``jax.random.key(seed)`` only. In compare mode every
  optimizer therefore starts from the same weights and sees the same batches.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import math
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

import optimizers
from classifier import model as mlp
from classifier.any_optimizer import any_optimizer, index_of, NAMES as OPTIMIZER_NAMES
from classifier.datasets import Dataset
from classifier.losses import LOSSES, accuracy, l2_penalty, mean_loss, n_outputs
from classifier.sharpness import top_hessian_eigenvalue

MAX_EPOCHS = 2000
MAX_SNAPSHOTS = 200  # parameter copies kept per run (each up to ~30k floats: 8 x 64)
CACHE_SIZE = 16
CHUNK_STEPS = 2048  # optimizer steps per compiled call, roughly: sets the progress granularity
MIN_CHUNK_EPOCHS, MAX_CHUNK_EPOCHS = 5, 50
MAX_UPDATE_POINTS = 4000  # per-update losses kept per run (every k-th update)



class Status(str, enum.Enum):
    """How a run stands. A str, so ``result.status == "diverged"`` reads as it says."""

    RUNNING = "running"
    FINISHED = "finished"
    DIVERGED = "diverged"
    EARLY_STOPPED = "early_stopped"


STATUS: tuple[Status, ...] = tuple(Status)  # the compiled loop carries an index into this
_INDEX = {status: i for i, status in enumerate(STATUS)}


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on besides the data. Hashable, so a page can cache on it.

    batch_size None means full batch. hyperparams override the optimizer's registry
    defaults by name (learning_rate included). patience 0 disables early stopping.
    """

    hidden: tuple[int, ...] = (16, 16)
    activation: str = "tanh"
    init: str = "xavier"
    loss: str = "cross_entropy"
    optimizer: str = "adam"
    hyperparams: tuple[tuple[str, float], ...] = ()
    schedule: optimizers.ScheduleConfig = field(default_factory=optimizers.ScheduleConfig)
    batch_size: int | None = None
    epochs: int = 300
    l2: float = 0.0
    dropout: float = 0.0
    batch_norm: bool = False  # compiled in: the program's shape changes
    patience: int = 0
    seed: int = 0
    n_snapshots: int = 20
    track_sharpness: bool = False
    sharpness_iters: int = 20  # Lanczos steps per sharpness estimate
    # Only the first ``depth`` hidden layers act (None: all), the rest pass their input on
    # (model.forward): the depth sweep's networks of one width share one program.
    depth: int | None = None

    def architecture(self, n_classes: int) -> mlp.Architecture:
        return mlp.Architecture(tuple(self.hidden), self.activation, 2, n_outputs(self.loss, n_classes))

    def resolved_hyperparams(self) -> dict[str, float]:
        """Registry defaults overridden by ``hyperparams``."""
        spec = optimizers.REGISTRY[self.optimizer]
        given = dict(self.hyperparams)
        unknown = set(given) - set(spec.defaults)
        if unknown:
            raise ValueError(f"{self.optimizer} has no hyperparameter {sorted(unknown)}")
        return {**spec.defaults, **{k: float(v) for k, v in given.items()}}

    def with_optimizer(self, name: str, hyperparams: Mapping[str, float] | None = None) -> TrainConfig:
        return dataclasses.replace(self, optimizer=name, hyperparams=tuple(sorted((hyperparams or {}).items())))

    def validate(self) -> None:
        if self.optimizer not in optimizers.REGISTRY:
            raise ValueError(f"unknown optimizer {self.optimizer!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}")
        if self.init not in mlp.INITS:
            raise ValueError(f"unknown init {self.init!r}")
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise ValueError(f"epochs must be in [1, {MAX_EPOCHS}]")
        if not 0.0 <= self.dropout <= mlp.MAX_DROPOUT:
            raise ValueError(f"dropout must be in [0, {mlp.MAX_DROPOUT}]")
        if self.l2 < 0 or self.patience < 0:
            raise ValueError("l2 and patience must be >= 0")
        if not 2 <= self.n_snapshots <= MAX_SNAPSHOTS:
            raise ValueError(f"n_snapshots must be in [2, {MAX_SNAPSHOTS}]")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError("batch_size must be >= 1 or None (full batch)")
        if self.depth is not None:
            if not 1 <= self.depth <= len(self.hidden) or len(set(self.hidden)) != 1:
                raise ValueError("depth needs hidden layers of one width, and 1 <= depth <= their number")
            if self.track_sharpness:
                raise ValueError("sharpness is not tracked for a network with a depth")
        self.resolved_hyperparams()


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Curves indexed by ``epoch`` (0 = initial network), snapshots for the boundary."""

    config: TrainConfig
    layer_names: tuple[str, ...]
    epoch: np.ndarray  # (n,) 0..last recorded epoch
    train_loss: np.ndarray  # (n,)
    test_loss: np.ndarray  # the held-out set's per epoch; with a validation set NaN but the last
    train_acc: np.ndarray
    test_acc: np.ndarray
    grad_norms: np.ndarray  # (n, n_layers)
    learning_rate: np.ndarray  # (n,) rate of the next update after that epoch
    snapshot_epochs: np.ndarray  # (k,)
    snapshots: tuple[list[dict[str, np.ndarray]], ...]  # params at snapshot_epochs
    sharpness: np.ndarray | None  # (k,) lambda_max at snapshot_epochs, if tracked
    status: Status
    diverged_at: int | None
    stopped_at: int | None  # early-stopping epoch
    best_epoch: int  # epoch of the lowest held-out (validation, else test) loss
    steps_per_epoch: int
    val_loss: np.ndarray | None = None  # (n,) per epoch, if the data set has a validation set
    val_acc: np.ndarray | None = None
    update_epoch: np.ndarray = field(default_factory=lambda: np.zeros(0))  # x of each kept update
    update_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))  # its mini-batch loss

    @property
    def has_validation(self) -> bool:
        return self.val_loss is not None

    @property
    def held_loss(self) -> np.ndarray:
        """The per-epoch loss early stopping watches: validation if there is one, else test."""
        return self.val_loss if self.val_loss is not None else self.test_loss

    @property
    def epochs_run(self) -> int:
        return int(self.epoch[-1])

    @property
    def done(self) -> bool:
        return self.status is not Status.RUNNING

    def snapshot_at(self, epoch: int) -> list[dict[str, np.ndarray]]:
        """Parameters of the recorded snapshot nearest to ``epoch``."""
        i = int(np.argmin(np.abs(self.snapshot_epochs - epoch)))
        return self.snapshots[i]


# ---------------------------------------------------------------------------------------
# Compiled programs


class _Static(NamedTuple):
    """What is compiled in: one program per distinct value (the optimizer is not here:
    classifier/any_optimizer.py makes it traced data)."""

    sizes: tuple[int, ...]
    activation: str
    loss: str
    batch_size: int  # effective; == n_train for full batch
    n_train: int
    n_held: int  # validation points, or test points without a validation set
    chunk: int  # epochs per compiled call
    dropout: bool
    n_classes: int = 2
    batch_norm: bool = False
    masked: bool = False  # the depth is traced data (TrainConfig.depth)

    @property
    def full_batch(self) -> bool:
        return self.batch_size >= self.n_train

    @property
    def steps(self) -> int:
        return _steps_per_epoch(self.batch_size, self.n_train)

    @property
    def reuse_gradient(self) -> bool:
        """Full batch without dropout: the end-of-epoch gradient that is recorded IS the
        next step's data gradient, so it is computed once (halves the work per epoch)."""
        return self.full_batch and not self.dropout and not self.batch_norm


class _Carry(NamedTuple):
    params: mlp.Params
    opt_state: object
    grad: mlp.Params  # full-batch data-loss gradient at params (reused by full-batch steps)
    loss: jax.Array  # full-batch train data loss at params (the reused step's loss)
    best: jax.Array  # lowest test loss so far
    since: jax.Array  # epochs since it improved
    best_epoch: jax.Array
    halted: jax.Array  # bool
    status: jax.Array  # index into STATUS


class _Programs(NamedTuple):
    init: Callable  # (params, hp) -> optimizer state
    chunk: Callable  # (carry, hp, data, keys, first_epoch, last_epoch) -> (carry, per-epoch outputs)


def _steps_per_epoch(batch_size: int, n_train: int) -> int:
    return -(-n_train // batch_size)


def _chunk_epochs(steps_per_epoch: int) -> int:
    return int(np.clip(CHUNK_STEPS // steps_per_epoch, MIN_CHUNK_EPOCHS, MAX_CHUNK_EPOCHS))


def _optimizer(hp) -> tuple[optimizers.GradientTransformation, optimizers.Schedule]:
    """The run's optimizer and learning-rate schedule, every number of them traced."""
    kind, a, b, warm = hp["schedule"]
    lr = optimizers.schedules.parametric(hp["learning_rate"], kind, a, b, warm)
    return any_optimizer(hp["optimizer"], lr, hp["opt"]), lr


def _evaluate(s: _Static, params, data, depth=None):
    """Metrics on the full sets (evaluation mode) and the train data-loss gradient."""
    x_tr, y_tr, x_te, y_te = data

    def train_loss(p):
        logits = mlp.forward(p, x_tr, s.activation, depth=depth)
        return mean_loss(logits, y_tr, s.loss), logits

    (l_tr, logits_tr), g = jax.value_and_grad(train_loss, has_aux=True)(params)
    logits_te = mlp.forward(params, x_te, s.activation, depth=depth)
    metrics = {
        "train_loss": l_tr,
        "test_loss": mean_loss(logits_te, y_te, s.loss),
        "train_acc": accuracy(logits_tr, y_tr, s.loss, s.n_classes),
        "test_acc": accuracy(logits_te, y_te, s.loss, s.n_classes),
        "grad_norms": mlp.layer_norms(g),
    }
    return metrics, g


def _depth(s: _Static, hp):
    return hp["depth"] if s.masked else None


def _init(params, hp):
    return _optimizer(hp)[0].init(ravel_pytree(params)[0])


def _apply(opt, params, opt_state, grads):
    """One update. The optimizer sees all parameters as one vector: every rule here is
    elementwise, so the numbers are the same as leaf by leaf, and each rule compiles to a
    few kernels instead of a few per layer (ten rules sit in one program)."""
    flat, unravel = ravel_pytree(params)
    updates, opt_state = opt.update(ravel_pytree(grads)[0], opt_state, flat)
    return unravel(optimizers.apply_updates(flat, updates)), opt_state


def _epoch_orders(s: _Static, key, epochs):
    """Each epoch's permutation of the training set, padded to whole batches: one
    vectorised draw for the chunk (random draws inside the loops are slow)."""
    if s.full_batch:
        return jnp.zeros((s.chunk, 0), jnp.int32)  # unused
    orders = jax.vmap(lambda e: jax.random.permutation(jax.random.fold_in(key, e), s.n_train))(epochs)
    padding = jnp.zeros((s.chunk, s.steps * s.batch_size - s.n_train), orders.dtype)
    return jnp.concatenate([orders, padding], axis=1)


def _train_epoch(s: _Static, opt, hp, data, keys, c: _Carry, epoch, order):
    """One epoch of updates from the carry; returns (params, opt_state, the data loss of
    each update's batch at the parameters before it, shape (steps,))."""
    x_tr, y_tr = data[0], data[1]
    if s.reuse_gradient:
        grads = jax.tree.map(jnp.add, c.grad, jax.grad(l2_penalty)(c.params, hp["l2"]))
        return (*_apply(opt, c.params, c.opt_state, grads), c.loss[None])

    def step(state, batch):
        params, opt_state, t = state
        if s.full_batch:
            xb, yb, wb = x_tr, y_tr, None
        else:
            idx, wb = batch
            xb, yb = x_tr[idx], y_tr[idx]

        def objective(p):
            drop_key = jax.random.fold_in(keys["dropout"], t) if s.dropout else None
            logits, stats = mlp.forward_train(p, xb, s.activation, hp["dropout"] if s.dropout else None, drop_key,
                                              wb, _depth(s, hp))
            data_loss = mean_loss(logits, yb, s.loss, wb)
            return data_loss + l2_penalty(p, hp["l2"]), (data_loss, stats)

        grads, (data_loss, stats) = jax.grad(objective, has_aux=True)(params)
        new, opt_state = _apply(opt, params, opt_state, grads)
        if s.batch_norm:  # the running averages follow the batch statistics, not the optimizer
            running = mlp.update_running(params, stats)
            new = [{**n, "mean": r["mean"], "var": r["var"]} if "mean" in r else n for n, r in zip(new, running)]
        return (new, opt_state, t + 1), data_loss

    if s.full_batch:
        batches, length = None, 1
    else:
        # The last, shorter batch is padded; its padding carries zero weight.
        weights = (np.arange(s.steps * s.batch_size) < s.n_train).astype(np.float32)
        batches, length = (order.reshape(s.steps, s.batch_size), jnp.asarray(weights.reshape(s.steps, -1))), None
    t0 = (epoch - 1) * s.steps
    (params, opt_state, _), losses = jax.lax.scan(step, (c.params, c.opt_state, t0), batches, length=length)
    return params, opt_state, losses


def _advance(c: _Carry, epoch, active, metrics, hp, last_epoch) -> tuple:
    """The bookkeeping after an epoch: divergence, best test loss, early stopping, the
    end of the run. Returns (best, since, best_epoch, halted, status). Epoch 0 (the
    initial network) only sets the best test loss so far."""
    finite = jnp.isfinite(metrics["train_loss"]) & jnp.isfinite(metrics["test_loss"])
    trained = active & (epoch > 0)
    diverged = trained & ~finite
    improved = active & finite & (metrics["test_loss"] < c.best)
    best = jnp.where(improved, metrics["test_loss"], c.best)
    best_epoch = jnp.where(improved, epoch, c.best_epoch)
    since = jnp.where(improved, 0, c.since + trained.astype(c.since.dtype))
    early = trained & finite & (hp["patience"] > 0) & (since >= hp["patience"])
    last = trained & (epoch >= last_epoch)
    status = jnp.select([diverged, early, last], [_INDEX[Status.DIVERGED], _INDEX[Status.EARLY_STOPPED],
                                                  _INDEX[Status.FINISHED]], c.status)
    return best, since, best_epoch, c.halted | diverged | early | last, status


def _chunk(s: _Static, carry: _Carry, hp, data, keys, first_epoch, last_epoch):
    """``s.chunk`` epochs from ``first_epoch``; epoch 0 is the initial network (evaluated,
    not trained). Epochs after the run halted leave the network as it is (the host drops
    them). The one program does both, so no second program compiles for epoch 0."""
    opt, lr_schedule = _optimizer(hp)
    epochs = first_epoch + jnp.arange(s.chunk)

    def epoch_body(c: _Carry, xs):
        epoch, order = xs
        active = ~c.halted
        params, opt_state, losses = jax.lax.cond(
            active & (epoch > 0),
            lambda: _train_epoch(s, opt, hp, data, keys, c, epoch, order),
            lambda: (c.params, c.opt_state, jnp.full((s.steps,), jnp.nan, jnp.float32)),
        )
        m, g = _evaluate(s, params, data, _depth(s, hp))
        best, since, best_epoch, halted, status = _advance(c, epoch, active, m, hp, last_epoch)
        out = {**m, "active": active, "params": params, "learning_rate": lr_schedule(epoch * s.steps),
               "update_loss": losses}
        return _Carry(params, opt_state, g, m["train_loss"], best, since, best_epoch, halted, status), out

    return jax.lax.scan(epoch_body, carry, (epochs, _epoch_orders(s, keys["order"], epochs)))


_INIT = jax.jit(_init)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _programs(s: _Static) -> _Programs:
    return _Programs(_INIT, jax.jit(functools.partial(_chunk, s)))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _evaluation(s: _Static) -> Callable:
    """(params, data) -> (metrics, grad), alone: a preview needs no training program."""
    return jax.jit(functools.partial(_evaluate, s))


# ---------------------------------------------------------------------------------------
# Host loop


def snapshot_plan(epochs: int, n_snapshots: int) -> np.ndarray:
    """Evenly spaced epochs from 0 to ``epochs`` (at most n_snapshots of them)."""
    return np.unique(np.round(np.linspace(0, epochs, min(n_snapshots, epochs + 1))).astype(int))


def _traced_hyperparams(config: TrainConfig) -> dict:
    """Every number the compiled program takes as data: the chosen optimizer's index and
    hyperparameters, and every other optimizer's defaults (the program holds them all)."""
    f32 = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731
    chosen = config.resolved_hyperparams()
    per_optimizer = {}
    for name in OPTIMIZER_NAMES:
        hyper = chosen if name == config.optimizer else dict(optimizers.REGISTRY[name].defaults)
        per_optimizer[name] = {k: f32(v) for k, v in hyper.items() if k != "learning_rate"}
    kind, a, b, warm = config.schedule.packed()
    return {
        "optimizer": jnp.asarray(index_of(config.optimizer), jnp.int32),
        "learning_rate": f32(chosen["learning_rate"]),
        "opt": per_optimizer,
        "schedule": (jnp.asarray(kind, jnp.int32), f32(a), f32(b), f32(warm)),
        "l2": f32(config.l2),
        "dropout": f32(config.dropout),
        "patience": jnp.asarray(config.patience, jnp.int32),
        "depth": jnp.asarray(len(config.hidden) if config.depth is None else config.depth, jnp.int32),
    }


def _host_params(stacked, i: int) -> list[dict[str, np.ndarray]]:
    """Epoch i of per-epoch stacked parameters (host arrays)."""
    return [{k: v[i].copy() for k, v in layer.items()} for layer in stacked]


class _Setup(NamedTuple):
    arch: mlp.Architecture
    static: _Static
    prog: _Programs
    steps: int
    keys: dict
    arrays: tuple
    hp: dict
    params: mlp.Params


def _setup(data: Dataset, config: TrainConfig) -> _Setup:
    config.validate()
    arch = config.architecture(data.n_classes)
    batch = data.n_train if config.batch_size is None else min(config.batch_size, data.n_train)
    steps = _steps_per_epoch(batch, data.n_train)
    held = (data.x_val, data.y_val) if data.n_val > 0 else (data.x_test, data.y_test)
    static = _Static(arch.sizes, arch.activation, config.loss, batch, data.n_train, len(held[1]),
                     _chunk_epochs(steps), config.dropout > 0, data.n_classes, bool(config.batch_norm),
                     config.depth is not None)
    k_init, k_order, k_drop = jax.random.split(jax.random.key(config.seed), 3)
    arrays = (jnp.asarray(data.x_train), jnp.asarray(data.y_train), jnp.asarray(held[0]), jnp.asarray(held[1]))
    return _Setup(arch, static, _programs(static), steps, {"order": k_order, "dropout": k_drop}, arrays,
                  _traced_hyperparams(config), mlp.init_params(k_init, arch, config.init, config.batch_norm))


def initial_state(data: Dataset, config: TrainConfig) -> tuple[list[dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """The untrained network of a run (same seed, same weights as ``train``) and its
    epoch-0 metrics (train/test loss and accuracy, per-layer gradient norms), without
    compiling the training loop: for previews and the vanishing-gradient lesson."""
    s = _setup(data, config)
    metrics, _ = _evaluation(s.static)(s.params, s.arrays, _depth(s.static, s.hp))
    return mlp.to_numpy(s.params), {k: np.asarray(v) for k, v in metrics.items()}


_CURVES = ("train_loss", "test_loss", "train_acc", "test_acc", "grad_norms", "learning_rate")


@dataclass
class _Record:
    """What the host keeps of a run while it trains; ``result`` freezes it."""

    curves: dict[str, list]
    snapshot_epochs: list[int]
    snapshots: list[list[dict[str, np.ndarray]]]
    sharpness: list[float] = field(default_factory=list)
    status: Status = Status.RUNNING
    diverged_at: int | None = None
    stopped_at: int | None = None
    best_epoch: int = 0
    update_epoch: list[float] = field(default_factory=list)
    update_loss: list[float] = field(default_factory=list)
    final_test: tuple[float, float] | None = None  # (loss, accuracy) of the final network, with validation

    def result(self, config: TrainConfig, arch: mlp.Architecture, steps_per_epoch: int,
               validation: bool = False) -> TrainResult:
        c = self.curves
        n = len(c["train_loss"])
        held_loss, held_acc = np.asarray(c["test_loss"], np.float64), np.asarray(c["test_acc"], np.float64)
        if validation:
            test_loss, test_acc = np.full(n, np.nan), np.full(n, np.nan)
            if self.final_test is not None and n:
                test_loss[-1], test_acc[-1] = self.final_test
        else:
            test_loss, test_acc = held_loss, held_acc
        return TrainResult(
            config=config,
            layer_names=tuple(arch.layer_names()),
            epoch=np.arange(n),
            train_loss=np.asarray(c["train_loss"], np.float64),
            test_loss=test_loss,
            train_acc=np.asarray(c["train_acc"], np.float64),
            test_acc=test_acc,
            grad_norms=np.asarray(c["grad_norms"], np.float64).reshape(n, arch.n_layers),
            learning_rate=np.asarray(c["learning_rate"], np.float64),
            snapshot_epochs=np.asarray(self.snapshot_epochs, int),
            snapshots=tuple(self.snapshots),
            sharpness=np.asarray(self.sharpness) if config.track_sharpness else None,
            status=self.status,
            diverged_at=self.diverged_at,
            stopped_at=self.stopped_at,
            best_epoch=self.best_epoch,
            steps_per_epoch=steps_per_epoch,
            val_loss=held_loss if validation else None,
            val_acc=held_acc if validation else None,
            update_epoch=np.asarray(self.update_epoch, np.float64),
            update_loss=np.asarray(self.update_loss, np.float64),
        )


def evaluate(params, x: np.ndarray, y: np.ndarray, activation: str, loss: str,
             n_classes: int | None = None, depth: int | None = None) -> tuple[float, float]:
    """(data loss, accuracy) of a network on a set, evaluation mode: how the test set is
    scored when a validation set does the watching."""
    if len(y) == 0:
        return math.nan, math.nan
    logits = mlp.forward(jax.tree.map(jnp.asarray, params), jnp.asarray(x), activation, depth=depth)
    y = jnp.asarray(y)
    return float(mean_loss(logits, y, loss)), float(accuracy(logits, y, loss, n_classes))


def update_stride(epochs: int, steps_per_epoch: int) -> int:
    """Every k-th update's loss is kept, so a run keeps at most MAX_UPDATE_POINTS."""
    return max(1, -(-epochs * steps_per_epoch // MAX_UPDATE_POINTS))


def train_iter(data: Dataset, config: TrainConfig) -> Iterator[TrainResult]:
    """Train, yielding the result so far after every compiled chunk (the last one done)."""
    arch, _, prog, steps, keys, arrays, hp, params = _setup(data, config)
    record = _Record(curves={k: [] for k in _CURVES}, snapshot_epochs=[], snapshots=[])
    plan = set(snapshot_plan(config.epochs, config.n_snapshots).tolist())
    last_good = mlp.to_numpy(params)
    validation = data.n_val > 0
    stride = update_stride(config.epochs, steps)

    def sharpness_of(p) -> float:
        return top_hessian_eigenvalue(p, arrays[0], arrays[1], arch.activation, config.loss, hp["l2"],
                                      n_iter=config.sharpness_iters, seed=config.seed)

    def add_snapshot(e: int, p: list[dict[str, np.ndarray]]) -> None:
        record.snapshot_epochs.append(e)
        record.snapshots.append(p)
        if config.track_sharpness:
            record.sharpness.append(sharpness_of(jax.tree.map(jnp.asarray, p)))

    zero = jnp.zeros([], jnp.int32)
    carry = _Carry(params, prog.init(params, hp), jax.tree.map(jnp.zeros_like, params),
                   jnp.asarray(jnp.nan, jnp.float32), jnp.asarray(jnp.inf, jnp.float32), zero, zero,
                   jnp.zeros([], bool), zero)
    first = 0  # epoch 0, the initial network, is evaluated by the first chunk
    while record.status is Status.RUNNING:
        carry, out = prog.chunk(carry, hp, arrays, keys, jnp.asarray(first, jnp.int32),
                                jnp.asarray(config.epochs, jnp.int32))
        active = np.asarray(out["active"])
        stacked = jax.tree.map(np.asarray, out["params"])
        record.status = STATUS[int(carry.status)]
        n_ran = int(active.sum())
        keep = n_ran
        if record.status is Status.DIVERGED:
            record.diverged_at = first + n_ran - 1
            keep = n_ran - 1  # the curves end at the last finite epoch
        for k in _CURVES:
            record.curves[k].extend(np.asarray(out[k])[:keep])
        end = first + keep - 1  # last kept epoch
        losses = np.asarray(out["update_loss"])
        for i, e in enumerate(range(first, end + 1)):
            if e == 0:
                continue  # the initial network: no update
            t = (e - 1) * steps + np.arange(steps)
            chosen = t % stride == 0
            record.update_epoch.extend(((e - 1) + np.arange(steps)[chosen] / steps).tolist())
            record.update_loss.extend(losses[i][chosen].astype(np.float64).tolist())
        for i, e in enumerate(range(first, end + 1)):
            if e in plan:
                add_snapshot(e, _host_params(stacked, i))
        if record.status is not Status.RUNNING and record.snapshot_epochs[-1] != end:
            # Always end on the final network; if the run diverged on the first epoch
            # of this chunk, that network came from the previous chunk.
            add_snapshot(end, _host_params(stacked, keep - 1) if keep > 0 else last_good)
        if keep > 0:
            last_good = _host_params(stacked, keep - 1)
        record.best_epoch = int(carry.best_epoch)
        if record.status is Status.EARLY_STOPPED:
            record.stopped_at = first + n_ran - 1
        if validation and record.status is not Status.RUNNING:
            # The test set's one use: the final network (the last kept one).
            record.final_test = evaluate(record.snapshots[-1], data.x_test, data.y_test, arch.activation, config.loss,
                                         data.n_classes, config.depth)
        first += n_ran
        yield record.result(config, arch, steps, validation)


def train(
    data: Dataset,
    config: TrainConfig,
    on_chunk: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Run to the end; ``on_chunk(done_epochs, total_epochs)`` after every chunk."""
    result = None
    for result in train_iter(data, config):
        if on_chunk is not None:
            on_chunk(result.epochs_run if not result.done else config.epochs, config.epochs)
    assert result is not None
    return result


def compare(
    data: Dataset,
    config: TrainConfig,
    runs: Mapping[str, Mapping[str, float]],
    on_chunk: Callable[[int, int], None] | None = None,
) -> dict[str, TrainResult]:
    """The same network (same seed: same initial weights, same batches, same dropout
    masks) trained by each optimizer of ``runs`` = {optimizer name: hyperparameter
    overrides}; results keyed by optimizer name. on_chunk counts epochs over all runs."""
    total = config.epochs * len(runs)
    done = 0
    results: dict[str, TrainResult] = {}
    for name, hyper in runs.items():
        run = config.with_optimizer(name, hyper)
        for partial in train_iter(data, run):
            results[name] = partial
            if on_chunk is not None:
                on_chunk(done + (partial.epochs_run if not partial.done else config.epochs), total)
        done += config.epochs
    return results
